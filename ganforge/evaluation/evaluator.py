"""The evaluator network: a small CNN classifier whose features and class probabilities score generated images.

Inception-v3 features mean little on 28x28 grey digits and need weights ganforge cannot download offline, so
for a labelled image dataset ganforge trains its own classifier on that dataset's labelled data the first time
it is needed, and caches it in ``$GANFORGE_CACHE_DIR/evaluators/`` as safetensors, under a fingerprint of the data
it learned from (a dataset's name alone does not say which data: every ``image-folder`` is called that). Training is deterministic
(fixed seed, deterministic algorithms, one CPU thread, always on the CPU) so that the same data gives the same
weights, and every score names the evaluator by the SHA-256 of its weights: two FIDs are comparable exactly when
they name the same hash.

Which data it learns from: the dataset's ``train`` split, tested on its ``test`` split. Where the train split is
not available (MNIST's 60k training images are not always at hand), it learns from the first 80% of the test
split and is tested on the remaining 20%; the evaluator's description says so, and its hash differs.

MNIST's and Fashion-MNIST's evaluators ship with ganforge (``weights/``, 0.5 MB each), trained once this way:
training reproduces its weights bit for bit on one machine, but other CPUs and torch builds round differently and
learn other weights, so every installation loads the shipped ones and every user's FIDs name the same hash
(:data:`SHIPPED`). Other labelled datasets get an evaluator trained on first use.
"""

from __future__ import annotations

import contextlib
import hashlib
import typing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.cache import cache_dir
from ganforge.checkpoint import load_network, prefixed, read_file, write_checkpoint
from ganforge.config import factory_options
from ganforge.data import TensorData
from ganforge.errors import GanforgeError

ARCHITECTURE = "ganforge-cnn/2"
FEATURES = 128
TRAIN_STEPS = 1200  # minibatches of 128: 2.6 epochs of a 60k train split, 19 of an 8k fallback
BATCH = 128
SHIPPED_DIR = Path(__file__).parent / "weights"
# datasets whose evaluator ships with ganforge -> the SHA-256 of its weights (weights_sha256), checked on loading
SHIPPED = {
    "fashion-mnist": "922cf1f0578a9227b0725a417edf8d6b28869e15c9243f61c0d334c6f33a02de",
    "mnist": "bb57479245e8c7e3711075d1cbf2171b807b799d704534ab2d52bf9f2d88e707",
}
FALLBACK_FRACTION = 0.8  # of the test split learned from when there is no train split
SHIFT = 2  # training images are shifted by up to this many pixels, so that small misplacements do not matter


class EvaluatorCNN(nn.Module):
    """Three 3x3 conv-batchnorm-ReLU-maxpool stages (32, 64, 64 channels), 128 features, a linear classifier."""

    num_features = FEATURES  # read by torchmetrics

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        stages: list[nn.Module] = []
        for width_in, width_out in zip([channels, 32, 64], [32, 64, 64]):
            stages += [nn.Conv2d(width_in, width_out, 3, padding=1), nn.BatchNorm2d(width_out), nn.ReLU(), nn.MaxPool2d(2)]
        self.body = nn.Sequential(*stages, nn.AdaptiveAvgPool2d(3), nn.Flatten(), nn.Linear(64 * 9, FEATURES), nn.ReLU())
        self.dropout = nn.Dropout(0.3)
        self.classifier = nn.Linear(FEATURES, num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The 128 penultimate activations of images in [-1, 1]: what FID, KID and precision/recall compare."""
        return self.body(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.features(images)))


@dataclass(frozen=True)
class EvaluatorInfo:
    """Who the evaluator is: every reported score carries this."""

    dataset: str
    trained_on: str  # e.g. "train split (60,000 images)"
    tested_on: str
    accuracy: float | None  # on ``tested_on``, where ganforge measured it
    weights_sha256: str
    architecture: str = ARCHITECTURE

    @property
    def name(self) -> str:
        """Short identity for tables: architecture, dataset and the first 12 hex digits of the weights' hash."""
        return f"{self.architecture}:{self.dataset}@{self.weights_sha256[:12]}"


class Evaluator:
    """A trained :class:`EvaluatorCNN` and its identity, on the device it scores on."""

    def __init__(self, network: EvaluatorCNN, info: EvaluatorInfo):
        self.network = network.eval()
        self.info = info

    def to(self, device: torch.device) -> "Evaluator":
        self.network.to(device)
        return self

    @torch.no_grad()
    def features_and_logits(self, images: torch.Tensor, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
        """Features (N, 128) and class logits of float images in [-1, 1], on the evaluator's device."""
        device = next(self.network.parameters()).device
        features = torch.cat([self.network.features(part.to(device).float()) for part in images.split(batch)])
        return features, self.network.classifier(features)


def weights_sha256(network: nn.Module) -> str:
    """SHA-256 over the network's tensors (names, shapes, dtypes and bytes), independent of file layout."""
    digest = hashlib.sha256()
    for name, tensor in sorted(network.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype};".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


@contextlib.contextmanager
def _deterministic(seed: int) -> Iterator[None]:
    """Fixed seed, deterministic kernels and one thread, restored afterwards; the global RNG is left untouched."""
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.set_num_threads(1)
        torch.use_deterministic_algorithms(True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(deterministic)
            torch.set_num_threads(threads)


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    steps: int = TRAIN_STEPS,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> EvaluatorCNN:
    """Train an :class:`EvaluatorCNN` on uint8 ``images`` (N, C, H, W) deterministically on the CPU.

    ``progress(done, steps)`` hears every tenth step and the last one."""
    images, labels = images.cpu(), labels.cpu().long()
    with _deterministic(seed):
        network = EvaluatorCNN(images.shape[1], num_classes)
        optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps)
        rng = torch.Generator().manual_seed(seed)
        epochs = -(-steps * BATCH // len(images))
        order = torch.cat([torch.randperm(len(images), generator=rng) for _ in range(epochs)])
        height, width = images.shape[2:]
        network.train()
        for step in range(steps):
            index = order[step * BATCH : (step + 1) * BATCH]
            batch = F.pad(images[index].float().div(127.5).sub(1), (SHIFT,) * 4, value=-1.0)
            dx, dy = torch.randint(0, 2 * SHIFT + 1, (2,), generator=rng).tolist()
            loss = F.cross_entropy(network(batch[:, :, dy : dy + height, dx : dx + width]), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            if progress is not None and ((step + 1) % 10 == 0 or step + 1 == steps):
                progress(step + 1, steps)
    return network.eval()


@torch.no_grad()
def accuracy(network: EvaluatorCNN, images: torch.Tensor, labels: torch.Tensor) -> float:
    network.eval()
    predictions = torch.cat([network(part.float().div(127.5).sub(1)).argmax(1) for part in images.cpu().split(1000)])
    return float((predictions == labels.cpu()).double().mean())


@dataclass
class LabelledData:
    """The data an evaluator learns from and is tested on, and how to describe both."""

    tag: str  # part of the cache file name: "train" or "test-fallback"
    train: Callable[[], TensorData]
    test: Callable[[], TensorData]
    trained_on: str
    tested_on: str


def _labelled_data(dataset: str, factory: Any, params: dict[str, Any]) -> list[LabelledData]:
    """The ways to get labelled data for ``dataset``, in order of preference."""
    options = factory_options(factory)
    split = options.get("split")
    base = {key: value for key, value in params.items() if key != "split" and key in options}
    if split is not None and {"train", "test"} <= set(typing.get_args(split.annotation)):
        whole = lambda: factory(**base, split="test")  # noqa: E731
        preferred = [LabelledData("train", lambda: factory(**base, split="train"), whole, "train split", "test split")]
    else:
        whole = lambda: factory(**{key: value for key, value in params.items() if key in options})  # noqa: E731
        preferred = []
    fallback = LabelledData(
        "test-fallback" if preferred else "fallback",
        lambda: _part(whole(), 0.0, FALLBACK_FRACTION),
        lambda: _part(whole(), FALLBACK_FRACTION, 1.0),
        f"first {FALLBACK_FRACTION:.0%} of the {'test split' if preferred else 'data'}"
        + (" (no train split available)" if preferred else ""),
        f"last {1 - FALLBACK_FRACTION:.0%} of the {'test split' if preferred else 'data'}",
    )
    return preferred + [fallback]


def _part(data: TensorData, start: float, stop: float) -> TensorData:
    first, last = int(len(data) * start), int(len(data) * stop)
    return TensorData(data.data[first:last], data.spec, None if data.labels is None else data.labels[first:last])


def data_fingerprint(data: TensorData) -> str:
    """SHA-256 over what an evaluator learns from and how: the examples and labels (shapes, dtypes, bytes), the
    number of classes, the architecture and the training settings. Two datasets share an evaluator exactly when
    they share this, whatever they are called (every ``image-folder``, whatever its ``--data-root``, is one name)."""
    digest = hashlib.sha256(f"{ARCHITECTURE};{TRAIN_STEPS};{BATCH};{SHIFT};{data.spec.num_classes};".encode())
    for tensor in (data.data, data.labels):
        if tensor is not None:
            tensor = tensor.detach().cpu().contiguous()
            digest.update(f"{tuple(tensor.shape)}:{tensor.dtype};".encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def evaluator_path(dataset: str, tag: str, fingerprint: str) -> Path:
    """Where the evaluator for ``dataset`` learned from the data of ``fingerprint`` (:func:`data_fingerprint`) is kept."""
    name = f"{dataset}-{tag}-{fingerprint[:16]}-{ARCHITECTURE.replace('/', '-')}.safetensors"
    return cache_dir() / "evaluators" / name


def shipped_path(dataset: str) -> Path:
    """Where the evaluator that ships with ganforge for ``dataset`` (a key of :data:`SHIPPED`) lies."""
    return SHIPPED_DIR / f"{dataset}-{ARCHITECTURE.replace('/', '-')}.safetensors"


def load_evaluator(path: Path, expected_sha256: str | None = None) -> Evaluator:
    """An evaluator saved at ``path``, its weights checked against the hash recorded beside them (and against
    ``expected_sha256``, for a shipped one)."""
    what, remedy = ("ganforge's evaluator file", "reinstall ganforge") if expected_sha256 else ("evaluator cache file", "delete it and ganforge retrains it")
    try:
        saved = read_file(path)
    except GanforgeError as exc:
        raise GanforgeError(f"{what} {path} is damaged ({exc}); {remedy}") from None
    try:
        info = EvaluatorInfo(**saved.meta["evaluator"])
        network = EvaluatorCNN(int(saved.meta["channels"]), int(saved.meta["num_classes"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise GanforgeError(f"{what} {path} lacks its description ({exc}); {remedy}") from None
    load_network(network, "evaluator", saved.tensors, path)
    if weights_sha256(network) != info.weights_sha256 or expected_sha256 not in (None, info.weights_sha256):
        raise GanforgeError(f"{what} {path} does not match its recorded hash; {remedy}")
    return Evaluator(network, info)


def evaluator_for(
    dataset: str,
    factory: Any,
    params: dict[str, Any],
    say: Callable[[str], None] = lambda message: None,
    progress: Callable[[int, int], None] | None = None,
) -> Evaluator:
    """The evaluator for ``dataset`` (its factory and ``data.*`` settings): the one shipped with ganforge (for the
    official files, which the dataset checks by content), else from the cache when one was trained on the very same
    data (:func:`data_fingerprint`), else trained now, telling ``say`` that it does and ``progress(done, total)``
    how far it is."""
    if dataset in SHIPPED:
        return load_evaluator(shipped_path(dataset), SHIPPED[dataset])
    failures = []
    for source in _labelled_data(dataset, factory, params):
        try:
            train = source.train()
        except GanforgeError as exc:
            failures.append(str(exc))
            continue
        if train.labels is None or train.spec.num_classes < 2:
            raise GanforgeError(f"dataset '{dataset}' has no class labels, so ganforge cannot train an evaluator for it; use --evaluator inception")
        path = evaluator_path(dataset, source.tag, data_fingerprint(train))
        if path.is_file():
            return load_evaluator(path)
        test = source.test()
        say(f"Training the evaluator for {dataset} on its {source.trained_on}, {len(train):,} images (once; cached) ...")
        network = train_classifier(train.data, train.labels, train.spec.num_classes, TRAIN_STEPS, progress=progress)
        info = EvaluatorInfo(
            dataset=dataset,
            trained_on=f"{source.trained_on}, {len(train):,} images",
            tested_on=f"{source.tested_on}, {len(test):,} images",
            accuracy=accuracy(network, test.data, test.labels),
            weights_sha256=weights_sha256(network),
        )
        meta = {"evaluator": asdict(info), "architecture": ARCHITECTURE, "channels": train.spec.shape[0], "num_classes": train.spec.num_classes}
        write_checkpoint(path, prefixed("network.evaluator", network.state_dict()), meta)
        return Evaluator(network, info)
    raise GanforgeError(f"no labelled data to train the evaluator for '{dataset}': {failures[-1]}")

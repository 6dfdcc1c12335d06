"""MNIST and Fashion-MNIST, read from the official IDX files wherever they already are, else downloaded.

Files are looked for, in order, in the user's data root (``data.root``, else ``$GANFORGE_DATA_DIR``), the
download cache and the system copy (``/usr/share/datasets``), each either directly or in a ``<dataset>/``
subdirectory for the first, and gzipped or not. The first directory holding every file a split needs wins,
so files of one split never mix sources. Downloads are checked against the official MD5s of the ``.gz`` files;
system copies (Debian's, for one) are re-compressed, so every file, wherever it comes from, is validated
structurally by :func:`read_idx` and then by its content: the SHA-256 of the decoded images and labels against
those of the official releases (:data:`CONTENTS`). Files that hold another known split (MNIST's digits given as
Fashion-MNIST) are refused with one line saying what they are; files that are no known release are used, with a
warning that their scores are not comparable with published ones.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from ganforge.cache import cache_dir
from ganforge.data import DataSpec, TensorData
from ganforge.errors import GanforgeError, GanforgeWarning
from ganforge_datasets.download import fetch
from ganforge_datasets.idx import read_idx

SYSTEM_DIR = Path("/usr/share/datasets")
SPLITS: dict[str, tuple[str, ...]] = {"train": ("train",), "test": ("t10k",), "all": ("train", "t10k")}
SPLIT_SIZES = {"train": "60,000", "test": "10,000"}
_KINDS = ("images-idx3-ubyte", "labels-idx1-ubyte")


@dataclass(frozen=True)
class Source:
    """Where one MNIST-format dataset comes from."""

    name: str  # also the subdirectory it lives in
    title: str
    mirrors: tuple[str, ...]
    md5: dict[str, str]  # of the official .gz files


MNIST = Source(
    "mnist",
    "MNIST",
    ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/"),
    {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
)
FASHION_MNIST = Source(
    "fashion-mnist",
    "Fashion-MNIST",
    ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
)


@dataclass(frozen=True)
class Content:
    """What one official split's files decode to: SHA-256 of the images' and the labels' bytes (None where
    ganforge does not record it), and the number of examples of each class."""

    images_sha256: str | None
    labels_sha256: str
    classes: tuple[int, ...]


# (dataset, file prefix) -> the official content, measured on the decoded files of the official releases
CONTENTS: dict[tuple[str, str], Content] = {
    ("mnist", "train"): Content(
        None,
        "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
        (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    ),
    ("mnist", "t10k"): Content(
        "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
        "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
        (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
    ),
    ("fashion-mnist", "train"): Content(
        "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
        "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
        (6000,) * 10,
    ),
    ("fashion-mnist", "t10k"): Content(
        "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
        "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
        (1000,) * 10,
    ),
}
PREFIX_SPLITS = {"train": "train", "t10k": "test"}


def mnist(
    root: str | None = None,  # directory holding the IDX files (--data-root); None: $GANFORGE_DATA_DIR, cache, system copy
    split: Literal["train", "test", "all"] = "train",  # train: 60,000 images, test: 10,000, all: both
    mirror: str | None = None,  # base URL (http:// or file://) tried before the official mirrors when downloading
) -> TensorData:
    """Handwritten digits 0-9 (LeCun et al.), 28x28 grey: 60,000 train and 10,000 test images.

    ``root`` is a directory holding the IDX files (or a ``mnist/`` subdirectory of them); ``mirror`` is a
    base URL (http:// or file://) tried before the official mirrors when the files must be downloaded.
    """
    return _load(MNIST, root, split, mirror)


def fashion_mnist(
    root: str | None = None,  # directory holding the IDX files (--data-root); None: $GANFORGE_DATA_DIR, cache, system copy
    split: Literal["train", "test", "all"] = "train",  # train: 60,000 images, test: 10,000, all: both
    mirror: str | None = None,  # base URL (http:// or file://) tried before the official mirrors when downloading
) -> TensorData:
    """Zalando's clothing images in 10 classes (Xiao et al.), 28x28 grey: 60,000 train and 10,000 test.

    ``root`` is a directory holding the IDX files (or a ``fashion-mnist/`` subdirectory of them); ``mirror``
    is a base URL (http:// or file://) tried before the official mirror when the files must be downloaded.
    """
    return _load(FASHION_MNIST, root, split, mirror)


def _load(source: Source, root: str | None, split: str, mirror: str | None) -> TensorData:
    if root is not None and not Path(root).expanduser().is_dir():
        raise GanforgeError(f"data root {root} does not exist or is not a directory; pass an existing --data-root")
    if split not in SPLITS:
        raise GanforgeError(f"{source.title} has no split '{split}'; choose one of: {', '.join(SPLITS)}")
    names = [f"{prefix}-{kind}" for prefix in SPLITS[split] for kind in _KINDS]
    paths = _locate(source, split, names, root, mirror)
    parts = [_read_pair(paths[i], paths[i + 1]) for i in range(0, len(paths), 2)]
    for prefix, (images_path, labels_path), (images, labels) in zip(SPLITS[split], zip(paths[::2], paths[1::2]), parts):
        _check_content(source, prefix, images_path, images, labels_path, labels)
    images, labels = (torch.cat(tensors) for tensors in zip(*parts))
    return TensorData(images.unsqueeze(1), DataSpec((1, 28, 28), num_classes=10, is_image=True), labels=labels.long())


def _locate(source: Source, split: str, names: list[str], root: str | None, mirror: str | None) -> list[Path]:
    """The files ``names`` from the first directory holding all of them, downloading into the cache if none does."""
    user_dir = root if root is not None else os.environ.get("GANFORGE_DATA_DIR")
    cache = cache_dir() / source.name
    directories = [Path(user_dir).expanduser(), Path(user_dir).expanduser() / source.name] if user_dir else []
    directories += [cache, SYSTEM_DIR / source.name]
    for directory in directories:
        found = [_find(directory, name) for name in names]
        if all(found):
            return found
    mirrors = ([mirror] if mirror else []) + list(source.mirrors)
    try:
        return [
            _find(cache, name) or fetch(f"{name}.gz", mirrors, source.md5[f"{name}.gz"], cache) for name in names
        ]
    except GanforgeError as exc:
        looked = ", ".join(str(d) for d in directories)
        at_hand = _other_split_at_hand(split, directories)
        hint = "" if at_hand is None else (
            f"; only the {at_hand[0]} split is in {at_hand[1]}: add --set data.split={at_hand[0]} to train on its "
            f"{SPLIT_SIZES[at_hand[0]]} images, or"
        )
        raise GanforgeError(
            f"{source.title} {split} split not found (looked in {looked}) and {exc}{hint or '.'} Pass --data-root DIR "
            f"or set GANFORGE_DATA_DIR to a directory holding {', '.join(names)} (each .gz or raw), "
            f"or download from elsewhere with --set data.mirror=URL"
        ) from exc


def _other_split_at_hand(split: str, directories: list[Path]) -> tuple[str, Path] | None:
    """The other split (train for test, test for train) and the first directory holding all its files, if any."""
    other = {"train": "test", "test": "train"}.get(split)
    if other is None:
        return None
    names = [f"{prefix}-{kind}" for prefix in SPLITS[other] for kind in _KINDS]
    return next(((other, d) for d in directories if all(_find(d, name) for name in names)), None)


def _find(directory: Path, name: str) -> Path | None:
    return next((p for p in (directory / f"{name}.gz", directory / name) if p.is_file()), None)


def _read_pair(images_path: Path, labels_path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N x 28 x 28 uint8) and labels (N uint8, 0-9) from one pair of files, checked to fit together."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != torch.uint8 or images.dim() != 3 or tuple(images.shape[1:]) != (28, 28):
        raise GanforgeError(
            f"{images_path} holds {images.dtype} data of shape {tuple(images.shape)}, not N x 28 x 28 uint8 images; "
            "replace it with the official file"
        )
    if labels.dtype != torch.uint8 or labels.dim() != 1 or len(labels) != len(images):
        raise GanforgeError(
            f"{labels_path} holds {labels.dtype} data of shape {tuple(labels.shape)}, not {len(images)} uint8 labels "
            f"to go with {images_path}; replace both with the official files"
        )
    if len(labels) and int(labels.max()) > 9:
        raise GanforgeError(f"{labels_path} has label {int(labels.max())}, not 0-9; replace it with the official file")
    return images, labels



def _sha256(tensor: torch.Tensor) -> str:
    return hashlib.sha256(tensor.contiguous().numpy().tobytes()).hexdigest()


def _check_content(
    source: Source, prefix: str, images_path: Path, images: torch.Tensor, labels_path: Path, labels: torch.Tensor
) -> None:
    """Refuse files that hold another known split than the one asked for, saying which; warn about files that are
    no known release. The official split passes silently."""
    official = CONTENTS[(source.name, prefix)]
    found = {"images": _sha256(images), "labels": _sha256(labels)}
    expected = {"images": official.images_sha256, "labels": official.labels_sha256}
    wanted = f"{source.title}'s {PREFIX_SPLITS[prefix]} split"
    for kind, path in (("images", images_path), ("labels", labels_path)):
        if found[kind] == expected[kind]:
            continue
        known = [key for key, content in CONTENTS.items() if found[kind] == (content.images_sha256 if kind == "images" else content.labels_sha256)]
        if known:
            name, other = known[0]
            title = MNIST.title if name == MNIST.name else FASHION_MNIST.title
            raise GanforgeError(
                f"{path} holds {title}'s {PREFIX_SPLITS[other]} split, not {wanted}: pass --data "
                f"{name} for those files, or a --data-root holding {source.title}'s own files"
            )
    if found["labels"] != official.labels_sha256 or (official.images_sha256 not in (None, found["images"])):
        counts = tuple(torch.bincount(labels.long(), minlength=10).tolist())
        warnings.warn(
            f"{images_path.parent} holds {len(images):,} images that are not the official {source.title} "
            f"{PREFIX_SPLITS[prefix]} split (classes of {', '.join(map(str, counts))} examples; the official split has "
            f"{', '.join(map(str, official.classes))}): scores on them are not comparable with published ones",
            GanforgeWarning,
            stacklevel=2,
        )

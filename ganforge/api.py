"""ganforge as a library: the same code path the CLI runs.

    import ganforge
    result = ganforge.train("vanilla", data="ring8", settings={"train.epochs": 2})
    ganforge.sample(result.run_dir.path, count=16).save("grid.png")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

import torch

from ganforge.checkpoint import Checkpoint, load_network, read_checkpoint
from ganforge.config import RunConfig, resolve_config
from ganforge.data import DataSpec, TensorData
from ganforge.device import Precision, resolve_device
from ganforge.errors import GanforgeError
from ganforge.evaluation.curves import plot_curves
from ganforge.evaluation.ema import load_average
from ganforge.evaluation.judges import Report, judge_for
from ganforge.images import save_samples
from ganforge.registry import Registry, get_registry
from ganforge.rundir import RunDir, find_checkpoint
from ganforge.trainer import Reporter, RunResult, Trainer
from ganforge.variant import Variant


def configure(variant: str = "vanilla", data: str | None = None, settings: dict[str, Any] | None = None) -> RunConfig:
    """The resolved config for ``variant``: its defaults, then ``data`` and ``settings`` (dotted keys)."""
    overrides = dict(settings or {})
    if data is not None:
        overrides["data.name"] = data
    return resolve_config(get_registry(), variant, overrides)


def load_dataset(config: RunConfig, registry: Registry | None = None) -> TensorData:
    """The dataset the config names, built with its ``data.*`` settings."""
    registry = registry or get_registry()
    factory = registry.load("dataset", config.data.name)
    dataset = factory(**config.data.params)
    if not isinstance(dataset, TensorData):
        raise GanforgeError(
            f"dataset '{config.data.name}' from plugin {config.data.plugin} returned {type(dataset).__name__}, "
            "not a ganforge.data.TensorData; report this to the plugin's author"
        )
    return dataset


def build_variant(config: RunConfig, spec: DataSpec, device: torch.device, registry: Registry | None = None) -> Variant:
    """The config's variant with its networks built (seeded by ``train.seed``) and moved to ``device``."""
    registry = registry or get_registry()
    variant_cls = registry.load("variant", config.variant.name)
    if not (isinstance(variant_cls, type) and issubclass(variant_cls, Variant)):
        raise GanforgeError(f"variant '{config.variant.name}' from plugin {config.variant.plugin} is not a ganforge.Variant subclass")
    torch.manual_seed(config.train.seed)
    variant = variant_cls(config, spec, registry)
    variant.build()
    variant.to(device)
    return variant


def train(
    variant: str = "vanilla",
    data: str | None = None,
    *,
    settings: dict[str, Any] | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    reporter: Reporter | None = None,
) -> RunResult:
    """Train ``variant`` on ``data`` and return what the run left behind (run directory, checkpoint, samples)."""
    config = configure(variant, data, settings)
    device = resolve_device(config.train.device)
    run_path = Path(out) if out is not None else RunDir.default_path(config.variant.name, config.data.name)
    RunDir.check_writable(run_path, overwrite)
    dataset = load_dataset(config).to(device)
    model = build_variant(config, dataset.spec, device)
    model.configure_optimizers()
    run_dir = RunDir.create(run_path)
    run_dir.write_config(config.to_json())
    precision = Precision.for_device(device, config.train.amp)
    return Trainer(model, dataset, config, run_dir, precision, reporter).fit()


@dataclass
class Samples:
    """Generated examples and what is needed to draw them."""

    values: torch.Tensor  # images in [-1, 1] (N, C, H, W) or points (N, D), on the CPU
    spec: DataSpec
    reference: torch.Tensor | None  # drawn under point samples, e.g. the true mixture centres

    def save(self, path: str | Path) -> Path:
        """Write an image grid (images) or a scatter plot (points) to ``path``."""
        return save_samples(self.values, self.spec, Path(path), self.reference)


def load(path: str | Path, device: str = "auto", ema: bool = True) -> Variant:
    """The variant saved in a checkpoint (or a run directory's newest one), networks loaded, in eval mode.

    When the run kept an EMA of the generator (``ema.decay``), the generator gets the averaged weights unless
    ``ema`` is False.
    """
    return _load(path, device, ema)[0]


def _load(path: str | Path, device: str, ema: bool = True) -> tuple[Variant, Checkpoint]:
    checkpoint = read_checkpoint(find_checkpoint(Path(path)))
    meta = checkpoint.meta
    try:
        variant_name, flat = RunConfig.flatten(meta["config"])
        spec_fields = meta["spec"]
        spec = DataSpec(tuple(spec_fields["shape"]), spec_fields["num_classes"], spec_fields["is_image"])
    except (KeyError, TypeError, ValueError) as exc:
        raise GanforgeError(f"checkpoint {checkpoint.path} lacks its run config ({exc}); it was not written by this ganforge") from None
    flat["train.device"] = device
    config = resolve_config(get_registry(), variant_name, flat)
    variant = build_variant(config, spec, resolve_device(device))
    for name, network in variant.networks.items():
        load_network(network, name, checkpoint.tensors, checkpoint.path)
        network.eval()
    if ema:
        load_average(variant, checkpoint.tensors)
    return variant, checkpoint


def sample(path: str | Path, count: int = 64, device: str = "auto", seed: int = 0, ema: bool = True) -> Samples:
    """``count`` samples from the generator saved at ``path`` (a checkpoint or a run directory).

    The generator's EMA weights are used where the run kept them, unless ``ema`` is False.
    """
    if count < 1:
        raise GanforgeError(f"cannot draw {count} samples; ask for at least 1")
    variant, checkpoint = _load(path, device, ema)
    inputs = variant.sample_inputs(count, torch.Generator().manual_seed(seed), None)
    with torch.no_grad():
        values = variant.generate(inputs).float().cpu()
    return Samples(values, variant.spec, checkpoint.tensors.get("data.reference"))


def evaluate(
    path: str | Path,
    count: int | None = None,
    device: str = "auto",
    seed: int = 0,
    ema: bool = True,
    say: Callable[[str], None] = lambda message: None,
    evaluator: Literal["cnn", "inception"] = "cnn",
    inception_weights: str | Path | None = None,
) -> Report:
    """Score the generator saved at ``path`` against its run's data, with the metrics that fit the data.

    ``count`` samples (default: the protocol's, 2,500 for the 2-D mixtures), drawn with ``seed``; the EMA weights
    unless ``ema`` is False. ``say`` hears about slow first-time work such as training the evaluator.
    ``evaluator`` "inception" computes image scores on Inception-v3, whose weights must be on disk (see
    :mod:`ganforge.evaluation.inception`).
    """
    variant, _ = _load(path, device, ema)
    data = load_dataset(variant.config).to(variant.device)
    config = variant.config
    weights = None if inception_weights is None else Path(inception_weights)
    judge = judge_for(data, config.data.name, config.data.params, get_registry(), variant.device, say, evaluator, weights)
    return judge(variant, count, seed)


def plot(run: str | Path, out: str | Path | None = None) -> Path:
    """(Re)draw the training curves of the run directory ``run`` (default: ``<run>/curves.png``)."""
    return plot_curves(Path(run), None if out is None else Path(out))

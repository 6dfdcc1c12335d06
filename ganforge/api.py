"""ganforge as a library: the same code path the CLI runs.

    import ganforge
    result = ganforge.train("vanilla", data="ring8", settings={"train.epochs": 2})
    ganforge.sample(result.run_dir.path, count=16).save("grid.png")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganforge.checkpoint import Checkpoint, load_network, read_checkpoint
from ganforge.config import RunConfig, resolve_config
from ganforge.data import DataSpec, TensorData
from ganforge.device import Precision, resolve_device
from ganforge.discovery import one_line
from ganforge.errors import GanforgeError
from ganforge.images import save_samples
from ganforge.registry import Registry, get_registry
from ganforge.rundir import RunDir, find_checkpoint
from ganforge.trainer import Reporter, RunResult, Trainer
from ganforge.variant import Variant


def configure(
    variant: str = "vanilla",
    data: str | None = None,
    settings: dict[str, Any] | None = None,
    registry: Registry | None = None,
) -> RunConfig:
    """The resolved config for ``variant``: its defaults, then ``data`` and ``settings`` (dotted keys).

    ``registry`` defaults to every installed plugin; tests pass one from :func:`ganforge.testing.registry_with`.
    """
    overrides = dict(settings or {})
    if data is not None:
        overrides["data.name"] = data
    return resolve_config(registry or get_registry(), variant, overrides)


def load_dataset(config: RunConfig, registry: Registry | None = None) -> TensorData:
    """The dataset the config names, built with its ``data.*`` settings."""
    registry = registry or get_registry()
    return registry.get("dataset", config.data.name).build(config.data.params)


def build_variant(config: RunConfig, spec: DataSpec, device: torch.device, registry: Registry | None = None) -> Variant:
    """The config's variant with its networks built (seeded by ``train.seed``) and moved to ``device``."""
    registry = registry or get_registry()
    component = registry.get("variant", config.variant.name)
    variant_cls = component.load()
    torch.manual_seed(config.train.seed)
    try:
        variant = variant_cls(config, spec, registry)
        variant.build()
    except GanforgeError:
        raise
    except Exception as exc:
        raise GanforgeError(
            f"variant '{component.name}' from {component.source} failed to build its networks for data of shape "
            f"{spec.shape}: {one_line(exc)}; report this to the authors of {component.plugin}"
        ) from exc
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
    progress: bool = False,
    registry: Registry | None = None,
) -> RunResult:
    """Train ``variant`` on ``data`` and return what the run left behind (run directory, checkpoint, samples).

    ``settings`` are dotted config keys (``{"train.epochs": 2, "loss.name": "fgan"}``), as ``--set`` takes them;
    ``out`` is the run directory (default ``runs/<variant>-<data>-<time>``); ``progress`` draws the CLI's progress
    bars (in a notebook too); ``reporter`` receives progress instead; ``registry`` defaults to every installed
    plugin.
    """
    registry = registry or get_registry()
    config = configure(variant, data, settings, registry)
    device = resolve_device(config.train.device)
    run_path = Path(out) if out is not None else RunDir.default_path(config.variant.name, config.data.name)
    RunDir.check_writable(run_path, overwrite)
    dataset = load_dataset(config, registry).to(device)
    model = build_variant(config, dataset.spec, device, registry)
    model.configure_optimizers()
    run_dir = RunDir.create(run_path)
    run_dir.write_config(config.to_json())
    precision = Precision.for_device(device, config.train.amp)
    if not progress:
        return Trainer(model, dataset, config, run_dir, precision, reporter).fit()
    from ganforge.console import ProgressReporter

    with ProgressReporter() as bars:
        return Trainer(model, dataset, config, run_dir, precision, bars).fit()


@dataclass
class Samples:
    """Generated examples and what is needed to draw them."""

    values: torch.Tensor  # images in [-1, 1] (N, C, H, W) or points (N, D), on the CPU
    spec: DataSpec
    reference: torch.Tensor | None  # drawn under point samples, e.g. the true mixture centres

    def save(self, path: str | Path) -> Path:
        """Write an image grid (images) or a scatter plot (points) to ``path``."""
        return save_samples(self.values, self.spec, Path(path), self.reference)


def load(path: str | Path, device: str = "auto", registry: Registry | None = None) -> Variant:
    """The variant saved in a checkpoint (or a run directory's newest one), networks loaded, in eval mode."""
    return _load(path, device, registry)[0]


def _load(path: str | Path, device: str, registry: Registry | None = None) -> tuple[Variant, Checkpoint]:
    registry = registry or get_registry()
    checkpoint = read_checkpoint(find_checkpoint(Path(path)))
    meta = checkpoint.meta
    try:
        variant_name, flat = RunConfig.flatten(meta["config"])
        spec_fields = meta["spec"]
        spec = DataSpec(tuple(spec_fields["shape"]), spec_fields["num_classes"], spec_fields["is_image"])
    except (KeyError, TypeError, ValueError) as exc:
        raise GanforgeError(f"checkpoint {checkpoint.path} lacks its run config ({exc}); it was not written by this ganforge") from None
    flat["train.device"] = device
    config = resolve_config(registry, variant_name, flat, plugin_settings=False)
    variant = build_variant(config, spec, resolve_device(device), registry)
    for name, network in variant.networks.items():
        load_network(network, name, checkpoint.tensors, checkpoint.path)
        network.eval()
    return variant, checkpoint


def sample(
    path: str | Path, count: int = 64, device: str = "auto", seed: int = 0, registry: Registry | None = None
) -> Samples:
    """``count`` samples from the generator saved at ``path`` (a checkpoint or a run directory)."""
    if count < 1:
        raise GanforgeError(f"cannot draw {count} samples; ask for at least 1")
    variant, checkpoint = _load(path, device, registry)
    inputs = variant.sample_inputs(count, torch.Generator().manual_seed(seed), None)
    with torch.no_grad():
        values = variant.generate(inputs).float().cpu()
    return Samples(values, variant.spec, checkpoint.tensors.get("data.reference"))

"""ganforge as a library: the same code path the CLI runs.

    import ganforge
    result = ganforge.train("vanilla", data="ring8", settings={"train.epochs": 2})
    ganforge.sample(result.run_dir.path, count=16).save("grid.png")
    ganforge.translate("runs/<an image-to-image run>", "photos/", "translated/")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganforge.checkpoint import Checkpoint, load_network, read_checkpoint, unprefixed
from ganforge.config import RunConfig, resolve_config
from ganforge.data import DataSpec, TensorData
from ganforge.device import Precision, resolve_device
from ganforge.errors import GanforgeError
from ganforge.images import IMAGE_SUFFIXES, image_files, read_image, save_samples, write_image
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
    columns: int | None = None  # the image grid's width (e.g. one class per row); None: as square as possible

    def save(self, path: str | Path) -> Path:
        """Write an image grid (images) or a scatter plot (points) to ``path``."""
        return save_samples(self.values, self.spec, Path(path), self.reference, self.columns)


def load(path: str | Path, device: str = "auto") -> Variant:
    """The variant saved in a checkpoint (or a run directory's newest one), networks loaded, in eval mode."""
    return _load(path, device)[0]


def _load(path: str | Path, device: str) -> tuple[Variant, Checkpoint]:
    checkpoint = read_checkpoint(find_checkpoint(Path(path)))
    meta = checkpoint.meta
    try:
        variant_name, flat = RunConfig.flatten(meta["config"])
        spec_fields = meta["spec"]
        spec = DataSpec(
            tuple(spec_fields["shape"]), spec_fields["num_classes"], spec_fields["is_image"], spec_fields.get("domains", 1)
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise GanforgeError(f"checkpoint {checkpoint.path} lacks its run config ({exc}); it was not written by this ganforge") from None
    flat["train.device"] = device
    config = resolve_config(get_registry(), variant_name, flat)
    variant = build_variant(config, spec, resolve_device(device))
    for name, network in variant.networks.items():
        load_network(network, name, checkpoint.tensors, checkpoint.path)
        network.eval()
    variant.load_extra_state(unprefixed("variant", checkpoint.tensors))  # e.g. which stage a staged GAN reached
    return variant, checkpoint


def sample(path: str | Path, count: int = 64, device: str = "auto", seed: int = 0, label: int | None = None) -> Samples:
    """``count`` samples from the generator saved at ``path`` (a checkpoint or a run directory).

    ``label`` draws every sample from that class (class-conditional variants only).
    """
    if count < 1:
        raise GanforgeError(f"cannot draw {count} samples; ask for at least 1")
    variant, checkpoint = _load(path, device)
    generator = torch.Generator().manual_seed(seed)
    if label is None:
        inputs = variant.sample_inputs(count, generator, None)
    else:
        classes = variant.spec.num_classes
        if not 0 <= label < classes:
            known = f"its {classes} classes are 0-{classes - 1}" if classes else "it was trained on unlabelled data"
            raise GanforgeError(f"--class {label} is not a class of this model: {known}")
        inputs = variant.class_inputs(count, label, generator)
    with torch.no_grad():
        values = variant.generate(inputs).float().cpu()
    return Samples(values, variant.spec, checkpoint.tensors.get("data.reference"), variant.grid_columns(inputs))


def translate(path: str | Path, input_dir: str | Path, out_dir: str | Path, device: str = "auto", batch_size: int = 16) -> list[Path]:
    """Translate every image in ``input_dir`` with the image-to-image model at ``path``; PNGs of the same names
    go to ``out_dir``. Images are converted to the model's channels and size first. Returns the files written."""
    input_dir, out_dir = Path(input_dir), Path(out_dir)
    if not input_dir.is_dir():
        raise GanforgeError(f"--input-dir {input_dir} is not a directory; pass a directory of images")
    files = image_files(input_dir)
    if not files:
        raise GanforgeError(f"{input_dir} holds no images ({', '.join(IMAGE_SUFFIXES)}); pass a directory of images")
    targets = [out_dir / f"{file.stem}.png" for file in files]
    if len(set(targets)) < len(targets):
        raise GanforgeError(f"{input_dir} holds images whose names differ only in their suffix; their outputs would collide")
    if out_dir.exists() and not out_dir.is_dir():
        raise GanforgeError(f"--out {out_dir} is a file; translated images need a directory")
    clashes = [target for target in targets if target.exists()]
    if clashes:
        raise GanforgeError(f"{clashes[0]} exists already; choose an empty --out directory")
    variant, _ = _load(path, device)
    if not variant.spec.is_image:
        raise GanforgeError(f"the model at {path} was trained on points, not images; it cannot translate images")
    sources = torch.stack([read_image(file, variant.spec.shape) for file in files])
    written = []
    for start in range(0, len(files), batch_size):
        chunk = sources[start : start + batch_size].to(variant.device).float().div_(127.5).sub_(1.0)
        with torch.no_grad():
            outputs = variant.translate(chunk).float().cpu()
        out_dir.mkdir(parents=True, exist_ok=True)
        written += [write_image(image, target) for image, target in zip(outputs, targets[start : start + batch_size])]
    return written

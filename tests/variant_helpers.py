"""Helpers for the variant tests: tiny runs on small slices of real data through the same Trainer the CLI uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

import ganforge
from ganforge import api
from ganforge.data import TensorData
from ganforge.device import Precision
from ganforge.rundir import RunDir
from ganforge.trainer import RunResult, Trainer

from conftest import TINY

CPU = torch.device("cpu")

# Tiny networks for the two multi-network recipes, settings as --set takes them.
CYCLEGAN_TINY = {"generator.width": 4, "generator.blocks": 1, "discriminator.width": 4, "discriminator.layers": 2}
STACKGAN_TINY = {
    "generator.width": 4, "generator.condition_dim": 4, "refiner.width": 4, "refiner.condition_dim": 4,
    "refiner.residual_blocks": 1, "discriminator.width": 4, "discriminator.compressed_dim": 4, "noise.dim": 8,
}  # fmt: skip


def first(data: TensorData, count: int, other: int | None = None) -> TensorData:
    """The first ``count`` examples (and ``other`` of a second domain): a small slice of a real dataset."""
    labels = None if data.labels is None else data.labels[:count]
    second = None if data.other is None else data.other[: other or count]
    return TensorData(data.data[:count], data.spec, labels, data.reference, second)


def real_data(variant: str, settings: dict[str, Any]) -> TensorData:
    return api.load_dataset(ganforge.configure(variant, None, settings))


def build(variant: str, data: TensorData, settings: dict[str, Any]):
    """The variant with its networks and optimizers, on the CPU, for ``data``."""
    config = ganforge.configure(variant, None, settings)
    model = api.build_variant(config, data.spec, CPU)
    model.configure_optimizers()
    return model


def tiny_run(variant: str, data: TensorData, settings: dict[str, Any], out: Path, registry=None) -> RunResult:
    """A whole run (samples and checkpoints every epoch) of ``variant`` on ``data``."""
    config = ganforge.configure(variant, None, settings, registry)
    model = api.prepare_training(config, data.spec, CPU, registry=registry)
    run_dir = RunDir.create(out)
    run_dir.write_config(config.to_json())
    return Trainer(model, data, config, run_dir, Precision(CPU)).fit()


def metric_series(result: RunResult, key: str) -> list[float]:
    import json

    return [json.loads(line)[key] for line in result.run_dir.metrics_path.read_text().splitlines()]


def write_images(folder: Path, count: int, size: int, seed: int, channels: int = 1) -> None:
    """``count`` random PNG images of ``size`` x ``size`` in ``folder``."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(seed)
    for index in range(count):
        pixels = torch.randint(0, 256, (size, size, channels), generator=generator, dtype=torch.uint8).squeeze(-1).numpy()
        Image.fromarray(pixels).save(folder / f"{index:03d}.png")


def labelled_folder(root: Path, classes: int = 2, per_class: int = 8, size: int = 16) -> Path:
    """An ``image-folder`` dataset on disk: one subdirectory of grey images per class."""
    for label in range(classes):
        write_images(root / f"class{label}", per_class, size, seed=label)
    return root


def vanilla_and_cgan_runs(root: Path, max_steps: int) -> Path:
    """``root``, holding a tiny unconditional run (``root/vanilla``) and a tiny class-conditional one
    (``root/cgan``), each ``max_steps`` steps on a two-class image folder of 8-pixel images."""
    folder = labelled_folder(root / "images", classes=2, per_class=16, size=8)
    settings = {**TINY, "data.root": str(folder), "train.max_steps": max_steps}
    ganforge.train("vanilla", "image-folder", settings=settings, out=root / "vanilla")
    conditional = {**settings, "generator.name": "conditional-mlp", "discriminator.name": "conditional-mlp"}
    ganforge.train("cgan", "image-folder", settings=conditional, out=root / "cgan")
    return root


def unpaired_folder(root: Path, count: int = 8, size: int = 8) -> Path:
    """An ``unpaired-folders`` dataset on disk: trainA/, trainB/, testA/ and testB/ of grey images."""
    for index, part in enumerate(("trainA", "trainB", "testA", "testB")):
        write_images(root / part, count, size, seed=10 + index)
    return root

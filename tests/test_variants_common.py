"""What every new variant shares: it is listed, and its step runs under the mixed precision CUDA uses."""

import pytest
import torch
from typer.testing import CliRunner

from ganforge.cli import app
from ganforge.data import DataSpec, TensorData
from ganforge.device import Precision

from variant_helpers import build


def labelled(size=16, count=32, channels=1):
    images = torch.randint(0, 256, (count, channels, size, size), dtype=torch.uint8)
    return TensorData(images, DataSpec((channels, size, size), num_classes=10), torch.arange(count) % 10)


def unpaired(size=16, count=32):
    spec = DataSpec((1, size, size), domains=2)
    return TensorData(torch.randint(0, 256, (count, 1, size, size), dtype=torch.uint8), spec, other=torch.randint(0, 256, (count, 1, size, size), dtype=torch.uint8))


CASES = {
    "dcgan": (labelled, {"generator.width": 4, "discriminator.width": 4, "noise.dim": 8}),
    "dcgan-wgan-gp": (labelled, {"generator.width": 4, "discriminator.width": 4, "noise.dim": 8, "loss.name": "wgan-gp", "discriminator.norm": "layer", "optim.d_steps": 1}),
    "cgan": (labelled, {"generator.width": 4, "discriminator.width": 4, "noise.dim": 8, "loss.r1_gamma": 1.0}),
    "cyclegan": (unpaired, {"generator.width": 4, "generator.blocks": 1, "discriminator.width": 4, "discriminator.layers": 2}),
    "stackgan": (labelled, {"generator.width": 4, "refiner.width": 4, "discriminator.width": 4, "generator.condition_dim": 4,
                            "refiner.condition_dim": 4, "discriminator.compressed_dim": 4, "noise.dim": 8, "refiner.residual_blocks": 1}),
}  # fmt: skip


def test_list_shows_every_variant_and_the_embedding_kind():
    result = CliRunner().invoke(app, ["list", "--json"])
    rows = {(row["kind"], row["name"]) for row in __import__("json").loads(result.stdout)}
    assert {("variant", name) for name in ("vanilla", "dcgan", "cgan", "cyclegan", "stackgan")} <= rows
    assert ("embedding", "onehot") in rows and ("discriminator", "patchgan") in rows and ("generator", "unet") in rows


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("case", list(CASES))
def test_a_step_under_mixed_precision(case, dtype):
    """The autocast (and, for fp16, per-optimizer loss scaling) path of CUDA, exercised on the CPU."""
    make_data, settings = CASES[case]
    variant = case.split("-")[0]
    data = make_data()
    model = build(variant, data, {**settings, "train.batch_size": 8})
    precision = Precision(torch.device("cpu"), dtype)
    stages = (1, 2) if variant == "stackgan" else (1,)
    for stage in stages:
        if variant == "stackgan":
            model.position = 0.0 if stage == 1 else 0.9  # stage II trains after stages.stage1 (0.5) of the run
        metrics = model.train_step(data.batch(torch.arange(8 * model.batches_per_step)), precision)
        assert all(torch.isfinite(value).all() for value in metrics.values()), (case, stage, metrics)

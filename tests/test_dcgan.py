"""DCGAN: conv networks sized from the data, Radford et al.'s initialisation, and short runs on real Fashion-MNIST."""

import pytest
import torch
from PIL import Image
from torch import nn
from typer.testing import CliRunner

import ganforge
from ganforge.cli import app
from ganforge.data import DataSpec
from ganforge.errors import GanforgeError
from ganforge_dcgan.models import DCGANDiscriminator, DCGANGenerator

from variant_helpers import build, first, metric_series, real_data, tiny_run

TINY = {"generator.width": 8, "discriminator.width": 8, "noise.dim": 16, "train.batch_size": 32, "train.log_every": 2, "train.sample_count": 16}


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (3, 64, 64), (1, 16, 16)])
def test_shapes_for_every_supported_size(shape):
    spec = DataSpec(shape)
    generator, discriminator = DCGANGenerator(16, spec, width=8), DCGANDiscriminator(spec, width=8)
    images = generator(torch.randn(5, 16))
    assert images.shape == (5, *shape) and images.abs().max() <= 1
    assert discriminator(images).shape == (5,)
    convs = [m for m in discriminator.modules() if isinstance(m, nn.Conv2d)]
    assert [c.stride for c in convs[:-1]] == [(2, 2)] * (len(convs) - 1)  # strided convs, no pooling


def test_the_papers_64_pixel_layout():
    """z -> 512x4x4 -> 256x8x8 -> 128x16x16 -> 64x32x32 -> 3x64x64 with the reference width of 64."""
    generator = DCGANGenerator(100, DataSpec((3, 64, 64)), width=64)
    widths = [m.out_channels for m in generator.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert widths == [512, 256, 128, 64, 3]
    norms = [m for m in generator.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == 4  # every layer but the output one


def test_weights_start_from_n_0_002():
    weights = torch.cat([m.weight.flatten() for m in DCGANDiscriminator(DataSpec((3, 64, 64))).modules() if isinstance(m, nn.Conv2d)])
    assert abs(weights.mean().item()) < 1e-3 and weights.std().item() == pytest.approx(0.02, rel=0.05)


def test_layer_norm_option_for_gradient_penalties():
    discriminator = DCGANDiscriminator(DataSpec((1, 28, 28)), width=8, norm="layer")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in discriminator.modules())
    assert any(isinstance(m, nn.GroupNorm) for m in discriminator.modules())


@pytest.mark.parametrize(
    "spec, message",
    [(DataSpec((2,), is_image=False), "works on square images"), (DataSpec((3, 30, 30)), "must halve to 7 or less")],
)
def test_unsupported_data_is_a_clear_error(spec, message):
    with pytest.raises(GanforgeError, match=message):
        DCGANGenerator(16, spec)


def test_unsupported_data_from_the_command_line():
    result = CliRunner().invoke(app, ["run", "dcgan", "--data", "ring8", "--set", "data.size=64"])
    assert result.exit_code == 2 and "works on square images" in result.stderr


def test_discriminator_learns_first_on_real_fashion_mnist(fashion_root):
    """Against a barely trained G, D's loss falls and D(x) rises above D(G(z)) within a few steps."""
    data = first(real_data("dcgan", {"data.name": "fashion-mnist", "data.root": str(fashion_root), "data.split": "test"}), 32 * 8)
    model = build("dcgan", data, {**TINY, "optim.lr": 5e-4})
    losses = [model.train_step(data.batch(torch.arange(i * 32, i * 32 + 32)), ganforge.api.Precision(torch.device("cpu"))) for i in range(8)]
    assert losses[-1]["loss_d"] < losses[0]["loss_d"]
    assert losses[-1]["d_real"] > losses[-1]["d_fake"]


def test_run_checkpoint_and_sample_on_real_fashion_mnist(tmp_path, fashion_root):
    data = first(real_data("dcgan", {"data.name": "fashion-mnist", "data.root": str(fashion_root), "data.split": "test"}), 128)
    result = tiny_run("dcgan", data, {**TINY, "train.epochs": 2}, tmp_path / "run")
    assert [p.name for p in result.samples] == ["epoch_001.png", "epoch_002.png"]
    assert Image.open(result.samples[-1]).mode == "L"
    assert all(torch.isfinite(torch.tensor(metric_series(result, "loss_g"))))
    out = tmp_path / "grid.png"
    sampled = CliRunner().invoke(app, ["sample", str(tmp_path / "run"), "-n", "9", "--out", str(out), "--device", "cpu"])
    assert sampled.exit_code == 0, sampled.output
    assert Image.open(out).width >= 3 * 28
    assert ganforge.sample(tmp_path / "run", count=9, device="cpu").values.shape == (9, 1, 28, 28)


def test_wgan_gp_with_a_layer_norm_critic_trains(tmp_path):
    spec = DataSpec((1, 16, 16))
    images = ((torch.rand(160, 1, 16, 16) > 0.5) * 255).to(torch.uint8)
    settings = {**TINY, "loss.name": "wgan-gp", "discriminator.norm": "layer", "train.max_steps": 2}
    result = tiny_run("dcgan", ganforge.TensorData(images, spec), settings, tmp_path)
    assert result.steps == 2 and {"penalty", "wasserstein"} <= result.last_metrics.keys()

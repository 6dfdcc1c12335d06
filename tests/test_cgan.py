"""The conditional GAN: labels into G and D, one row per class in sample grids, --class, and clear refusals."""

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import ganforge
from ganforge.cli import app
from ganforge.data import DataSpec, TensorData
from ganforge.errors import GanforgeError
from ganforge.images import image_grid

from variant_helpers import build, first, real_data, tiny_run

TINY = {"generator.width": 8, "discriminator.width": 8, "noise.dim": 16, "train.batch_size": 32, "train.log_every": 2, "train.sample_count": 20}


def digits(mnist_root, count=128):
    return first(real_data("cgan", {"data.name": "mnist", "data.root": str(mnist_root), "data.split": "test"}), count)


def test_sample_grid_has_one_row_per_class_with_shared_noise_per_column():
    spec = DataSpec((1, 28, 28), num_classes=10)
    model = build("cgan", TensorData(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), spec, torch.zeros(4, dtype=torch.long)), TINY)
    inputs = model.sample_inputs(20, torch.Generator().manual_seed(0), None)
    assert inputs.labels.tolist() == [c for c in range(10) for _ in range(2)] and model.grid_columns(inputs) == 2
    assert torch.equal(inputs.noise[0], inputs.noise[2]) and torch.equal(inputs.noise[1], inputs.noise[19])
    images = model.generate(inputs)
    assert images.shape == (20, 1, 28, 28)
    assert not torch.allclose(images[0], images[2])  # same z, another label: another image
    grid = image_grid(images, model.grid_columns(inputs))
    assert grid.height > 4 * grid.width  # 10 rows of 2


@pytest.mark.parametrize("names", [("conditional-dcgan", "conditional-dcgan"), ("conditional-mlp", "conditional-mlp")])
def test_both_network_families_take_the_label(names):
    spec = DataSpec((1, 28, 28), num_classes=10)
    settings = {"generator.name": names[0], "discriminator.name": names[1], "noise.dim": 16}
    model = build("cgan", TensorData(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), spec, torch.zeros(4, dtype=torch.long)), settings)
    z, labels = torch.randn(3, 16), torch.tensor([1, 5, 9])
    images = model.networks["generator"](z, labels)
    assert images.shape == (3, 1, 28, 28) and model.networks["discriminator"](images, labels).shape == (3,)


def test_unlabelled_data_is_refused():
    spec = DataSpec((1, 28, 28), domains=2)
    data = TensorData(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), spec, other=torch.zeros(4, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(GanforgeError, match="cgan conditions on class labels, but dataset .* has none"):
        build("cgan", data, TINY)


def test_an_unconditional_generator_is_refused():
    spec = DataSpec((1, 28, 28), num_classes=10)
    data = TensorData(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), spec, torch.zeros(4, dtype=torch.long))
    with pytest.raises(GanforgeError, match="generator 'dcgan' is not class-conditional"):
        build("cgan", data, {"generator.name": "dcgan"})


def test_few_steps_on_real_mnist_discriminator_learns_first(mnist_root):
    data = digits(mnist_root, 32 * 6)
    model = build("cgan", data, {**TINY, "optim.lr": 5e-4})
    precision = ganforge.api.Precision(torch.device("cpu"))
    metrics = [model.train_step(data.batch(torch.arange(i * 32, i * 32 + 32)), precision) for i in range(6)]
    assert metrics[-1]["loss_d"] < metrics[0]["loss_d"] and metrics[-1]["d_real"] > metrics[-1]["d_fake"]


def test_run_then_sample_a_chosen_class_from_the_checkpoint(tmp_path, mnist_root):
    result = tiny_run("cgan", digits(mnist_root), {**TINY, "train.epochs": 1}, tmp_path / "run")
    grid = Image.open(result.samples[0])
    assert grid.height > 4 * grid.width  # 20 samples: 10 rows (one per class) of 2
    runner = CliRunner()
    out = tmp_path / "three.png"
    sampled = runner.invoke(app, ["sample", str(tmp_path / "run"), "--class", "3", "-n", "4", "--out", str(out), "--device", "cpu"])
    assert sampled.exit_code == 0, sampled.output
    assert "Wrote 4 samples" in sampled.stdout and Image.open(out).width == Image.open(out).height  # a 2x2 grid
    every = runner.invoke(app, ["sample", str(tmp_path / "run"), "-n", "10", "--out", str(tmp_path / "all.png"), "--device", "cpu"])
    assert every.exit_code == 0 and "Wrote 10 samples" in every.stdout
    wrong = runner.invoke(app, ["sample", str(tmp_path / "run"), "--class", "10", "--device", "cpu"])
    assert wrong.exit_code == 2 and "--class 10 is not a class of this model: its 10 classes are 0-9" in wrong.stderr


def test_class_on_an_unconditional_variant_is_one_line(tmp_path):
    settings = {"data.size": 64, "train.epochs": 1, "train.batch_size": 32, "generator.hidden": 8, "discriminator.hidden": 8}
    ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path)
    result = CliRunner().invoke(app, ["sample", str(tmp_path), "--class", "2", "--device", "cpu"])
    assert result.exit_code == 2 and "variant 'vanilla' is not class-conditional" in result.stderr

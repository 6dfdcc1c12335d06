"""Sample grids explain themselves: a conditional run's rows carry their class names, a CycleGAN's columns their titles."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from typer.testing import CliRunner

from ganforge.cli import app
from ganforge.data import DataSpec, TensorData
from ganforge.images import image_grid

from variant_helpers import real_data, tiny_run

CGAN = {"generator.width": 8, "discriminator.width": 8, "noise.dim": 16, "train.batch_size": 32, "train.log_every": 2, "train.sample_count": 20}
CYCLE = {"generator.width": 4, "generator.blocks": 1, "discriminator.width": 4, "discriminator.layers": 2, "train.batch_size": 8, "train.max_steps": 1, "train.sample_count": 3}
NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def ink(region: np.ndarray) -> int:
    """Dark pixels (text) in a region of a white margin."""
    grey = region if region.ndim == 2 else region.mean(axis=2)
    return int((grey < 128).sum())


def test_fashion_mnist_and_mnist_name_their_classes(fashion_root, mnist_root):
    fashion = real_data("cgan", {"data.name": "fashion-mnist", "data.root": str(fashion_root), "data.split": "test"})
    digits = real_data("cgan", {"data.name": "mnist", "data.root": str(mnist_root), "data.split": "test"})
    assert fashion.spec.class_names == NAMES
    assert digits.spec.class_names == tuple("0123456789")


def test_image_folder_classes_are_named_by_their_subfolders(tmp_path):
    from variant_helpers import write_images

    write_images(tmp_path / "cats", 2, 8, seed=0)
    write_images(tmp_path / "dogs", 2, 8, seed=1)
    data = real_data("cgan", {"data.name": "image-folder", "data.root": str(tmp_path)})
    assert data.spec.class_names == ("cats", "dogs")


def test_cgan_grids_label_each_row_with_its_class_name(tmp_path):
    spec = DataSpec((1, 28, 28), num_classes=10, class_names=NAMES)
    data = TensorData(torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8), spec, torch.arange(64) % 10)
    result = tiny_run("cgan", data, {**CGAN, "train.epochs": 1}, tmp_path / "run")
    plain = image_grid(torch.zeros(20, 1, 28, 28), 2)  # what the grid was without labels: 10 rows of 2
    sampled = tmp_path / "sampled.png"
    written = CliRunner().invoke(app, ["sample", str(tmp_path / "run"), "-n", "20", "--out", str(sampled), "--device", "cpu"])
    assert written.exit_code == 0, written.output
    for path in (result.samples[-1], sampled):  # the grid after each epoch, and 'ganforge sample' from the checkpoint
        grid = np.asarray(Image.open(path).convert("L"))
        margin = grid.shape[1] - plain.width
        assert grid.shape[0] == plain.height and margin >= 50  # wide enough for "T-shirt/top"
        row = plain.height // 10
        assert all(ink(grid[r * row : (r + 1) * row, :margin]) > 10 for r in range(10))  # a label beside every row
        assert ink(grid[:, :margin]) < grid.shape[0] * margin // 4  # the rest of the margin stays white
    one_class = tmp_path / "three.png"
    CliRunner().invoke(app, ["sample", str(tmp_path / "run"), "--class", "3", "-n", "4", "--out", str(one_class), "--device", "cpu"])
    assert Image.open(one_class).size == image_grid(torch.zeros(4, 1, 28, 28)).size  # one chosen class: no labels


def cycle_data():
    generator = torch.Generator().manual_seed(0)
    a = torch.randint(0, 128, (16, 1, 16, 16), generator=generator, dtype=torch.uint8)
    b = torch.randint(128, 256, (19, 1, 16, 16), generator=generator, dtype=torch.uint8)
    return TensorData(a, DataSpec((1, 16, 16), domains=2), other=b)


def test_cyclegan_grids_title_their_six_columns(tmp_path):
    result = tiny_run("cyclegan", cycle_data(), CYCLE, tmp_path / "run")
    plain = image_grid(torch.zeros(18, 1, 16, 16), 6)  # 3 rows of a, G(a), F(G(a)), b, F(b), G(F(b))
    grid = np.asarray(Image.open(result.samples[-1]).convert("L"))
    title = grid.shape[0] - plain.height
    assert grid.shape[1] == plain.width and title >= 10
    column = plain.width // 6
    assert all(ink(grid[:title, c * column : (c + 1) * column]) > 5 for c in range(6))  # a title above every column

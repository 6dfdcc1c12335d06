"""The image-folder dataset: your own pictures, greyscale or colour, with subfolders as classes."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

import ganforge
from ganforge.errors import GanforgeError
from ganforge_datasets.folder import image_folder

from conftest import TINY


def test_greyscale_images_keep_one_channel_in_file_name_order(tmp_path):
    for index in (2, 0, 1):
        Image.new("L", (5, 3), color=index * 100).save(tmp_path / f"{index}.png")
    data = image_folder(str(tmp_path))
    assert data.data.shape == (3, 1, 3, 5) and data.data.dtype == torch.uint8
    assert data.data[:, 0, 0, 0].tolist() == [0, 100, 200]
    assert data.labels is None and data.spec.num_classes == 0 and data.spec.is_image


def test_colour_or_mixed_images_become_rgb_and_subfolders_classes(tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / "dogs").mkdir()
    Image.new("RGB", (4, 4), color=(255, 0, 0)).save(tmp_path / "cats" / "a.png")
    Image.new("L", (4, 4), color=7).save(tmp_path / "dogs" / "b.png")
    Image.new("RGBA", (4, 4), color=(0, 0, 255, 128)).save(tmp_path / "dogs" / "c.png")
    data = image_folder(str(tmp_path))
    assert data.data.shape == (3, 3, 4, 4)
    assert data.data[:, :, 0, 0].tolist() == [[255, 0, 0], [7, 7, 7], [0, 0, 255]]
    assert data.labels.tolist() == [0, 1, 1] and data.spec.num_classes == 2
    assert image_folder(str(tmp_path), mode="grey").data.shape == (3, 1, 4, 4)


def test_images_at_several_depths_are_unlabelled(tmp_path):
    (tmp_path / "more").mkdir()
    Image.new("L", (2, 2)).save(tmp_path / "top.png")
    Image.new("L", (2, 2)).save(tmp_path / "more" / "deeper.png")
    assert image_folder(str(tmp_path)).labels is None


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: (d / "x.txt").write_text("."), "no images (.png, .jpg"),
        (lambda d: (d / "x.png").write_bytes(b"not an image"), "x.png is not a readable image"),
        (lambda d: [Image.new("L", (2, 2)).save(d / "a.png"), Image.new("L", (3, 2)).save(d / "b.png")], "a.png is 2x2 but"),
    ],
    ids=["empty", "unreadable", "sizes"],
)
def test_folder_problems_are_one_line_naming_the_files(tmp_path, make, message):
    make(tmp_path)
    with pytest.raises(GanforgeError, match=None) as raised:
        image_folder(str(tmp_path))
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_a_root_is_required_and_must_exist(tmp_path):
    with pytest.raises(GanforgeError, match="needs a directory of images; pass --data-root DIR"):
        image_folder()
    with pytest.raises(GanforgeError, match="does not exist"):
        image_folder(str(tmp_path / "absent"))


def test_a_gan_trains_on_a_folder(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for index in range(16):
        Image.new("RGB", (4, 4), color=(index * 16, 0, 255 - index * 16)).save(images / f"{index:02d}.png")
    settings = {**TINY, "data.root": str(images), "train.batch_size": 8, "train.epochs": 1}
    result = ganforge.train("vanilla", "image-folder", settings=settings, out=tmp_path / "run")
    assert result.steps == 2 and ganforge.sample(result.checkpoint, count=4, device="cpu").values.shape == (4, 3, 4, 4)

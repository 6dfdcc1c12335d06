"""Unpaired two-domain image data, as CycleGAN trains on: domain A in ``data``, domain B in ``other``.

``unpaired-folders`` reads the layout of the original CycleGAN releases, a directory with ``trainA/``, ``trainB/``,
``testA/`` and ``testB/`` of images, each domain any number of them; ``digits2fashion`` pairs MNIST digits (A)
with Fashion-MNIST items (B), which works offline wherever those two datasets are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch

from ganforge.data import DataSpec, Protocol, TensorData
from ganforge.errors import GanforgeError
from ganforge.images import IMAGE_SUFFIXES, image_files, read_image
from ganforge_datasets.mnist import fashion_mnist, mnist

LAYOUT = ("trainA", "trainB", "testA", "testB")


def read_unpaired(directory: Path, split: str, size: int, channels: int) -> TensorData:
    """Domains ``<split>A/`` and ``<split>B/`` of ``directory``, every image resized to ``size`` x ``size``."""
    if size < 1:
        raise GanforgeError(f"data.size must be at least 1, got {size}")
    domains = []
    for domain in ("A", "B"):
        folder = directory / f"{split}{domain}"
        if not folder.is_dir():
            raise GanforgeError(f"{directory} has no {split}{domain}/ directory; the layout is {'/, '.join(LAYOUT)}/ of images")
        files = image_files(folder)
        if not files:
            raise GanforgeError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        domains.append(torch.stack([read_image(file, (channels, size, size)) for file in files]))
    return TensorData(domains[0], DataSpec((channels, size, size), domains=2), other=domains[1])


def unpaired_folders(
    root: str | None = None,  # directory holding trainA/, trainB/, testA/, testB/ (--data-root)
    split: Literal["train", "test"] = "train",  # which folders: trainA/ and trainB/, or testA/ and testB/
    size: int = 256,  # images are resized to size x size (bicubic)
    channels: Literal["rgb", "grey"] = "rgb",  # every image converted to three channels or one
) -> TensorData:
    """Your own unpaired images: ``root`` holds trainA/, trainB/, testA/, testB/ as in the CycleGAN releases.

    Every image is converted to ``channels`` and resized to ``size`` x ``size`` (bicubic) when read.
    """
    if root is None:
        raise GanforgeError("unpaired-folders needs --data-root DIR, a directory with trainA/, trainB/, testA/ and testB/ of images")
    directory = Path(root).expanduser()
    if not directory.is_dir():
        raise GanforgeError(f"data root {directory} does not exist or is not a directory; pass an existing --data-root")
    return read_unpaired(directory, split, size, 1 if channels == "grey" else 3)


def digits2fashion(
    root: str | None = None,  # directory holding the MNIST and Fashion-MNIST files, directly or in mnist/ and fashion-mnist/
    split: Literal["train", "test", "all"] = "train",  # train: 60,000 of each, test: 10,000, all: both
) -> TensorData:
    """MNIST digits (A) and Fashion-MNIST items (B), unpaired, 28x28 grey: a two-domain set that works offline.

    ``root`` is looked in for both, directly or in ``mnist/`` and ``fashion-mnist/`` subdirectories, as by the
    ``mnist`` and ``fashion-mnist`` datasets (which also download what is missing).
    """
    digits, items = mnist(root, split), fashion_mnist(root, split)
    return TensorData(digits.data, DataSpec(digits.spec.shape, domains=2), other=items.data, protocol=Protocol(target="fashion-mnist"))

"""Stacked MNIST (Metz et al. 2017, "Unrolled GANs"; used by VEEGAN and PacGAN): three MNIST digits, drawn
independently, as the three channels of one 28x28 colour image. Its 10^3 = 1,000 classes (the digit triples)
are the modes a generator should cover; ``ganforge eval`` labels each generated channel with the MNIST evaluator.
"""

from __future__ import annotations

from typing import Literal

import torch

from ganforge.data import DataSpec, Protocol, TensorData
from ganforge.errors import GanforgeError
from ganforge_datasets.mnist import mnist

CHANNELS = 3


def stacked_mnist(
    root: str | None = None,
    split: Literal["train", "test", "all"] = "train",
    size: int = 60_000,
    seed: int = 0,
    mirror: str | None = None,
) -> TensorData:
    """``size`` images whose channels are three MNIST digits from ``split``; label = 100 d1 + 10 d2 + d3.

    The digits are drawn with a private generator seeded from ``seed``, so the dataset is the same on every run.
    ``root``, ``split`` and ``mirror`` are MNIST's settings.
    """
    if size < 1:
        raise GanforgeError(f"stacked-mnist: data.size must be at least 1, got {size}")
    digits = mnist(root, split, mirror)
    chosen = torch.randint(len(digits), (size, CHANNELS), generator=torch.Generator().manual_seed(seed))
    images = digits.data[chosen].squeeze(2)  # (size, 3, 28, 28)
    place = 10 ** torch.arange(CHANNELS - 1, -1, -1)
    labels = (digits.labels[chosen] * place).sum(1)
    spec = DataSpec((CHANNELS, 28, 28), num_classes=10**CHANNELS, is_image=True)
    return TensorData(images, spec, labels=labels, protocol=Protocol(channels_of="mnist"))

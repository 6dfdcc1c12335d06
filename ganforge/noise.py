"""The prior p_z that generators map from, shared by every noise-driven variant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from ganforge.config import at_least


@dataclass
class NoiseConfig:
    """Settings of the ``noise`` section."""

    dim: int = at_least(1, 100)  # size of z
    dist: Literal["normal", "uniform"] = "normal"  # p_z: N(0, I) or U(-1, 1) per coordinate


def sample_noise(
    config: NoiseConfig, count: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None
) -> torch.Tensor:
    """``count`` draws of z ~ p_z, shape (count, dim)."""
    if config.dist == "uniform":
        return torch.rand(count, config.dim, device=device, generator=generator).mul_(2).sub_(1)
    return torch.randn(count, config.dim, device=device, generator=generator)


@dataclass
class ClassInputs:
    """Noise and class labels for a class-conditional generator, and the sample grid's width."""

    noise: torch.Tensor  # (N, dim)
    labels: torch.Tensor  # (N,) int64
    columns: int | None  # one class per row of this many columns, or None for a square grid of one class

    @classmethod
    def grid(cls, config: NoiseConfig, num_classes: int, count: int, generator: torch.Generator) -> "ClassInputs":
        """One row per class, ``ceil(count / num_classes)`` columns; each column shares its z across the rows,
        so that a column shows what the label alone changes."""
        columns = -(-count // num_classes)
        noise = sample_noise(config, columns, "cpu", generator).repeat(num_classes, 1)
        return cls(noise, torch.arange(num_classes).repeat_interleave(columns), columns)

    @classmethod
    def random(
        cls, config: NoiseConfig, num_classes: int, count: int, generator: torch.Generator, labels: torch.Tensor | None = None
    ) -> "ClassInputs":
        """``count`` independent draws of z and of a class: from ``labels`` (the data's, so that the classes come in
        the data's proportions), or uniform over ``num_classes`` without them. For evaluation, whose samples must
        not share z the way a grid's columns do."""
        if labels is None:
            drawn = torch.randint(num_classes, (count,), generator=generator)
        else:
            drawn = labels.cpu()[torch.randint(len(labels), (count,), generator=generator)]
        return cls(sample_noise(config, count, "cpu", generator), drawn, None)

    @classmethod
    def single(cls, config: NoiseConfig, label: int, count: int, generator: torch.Generator) -> "ClassInputs":
        """``count`` draws of z, all with class ``label``."""
        return cls(sample_noise(config, count, "cpu", generator), torch.full((count,), label, dtype=torch.long), None)

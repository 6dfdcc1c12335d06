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

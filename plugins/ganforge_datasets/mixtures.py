"""The standard 2-D Gaussian-mixture benchmarks for mode collapse, generated in code.

Points are drawn with a private generator seeded from ``seed``, so a dataset is the same on every run and does
not disturb the global RNG. The centres and standard deviations are public so that evaluation code can count
covered modes and high-quality samples against the same mixture.
"""

from __future__ import annotations

import math

import torch

from ganforge.data import DataSpec, Protocol, TensorData
from ganforge.errors import GanforgeError

RING8_STD = 0.01
GRID25_STD = 0.05


def ring8_centres() -> torch.Tensor:
    """The 8 centres of ``ring8``, equally spaced on the unit circle starting at (1, 0): float32, 8 x 2."""
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    return torch.stack([angles.cos(), angles.sin()], dim=1).float()


def grid25_centres() -> torch.Tensor:
    """The 25 centres of ``grid25``, the grid {-4, -2, 0, 2, 4}^2 in row-major order: float32, 25 x 2."""
    axis = torch.arange(-4, 5, 2, dtype=torch.float32)
    return torch.cartesian_prod(axis, axis)


def ring8(
    size: int = 50_000,  # points drawn
    seed: int = 0,  # seed of the draw (the data, not the run: train.seed seeds that)
) -> TensorData:
    """8 Gaussians (std 0.01) equally spaced on the unit circle."""
    return _mixture("ring8", ring8_centres(), RING8_STD, size, seed)


def grid25(
    size: int = 50_000,  # points drawn
    seed: int = 0,  # seed of the draw (the data, not the run: train.seed seeds that)
) -> TensorData:
    """25 Gaussians (std 0.05) on the 5x5 grid {-4, -2, 0, 2, 4}^2."""
    return _mixture("grid25", grid25_centres(), GRID25_STD, size, seed)


def _mixture(name: str, centres: torch.Tensor, std: float, size: int, seed: int) -> TensorData:
    """``size`` points, each from a uniformly chosen centre plus isotropic Gaussian noise of ``std``."""
    if size < 1:
        raise GanforgeError(f"{name}: data.size must be at least 1, got {size}")
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(len(centres), (size,), generator=generator)
    points = centres[labels] + std * torch.randn(size, 2, generator=generator)
    # the mixture's own std per coordinate (not the sample's), so every size and seed gives the networks one unit
    scale = math.sqrt(float(centres.double().var(dim=0, correction=0).mean()) + std**2)
    spec = DataSpec((2,), num_classes=len(centres), is_image=False, scale=scale)
    return TensorData(points, spec, labels=labels, reference=centres, protocol=Protocol(mode_std=std))

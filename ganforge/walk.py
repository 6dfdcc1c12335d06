"""Latent walks: a generator's outputs along a closed path through p_z, frame by frame (``ganforge interpolate``).

The path visits ``points`` draws of z and returns to the first. Between two points it follows the great circle
(slerp, Shoemake 1985; White 2016, "Sampling Generative Networks") for normal noise: a straight line between two
draws of N(0, I) passes near the origin, where z is far shorter than any draw (|z| ≈ √dim), so the frames midway
would show what the generator never saw. Uniform noise fills its cube evenly, and a straight line (lerp) stays
inside it. Each frame is a grid of several walks at once; class-conditional variants show the same walks in one
row per class.
"""

from __future__ import annotations

import math

from dataclasses import dataclass

import torch

from ganforge.errors import GanforgeError
from ganforge.noise import NoiseConfig, sample_noise
from ganforge.variant import Variant


def lerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Row by row, the point a fraction ``t`` along the great-circle arc from ``a`` to ``b``, with the length
    interpolated too (the rows need not have equal norms)."""
    norm_a, norm_b = a.norm(dim=1, keepdim=True), b.norm(dim=1, keepdim=True)
    unit_a, unit_b = a / norm_a.clamp_min(1e-12), b / norm_b.clamp_min(1e-12)
    cosine = (unit_a * unit_b).sum(1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.acos(cosine)
    sine = torch.sin(omega)
    parallel = sine.abs() < 1e-6  # (anti)parallel rows: the arc is not defined by the two; a line will do
    safe = torch.where(parallel, torch.ones_like(sine), sine)
    direction = (torch.sin((1 - t) * omega) * unit_a + torch.sin(t * omega) * unit_b) / safe
    direction = torch.where(parallel, lerp(unit_a, unit_b, t), direction)
    return direction * lerp(norm_a, norm_b, t)


@dataclass
class Walk:
    """The frames of a latent walk, and how to lay each out."""

    frames: list[torch.Tensor]  # each (N, C, H, W) images in [-1, 1] or (N, D) points, on the CPU
    columns: int  # the grid's width: the number of walks (class rows), or a width whose rows they fill
    path: str  # slerp or lerp


def keyframes(prior: NoiseConfig, walks: int, points: int | None, seeds: list[int] | None, seed: int) -> list[torch.Tensor]:
    """The draws of z the walks pass through: ``points`` drawn from ``seed``, or one point per seed of ``seeds``
    (point i of every walk drawn from generator seed ``seeds[i]``, as ``ganforge sample --seed`` would draw it)."""
    if seeds is not None:
        return [sample_noise(prior, walks, "cpu", torch.Generator().manual_seed(s)) for s in seeds]
    generator = torch.Generator().manual_seed(seed)
    return [sample_noise(prior, walks, "cpu", generator) for _ in range(points or 0)]


@torch.no_grad()
def latent_walk(
    variant: Variant,
    walks: int,
    frames_between: int,
    points: int | None = None,
    seeds: list[int] | None = None,
    seed: int = 0,
    label: int | None = None,
) -> Walk:
    """Frames of ``walks`` latent walks through ``variant``'s generator (through its own :meth:`~Variant.noise_inputs`
    and :meth:`~Variant.generate`, with whatever weights it holds: the EMA's when loaded so).

    Class-conditional variants walk in one row per class, the same z in every row, or in class ``label`` alone.
    """
    prior = variant.require_prior("a latent walk")
    stops = keyframes(prior, walks, points, seeds, seed)
    if len(stops) < 2:
        raise GanforgeError(f"a walk needs at least 2 points; got {len(stops)} (--points N or --seeds a,b,...)")
    move = slerp if prior.dist == "normal" else lerp
    if variant.conditional:
        classes = [label] if label is not None else list(range(variant.spec.num_classes))
        labels = torch.tensor(classes).repeat_interleave(walks)
        rows = len(classes)
    else:
        labels, rows = None, 1
    frames = []
    for start, end in zip(stops, stops[1:] + stops[:1]):  # closed: the last point leads back to the first
        for index in range(frames_between):
            z = move(start, end, index / frames_between).repeat(rows, 1)
            inputs = variant.noise_inputs(z, labels, torch.Generator().manual_seed(seed))  # same extra draws every frame
            frames.append(variant.generate(inputs).float().cpu())
    return Walk(frames, walks if variant.conditional and label is None else full_rows(walks), move.__name__)


def full_rows(count: int) -> int:
    """Columns for ``count`` walks that fill every row (no empty cell in any frame): the divisor of ``count``
    nearest above its square root, 4 for 8 walks (two rows of 4), ``count`` itself (one row) for a prime."""
    return next(columns for columns in range(math.isqrt(count - 1) + 1, count + 1) if count % columns == 0)

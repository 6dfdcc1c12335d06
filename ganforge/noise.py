"""The prior p_z that generators map from, shared by every noise-driven variant, and its truncation."""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Iterator, Literal

import torch

from ganforge.config import at_least
from ganforge.errors import GanforgeError


@dataclass
class NoiseConfig:
    """Settings of the ``noise`` section."""

    dim: int = at_least(1, 100)  # size of z
    dist: Literal["normal", "uniform"] = "normal"  # p_z: N(0, I) or U(-1, 1) per coordinate


def sample_noise(
    config: NoiseConfig, count: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None
) -> torch.Tensor:
    """``count`` draws of z ~ p_z, shape (count, dim); inside :func:`truncated`, from the truncated p_z."""
    z = _draw(config, (count, config.dim), device, generator)
    use = _TRUNCATION.get()
    if use is None:
        return z
    use.draws += 1
    return use.truncation.apply(z, config, generator)


def _draw(config: NoiseConfig, shape: tuple[int, ...], device: torch.device | str, generator: torch.Generator | None) -> torch.Tensor:
    if config.dist == "uniform":
        return torch.rand(shape, device=device, generator=generator).mul_(2).sub_(1)
    return torch.randn(shape, device=device, generator=generator)


TruncationMode = Literal["resample", "mean"]
MIN_RESAMPLE_PSI = 0.01  # a component lands in [-0.01, 0.01] about once in 125 draws: a 10,000-sample grid still takes a moment


@dataclass(frozen=True)
class Truncation:
    """The truncation trick: draws of z nearer p_z's centre, trading variety for fidelity.

    ``resample`` (Brock et al. 2019, BigGAN; the default for normal noise): every component of z with
    |z_i| > ``psi`` is drawn again until none is, so z follows p_z truncated to [-psi, psi] per component.
    ``mean`` (Karras et al. 2019, StyleGAN's ψ; the default for uniform noise): z moves towards the mean latent,
    z̄ + ψ (z − z̄). ganforge's generators take z directly (no mapping network), so the mean latent is p_z's mean,
    0, and this scales z by ψ; for uniform noise it is the same distribution as resampling at ``psi``.
    """

    psi: float  # resample: the threshold (> 0); mean: ψ in [0, 1], 1 leaves z as it is
    mode: TruncationMode

    @classmethod
    def choose(cls, psi: float, mode: str | None, noise: NoiseConfig) -> "Truncation":
        """The truncation ``--truncation psi [--truncation-mode mode]`` asks for, checked; ``mode`` None: the
        default for ``noise.dist``."""
        mode = mode or ("resample" if noise.dist == "normal" else "mean")
        if mode not in ("resample", "mean"):
            raise GanforgeError(f"--truncation-mode {mode!r} is not one of: resample, mean")
        if mode == "resample" and not psi > 0:
            raise GanforgeError(f"--truncation {psi:g} is not a threshold: resampling keeps |z| <= PSI, so PSI must be above 0")
        if mode == "resample" and psi < MIN_RESAMPLE_PSI:
            raise GanforgeError(
                f"--truncation {psi:g} is too small to resample: below {MIN_RESAMPLE_PSI:g} hardly a draw lands inside "
                f"[-PSI, PSI], so drawing would take practically forever; pass {MIN_RESAMPLE_PSI:g} or more, or --truncation-mode mean"
            )
        if mode == "mean" and not 0 <= psi <= 1:
            raise GanforgeError(f"--truncation {psi:g} is outside [0, 1]: the mean form moves z a fraction PSI of the way from the mean")
        return cls(float(psi), mode)

    def apply(self, z: torch.Tensor, config: NoiseConfig, generator: torch.Generator | None) -> torch.Tensor:
        """``z`` (draws of p_z) truncated; ``generator`` draws the replacements, so a seed still fixes the result."""
        if self.mode == "mean":
            return z * self.psi  # z̄ = 0 for both priors
        outside = z.abs() > self.psi
        while bool(outside.any()):
            z[outside] = _draw(config, (int(outside.sum()),), z.device, generator)
            outside = z.abs() > self.psi
        return z


@dataclass
class _Use:
    truncation: Truncation
    draws: int = field(default=0)  # calls of sample_noise inside the block: zero means the variant bypassed it


_TRUNCATION: ContextVar[_Use | None] = ContextVar("ganforge_truncation", default=None)


@contextlib.contextmanager
def truncated(truncation: Truncation | None, variant_name: str = "the variant") -> Iterator[None]:
    """Inside the block, :func:`sample_noise` draws from the truncated p_z, so that every variant's own sampling
    path (``sample_inputs``, ``class_inputs``, ``evaluation_inputs``) is truncated without knowing of it.

    A block in which no noise was drawn is an error: the variant draws z some other way, which truncation cannot reach.
    """
    if truncation is None:
        yield
        return
    use = _Use(truncation)
    token = _TRUNCATION.set(use)
    try:
        yield
    finally:
        _TRUNCATION.reset(token)
    if use.draws == 0:
        raise GanforgeError(
            f"{variant_name} drew no noise through ganforge.noise.sample_noise, so --truncation cannot apply to it"
        )


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

"""How far a run has come, and the learning rates that follow from it: one schedule language for every variant.

A run's *position* goes from 0 at its first step to 1 at its end. Everything that changes over a run is a
function of the position, never of an epoch count a variant keeps itself: the learning rates (this module) and
a variant's stages (StackGAN's stage I for the first ``stages.stage1`` of the run, read from
:attr:`ganforge.Variant.position`).

The rates follow the ``schedule`` section, the same keys for every variant: every optimizer keeps its initial
rate until ``schedule.hold`` of the run, then falls linearly to ``schedule.final`` of it at the end
(``schedule.d_final`` for the discriminators' optimizers, those that update no network in
``Variant.generators``), along a straight line or, with ``schedule.shape=cosine``, along half a cosine (flat at
both ends, as R3GAN's schedules). The core sets the rates before every step. :func:`cosine` is the same curve
for a variant's own annealed settings (R3GAN's γ and Adam's β2).

The schedule's length is the run's epochs (``train.epochs``), or ``train.steps`` where that is set (``--minutes``
fixes it from a time budget: :mod:`ganforge.budget`); ``train.max_steps`` stops a run early without changing it, so a run cut short with ``--max-steps`` and resumed without it trains exactly as one never cut.
Extending a run (``ganforge resume RUN --epochs MORE``) lays the rest of the schedule over the new length: the
position goes on from where the run stopped and reaches 1 at the new end. So the rates go on from their current
values and never rise again nor fall below the final fraction, and stages never go backwards. A resume that keeps
the epochs changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from ganforge.config import ScheduleConfig
from ganforge.variant import Variant


def cosine(start: float, final: float, fraction: float) -> float:
    """From ``start`` at ``fraction`` 0 to ``final`` at 1 along half a cosine (flat at both ends)."""
    fraction = min(1.0, max(0.0, fraction))
    return start + (final - start) * (1.0 - math.cos(math.pi * fraction)) / 2.0


def multiplier(config: ScheduleConfig, position: float, discriminator: bool = False) -> float:
    """The learning rate at ``position`` as a fraction of the initial one."""
    if position <= config.hold:
        return 1.0
    final = config.d_final if discriminator and config.d_final is not None else config.final
    fraction = min(1.0, (position - config.hold) / (1.0 - config.hold))
    if config.shape == "cosine":
        return cosine(1.0, final, fraction)
    return 1.0 - (1.0 - final) * fraction


@dataclass
class Clock:
    """The position of each step, by the steps done before it: linear from ``(anchor_step, anchor_position)`` to 1
    at ``total_steps`` (so the last step of a run trains just short of 1).

    A fresh run is anchored at (0, 0); a run whose length changed is re-anchored where it stood (:meth:`resized`).
    """

    total_steps: int
    anchor_step: int = 0
    anchor_position: float = 0.0

    def position(self, step: int) -> float:
        """How far through its schedule the run is when ``step`` steps are done (0 to 1)."""
        remaining = self.total_steps - self.anchor_step
        if remaining <= 0:
            return 1.0
        return min(1.0, self.anchor_position + (1.0 - self.anchor_position) * (step - self.anchor_step) / remaining)

    def resized(self, step: int, total_steps: int) -> "Clock":
        """The clock of the same run, ``step`` steps done, now ``total_steps`` long: anchored at the last step done,
        so that the next step goes on from the rates and stage that step had."""
        if total_steps == self.total_steps:
            return self
        last = max(step - 1, 0)
        return Clock(total_steps, last, self.position(last))

    def to_meta(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> "Clock":
        return cls(int(meta["total_steps"]), int(meta["anchor_step"]), float(meta["anchor_position"]))


class Rates:
    """Sets every optimizer's learning rate for the position, from each parameter group's ``initial_lr``."""

    def __init__(self, config: ScheduleConfig, variant: Variant):
        self.config = config
        self.optimizers = variant.optimizers
        # an optimizer that updates no network in Variant.generators is a discriminator's
        generator_parameters = {id(p) for name in variant.generators for p in variant.networks[name].parameters()}
        self.discriminator = {
            name: not any(id(p) in generator_parameters for group in optimizer.param_groups for p in group["params"])
            for name, optimizer in self.optimizers.items()
        }
        for optimizer in self.optimizers.values():
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])  # saved with the optimizer's state, so a resume keeps it

    def set(self, position: float) -> None:
        for name, optimizer in self.optimizers.items():
            factor = multiplier(self.config, position, self.discriminator[name])
            for group in optimizer.param_groups:
                group["lr"] = group["initial_lr"] * factor

    def current(self) -> dict[str, float]:
        """Each optimizer's rate now (its first parameter group's)."""
        return {name: optimizer.param_groups[0]["lr"] for name, optimizer in self.optimizers.items()}

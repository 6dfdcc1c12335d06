"""A run's length from a time budget (``--minutes``, ``train.minutes``): the first steps are timed, then forgotten.

A CPU user thinks in minutes, not epochs. With ``train.minutes`` set and ``train.steps`` not yet fixed, the trainer
takes a few steps on random minibatches, times them, and fixes ``train.steps`` to the steps that fit in what is
left of the budget; config.json then holds that count, so the schedule (which spans ``train.steps``), a resume
and an extension are exact and deterministic from there on, and the timing is never done again.

The timed steps leave no trace: the networks, the optimizers, the variant's extra state, the augmentation's
statistics, the loss scalers and the random number generators are put back as they were, so a run given
``--minutes`` trains exactly as one given ``--set train.steps=N`` with the N it fixed. With several processes the
ranks agree on one N (the mean of theirs).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import torch

from ganforge.augment import Augmentation
from ganforge.data import TensorData
from ganforge.device import Precision
from ganforge.distributed import Distributed
from ganforge.variant import Variant

WARMUP_STEPS = 2  # untimed: the first steps pay for allocation and one-off set-up (and compilation)
MIN_TIMED_STEPS = 3
TIMING_SHARE = 0.02  # of the budget spent timing (at most MAX_TIMING_S)
MAX_TIMING_S = 20.0


@dataclass(frozen=True)
class Budget:
    """What the timing found."""

    steps: int  # the run's length, fixed
    seconds_per_step: float
    timed_steps: int

    def line(self, minutes: float) -> str:
        """The one line that says so."""
        return (
            f"--minutes {minutes:g}: {self.seconds_per_step:.3g} s per step over {self.timed_steps} timed steps; the run is "
            f"{self.steps:,} generator steps (train.steps in config.json, which a resume keeps)"
        )


def fix_length(
    minutes: float,
    started: float,
    variant: Variant,
    data: TensorData,
    precision: Precision,
    augment: Augmentation | None,
    examples_per_step: int,
    job: Distributed,
) -> Budget:
    """Time steps of ``variant`` on ``data`` and return the steps that fit in ``minutes`` counted from ``started``
    (a ``time.perf_counter()``), the training state left exactly as it was."""
    saved = _Saved(variant, precision, augment)
    sampler = torch.Generator().manual_seed(0)
    timing_s = min(MAX_TIMING_S, TIMING_SHARE * minutes * 60.0)
    devices = [data.data.device] if data.data.device.type == "cuda" else []
    timed, elapsed = 0, 0.0
    try:
        with torch.random.fork_rng(devices=devices):
            for step in range(WARMUP_STEPS + 1_000_000):
                indices = torch.randint(len(data), (examples_per_step,), generator=sampler).to(data.data.device)
                batch = data.batch(indices)
                begun = time.perf_counter()
                if augment is not None:
                    augment.step_begins(batch)
                variant.train_step(batch, precision)
                if data.data.device.type == "cuda":  # the step's work is done when the device is (the CPU's: now)
                    torch.cuda.synchronize(data.data.device)
                if step >= WARMUP_STEPS:
                    timed, elapsed = timed + 1, elapsed + time.perf_counter() - begun
                    if timed >= MIN_TIMED_STEPS and elapsed >= timing_s:
                        break
    finally:
        saved.restore()
    per_step = elapsed / timed
    left = minutes * 60.0 - (time.perf_counter() - started)
    steps = max(1.0, left / per_step)
    steps = float(job.mean(torch.tensor([steps], dtype=torch.float64)).item())  # every rank the same length
    return Budget(max(1, int(steps)), per_step, timed)


class _Saved:
    """Everything a training step changes, copied, to be put back."""

    def __init__(self, variant: Variant, precision: Precision, augment: Augmentation | None):
        self.variant, self.precision, self.augment = variant, precision, augment
        self.networks = {name: copy.deepcopy(network.state_dict()) for name, network in variant.networks.items()}
        self.optimizers = {name: copy.deepcopy(optimizer.state_dict()) for name, optimizer in variant.optimizers.items()}
        self.extra = {name: value.clone() for name, value in variant.extra_state().items()}
        self.augmentation = None if augment is None else {name: value.clone() for name, value in augment.tensors().items()}
        self.scalers = {key: copy.deepcopy(scaler.state_dict()) for key, scaler in precision.scalers.items()}
        self.settled = {key: value.clone() for key, value in precision._settled.items()}
        self.updates = precision.updates
        self.position = variant.position

    def restore(self) -> None:
        variant, precision = self.variant, self.precision
        for name, network in variant.networks.items():
            network.load_state_dict(self.networks[name])
        for name, optimizer in variant.optimizers.items():
            optimizer.load_state_dict(self.optimizers[name])
        if self.extra:
            variant.load_extra_state(self.extra)
        if self.augment is not None and self.augmentation is not None:
            self.augment.restore(self.augmentation)
        for key in list(precision.scalers):
            if key in self.scalers:
                precision.scalers[key].load_state_dict(self.scalers[key])
            else:
                del precision.scalers[key]
        precision._settled = self.settled
        precision.updates = self.updates
        variant.position = self.position

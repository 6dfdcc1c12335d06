"""Counting updates skipped for non-finite gradients, and stopping a run that keeps producing them.

:meth:`ganforge.device.Precision.step` decides on the device whether each update is skipped. This module only
reads those decisions, when the trainer synchronises anyway (to log, or before a checkpoint), so watching costs
no synchronisation per step; it still knows the exact step and optimizer of every skip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from ganforge.errors import GanforgeError


class SkipWatch:
    """Skipped updates per optimizer: how many since the last log line, and how many in a row."""

    def __init__(self, optimizers: dict[str, torch.optim.Optimizer], limit: int, streaks: dict[str, int] | None = None):
        self.names = {id(optimizer): name for name, optimizer in optimizers.items()}
        self.limit = limit
        self.streaks = {name: 0 for name in optimizers} | (streaks or {})
        self.skipped = 0  # since the last log line
        self.pending: list[tuple[int, str, torch.Tensor, torch.Tensor]] = []  # step, optimizer, flag, loss
        self.failure: tuple[int, str, torch.Tensor] | None = None  # where a streak first reached the limit
        self.began: dict[str, int] = {}  # optimizer -> the step of the first skip of its streak, where seen

    def collect(self, step: int, updates: list) -> None:
        """Take the updates ``Precision.step`` recorded during ``step`` (device tensors, nothing read yet)."""
        self.pending.extend((step, self.names.get(id(optimizer), "unnamed"), flag, loss) for optimizer, flag, loss in updates)
        updates.clear()

    def check(self) -> None:
        """Read the pending flags (one transfer) and update the counts."""
        if not self.pending:
            return
        flags = torch.stack([flag for _, _, flag, _ in self.pending]).tolist()
        for (step, name, _, loss), skipped in zip(self.pending, flags):
            if not skipped:
                self.streaks[name] = 0
                continue
            self.skipped += 1
            self.streaks[name] = self.streaks.get(name, 0) + 1
            if self.streaks[name] == 1:
                self.began[name] = step
            if self.streaks[name] >= self.limit and self.failure is None:
                self.failure = (step, name, loss)
        self.pending.clear()

    def take_skipped(self) -> int:
        """Updates skipped since this was last called."""
        skipped, self.skipped = self.skipped, 0
        return skipped

    def stop_if_failed(self, last_good: Callable[[], Path | None]) -> None:
        """Raise a :class:`GanforgeError` naming the step and the loss once a streak has reached the limit.

        ``last_good`` finds the checkpoint to go back to: one saved before the streak began, with finite weights.
        A checkpoint saved during the streak may already hold weights that a bad update pushed near overflow (the
        updates that went through before the ones skipped), so resuming it would only fail again.
        """
        if self.failure is None:
            return
        step, name, loss = self.failure
        good = last_good()
        began = f" (from step {self.began[name]})" if name in self.began else ""
        kept = (
            f"the last good checkpoint, saved before these skips began{began}, is {good}"
            if good
            else f"no checkpoint was saved before these skips began{began}"
        )
        raise GanforgeError(
            f"training stopped at step {step}: {self.limit} updates in a row of optimizer '{name}' had non-finite "
            f"gradients (loss {float(loss):.4g}) and were skipped (train.max_nonfinite_steps={self.limit}); {kept}. "
            "Lower the learning rate or check the data, then start a new run"
        )

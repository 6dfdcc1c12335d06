"""Ctrl-C (SIGINT), SIGTERM and SIGHUP (the terminal closed, an SSH connection dropped) during training: finish the step, save a checkpoint, then stop.

Stopping mid-step would save a half-updated model (D stepped, G not) that no resume could continue exactly, so
the first signal only raises a flag that the loop reads between steps. A second one stops at once.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM, *((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()))  # no SIGHUP on Windows


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on a signal after saving a checkpoint it can be resumed from."""

    def __init__(self, signal_number: int, step: int, checkpoint: Path, run_path: Path):
        super().__init__(f"interrupted at step {step}; checkpoint saved to {checkpoint}; continue with: ganforge resume {run_path}")
        self.signal_number = signal_number
        self.step = step
        self.checkpoint = checkpoint
        self.run_path = run_path


class StoppedAtOnce(KeyboardInterrupt):
    """A second signal stopped training at once, without a checkpoint of the step under way."""

    def __init__(self, signal_number: int):
        super().__init__(f"stopped at once by a second signal {signal_number}")
        self.signal_number = signal_number


class StopSignals:
    """While active (in the main thread only), the first of :data:`SIGNALS` sets :attr:`received` instead of stopping."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            self._previous = {number: signal.signal(number, self._handle) for number in SIGNALS}
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.received is not None:  # asked twice: stop now, as without us
            raise StoppedAtOnce(number)
        self.received = number

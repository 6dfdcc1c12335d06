"""A time limit for a call that might block (on a FIFO, /dev/zero, a lock): it fails the test instead of hanging it."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from ganforge.alarm import time_limit


class StillRunning(Exception):
    """Not an OSError (as TimeoutError is), so that code catching OSError cannot mistake a hang for a bad file."""


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Raise :class:`StillRunning` in the block if it runs longer than ``seconds``."""
    with time_limit(seconds, lambda: StillRunning(f"still running after {seconds} s")) as limited:
        assert limited, "no time limit could be set (not the main thread, or another limit running)"
        yield

"""A time limit for a call that might block (on a FIFO, /dev/zero, a lock): it fails the test instead of hanging it."""

from __future__ import annotations

import signal
from contextlib import contextmanager


class StillRunning(Exception):
    """Not an OSError (as TimeoutError is), so that code catching OSError cannot mistake a hang for a bad file."""


@contextmanager
def within(seconds: float):
    """Raise :class:`StillRunning` in the block if it runs longer than ``seconds`` (SIGALRM: main thread only)."""

    def stop(signum, frame):
        raise StillRunning(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

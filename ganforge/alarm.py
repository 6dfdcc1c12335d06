"""A time limit on a block of code: an exception raised into the block once it has run for so many seconds.

It uses SIGALRM, which only the main thread of a POSIX process receives, and a process has one such timer. So the
limit applies in the main thread only, and only where no other limit is running: inside another limit, the outer
one governs. Elsewhere the block runs without a limit of its own.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Callable, Iterator


@contextlib.contextmanager
def time_limit(seconds: float, error: Callable[[], BaseException]) -> Iterator[bool]:
    """Raise ``error()`` into the block if it is still running after ``seconds``; yields whether the limit is set.

    ``error`` may be an exception class. A ``BaseException`` that is not an ``Exception`` passes through the
    block's own ``except Exception``, so that code cannot swallow the limit.
    """
    settable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not settable or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        yield False
        return

    def expired(signum: int, frame: Any) -> None:
        raise error()

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

"""Running a plugin's code (its import, its registration hooks) so that it cannot take the command down with it.

A plugin is someone else's code run inside every ``ganforge`` command. Beyond raising an Exception (which
:mod:`ganforge.discovery` already reports), it may

* print to stdout, which would corrupt ``ganforge list --json``: its output goes to stderr instead, both Python's
  ``sys.stdout`` and file descriptor 1 (a C extension's ``printf``);
* call ``sys.exit`` or raise ``KeyboardInterrupt`` (BaseExceptions, which ``except Exception`` lets through): both
  become a :class:`PluginBailed` error, unless Ctrl-C really was pressed, which still stops the command;
* hang, or take very long (an import stuck on a network share): on POSIX, in the main thread, a timer interrupts
  it after ``GANFORGE_PLUGIN_TIMEOUT`` seconds (default 30), which makes it fail like any other broken plugin.
  Elsewhere no timer can interrupt it, and it is only named afterwards.

Commands that need no plugins (``--version``, ``COMMAND --help``, ``plot``) never load any: see :mod:`ganforge.cli`.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
from typing import Any, Callable, Iterator, TypeVar

from ganforge.alarm import time_limit
from ganforge.errors import GanforgeError

TIMEOUT_VARIABLE = "GANFORGE_PLUGIN_TIMEOUT"
DEFAULT_TIMEOUT = 30.0  # seconds; a plugin's import is normally well under one, with torch imported at its top
T = TypeVar("T")


class PluginBailed(GanforgeError):
    """A plugin called sys.exit, raised KeyboardInterrupt of its own, or ran out of time."""


class _OutOfTime(BaseException):
    """Raised by the timer into the plugin's code; a BaseException, so the plugin's ``except Exception`` lets it by."""


def timeout_seconds() -> float:
    """How long one plugin may take to load: ``GANFORGE_PLUGIN_TIMEOUT`` seconds, default 30."""
    value = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    if not value:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        raise GanforgeError(f"{TIMEOUT_VARIABLE}={value} is not a number of seconds above 0; set it to e.g. 60, or unset it")
    return seconds


def guarded(work: Callable[[], T], timeout: float) -> T:
    """``work()`` with its stdout sent to stderr and its sys.exit, stray KeyboardInterrupt and overrun turned into
    :class:`PluginBailed`. A Ctrl-C pressed meanwhile still raises KeyboardInterrupt."""
    ctrl_c = {"pressed": True}
    try:
        with _stdout_to_stderr(), _noting_ctrl_c() as ctrl_c, time_limit(timeout, _OutOfTime):
            return work()
    except _OutOfTime:  # caught out here too: the timer may fire just as the work returns
        raise PluginBailed(f"did not finish loading within {timeout:g} s ({TIMEOUT_VARIABLE}={timeout:g})") from None
    except SystemExit as exc:
        raise PluginBailed(f"called sys.exit({exc.code!r}) while loading") from None
    except KeyboardInterrupt:
        if ctrl_c["pressed"]:
            raise
        raise PluginBailed("raised KeyboardInterrupt while loading, though no Ctrl-C was pressed") from None


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Everything written to stdout meanwhile, by Python or below it, lands on stderr."""
    saved_fd = None
    try:
        sys.stdout.flush()
        if sys.__stdout__ is not None and sys.__stderr__ is not None:
            sys.__stdout__.flush()
            saved_fd = os.dup(1)
            os.dup2(sys.__stderr__.fileno(), 1)
    except (OSError, ValueError, AttributeError):  # no real descriptor 1 (an embedding host): Python's level is enough
        saved_fd = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved_fd is not None:
            os.dup2(saved_fd, 1)
            os.close(saved_fd)


@contextlib.contextmanager
def _noting_ctrl_c() -> Iterator[dict[str, bool]]:
    """Whether SIGINT really arrived meanwhile (a plugin's own ``raise KeyboardInterrupt`` is no Ctrl-C)."""
    noted = {"pressed": True}  # where no handler can be set, every KeyboardInterrupt counts as a real one
    if not _in_main_thread():
        yield noted
        return
    noted["pressed"] = False
    previous = signal.getsignal(signal.SIGINT)

    def pressed(signum: int, frame: Any) -> None:
        noted["pressed"] = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, pressed)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous)

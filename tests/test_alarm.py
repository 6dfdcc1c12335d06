"""ganforge.alarm: the one time limit behind plugin loading and the tests' hang guards."""

from __future__ import annotations

import threading
import time

import pytest

from ganforge.alarm import time_limit


class Late(BaseException):
    pass


def test_the_limit_interrupts_a_block_that_runs_too_long_even_through_except_exception():
    started = time.monotonic()
    with pytest.raises(Late):
        with time_limit(0.2, Late) as limited:
            assert limited
            try:
                time.sleep(5)
            except Exception:  # a BaseException passes through code that catches Exception
                pass
    assert time.monotonic() - started < 2


def test_inside_another_limit_the_outer_one_governs():
    with pytest.raises(Late):
        with time_limit(0.3, Late):
            with time_limit(0.05, lambda: AssertionError("the inner limit fired")) as inner:
                assert not inner
                time.sleep(5)


def test_outside_the_main_thread_the_block_runs_without_a_limit():
    seen = []
    worker = threading.Thread(target=lambda: seen.append(time_limit(0.01, Late).__enter__()))
    worker.start()
    worker.join()
    assert seen == [False]


def test_the_timer_and_handler_are_restored_after_the_block():
    import signal

    before = signal.getsignal(signal.SIGALRM)
    with time_limit(5, Late):
        pass
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0 and signal.getsignal(signal.SIGALRM) is before

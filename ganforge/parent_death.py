"""The processes of a ``--nproc N`` job die with the process that launched them.

``ganforge run --nproc N`` starts the elastic agent, which starts the workers. Killed with SIGKILL (the OOM killer,
``kill -9``), a launcher cannot pass anything on, and without more its agent and workers would go on training
headless, holding the run's lock. So each child asks the kernel (Linux's ``PR_SET_PDEATHSIG``) for SIGTERM when
its parent dies: the agent then stops its workers as on any SIGTERM, and a worker whose agent is gone stops too;
SIGTERM makes a worker finish its step and save a checkpoint, so ``ganforge resume`` goes on from there.
"""

from __future__ import annotations

import os
import signal

PARENT_VARIABLE = "GANFORGE_PARENT_PID"  # set by a parent for its children: its pid
PR_SET_PDEATHSIG = 1


def child_environment(environment: dict[str, str] | None = None) -> dict[str, str]:
    """``environment`` (default: this process's) for a child that is to die with this process."""
    return {**(os.environ if environment is None else environment), PARENT_VARIABLE: str(os.getpid())}


def die_with_parent() -> None:
    """Where this process was started by :func:`child_environment`'s parent: receive SIGTERM when that parent dies
    (and at once, if it died already). Nothing on systems without ``prctl``."""
    parent = os.environ.pop(PARENT_VARIABLE, None)  # for this process only: its own children have another parent
    if parent is None or not parent.isdigit():
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
            return
    except (OSError, AttributeError):  # not Linux
        return
    if os.getppid() != int(parent):  # it died before the request: nobody would send the signal
        os.kill(os.getpid(), signal.SIGTERM)

"""``torchrun`` for ``ganforge run --nproc N``: the same elastic agent, saying what went wrong in one line.

``python -m ganforge.launch TORCHRUN-ARGS`` is ``torchrun TORCHRUN-ARGS`` except for what it prints: torchrun logs
every worker it stops and ends a failed job with a traceback of its own. Here its log is left out, and a failed job
ends with the exit code of its first failed process; the process printed its own error line already, unless a
signal killed it, which one line then says. Restarts (``--max-restarts``) work as in torchrun: each restart of a
``ganforge run`` goes on from the run's latest checkpoint (see ``RunDir.begun_by_this_job``).
"""

from __future__ import annotations

import logging
import os
import signal
import sys

from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.run import parse_args, run

from ganforge.parent_death import child_environment, die_with_parent


def main(argv: list[str]) -> int:
    die_with_parent()  # the `ganforge run --nproc N` that started this agent
    os.environ.update(child_environment())  # and its workers die with it (ganforge.parent_death)
    logging.getLogger("torch.distributed").setLevel(logging.CRITICAL)
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    try:
        run(parse_args(argv))
    except ChildFailedError as failed:
        rank, failure = failed.get_first_failure()
        if failure.exitcode >= 0:
            return failure.exitcode
        name = signal.Signals(-failure.exitcode).name
        print(
            f"error: the process of rank {rank} (pid {failure.pid}) was killed by {name} and the job stopped; go on with "
            "'ganforge resume RUN', or pass --max-restarts K to restart from the latest checkpoint automatically",
            file=sys.stderr,
        )
        return 128 - failure.exitcode
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

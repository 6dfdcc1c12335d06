"""One writer per run directory: a lock that ``run`` and ``resume`` hold while they write it.

The lock is an ``flock`` on ``<run>/.ganforge.lock``. The kernel releases it when its holder exits, however it
exits (SIGKILL, a crash, a lost node's process torn down), so there is no stale lock to clean up and no PID to
trust: a PID written by a dead process may belong to another process by now, which is why the PID in the file
is only used to name the holder in the error message, never to decide whether the lock is held. Readers
(``sample``, ``eval``, ``plot``) take no lock: every file they read is either written atomically (checkpoints,
pictures, ``config.json``) or appended line by line (``metrics.jsonl``, whose unfinished last line they skip).
"""

from __future__ import annotations

import os
import socket
import stat
import sys
import time
from pathlib import Path

from ganforge.errors import GanforgeError

LOCK_NAME = ".ganforge.lock"

try:
    import fcntl
except ImportError:  # Windows: no flock; runs there are not protected against a second writer
    fcntl = None  # type: ignore[assignment]


class RunLock:
    """The write lock of the run directory ``directory``: :meth:`acquire`, then :meth:`release` (or ``with``)."""

    def __init__(self, directory: Path, fix: str = "choose another --out"):
        self.path = Path(directory) / LOCK_NAME
        self.fix = fix  # what the user can do when the lock file cannot be created: depends on the command
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        """Take the lock, or raise a :class:`GanforgeError` naming the process that holds it."""
        if fcntl is None or self._fd is not None:
            return self
        while True:
            # never through a link (it could point at a user's file, which the holder line would overwrite, or
            # out of the run), never blocking (a FIFO named like the lock)
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
            try:
                fd = os.open(self.path, flags, 0o644)
            except OSError as exc:
                if self.path.is_symlink() or (self.path.exists() and not self.path.is_file()):
                    raise self._not_a_file() from None
                raise GanforgeError(f"cannot create the lock file {self.path} ({exc.strerror or exc}); {self.fix}") from None
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise self._not_a_file()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise GanforgeError(
                    f"run directory {self.path.parent} is being written by {holder}; wait for it to finish or stop it, "
                    "then try again (a second writer would corrupt the run)"
                ) from None
            except OSError:  # a file system without locks (some network mounts): go on unprotected rather than refuse
                os.close(fd)
                return self
            if _same_file(fd, self.path):
                break
            os.close(fd)  # its holder removed the file before letting go (a discarded start): lock the new one
        self._fd = fd
        _write_holder(fd)
        return self

    def _not_a_file(self) -> GanforgeError:
        return GanforgeError(
            f"the lock file {self.path} is not a regular file (a link, a FIFO or a directory); ganforge writes its lock "
            "there and never through a link: remove it, then try again"
        )

    def release(self) -> None:
        """Let the next writer in. The file stays: removing it would race with a writer that just opened it."""
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        held, current = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino)


def _write_holder(fd: int) -> None:
    """Record who holds the lock, for the message a second writer gets; a full disk only loses the name."""
    command = " ".join(["ganforge", *sys.argv[1:]])[:200] if sys.argv else "ganforge"
    line = f"{os.getpid()}\t{socket.gethostname()}\t{time.strftime('%Y-%m-%d %H:%M:%S')}\t{command}\n"
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, line.encode(), 0)
    except OSError:
        pass


def _read_holder(fd: int) -> str:
    try:
        fields = os.pread(fd, 4096, 0).decode(errors="replace").strip().split("\t")
    except OSError:
        fields = []
    if len(fields) != 4 or not fields[0].isdigit():
        return "another process"  # it has only just taken the lock and not yet written its name
    pid, host, since, command = fields
    where = "" if host == socket.gethostname() else f" on host {host}"
    return f"process {pid}{where} ('{command}', since {since})"

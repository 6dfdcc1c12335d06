"""A run's directory: its config, metrics log, sample pictures and checkpoints."""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import stat
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from ganforge.checkpoint import SUFFIX, Checkpoint, read_checkpoint, read_metadata, write_atomic
from ganforge.errors import GanforgeError, GanforgeWarning
from ganforge.runlock import LOCK_NAME, RunLock

CHECKPOINT_NAME = re.compile(r"step_(\d+)" + re.escape(SUFFIX) + "$")
SAMPLE_NAME = re.compile(r"epoch_\d+\.png$")
CURVES_NAME = "curves.png"
MAX_CONFIG_BYTES = 1 << 20  # a config.json larger than this was not written by ganforge


class RunDir:
    """``config.json``, ``metrics.jsonl``, ``samples/`` and ``checkpoints/`` under one path."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.config_path = self.path / "config.json"
        self.metrics_path = self.path / "metrics.jsonl"
        self.samples_dir = self.path / "samples"
        self.checkpoints_dir = self.path / "checkpoints"
        self.best_path = self.checkpoints_dir / f"best{SUFFIX}"  # the best value of train.best_metric; never pruned
        self.status_path = self.path / "status.json"  # running, finished, interrupted or failed: 'ganforge runs' reads it
        self.report_path = self.path / "report.html"
        self.job_path = self.path / ".torchrun-job"  # the id of the torchrun job that began the run, if any

    @staticmethod
    def default_path(variant: str, dataset: str, root: Path = Path("runs")) -> Path:
        """``runs/<variant>-<dataset>-<timestamp>``, with a counter if that exists already; under torchrun
        ``runs/<variant>-<dataset>-<job id>``, the same on every process and in every restart of the job."""
        if job_id := os.environ.get("TORCHELASTIC_RUN_ID"):
            return root / f"{variant}-{dataset}-{job_id}"
        base = root / f"{variant}-{dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
        path, counter = base, 1
        while path.exists():
            counter += 1
            path = base.with_name(f"{base.name}-{counter}")
        return path

    @classmethod
    def check_writable(cls, path: Path, overwrite: bool, writer: bool = True, fix: str = "choose another --out") -> None:
        """Refuse a run directory that holds another run (unless ``overwrite``), anything but a ganforge run (even
        with ``overwrite``), a run another process is writing, or one that cannot be written. Not ``writer``: a
        process of a torchrun job other than rank 0, which writes and holds the lock for all of them. ``fix``: what the
        user can do about a directory that cannot be written (``run`` and ``resume`` differ)."""
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise GanforgeError(f"output path {path} is a file, not a directory; {fix}")
        if path.is_dir():
            cls(path).check_replaceable(overwrite)
            if overwrite and writer:
                RunLock(path, fix).acquire().release()  # a run being trained there is refused now, not after loading
        existing = next(parent for parent in [path, *path.parents] if parent.exists())
        if not existing.is_dir():
            raise GanforgeError(f"cannot create {path}: {existing} is a file; choose another --out")
        try:  # permission bits alone do not tell (root ignores them; read-only mounts refuse root): try it
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as exc:
            raise GanforgeError(f"cannot write to {existing} ({exc.strerror or exc}); {fix}") from None

    def check_replaceable(self, overwrite: bool) -> None:
        """Accept an empty directory, or a ganforge run when ``overwrite``; refuse anything else, naming an entry."""
        entries = sorted(entry.name for entry in self.path.iterdir() if entry.name != LOCK_NAME)
        if not entries:
            return
        if not self.is_run():
            raise GanforgeError(
                f"output directory {self.path} is not empty and holds no ganforge run ({', '.join(entries[:3])}"
                f"{', ...' if len(entries) > 3 else ''}); --overwrite only ever replaces a ganforge run, so choose another --out"
            )
        if not overwrite:
            raise GanforgeError(f"output directory {self.path} is not empty; choose another --out, or pass --overwrite to replace its run")

    def is_run(self) -> bool:
        """Whether this directory holds a ganforge run: its ``config.json``, or a ganforge checkpoint."""
        try:
            if self.config_path.is_file() and self.config_path.stat().st_size <= MAX_CONFIG_BYTES:
                config = json.loads(self.config_path.read_text())
                if isinstance(config, dict) and isinstance(config.get("variant"), str) and isinstance(config.get("train"), dict):
                    return True
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            pass
        for path in self.checkpoints():
            try:
                read_metadata(path)
                return True
            except GanforgeError:
                continue
        return False

    def start(self, overwrite: bool) -> tuple[RunLock, list[Path]]:
        """Create the directory (or take over the run in it, when ``overwrite``) and lock it for this run.

        Returns the lock, held, and the directories created, for :meth:`discard`. Only what ganforge writes is
        removed from a replaced run; anything else the user put there stays.
        """
        created = [directory for directory in (*reversed(self.path.parents), self.path) if not directory.exists()]
        created += [directory for directory in (self.samples_dir, self.checkpoints_dir) if not directory.exists()]
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GanforgeError(f"cannot create run directory {self.path}: {exc.strerror}; choose another --out") from None
        had_lock_file = (self.path / LOCK_NAME).exists()
        lock = RunLock(self.path).acquire()
        try:
            self.check_replaceable(overwrite)  # again, under the lock: another process may have started a run here
        except BaseException:
            if not had_lock_file:  # leave a directory that is not ours as it was
                (self.path / LOCK_NAME).unlink(missing_ok=True)
            lock.release()
            raise
        try:
            self._remove_own_files()
            for directory in (self.samples_dir, self.checkpoints_dir):
                directory.mkdir(exist_ok=True)
        except BaseException as exc:
            self.discard(lock, created)
            if isinstance(exc, OSError):
                raise GanforgeError(f"cannot create run directory {self.path}: {exc.strerror}; choose another --out") from None
            raise
        return lock, created

    @classmethod
    def create(cls, path: Path) -> "RunDir":
        """The directories of a run at ``path``, an old run's files removed, without any check or lock (for tests
        and tools; ``ganforge run`` uses :meth:`start`)."""
        run = cls(path)
        try:
            for directory in (run.path, run.samples_dir, run.checkpoints_dir):
                directory.mkdir(parents=True, exist_ok=True)
            run._remove_own_files()
        except OSError as exc:
            raise GanforgeError(f"cannot create run directory {path}: {exc.strerror}; choose another --out") from None
        return run

    def saved_anything(self) -> bool:
        """Whether a checkpoint of this run exists: a run that has one can be resumed, one without cannot."""
        return bool(self.checkpoints()) or self.best_path.is_file()

    def discard(self, lock: RunLock, created: list[Path]) -> None:
        """Remove what a start that saved no checkpoint wrote, so that the same command can be run again; the
        directories it created go too, if nothing else is in them. Releases ``lock``."""
        try:
            self._remove_own_files()
            (self.path / LOCK_NAME).unlink(missing_ok=True)  # still held: RunLock checks it locked the current file
        except OSError:
            pass
        finally:
            lock.release()
        for directory in reversed(created):
            try:
                directory.rmdir()
            except OSError:  # not empty (someone else's files), or already gone
                pass

    def _remove_own_files(self) -> None:
        """Every file ganforge writes in a run directory, and nothing else."""
        own = [self.config_path, self.metrics_path, self.status_path, self.report_path, self.job_path, self.path / CURVES_NAME]
        own += self.path.glob(".*.tmp")
        if self.samples_dir.is_dir():
            own += [p for p in self.samples_dir.iterdir() if SAMPLE_NAME.match(p.name) or p.name.endswith(".tmp")]
        if self.checkpoints_dir.is_dir():
            own += [p for p in self.checkpoints_dir.iterdir() if CHECKPOINT_NAME.match(p.name.removesuffix(".corrupt"))]
            own += [self.best_path, *self.checkpoints_dir.glob(".*.tmp")]
        for path in own:
            if path.is_symlink() or not path.is_dir():
                path.unlink(missing_ok=True)

    @classmethod
    def existing(cls, path: Path) -> "RunDir":
        """The run directory at ``path``, which must hold checkpoints (to resume it)."""
        run = cls(path)
        if run.path.exists() and not run.path.is_dir():
            raise GanforgeError(f"{path} is a file, and resume needs a run directory (the --out of an earlier run, the folder holding checkpoints/)")
        if not run.path.is_dir():
            raise GanforgeError(f"run directory {path} does not exist; pass the --out of an earlier run")
        if not run.checkpoints():
            if run.is_run():  # killed before its first checkpoint: config.json and perhaps a few log lines
                raise GanforgeError(
                    f"the run in {path} stopped before its first checkpoint, so there is nothing to resume; start it "
                    f"again with the same 'ganforge run' command and --out {path} --overwrite"
                )
            raise GanforgeError(f"{path} holds no checkpoints in {run.checkpoints_dir}; it is not a run that can be resumed")
        return run

    def mark_job(self) -> None:
        """Record which torchrun job began this run, so that a restart of the job knows the run is its own."""
        if job_id := os.environ.get("TORCHELASTIC_RUN_ID"):
            write_atomic(self.job_path, lambda temporary: temporary.write_text(job_id + "\n"))

    def begun_by_this_job(self) -> bool:
        """True in a restart of the torchrun job (``--max-restarts``) that began this run: it should go on with it."""
        job_id, restarts = os.environ.get("TORCHELASTIC_RUN_ID"), os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        if not job_id or restarts == "0":
            return False
        try:
            return self.job_path.read_text().strip() == job_id
        except (OSError, UnicodeDecodeError):
            return False

    def write_config(self, config_json: str) -> None:
        write_atomic(self.config_path, lambda temporary: temporary.write_text(config_json + "\n"))

    def write_status(self, state: str, **details: Any) -> None:
        """Record what the run is doing: ``running`` (with this process's id and host, so that a run killed without
        its end written can be told from one still going), or how it ended: ``finished``, ``interrupted``, ``failed``."""
        record = {"state": state, "pid": os.getpid(), "host": socket.gethostname(), "time": time.time(), **details}
        write_atomic(self.status_path, lambda temporary: temporary.write_text(json.dumps(record) + "\n"))

    def log_metrics(self, record: dict[str, Any]) -> None:
        """Append one line to ``metrics.jsonl``; a failed write (a full disk) leaves no part of it behind."""
        line = memoryview((json.dumps(record) + "\n").encode())
        # O_NONBLOCK: a FIFO put in the log's place fails at once instead of waiting for a reader forever
        log = os.open(self.metrics_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o644)
        try:
            if not stat.S_ISREG(os.fstat(log).st_mode):
                raise GanforgeError(f"{self.metrics_path} is not a regular file; move it away, then resume the run")
            size = os.fstat(log).st_size
            try:
                while line:
                    line = line[os.write(log, line) :]
            except OSError:
                try:
                    os.ftruncate(log, size)
                except OSError:
                    pass
                raise
        finally:
            os.close(log)

    def sample_path(self, epoch: int) -> Path:
        return self.samples_dir / f"epoch_{epoch:03d}.png"

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints_dir / f"step_{step:08d}{SUFFIX}"

    def checkpoints(self) -> list[Path]:
        """Step checkpoints in this run, oldest first. Only regular files: a FIFO or device under a checkpoint's
        name would block whoever opened it (see :meth:`not_checkpoints`)."""
        found = [(int(m.group(1)), p) for p in self.checkpoints_dir.glob("*" + SUFFIX) if (m := CHECKPOINT_NAME.match(p.name)) and p.is_file()]
        return [path for _, path in sorted(found)]

    def not_checkpoints(self) -> list[Path]:
        """Entries named like step checkpoints that are not regular files, which every reader skips."""
        return sorted(p for p in self.checkpoints_dir.glob("*" + SUFFIX) if CHECKPOINT_NAME.match(p.name) and not p.is_file())

    def warn_not_checkpoints(self) -> None:
        for path in self.not_checkpoints():
            warnings.warn(f"{path} is not a regular file (a FIFO, device or directory); skipped it", GanforgeWarning, stacklevel=3)

    def prune_checkpoints(self, keep: int, protect: Path | None = None) -> None:
        """Delete all but the newest ``keep`` step checkpoints, and never ``protect`` (the last good one)."""
        for old in self.checkpoints()[:-keep]:
            if old != protect:
                old.unlink(missing_ok=True)

    def latest_good_checkpoint(self, set_aside: bool = True) -> Checkpoint:
        """The newest checkpoint that reads back intact; damaged newer ones are renamed ``*.corrupt``, with a warning
        (unless not ``set_aside``: the other processes of a job, whose rank 0 does it)."""
        if set_aside:
            self.warn_not_checkpoints()
        damaged: list[tuple[Path, GanforgeError]] = []
        for path in reversed(self.checkpoints()):
            try:
                checkpoint = read_checkpoint(path)
            except GanforgeError as exc:
                damaged.append((path, exc))
                continue
            for bad, problem in damaged if set_aside else []:
                bad.rename(bad.with_name(bad.name + ".corrupt"))
                message = f"{problem}; set it aside as {bad.name}.corrupt and went back to {path.name}"
                warnings.warn(message, GanforgeWarning, stacklevel=2)
            return checkpoint
        problems = "; ".join(str(problem) for _, problem in damaged)
        raise GanforgeError(f"no intact checkpoint in {self.checkpoints_dir} ({problems}); start a new run")

    def remove_partial_files(self) -> None:
        """Delete the temporary files of writes a killed process left unfinished (call only holding the lock)."""
        for partial in [*self.checkpoints_dir.glob(".*.tmp"), *self.samples_dir.glob(".*.tmp"), *self.path.glob(".*.tmp")]:
            partial.unlink(missing_ok=True)

    def rewind(self, step: int) -> None:
        """Forget what happened after ``step``: later lines of the metrics log, and a line cut short."""
        if self.metrics_path.is_symlink():  # the log is appended to: through a link it would be written outside the run
            raise GanforgeError(f"{self.metrics_path} is a link; ganforge appends its log there and never through a link: replace it with the file, then resume the run")
        if not self.metrics_path.exists():
            return
        if not self.metrics_path.is_file():
            raise GanforgeError(f"{self.metrics_path} is not a regular file; move it away, then resume the run")
        kept = []
        for raw in self.metrics_path.read_bytes().splitlines():
            try:
                line = raw.decode("utf-8")
                record = json.loads(line)
            except (ValueError, RecursionError):  # a line cut short when the process was killed, or damaged
                continue
            if isinstance(record, dict) and isinstance(record.get("step"), int) and record["step"] <= step:
                kept.append(line + "\n")
        write_atomic(self.metrics_path, lambda temporary: temporary.write_text("".join(kept)))


def find_checkpoint(path: Path) -> Path:
    """``path`` itself if it is a checkpoint file, else the newest checkpoint of the run directory ``path``."""
    path = Path(path)
    try:
        os.stat(path)
    except FileNotFoundError:
        raise GanforgeError(f"{path} does not exist; pass a run directory or a checkpoint file") from None
    except OSError as exc:  # a folder on the way that may not be searched, say
        raise GanforgeError(f"{path} cannot be read ({exc.strerror or exc}); check its permissions and its folders'") from None
    if path.is_file():
        return path
    if not path.is_dir():
        raise GanforgeError(f"{path} is not a regular file (a FIFO or device?); pass a run directory or a checkpoint file")
    run = RunDir(path)
    run.warn_not_checkpoints()
    checkpoints = run.checkpoints()
    if not checkpoints:
        raise GanforgeError(f"run directory {path} holds no checkpoints in {path / 'checkpoints'}; pass a checkpoint file")
    return checkpoints[-1]


def check_output_file(path: Path, flag: str = "--out") -> None:
    """Refuse, before any work, an output file that is a directory or cannot be created where it is to go."""
    path = Path(path)
    if path.is_dir():
        raise GanforgeError(f"{flag} {path} is a directory; pass a file name")
    existing = next(parent for parent in path.parents if parent.exists())
    if not existing.is_dir():
        raise GanforgeError(f"cannot create {path}: {existing} is a file; choose another {flag}")
    try:  # as RunDir.check_writable: permission bits alone do not tell
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise GanforgeError(f"cannot write to {existing} ({exc.strerror or exc}); choose another {flag}") from None


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` says the disk (or the user's quota) is full; safetensors reports it in its own exception."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    text = str(error)
    return type(error).__name__ == "SafetensorError" and any(
        sign in text for sign in (f"os error {errno.ENOSPC}", f"os error {errno.EDQUOT}", "No space left", "Disk quota")
    )


def disk_full_error(run: RunDir, saved_before: bool) -> GanforgeError:
    """The one line for a run stopped by a full disk, saying what it kept."""
    if saved_before and (checkpoints := run.checkpoints()):
        kept = f"the checkpoints saved before are intact (newest: {checkpoints[-1]}); free some space, then continue with: ganforge resume {run.path}"
    else:
        kept = "nothing of this run was kept; free some space, then start it again"
    return GanforgeError(f"the disk holding {run.path} is full (no space left on the device); {kept}")

"""A run's directory: its config, metrics log, sample pictures and checkpoints."""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from ganforge.checkpoint import SUFFIX, Checkpoint, read_checkpoint, write_atomic
from ganforge.errors import GanforgeError, GanforgeWarning

CHECKPOINT_NAME = re.compile(r"step_(\d+)" + re.escape(SUFFIX) + "$")


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
    def check_writable(cls, path: Path, overwrite: bool) -> None:
        """Refuse a run directory that holds another run (unless ``overwrite``) or that cannot be written."""
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise GanforgeError(f"output path {path} is a file, not a directory; choose another --out")
        if path.is_dir() and any(path.iterdir()) and not overwrite:
            raise GanforgeError(f"output directory {path} is not empty; choose another --out, or pass --overwrite to replace its run")
        existing = next(parent for parent in [path, *path.parents] if parent.exists())
        if not existing.is_dir():
            raise GanforgeError(f"cannot create {path}: {existing} is a file; choose another --out")
        try:  # permission bits alone do not tell (root ignores them; read-only mounts ignore root): try it
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as exc:
            raise GanforgeError(f"cannot write to {existing} ({exc.strerror or exc}); choose another --out") from None

    @classmethod
    def create(cls, path: Path) -> "RunDir":
        run = cls(path)
        try:
            for directory in (run.path, run.samples_dir, run.checkpoints_dir):
                directory.mkdir(parents=True, exist_ok=True)
            old_files = (run.metrics_path, run.report_path, run.status_path)
            for stale in (*old_files, *run.checkpoints_dir.glob("*" + SUFFIX), *run.samples_dir.glob("*.png")):
                stale.unlink(missing_ok=True)
        except OSError as exc:
            raise GanforgeError(f"cannot create run directory {path}: {exc.strerror}; choose another --out") from None
        return run

    @classmethod
    def existing(cls, path: Path) -> "RunDir":
        """The run directory at ``path``, which must hold checkpoints (to resume it)."""
        run = cls(path)
        if not run.path.is_dir():
            raise GanforgeError(f"run directory {path} does not exist; pass the --out of an earlier run")
        if not run.checkpoints():
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
        with self.metrics_path.open("a") as log:
            log.write(json.dumps(record) + "\n")

    def sample_path(self, epoch: int) -> Path:
        return self.samples_dir / f"epoch_{epoch:03d}.png"

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints_dir / f"step_{step:08d}{SUFFIX}"

    def checkpoints(self) -> list[Path]:
        """Step checkpoints in this run, oldest first."""
        found = [(int(m.group(1)), p) for p in self.checkpoints_dir.glob("*" + SUFFIX) if (m := CHECKPOINT_NAME.match(p.name))]
        return [path for _, path in sorted(found)]

    def prune_checkpoints(self, keep: int) -> None:
        for old in self.checkpoints()[:-keep]:
            old.unlink()

    def latest_good_checkpoint(self, set_aside: bool = True) -> Checkpoint:
        """The newest checkpoint that reads back intact; damaged newer ones are renamed ``*.corrupt``, with a warning
        (unless not ``set_aside``: the other processes of a job, whose rank 0 does it)."""
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

    def rewind(self, step: int) -> None:
        """Forget what happened after ``step``: half-written temporary files and later lines of the metrics log."""
        for partial in [*self.checkpoints_dir.glob(".*.tmp"), *self.path.glob(".*.tmp")]:
            partial.unlink(missing_ok=True)
        if not self.metrics_path.exists():
            return
        kept = []
        for line in self.metrics_path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line cut short when the process was killed
                continue
            if isinstance(record, dict) and isinstance(record.get("step"), int) and record["step"] <= step:
                kept.append(line + "\n")
        write_atomic(self.metrics_path, lambda temporary: temporary.write_text("".join(kept)))


def find_checkpoint(path: Path) -> Path:
    """``path`` itself if it is a checkpoint file, else the newest checkpoint of the run directory ``path``."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.exists():
        raise GanforgeError(f"{path} does not exist; pass a run directory or a checkpoint file")
    checkpoints = RunDir(path).checkpoints()
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

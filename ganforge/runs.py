"""What did I train? One summary per run directory under a folder (``ganforge runs``), read from the small files a
run writes (``config.json``, ``metrics.jsonl``, ``status.json``), never from its checkpoints, so that listing
a hundred runs takes a moment. A directory that is not a run, or a run whose files are damaged, is listed as such.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ganforge.errors import GanforgeError
from ganforge.files import describe, parse_json, read_regular, read_text
from ganforge.rundir import RunDir

MAX_PID = 2**31 - 1  # what a kernel hands out fits here; a larger "pid" in status.json is damage


@dataclass
class RunSummary:
    """One line of ``ganforge runs``."""

    path: str
    status: str  # running, finished, interrupted, failed, killed (gone without a word), unknown, damaged, not a run
    variant: str | None = None
    data: str | None = None
    steps: int | None = None  # the last logged generator step (or the one status.json names, if later)
    epoch: int | None = None
    last: dict[str, float] = field(default_factory=dict)  # loss_d, loss_g, d_real, d_fake of the last log line
    best: dict[str, Any] | None = None  # {"metric", "value", "step"} of the best evaluation
    scored: dict[str, Any] | None = None  # {"metric", "value", "step", "samples"} of the latest 'ganforge eval'
    modified: float | None = None  # when the run last wrote anything (seconds since the epoch)
    problem: str | None = None  # why a run is damaged, or what else the directory is

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON can hold it: a logged NaN or infinity (which JSON has no word for) is null."""
        return _finite(asdict(self))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process
    return True


def _state(run: RunDir) -> tuple[str, int | None, str | None]:
    """What ``status.json`` says and the step it names, with a "running" run whose process is gone on this host
    called "killed"; and what is wrong with the file, if anything."""
    if not os.path.lexists(run.status_path):
        return "unknown", None, None  # written before ganforge recorded it
    try:
        status = parse_json(read_text(run.status_path))
    except (OSError, ValueError) as exc:
        return "unknown", None, f"status.json cannot be read ({describe(exc)})"
    if not isinstance(status, dict) or not isinstance(status.get("state"), str):
        return "unknown", None, "status.json names no state"
    state, step, pid = status["state"], status.get("step"), status.get("pid")
    if state == "running" and status.get("host") == socket.gethostname() and isinstance(pid, int) and not isinstance(pid, bool):
        if not 0 < pid <= MAX_PID:
            return "unknown", None, f"status.json names no process that can exist (pid {str(pid)[:20]})"
        state = "running" if _alive(pid) else "killed"
    return state, step if isinstance(step, int) and not isinstance(step, bool) else None, None


def summarise(path: Path) -> RunSummary:
    """The summary of the directory ``path``: a run, a damaged run, or something else."""
    run = RunDir(path)
    shown = str(path)
    try:
        os.listdir(path)
        has_config = os.path.lexists(run.config_path)
        if not has_config:
            if run.metrics_path.exists() or run.checkpoints_dir.is_dir():
                return RunSummary(shown, "damaged", problem="config.json is missing")
            return RunSummary(shown, "not a run", problem="no config.json, metrics.jsonl or checkpoints/")
    except OSError as exc:
        return RunSummary(shown, "damaged", problem=f"the folder cannot be read ({describe(exc)})")
    try:
        config = parse_json(read_text(run.config_path))
    except OSError as exc:
        return RunSummary(shown, "damaged", problem=f"config.json cannot be read ({describe(exc)})")
    except ValueError as exc:
        return RunSummary(shown, "damaged", problem=f"config.json is not JSON ({getattr(exc, 'msg', None) or describe(exc)})")
    if not isinstance(config, dict) or not isinstance(config.get("variant"), str) or not isinstance(config.get("data"), dict) or not isinstance(config["data"].get("name"), str):
        return RunSummary(shown, "damaged", problem="config.json lacks the variant or data name")
    state, step, problem = _state(run)
    summary = RunSummary(shown, "damaged" if problem else state, config["variant"], config["data"]["name"], step, problem=problem)
    try:
        files = [p for p in (run.config_path, run.metrics_path, run.status_path) if os.path.lexists(p)]
        summary.modified = max(p.lstat().st_mtime for p in files)
    except OSError:
        pass
    summary.scored = _latest_scores(path)
    if not os.path.lexists(run.metrics_path):
        return summary
    try:
        lines = read_regular(run.metrics_path, limit=None).splitlines()
    except OSError as exc:
        summary.status, summary.problem = "damaged", f"metrics.jsonl cannot be read ({describe(exc)})"
        return summary
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError):
            if number < len(lines):  # a last line cut short by a kill is expected; one in the middle is damage
                summary.problem = f"metrics.jsonl line {number} is not JSON"
            continue
        if not isinstance(record, dict) or not isinstance(record.get("step"), int):
            continue
        if record.get("eval"):
            main = record.get("main")
            if record.get("best") and isinstance(main, str) and isinstance(record.get(main), (int, float)):
                summary.best = {"metric": main, "value": record[main], "step": record["step"]}
            continue
        epoch = record.get("epoch")
        summary.steps, summary.epoch = max(record["step"], step or 0), epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else None
        summary.last = {k: record[k] for k in ("loss_d", "loss_g", "d_real", "d_fake") if isinstance(record.get(k), (int, float))}
    return summary


def _latest_scores(path: Path) -> dict[str, Any] | None:
    """The main metric of the latest ``ganforge eval`` recorded in the run (scores.jsonl), if any."""
    from ganforge.evaluation.recorded import read_recorded

    for entry in reversed(read_recorded(path)):
        value = entry["scores"].get(entry["main"])
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return {"metric": entry["main"], "value": value, "step": entry.get("step"), "samples": entry.get("samples")}
    return None


def list_runs(root: Path) -> list[RunSummary]:
    """Every directory directly under ``root`` (or ``root`` itself, when it is a run), newest first."""
    root = Path(root)
    if not root.is_dir():
        raise GanforgeError(f"{root} is not a directory; pass the folder that holds your runs (ganforge run writes to runs/)")
    if os.path.lexists(RunDir(root).config_path):
        return [summarise(root)]
    try:
        entries = list(root.iterdir())
    except OSError as exc:
        raise GanforgeError(f"{root} cannot be read ({describe(exc)}); pass a folder you can read") from None
    found = [summarise(path) for path in entries if path.is_dir() and not path.name.startswith(".")]
    return sorted(found, key=lambda s: (s.modified is None, -(s.modified or 0), s.path))


def age(modified: float | None, now: float | None = None) -> str:
    """How long ago, as ``docker ps`` says it: 42s, 5m, 3h, 2d."""
    if modified is None:
        return "-"
    seconds = max(0.0, (now or time.time()) - modified)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"

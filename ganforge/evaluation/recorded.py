"""Scores belong to the run: every ``ganforge eval`` of a run's checkpoint appends its report to the run's
``scores.jsonl``, one JSON object a line, which ``ganforge runs`` and the run's page (report.html) show.

A line holds when it was scored, which checkpoint (file and generator step), how (samples, seed, weights,
truncation, evaluator and its hash) and every score, with the sentences :mod:`ganforge.evaluation.diagnosis`
wrote about them. Reading skips lines that are not such objects (a line cut short by a kill, a hand edit).
"""

from __future__ import annotations

import json
import math
import os
import stat
import time
from pathlib import Path
from typing import Any

from ganforge.errors import GanforgeError

SCORES_NAME = "scores.jsonl"
MAX_SCORES_BYTES = 16 * 2**20  # a run's scores file is a few KB; a larger one is not ganforge's and is not read


def run_of(checkpoint: Path) -> Path | None:
    """The run directory a checkpoint file belongs to (``RUN/checkpoints/step_N.safetensors``), or None for a
    checkpoint outside a run."""
    run = checkpoint.parent.parent
    return run if checkpoint.parent.name == "checkpoints" and (run / "config.json").is_file() else None


def checkpoint_step(checkpoint: Path) -> int | None:
    """The generator step a checkpoint was saved at, from its metadata (no tensors are read)."""
    from safetensors import safe_open

    try:
        with safe_open(str(checkpoint), framework="pt") as opened:
            step = json.loads((opened.metadata() or {}).get("progress", "{}")).get("step")
    except Exception:  # unreadable here means unknown; the evaluation itself has read the file
        return None
    return step if isinstance(step, int) else None


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such a score is written as null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def record(run: Path, entry: dict[str, Any]) -> Path:
    """Append ``entry`` (with the time) to ``run/scores.jsonl`` in one write; returns the file."""
    path = run / SCORES_NAME
    line = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **{k: _finite(v) for k, v in entry.items()}}) + "\n"
    try:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK
        descriptor = os.open(path, flags, 0o644)
    except OSError as exc:
        raise GanforgeError(f"cannot record the scores in {path} ({exc.strerror or exc})") from None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise GanforgeError(f"cannot record the scores: {path} is not a regular file; move it away")
        os.write(descriptor, line.encode())
    except OSError as exc:
        raise GanforgeError(f"cannot record the scores in {path} ({exc.strerror or exc})") from None
    finally:
        os.close(descriptor)
    return path


def read_recorded(run: Path) -> list[dict[str, Any]]:
    """The scores recorded in ``run``, oldest first; [] where there are none (or the file cannot be read)."""
    path = Path(run) / SCORES_NAME
    try:
        if not path.is_file() or path.stat().st_size > MAX_SCORES_BYTES:
            return []
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(entry, dict) and isinstance(entry.get("scores"), dict) and isinstance(entry.get("main"), str):
            entries.append(entry)
    return entries


def entry_for(report: Any, checkpoint: Path, seed: int, ema: bool, truncation: float | None, notes: list[str]) -> dict[str, Any]:
    """The line :func:`record` writes for ``report`` (a :class:`ganforge.evaluation.judges.Report`)."""
    evaluator = None if report.evaluator is None else {"name": report.evaluator.name, "sha256": report.evaluator.weights_sha256}
    return {
        "checkpoint": checkpoint.name,
        "step": checkpoint_step(checkpoint),
        "samples": report.samples,
        "seed": seed,
        "ema": ema,
        "truncation": truncation,
        "protocol": report.protocol,
        "evaluator": evaluator,
        "main": report.main,
        "lower_is_better": report.lower_is_better,
        "scores": dict(report.scores),
        "notes": notes,
    }

"""Real processes against one run directory, and a real full disk (issue 18). Slow: each starts several
``ganforge`` processes.

- Two ``ganforge resume`` on one run, and ``run --overwrite`` during a run: the second writer is refused with
  the first one's PID and changes nothing; the run's metrics.jsonl keeps every line, once.
- A writer killed with SIGKILL leaves its lock to the next one.
- A 1 MiB tmpfs (where the platform lets this user mount one, in a private mount namespace) fills up during a
  run: one line, the checkpoints before intact, and after freeing space the run resumes to the same end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import ganforge
from ganforge.checkpoint import read_checkpoint
from ganforge.rundir import RunDir
from ganforge.runlock import LOCK_NAME

from conftest import TINY

pytestmark = pytest.mark.slow

SETTINGS = {**TINY, "data.size": 640, "train.epochs": 2, "train.checkpoint_every": 5, "train.seed": 3, "train.device": "cpu"}
SETS = [arg for key, value in SETTINGS.items() for arg in ("--set", f"{key}={value}")]
CHILD_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
GANFORGE = [sys.executable, "-m", "ganforge"]


def start(*arguments: str) -> subprocess.Popen:
    return subprocess.Popen([*GANFORGE, *arguments], env=CHILD_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([*GANFORGE, *arguments], env=CHILD_ENV, capture_output=True, text=True, timeout=300)


def holding(process: subprocess.Popen, run: Path, after_step: int, timeout: float = 120) -> None:
    """Wait until ``process`` holds the run's lock and has saved a checkpoint past ``after_step``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lock, checkpoints = run / LOCK_NAME, RunDir(run).checkpoints()
        if lock.exists() and lock.read_text().startswith(f"{process.pid}\t") and checkpoints and step_of(checkpoints[-1]) > after_step:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    pytest.fail("the first writer never took the lock")


def step_of(checkpoint: Path) -> int:
    return int(checkpoint.stem.removeprefix("step_"))


def assert_refused(holder: subprocess.Popen, *arguments: str) -> None:
    refused = finish(*arguments)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and f"is being written by process {holder.pid} " in lines[0], lines
    assert holder.poll() is None  # the holder goes on undisturbed


def logged_steps(run: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_second_writers_are_refused_and_a_killed_writers_lock_is_taken_over(tmp_path):
    run = tmp_path / "run"
    endless = ["--epochs", "5000"]  # still training whatever the others do; killed in the end
    first = start("run", "vanilla", "--data", "ring8", *SETS, *endless, "--out", str(run))
    try:
        holding(first, run, after_step=0)
        assert_refused(first, "resume", str(run))  # resume during a run
        assert_refused(first, "run", "vanilla", "--data", "ring8", *SETS, "--out", str(run), "--overwrite")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    killed_at = step_of(RunDir(run).checkpoints()[-1])
    assert (run / LOCK_NAME).read_text().startswith(f"{first.pid}\t")  # its lock file stays, naming it: stale
    second = start("resume", str(run))  # takes the stale lock over
    try:
        holding(second, run, after_step=killed_at)
        assert_refused(second, "resume", str(run))  # two resumes on one run
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait()
    end = step_of(RunDir(run).checkpoints()[-1]) + 10
    resumed = finish("resume", str(run), "--max-steps", str(end))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert logged_steps(run) == list(range(5, end + 1, 5))  # every line, once: none lost, none twice
    read_checkpoint(RunDir(run).checkpoints()[-1])


def can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k none /mnt 2>/dev/null || mount -t tmpfs -o size=64k none /tmp"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not can_mount_tmpfs(), reason="this user cannot mount a tmpfs in a private mount namespace")
def test_a_real_full_disk(tmp_path):
    """In a private mount namespace: a 1 MiB tmpfs holds the run, keeping every checkpoint until the disk is full."""
    disk, kept, finished = tmp_path / "disk", tmp_path / "when-full", tmp_path / "finished"
    disk.mkdir()
    sets = " ".join(f"--set {key}={value}" for key, value in {**SETTINGS, "train.checkpoint_every": 1, "train.keep_checkpoints": 10000}.items())
    python = f"env OMP_NUM_THREADS=1 {sys.executable} -m ganforge"
    script = f"""
        mount -t tmpfs -o size=1m none {disk} || exit 90
        {python} run vanilla --data ring8 {sets} --out {disk}/run 2> {tmp_path}/run.err; echo $? > {tmp_path}/run.rc
        cp -a {disk}/run {kept}
        mount -o remount,size=64m {disk}
        {python} resume {disk}/run --keep 3 2> {tmp_path}/resume.err; echo $? > {tmp_path}/resume.rc
        cp -a {disk}/run {finished}
    """
    subprocess.run(["unshare", "-rm", "sh", "-c", script], env=CHILD_ENV, check=True, timeout=600)
    error = (tmp_path / "run.err").read_text().strip().splitlines()
    assert (tmp_path / "run.rc").read_text().strip() == "2" and len(error) == 1, error
    saved = RunDir(kept).checkpoints()
    assert len(saved) >= 3 and f"the disk holding {disk}/run is full" in error[0]
    assert f"the checkpoints saved before are intact (newest: {disk}/run/checkpoints/{saved[-1].name})" in error[0]
    for path in saved:
        read_checkpoint(path)
    assert not list(kept.rglob("*.tmp"))
    assert [json.loads(line) for line in (kept / "metrics.jsonl").read_text().splitlines()]  # whole lines only
    assert (tmp_path / "resume.rc").read_text().strip() == "0", (tmp_path / "resume.err").read_text()
    reference = ganforge.train("vanilla", "ring8", settings={**SETTINGS, "train.checkpoint_every": 1}, out=tmp_path / "reference")
    final, expected = load_file(finished / "checkpoints" / "step_00000040.safetensors"), load_file(reference.checkpoint)
    assert final.keys() == expected.keys() and all(torch.equal(final[name], expected[name]) for name in expected)

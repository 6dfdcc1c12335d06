"""SIGKILL in the middle of every kind of write a run makes: checkpoints, metrics.jsonl, sample grids, curves.

After each kill, before anything is repaired, ``plot`` and ``sample`` work and every file already written reads
back intact; then ``resume`` (in a fresh process) finishes the run with exactly the weights, metrics and sample
pictures of a run that was never killed. Slow: two child processes per case.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

import ganforge
from ganforge.checkpoint import read_checkpoint
from ganforge.rundir import RunDir

from conftest import TINY

pytestmark = pytest.mark.slow

# 3 epochs of 20 steps, a checkpoint every 5 steps and a log line every 5
SETTINGS = {**TINY, "data.size": 640, "train.epochs": 3, "train.checkpoint_every": 5, "train.seed": 5, "train.device": "cpu"}
HERE = Path(__file__).parent
CHILD_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reference") / "run"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the children: bit-identity holds for one thread count
    try:
        ganforge.train("vanilla", "ring8", settings=SETTINGS, out=out)
    finally:
        torch.set_num_threads(threads)
    return out


def child(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *arguments], env=CHILD_ENV, capture_output=True, text=True, timeout=300)


def without_timing(record: dict) -> dict:
    return {key: value for key, value in record.items() if key != "images_per_s"}


def metrics(run: Path) -> list[dict]:
    return [without_timing(json.loads(line)) for line in (run / "metrics.jsonl").read_text().splitlines()]


def assert_everything_written_reads_back(run: Path, reference: Path) -> None:
    """What a reader sees right after the kill: whole files only, each as the uninterrupted run wrote it."""
    for path in RunDir(run).checkpoints():
        expected = load_file(reference / "checkpoints" / path.name) if (reference / "checkpoints" / path.name).exists() else None
        saved = read_checkpoint(path).tensors
        if expected is not None:
            assert all(torch.equal(saved[name], expected[name]) for name in expected if not name.startswith("rng"))
    for picture in (run / "samples").glob("*.png"):
        assert picture.read_bytes() == (reference / "samples" / picture.name).read_bytes(), picture
    lines = (run / "metrics.jsonl").read_text().splitlines(keepends=True) if (run / "metrics.jsonl").exists() else []
    whole = [without_timing(json.loads(line)) for line in lines if line.endswith("\n")]
    assert len(lines) - len(whole) <= 1  # at most the line being written when the process died
    assert whole == metrics(reference)[: len(whole)]
    if (run / "curves.png").exists():
        Image.open(run / "curves.png").verify()


@pytest.mark.parametrize(
    "kind, number",
    [("checkpoint", 3), ("metrics", 6), ("samples", 2), ("curves", 1)],
    ids=["checkpoint", "metrics", "samples", "curves"],
)
def test_a_kill_in_the_middle_of_a_write_loses_nothing(reference, tmp_path, kind, number):
    out = tmp_path / "run"
    sets = [arg for key, value in SETTINGS.items() for arg in ("--set", f"{key}={value}")]
    killed = child(str(HERE / "kill_at_write.py"), kind, str(number), "run", "vanilla", "--data", "ring8", *sets, "--out", str(out))
    assert killed.returncode == -9, killed.stderr[-2000:]

    assert_everything_written_reads_back(out, reference)
    if RunDir(out).checkpoints():
        ganforge.sample(out, count=8, device="cpu").save(tmp_path / "grid.png")
    if (out / "metrics.jsonl").exists() and (out / "metrics.jsonl").read_text().count("\n"):
        ganforge.api.plot(out, tmp_path / "curves.png")

    resumed = child("-m", "ganforge", "resume", str(out))
    if kind == "curves":  # killed after its last checkpoint, while drawing: the run is complete, the picture redrawn
        assert resumed.returncode == 2 and "has done all its steps" in resumed.stderr, resumed.stderr
        assert not (out / "curves.png").exists()
        ganforge.api.plot(out)
    else:
        assert resumed.returncode == 0, resumed.stderr[-2000:]
    final = load_file(out / "checkpoints" / "step_00000060.safetensors")
    expected = load_file(reference / "checkpoints" / "step_00000060.safetensors")
    assert final.keys() == expected.keys() and all(torch.equal(final[name], expected[name]) for name in expected)
    assert metrics(out) == metrics(reference)
    for epoch in (1, 2, 3):
        name = f"samples/epoch_{epoch:03d}.png"
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name
    Image.open(out / "curves.png").verify()
    assert not list(out.rglob("*.tmp"))

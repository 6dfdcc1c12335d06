"""Messages that say what is true: resume is never told to "choose another --out" (an option it has not), an
unreadable checkpoint "cannot be read", a file given to resume is not a run directory, an out-of-memory while
loading a checkpoint blames the checkpoint rather than settings nobody set, NaN weights are refused where they
would be resumed or exported, and two quick Ctrl-C print a line."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from typer.testing import CliRunner

from ganforge.checkpoint import read_file, write_checkpoint
from ganforge.cli import app

from attack import TINY_SETTINGS, train_tiny_run

runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_tiny_run(tmp_path_factory.mktemp("messages") / "trained")


@pytest.fixture
def run(trained, tmp_path):
    shutil.copytree(trained, tmp_path / "run")
    return tmp_path / "run"


def error_line(argv: list[str]) -> str:
    result = runner.invoke(app, argv, prog_name="ganforge")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("warning:")]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (result.exit_code, result.output)
    return lines[0]


def newest(run):
    return sorted((run / "checkpoints").glob("step_*.safetensors"))[-1]


def test_resume_of_a_file_says_it_needs_a_run_directory(run):
    line = error_line(["resume", str(newest(run))])
    assert "is a file" in line and "run directory" in line and "does not exist" not in line


def test_resume_of_a_run_it_cannot_write_is_not_told_to_choose_another_out(run, monkeypatch):
    import tempfile

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    line = error_line(["resume", str(run), "--epochs", "3", "--device", "cpu"])
    assert "Permission denied" in line and "--out" not in line


def test_an_unreadable_checkpoint_cannot_be_read_rather_than_does_not_exist(run, monkeypatch):
    checkpoint = newest(run)
    real_stat = os.stat

    def stat(path, *args, **kwargs):
        if str(path) == str(checkpoint):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    line = error_line(["sample", str(checkpoint), "-n", "4", "--out", str(run.parent / "s.png"), "--device", "cpu"])
    assert "cannot be read" in line and "does not exist" not in line


def test_out_of_memory_from_a_checkpoints_sizes_blames_the_checkpoint(run, tmp_path):
    saved = read_file(newest(run))
    meta = saved.meta
    meta["config"]["generator"]["hidden"] = 2**40
    crafted = tmp_path / "crafted.safetensors"
    write_checkpoint(crafted, saved.tensors, meta)
    line = error_line(["sample", str(crafted), "-n", "4", "--out", str(tmp_path / "s.png"), "--device", "cpu"])
    assert str(crafted) in line and "memory" in line
    assert "train.batch_size" not in line and "data.size" not in line  # settings this command was never given


def with_nan_generator(run) -> None:
    checkpoint = newest(run)
    saved = read_file(checkpoint)
    tensors = dict(saved.tensors)
    names = [name for name in tensors if "generator" in name and tensors[name].is_floating_point()]
    assert names
    for name in names:
        tensors[name] = torch.full_like(tensors[name], float("nan"))
    write_checkpoint(checkpoint, tensors, saved.meta)


def test_nan_generator_weights_are_not_resumed(run):
    with_nan_generator(run)
    before = sorted(p.name for p in (run / "checkpoints").iterdir())
    line = error_line(["resume", str(run), "--epochs", "3", "--device", "cpu"])
    assert "NaN" in line
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before


def test_nan_generator_weights_are_not_exported(run, tmp_path):
    with_nan_generator(run)
    line = error_line(["export", str(run), "--format", "torchscript", "--out", str(tmp_path / "g.pt"), "--no-ema"])
    assert "NaN" in line and "export" in line
    assert not (tmp_path / "g.pt").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_two_quick_ctrl_c_print_a_line(tmp_path):
    out = tmp_path / "run"
    tiny = sum((["--set", s] for s in TINY_SETTINGS), [])
    job = subprocess.Popen(
        [sys.executable, "-m", "ganforge", "run", "vanilla", "--data", "ring8", *tiny, "--epochs", "100000", "--out", str(out), "--device", "cpu"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (out / "metrics.jsonl").exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    job.send_signal(signal.SIGINT)
    time.sleep(0.05)
    job.send_signal(signal.SIGINT)
    _, stderr = job.communicate(timeout=60)
    assert job.returncode == 130
    assert stderr.strip(), "two Ctrl-C ended the run without a word"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_ctrl_c_while_the_interrupted_run_says_so_still_exits_130(monkeypatch, tmp_path):
    """The second of two quick Ctrl-C can land after training saved its checkpoint, while the command prints where
    it stopped: the command still ends with its lines and 130, not killed by the signal halfway through them."""
    import typer

    from ganforge import cli
    from ganforge.interrupt import SIGNALS, TrainingInterrupted

    said = []

    def print_then_ctrl_c(*args, **kwargs):
        said.append(args[0])
        if len(said) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # delivered before the next line of Python runs

    def interrupted(reporter):
        raise TrainingInterrupted(signal.SIGINT, 7, tmp_path / "step_7.safetensors", tmp_path)

    monkeypatch.setattr(cli.err_console, "print", print_then_ctrl_c)
    previous = {number: signal.getsignal(number) for number in SIGNALS}
    try:
        with pytest.raises(typer.Exit) as stopped:
            cli._watch(interrupted, resumed=False)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    assert stopped.value.exit_code == 130 and len(said) == 2 and "Continue with: ganforge resume" in said[1]


def test_a_numpy_state_past_its_range_is_one_line_on_resume(run):
    checkpoint = newest(run)
    saved = read_file(checkpoint)
    meta = saved.meta
    meta["rng"]["numpy"][1] = 2**70  # the position in the state
    write_checkpoint(checkpoint, saved.tensors, meta)
    line = error_line(["resume", str(run), "--epochs", "3", "--device", "cpu"])
    assert str(checkpoint) in line or "checkpoint" in line

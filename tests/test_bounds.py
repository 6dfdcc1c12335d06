"""Sizes at and past every bound, refused in one line before any work: truncation thresholds so small that
resampling would never end, walks of a billion frames, exports of a billion examples, captions times counts past
what one picture holds, frame rates a GIF cannot store, seeds past 64 bits; and a 100,000-character caption laid out
in a moment."""

from __future__ import annotations

import shutil
import time

import pytest
from PIL import Image
from typer.testing import CliRunner

from ganforge.cli import app

from attack import train_tiny_run
from hang_guard import within

runner = CliRunner()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny_run(tmp_path_factory.mktemp("bounds") / "trained")


def refused(argv: list[str], *words: str, seconds: float = 20) -> str:
    with within(seconds):
        result = runner.invoke(app, argv, prog_name="ganforge")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (result.exit_code, result.output)
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("command", ["sample", "interpolate", "eval"])
@pytest.mark.parametrize("psi", ["1e-9", "5e-324", "0.001"])
def test_a_truncation_too_small_to_resample_is_refused(run, tmp_path, command, psi):
    argv = {
        "sample": ["sample", str(run), "-n", "4", "--out", str(tmp_path / "s.png")],
        "interpolate": ["interpolate", str(run), "--frames", "2", "-n", "2", "--out", str(tmp_path / "w.gif")],
        "eval": ["eval", str(run), "-n", "64"],
    }[command]
    refused([*argv, "--device", "cpu", "--truncation", psi], "--truncation")


def test_the_smallest_truncation_allowed_ends_quickly(run, tmp_path):
    started = time.perf_counter()
    with within(30):
        result = runner.invoke(app, ["sample", str(run), "-n", "10000", "--truncation", "0.01", "--out", str(tmp_path / "s.png"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert time.perf_counter() - started < 30


@pytest.mark.parametrize(
    "option, value, word",
    [
        ("--frames", str(10**9), "--frames"),
        ("--points", str(10**7), "--points"),
        ("-n", str(10**9), "--count"),
        ("--fps", "0.001", "--fps"),
        ("--fps", "1e9", "--fps"),
        ("--fps", "nan", "--fps"),
        ("--seed", str(10**23), "--seed"),
        ("--seed", "-1", "--seed"),
        ("--seeds", f"1,{10**23}", "--seeds"),
    ],
)
def test_a_walk_past_its_bounds_is_refused(run, tmp_path, option, value, word):
    refused(["interpolate", str(run), "--device", "cpu", "--out", str(tmp_path / "w.gif"), option, value], word)
    assert not (tmp_path / "w.gif").exists()


def test_a_walk_at_its_bounds_is_drawn(run, tmp_path):
    with within(60):
        result = runner.invoke(app, ["interpolate", str(run), "--device", "cpu", "--frames", "2", "--points", "2", "-n", "2", "--fps", "0.5", "--out", str(tmp_path / "w.gif")])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "w.gif").info["duration"] == 2000


@pytest.mark.parametrize("batch", [str(10**9), str(2**40)])
def test_an_export_batch_past_the_bound_is_refused(run, tmp_path, batch):
    refused(["export", str(run), "--format", "torchscript", "--out", str(tmp_path / "g.pt"), "--batch", batch], "--batch")
    assert not (tmp_path / "g.pt").exists()


def test_captions_times_count_past_one_picture_is_refused(run, tmp_path):
    captions = tmp_path / "captions.txt"
    captions.write_text("\n".join(f"caption {i}" for i in range(5000)))
    refused(["sample", str(run), "--captions", str(captions), "-n", "64", "--out", str(tmp_path / "s.png"), "--device", "cpu"], "10,000")


def test_a_hundred_thousand_character_caption_is_laid_out_at_once():
    from ganforge.images import captioned_rows

    grid = Image.new("RGB", (300, 200))
    started = time.perf_counter()
    with within(20):
        picture = captioned_rows(grid, 2, ["x" * 100_000, "é💥 " * 30_000])
    assert time.perf_counter() - started < 2
    assert picture.height > 200


# --- --nproc and --max-restarts: the whole command checked before any process is launched --------------------------


@pytest.fixture
def no_launch(monkeypatch):
    import subprocess

    def launched(*args, **kwargs):
        raise AssertionError(f"a process was launched: {args[0] if args else kwargs}")

    monkeypatch.setattr(subprocess, "Popen", launched)


TINY = ["--set", "generator.hidden=16", "--set", "discriminator.hidden=16", "--max-steps", "2"]


@pytest.mark.parametrize(
    "extra, word",
    [
        (["--nproc", "2", "--set", "optim.lr=abc"], "optim.lr"),
        (["--max-restarts", "3", "--set", "optim.lr=abc"], "optim.lr"),
        (["--nproc", "2", "--set", "dist.timeout_s=1e15"], "dist.timeout_s"),
        (["--nproc", "2", "--data", "nope"], "nope"),
        (["--nproc", "1000"], "--nproc"),
    ],
)
def test_a_distributed_start_is_checked_before_launching(tmp_path, no_launch, extra, word):
    refused(["run", "vanilla", "--data", "ring8", *TINY, "--out", str(tmp_path / "out"), *extra], word)


def test_a_distributed_resume_is_checked_before_launching(run, tmp_path, no_launch):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    refused(["resume", str(copy), "--nproc", "2", "--set", "optim.lr=abc"], "optim.lr")
    refused(["resume", str(tmp_path / "missing"), "--max-restarts", "2"], "does not exist")


@pytest.mark.parametrize("thing", ["fifo", "zero", "dir"])
def test_a_captions_file_that_is_no_file_is_refused_at_once(run, tmp_path, thing):
    import os

    captions = tmp_path / "captions.txt"
    if thing == "fifo":
        os.mkfifo(captions)
    elif thing == "zero":
        captions.symlink_to("/dev/zero")
    else:
        captions.mkdir()
    refused(["sample", str(run), "--captions", str(captions), "-n", "2", "--out", str(tmp_path / "s.png"), "--device", "cpu"], "captions")

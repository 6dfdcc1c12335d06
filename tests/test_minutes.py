"""``--minutes`` (``train.minutes``): the first steps are timed, the run's length is fixed once in train.steps, and
from then on the run is an ordinary run of that many steps: the timing leaves no trace, and a resume is exact."""

from __future__ import annotations

import json

import torch
from typer.testing import CliRunner

import ganforge
from ganforge.checkpoint import read_checkpoint
from ganforge.cli import app

from conftest import TINY

RING8 = {**TINY, "data.size": 256, "train.batch_size": 32, "train.log_every": 1}


def weights(result) -> dict[str, torch.Tensor]:
    tensors = read_checkpoint(result.checkpoint).tensors
    networks = {key: value for key, value in tensors.items() if key.startswith(("generator.", "discriminator.", "ema."))}
    assert networks  # real weights, not two empty dicts
    return networks


def test_minutes_fixes_the_steps_once_and_the_run_equals_one_of_that_many_steps(tmp_path):
    timed = ganforge.train("vanilla", "ring8", settings={**RING8, "train.minutes": 0.02}, out=tmp_path / "timed")
    config = json.loads((timed.run_dir.path / "config.json").read_text())
    steps = config["train"]["steps"]
    assert isinstance(steps, int) and steps >= 1 and timed.steps == steps
    assert config["train"]["minutes"] == 0.02
    # the same length given outright, cut in two and resumed: the timed steps left nothing behind
    first = ganforge.train("vanilla", "ring8", settings={**RING8, "train.steps": steps, "train.max_steps": max(1, steps // 2)}, out=tmp_path / "given")
    assert first.steps == max(1, steps // 2)
    given = ganforge.resume(tmp_path / "given", settings={"train.max_steps": steps}) if first.steps < steps else first
    assert given.steps == steps
    a, b = weights(timed), weights(given)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_a_resumed_minutes_run_keeps_its_length_and_is_not_timed_again(tmp_path):
    cut = ganforge.train("vanilla", "ring8", settings={**RING8, "train.minutes": 0.02, "train.max_steps": 3}, out=tmp_path / "run")
    steps = json.loads((cut.run_dir.path / "config.json").read_text())["train"]["steps"]
    assert cut.steps == min(3, steps)
    if steps > 3:
        resumed = ganforge.resume(tmp_path / "run", settings={"train.max_steps": None})
        assert resumed.steps == steps
        assert json.loads((cut.run_dir.path / "config.json").read_text())["train"]["steps"] == steps


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_minutes_says_how_long_the_run_is_in_one_line(tmp_path):
    result = invoke("run", "vanilla", "--data", "ring8", "--minutes", "0.02", "--set", "data.size=256", "--set", "generator.hidden=16", "--set", "discriminator.hidden=16", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("--minutes 0.02:")]
    assert len(lines) == 1 and "generator steps" in lines[0]
    steps = json.loads((tmp_path / "run" / "config.json").read_text())["train"]["steps"]
    assert f"{steps:,} generator steps" in lines[0]


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_bad_minutes_are_one_line_and_exit_2(tmp_path):
    for value in ("0", "-3", "soon"):
        assert_one_line_error(invoke("run", "vanilla", "--data", "ring8", f"--minutes={value}", "--out", tmp_path / "x"), "--minutes")
    assert_one_line_error(invoke("run", "vanilla", "--data", "ring8", "--minutes", "5", "--epochs", "3", "--out", tmp_path / "x"), "--epochs")
    assert_one_line_error(invoke("run", "vanilla", "--data", "ring8", "--minutes", "5", "--set", "train.steps=10", "--out", tmp_path / "x"), "train.steps")
    assert not (tmp_path / "x").exists()


def test_a_resume_cannot_lengthen_a_run_of_fixed_steps_with_epochs(tmp_path):
    ganforge.train("vanilla", "ring8", settings={**RING8, "train.steps": 2}, out=tmp_path / "run")
    assert_one_line_error(invoke("resume", tmp_path / "run", "--epochs", "9"), "train.steps")
    longer = ganforge.resume(tmp_path / "run", settings={"train.steps": 4})
    assert longer.steps == 4

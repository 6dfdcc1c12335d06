"""Early stopping on the in-training score: ``--set eval.patience=N`` with ``--eval-every``."""

from __future__ import annotations

import json

from safetensors import safe_open
from typer.testing import CliRunner

from ganforge.cli import app

from conftest import TINY

runner = CliRunner()
SETTINGS = {**TINY, "data.size": 256, "eval.samples": 64, "train.epochs": 100}  # 8 steps an epoch: 800 steps at most


def settings(**extra):
    return [word for key, value in {**SETTINGS, **extra}.items() for word in ("--set", f"{key}={value}")]


def test_a_run_stops_after_patience_evaluations_without_improvement_and_keeps_the_best(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "vanilla", "--data", "ring8", "--device", "cpu", "--eval-every", "4", "--out", str(out), *settings(**{"eval.patience": 2})])
    assert result.exit_code == 0, result.output
    evaluations = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if '"eval": true' in line]
    assert evaluations and [e["best"] for e in evaluations[-2:]] == [False, False]  # the last two did not improve
    best = max(i for i, e in enumerate(evaluations) if e["best"])
    assert best == len(evaluations) - 3  # it stopped at the second evaluation after the best, not later
    status = json.loads((out / "status.json").read_text())
    stopped = status["stopped_early"]
    assert status["state"] == "finished" and stopped["step"] == evaluations[-1]["step"] < 800
    assert stopped["best_step"] == evaluations[best]["step"] and stopped["patience"] == 2
    with safe_open(str(out / "checkpoints" / "best.safetensors"), "pt") as best_file:
        assert json.loads(best_file.metadata()["progress"])["step"] == evaluations[best]["step"]
    line = next(line for line in result.stdout.splitlines() if line.startswith("Stopped early"))
    assert f"at step {stopped['step']:,}" in line and f"step {stopped['best_step']:,})" in line and "best.safetensors" in line


def test_without_patience_the_run_goes_to_its_end(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "vanilla", "--data", "ring8", "--device", "cpu", "--eval-every", "8", "--max-steps", "40", "--out", str(out), *settings()])
    assert result.exit_code == 0, result.output
    assert "stopped_early" not in json.loads((out / "status.json").read_text()) and "Stopped early" not in result.stdout


def test_patience_without_evaluations_is_one_line(tmp_path):
    result = runner.invoke(app, ["run", "vanilla", "--data", "ring8", "--device", "cpu", "--out", str(tmp_path / "run"), *settings(**{"eval.patience": 3})])
    assert result.exit_code == 2 and "add --eval-every N" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()

"""Scores belong to the run (``ganforge eval`` records them in scores.jsonl, shown by ``ganforge runs`` and
report.html); density and coverage (Naeem et al. 2020) beside precision and recall; degenerate pairs explained."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

import ganforge
from ganforge.cli import app
from ganforge.data import DataSpec, TensorData
from ganforge.evaluation.diagnosis import explain
from ganforge.evaluation.features import density_coverage, precision_recall
from ganforge.evaluation.judges import PointJudge
from ganforge.evaluation.recorded import SCORES_NAME, read_recorded

from conftest import TINY

runner = CliRunner()


def test_density_and_coverage_of_samples_from_the_data_itself_are_the_papers_expectations():
    # Naeem et al.: for fake ~ real and M = N, E[density] = 1 and E[coverage] = 1 - 1/2^k (0.969 for k = 5)
    generator = torch.Generator().manual_seed(0)
    real, fake = torch.randn(2000, 8, generator=generator), torch.randn(2000, 8, generator=generator)
    density, coverage = density_coverage(real, fake)
    assert density == pytest.approx(1.0, abs=0.05) and coverage == pytest.approx(1 - 1 / 2**5, abs=0.02)


def test_density_and_coverage_on_a_lattice_with_known_balls():
    real = torch.arange(100.0).unsqueeze(1)  # spacing 1: with k = 2 every inner point's ball has radius 1
    collapsed = torch.full((50, 1), 50.0)  # every sample on real point 50: inside the balls of 49, 50 and 51
    assert density_coverage(real, collapsed, k=2) == (pytest.approx(3 / 2), pytest.approx(3 / 100))
    assert density_coverage(real, torch.full((50, 1), 1000.0), k=2) == (0.0, 0.0)  # far from every ball
    between = torch.arange(10.5, 60.5).unsqueeze(1)  # each half-way between two inner points: in exactly 2 balls
    density, coverage = density_coverage(real, between, k=2)
    assert density == pytest.approx(2 / 2) and coverage == pytest.approx(51 / 100)  # the balls of 10 ... 60
    assert precision_recall(real, torch.full((100, 1), 50.0)) == (1.0, 0.01)  # the collapsed pair the note explains


def test_a_collapsed_generator_is_explained_and_ordinary_scores_are_not():
    notes = explain({"precision": 1.0, "recall": 0.0, "density": 1.5, "coverage": 0.03})
    assert any("mode collapse" in note for note in notes) and any("mode dropping" in note for note in notes)
    assert any("away from the real data" in note for note in explain({"precision": 0.0, "recall": 0.01}))
    assert explain({"precision": 0.7, "recall": 0.6, "density": 0.9, "coverage": 0.8}) == []
    assert explain({"modes": 8, "reverse_kl": 0.01}) == []


def test_the_point_judge_reports_density_and_coverage_and_a_collapse_is_noted():
    generator = torch.Generator().manual_seed(1)
    points = torch.randn(500, 2, generator=generator)
    judge = PointJudge(TensorData(points, DataSpec((2,), is_image=False)))
    collapsed = judge.score(points[:1].repeat(500, 1), 0)
    assert collapsed.scores["precision"] == 1.0 and collapsed.scores["recall"] < 0.02
    assert collapsed.scores["coverage"] < 0.05 and collapsed.labels["density"] == "density (k=5)"
    assert any("mode collapse" in note for note in explain(collapsed.scores))
    fair = judge.score(torch.randn(500, 2, generator=generator), 0)
    assert fair.scores["coverage"] > 0.9 and 0.8 < fair.scores["density"] < 1.2


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("scored")
    ganforge.train("vanilla", "ring8", settings={**TINY, "data.size": 256, "train.max_steps": 8}, out=root / "ring")
    return root / "ring"


def test_eval_records_its_scores_in_the_run_and_runs_and_the_page_show_them(run):
    before = (run / "report.html").read_text()
    assert "Not evaluated" in before and 'id=recorded' not in before
    result = runner.invoke(app, ["eval", str(run), "-n", "200", "--device", "cpu", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "Recorded in" in result.stdout
    entries = read_recorded(run)
    assert len(entries) == 1
    entry = entries[0]
    assert entry["main"] == "modes" and entry["samples"] == 200 and entry["seed"] == 3 and entry["step"] == 8
    assert entry["checkpoint"] == "step_00000008.safetensors" and isinstance(entry["scores"]["modes"], int)
    page = (run / "report.html").read_text()  # eval redraws the run's page
    assert "Not evaluated" not in page and "id=recorded" in page and "step_00000008.safetensors" in page
    listed = runner.invoke(app, ["runs", str(run.parent), "--json"])
    scored = json.loads(listed.stdout)[0]["scored"]
    assert scored == {"metric": "modes", "value": entry["scores"]["modes"], "step": 8, "samples": 200}
    table = runner.invoke(app, ["runs", str(run.parent)], env={"COLUMNS": "200"})
    assert f"modes {entry['scores']['modes']}" in table.stdout and "score" in table.stdout
    again = runner.invoke(app, ["eval", str(run), "-n", "100", "--device", "cpu", "--json"])
    assert again.exit_code == 0 and "notes" in json.loads(again.stdout)
    assert [e["samples"] for e in read_recorded(run)] == [200, 100]  # appended, the older kept


def test_scores_that_cannot_be_recorded_are_still_shown(run, tmp_path):
    blocked = run / SCORES_NAME
    kept = blocked.read_bytes() if blocked.exists() else b""
    blocked.unlink(missing_ok=True)
    blocked.mkdir()  # not a file: the scores cannot be appended
    try:
        result = runner.invoke(app, ["eval", str(run), "-n", "100", "--device", "cpu"])
    finally:
        blocked.rmdir()
        blocked.write_bytes(kept)
    assert result.exit_code == 0 and "modes captured" in result.stdout
    assert "the scores are not kept with the run" in result.stderr

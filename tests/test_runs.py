"""``ganforge runs``: what did I train? (issue 16)"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import ganforge
from ganforge.cli import app
from ganforge.interrupt import TrainingInterrupted
from ganforge.runs import age, summarise

from conftest import TINY

runner = CliRunner()
SETTINGS = {**TINY, "data.size": 256, "train.max_steps": 8}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """runs/: a finished run with evaluations, one whose process was killed, one running, one interrupted, a
    damaged one, and a folder that is not a run."""
    root = tmp_path_factory.mktemp("runs")
    ganforge.train("vanilla", "ring8", settings={**SETTINGS, "eval.every": 4}, out=root / "done")
    for name in ("killed", "running"):
        ganforge.train("vanilla", "ring8", settings=SETTINGS, out=root / name)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    for name, pid in (("killed", int(gone.stdout)), ("running", os.getpid())):
        status = {"state": "running", "pid": pid, "host": socket.gethostname(), "time": 0, "step": 4}
        (root / name / "status.json").write_text(json.dumps(status))
    (root / "damaged").mkdir()
    (root / "damaged" / "config.json").write_text('{"variant": "vanilla", ')
    (root / "damaged" / "metrics.jsonl").write_text("")
    (root / "photos").mkdir()
    (root / "photos" / "cat.jpg").write_bytes(b"")
    return root


def test_a_run_stopped_by_a_signal_is_marked_interrupted(tmp_path, monkeypatch):
    from ganforge import trainer

    def interrupted(self, *args):
        raise TrainingInterrupted(15, 3, tmp_path / "c", tmp_path / "run")

    monkeypatch.setattr(trainer.Trainer, "loop", interrupted)
    with pytest.raises(TrainingInterrupted):
        ganforge.train("vanilla", "ring8", settings=SETTINGS, out=tmp_path / "run")
    assert json.loads((tmp_path / "run" / "status.json").read_text())["state"] == "interrupted"
    assert (tmp_path / "run" / "report.html").exists()  # the page is written however the run ended
    listed = summarise(tmp_path / "run")
    assert listed.status == "interrupted" and listed.steps == 0  # no log line yet: the step status.json names


def test_the_table_tells_each_run_apart(root):
    result = runner.invoke(app, ["runs", str(root)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.count("│") > 5}
    assert set(lines) == {"done", "killed", "running", "damaged", "photos"}
    assert "finished" in lines["done"] and "vanilla" in lines["done"] and "ring8" in lines["done"] and "modes" in lines["done"]
    assert "killed" in lines["killed"].split("│")[-2] and "running" in lines["running"].split("│")[-2]
    assert "damaged*" in lines["damaged"] and "not a run*" in lines["photos"]
    assert "* damaged: config.json is not JSON" in result.stdout


def test_json_holds_what_the_table_shows(root):
    result = runner.invoke(app, ["runs", str(root), "--json"])
    assert result.exit_code == 0, result.output
    rows = {os.path.basename(row["path"]): row for row in json.loads(result.stdout)}
    done = rows["done"]
    assert done["status"] == "finished" and done["variant"] == "vanilla" and done["data"] == "ring8"
    assert done["steps"] == 8 and set(done["last"]) >= {"loss_d", "loss_g", "d_real", "d_fake"}
    assert done["best"]["metric"] == "modes" and done["best"]["step"] in (4, 8)
    assert rows["killed"]["status"] == "killed" and rows["running"]["status"] == "running"
    assert rows["damaged"]["status"] == "damaged" and rows["photos"]["status"] == "not a run"


def test_a_run_directory_itself_lists_that_run(root):
    result = runner.invoke(app, ["runs", str(root / "done"), "--json"])
    assert [row["status"] for row in json.loads(result.stdout)] == ["finished"]


def test_an_empty_folder_says_so_and_a_missing_one_is_one_line(tmp_path):
    assert "No runs in" in runner.invoke(app, ["runs", str(tmp_path)]).stdout
    result = runner.invoke(app, ["runs", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1 and "is not a directory" in result.stderr


def test_ages_read_like_docker_ps():
    assert [age(1000 - s, now=1000) for s in (5, 300, 7200, 3 * 86400)] == ["5s", "5m", "2h", "3d"]
    assert age(None) == "-"

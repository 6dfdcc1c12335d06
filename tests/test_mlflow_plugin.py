"""The MLflow logger plugin against a real ``mlflow server`` on 127.0.0.1 with a SQLite backend store, read back
through MLflow's own client. Skips where mlflow is not installed (``pip install 'ganforge[mlflow]'``; CI installs it)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from typer.testing import CliRunner

import ganforge
from ganforge.cli import app

from conftest import TINY

mlflow = pytest.importorskip("mlflow", reason="pip install 'ganforge[mlflow]'")
pytestmark = pytest.mark.slow  # starts a server process


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
               "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}", "--artifacts-destination", str(root / "artifacts"), "--workers", "1"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start on {uri}")
            time.sleep(1)
        yield uri
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_run_is_tracked_and_a_resume_continues_the_same_mlflow_run(server, tmp_path):
    from mlflow.tracking import MlflowClient

    run = tmp_path / "run"
    settings = {**TINY, "data.size": 64, "train.batch_size": 16, "train.log_every": 2, "train.epochs": 2, "train.max_steps": 4,
                "mlflow.enabled": "true", "mlflow.tracking_uri": server, "mlflow.experiment": "tests", "mlflow.run_name": "tiny"}  # fmt: skip
    ganforge.train("vanilla", "ring8", settings=settings, out=run)
    state = json.loads((run / "mlflow.json").read_text())
    client = MlflowClient(tracking_uri=server)
    tracked = client.get_run(state["run_id"])
    assert tracked.info.run_name == "tiny" and tracked.info.status == "FINISHED"
    assert client.get_experiment(tracked.info.experiment_id).name == "tests"
    assert tracked.data.params["train.batch_size"] == "16" and tracked.data.params["variant"] == "vanilla"
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    history = client.get_metric_history(state["run_id"], "loss_d")
    assert [(m.step, m.value) for m in history] == [(r["step"], pytest.approx(r["loss_d"])) for r in logged]
    artifacts = {a.path for a in client.list_artifacts(state["run_id"])} | {a.path for a in client.list_artifacts(state["run_id"], "samples")}
    assert {"curves.png", "report.html", "samples/epoch_001.png"} <= artifacts

    result = CliRunner().invoke(app, ["resume", str(run), "--max-steps", "8", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "mlflow.json").read_text())["run_id"] == state["run_id"]  # the same MLflow run
    steps = [m.step for m in client.get_metric_history(state["run_id"], "loss_d")]
    assert steps == [2, 4, 6, 8] and client.get_run(state["run_id"]).info.status == "FINISHED"
    assert len(client.search_runs([tracked.info.experiment_id])) == 1

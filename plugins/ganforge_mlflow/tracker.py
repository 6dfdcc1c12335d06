"""Talking to MLflow for one ganforge run, through ``mlflow.tracking.MlflowClient`` (explicit run ids, no global
active run, so that two runs in one process never mix).

The MLflow run's id is kept in ``<run>/mlflow.json`` with the tracking URI, so that ``ganforge resume`` continues
the same MLflow run: its metrics go on from the step resumed at, and its parameters, logged once, stay.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunStatus
from mlflow.tracking import MlflowClient

from ganforge.errors import GanforgeError

STATE_NAME = "mlflow.json"
MAX_PARAM_LENGTH = 500  # MLflow's limit on a parameter's value
BATCH = 100  # MLflow's limit on parameters per log_batch call


def flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dictionaries as dotted keys: config.json's ``{"train": {"epochs": 5}}`` as ``train.epochs``."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat(value, f"{name}."))
        else:
            out[name] = value
    return out


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class Tracker:
    """One ganforge run's MLflow run."""

    def __init__(self, run_dir: Path, settings: Any, config_json: str):
        self.run_dir = Path(run_dir)
        state_path = self.run_dir / STATE_NAME
        state = json.loads(state_path.read_text()) if state_path.is_file() else {}
        uri = settings.tracking_uri or state.get("tracking_uri")
        self.client = MlflowClient(tracking_uri=uri)
        try:
            if state.get("run_id"):
                self.run_id = state["run_id"]
                self.client.update_run(self.run_id, status=RunStatus.to_string(RunStatus.RUNNING))
                return
            experiment = self.client.get_experiment_by_name(settings.experiment)
            experiment_id = experiment.experiment_id if experiment is not None else self.client.create_experiment(settings.experiment)
            run = self.client.create_run(experiment_id, run_name=settings.run_name or self.run_dir.resolve().name)
        except Exception as exc:  # the server is down, the URI wrong: the user's to fix, in one line
            raise GanforgeError(f"MLflow at {uri or 'its default store'} could not start the run ({type(exc).__name__}: {exc}); check mlflow.tracking_uri") from None
        self.run_id = run.info.run_id
        state_path.write_text(json.dumps({"run_id": self.run_id, "tracking_uri": uri}) + "\n")
        config = json.loads(config_json)
        params = [Param(key, str(value)[:MAX_PARAM_LENGTH]) for key, value in flat(config).items()]
        for start in range(0, len(params), BATCH):
            self.client.log_batch(self.run_id, params=params[start : start + BATCH])
        self.client.set_tag(self.run_id, "ganforge.run_dir", str(self.run_dir.resolve()))

    def metrics(self, record: dict[str, Any], step: int, prefix: str = "") -> None:
        """Every number of a metrics line (nested ones dotted: ``lr.generator``) at ``step``."""
        import time

        now = int(time.time() * 1000)
        found = [Metric(prefix + key, float(value), now, step) for key, value in flat(record).items() if key != "step" and _number(value)]
        if found:
            self.client.log_batch(self.run_id, metrics=found)

    def artifact(self, path: Path, folder: str | None = None) -> None:
        if Path(path).is_file():
            self.client.log_artifact(self.run_id, str(path), folder)

    def finish(self, failed: bool) -> None:
        """The final scores (in-training evaluations from metrics.jsonl, and those ganforge eval recorded), the
        curves and the page as artifacts; the MLflow run marked finished or failed."""
        from ganforge.evaluation.recorded import read_recorded

        metrics_path = self.run_dir / "metrics.jsonl"
        if metrics_path.is_file():
            for line in metrics_path.read_text().splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and record.get("eval") and isinstance(record.get("step"), int):
                    self.metrics({k: v for k, v in record.items() if k not in ("epoch", "eval", "best")}, record["step"], "eval.")
        for entry in read_recorded(self.run_dir):
            self.metrics(entry["scores"], entry.get("step") or 0, "scores.")
        self.artifact(self.run_dir / "curves.png")
        self.artifact(self.run_dir / "report.html")
        self.client.set_terminated(self.run_id, RunStatus.to_string(RunStatus.FAILED if failed else RunStatus.FINISHED))

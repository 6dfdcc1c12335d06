"""The MLflow logger as a plugin: a config section and lifecycle hooks, nothing else.

With ``--set mlflow.enabled=true`` a run logs its config.json as parameters, every metrics line as metrics, each
epoch's sample grid, and at the end curves.png, report.html and its evaluation scores, to the MLflow tracking
server at ``mlflow.tracking_uri``. ``ganforge resume`` continues the same MLflow run. MLflow is imported only when
a run enables it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganforge.plugin import hookimpl
from ganforge_mlflow.settings import MLflowSettings

_trackers: dict[Path, Any] = {}  # run directory -> its Tracker


@hookimpl
def config_sections():
    return {"mlflow": MLflowSettings}


@hookimpl
def on_run_start(run_dir, config):
    if config.mlflow.enabled:
        from ganforge_mlflow.tracker import Tracker

        _trackers[run_dir] = Tracker(run_dir, config.mlflow, config.to_json())


@hookimpl
def on_log(run_dir, record, step):
    if run_dir in _trackers:
        _trackers[run_dir].metrics(record, step)


@hookimpl
def on_epoch_end(run_dir, sample_path):
    if run_dir in _trackers:
        _trackers[run_dir].artifact(sample_path, "samples")


@hookimpl
def on_run_end(run_dir, error):
    tracker = _trackers.pop(run_dir, None)
    if tracker is not None:
        tracker.finish(failed=error is not None)

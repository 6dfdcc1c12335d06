"""The ``mlflow`` config section. Imports nothing heavy: every ganforge command reads it."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from ganforge.errors import GanforgeError

INSTALL_HINT = "pip install 'ganforge[mlflow]'"


@dataclass
class MLflowSettings:
    """Settings of the ``mlflow`` section, added to every run by the MLflow logger plugin."""

    enabled: bool = False  # track the run in MLflow: parameters, every metrics line, sample grids, curves, scores
    tracking_uri: str | None = None  # e.g. http://127.0.0.1:5000 or sqlite:///mlflow.db; None: MLflow's default (MLFLOW_TRACKING_URI, else ./mlruns)
    experiment: str = "ganforge"  # the MLflow experiment the run goes into (created when missing)
    run_name: str | None = None  # the MLflow run's name; None: the run directory's name

    def __post_init__(self) -> None:
        if self.enabled and importlib.util.find_spec("mlflow") is None:
            raise GanforgeError(f"mlflow.enabled=true needs the mlflow package, which is not installed: {INSTALL_HINT}")
        if not self.experiment.strip():
            raise GanforgeError("mlflow.experiment is empty; name the MLflow experiment, e.g. --set mlflow.experiment=mnist")

"""The MLflow logger: a run's settings, metrics, pictures and scores tracked on an MLflow server (or a local store),
with ``--set mlflow.enabled=true``. A plugin like the TensorBoard logger: a config section and the public
lifecycle hooks. Needs ``pip install 'ganforge[mlflow]'``."""

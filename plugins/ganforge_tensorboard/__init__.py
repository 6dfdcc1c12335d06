"""TensorBoard logging for ganforge runs, built only on the lifecycle hooks: ``--set tensorboard.enabled=true``."""

"""The TensorBoard logger as a plugin: a config section and lifecycle hooks, nothing else.

With ``--set tensorboard.enabled=true`` a run writes every metrics line (loss_d, loss_g, D(x), D(G(z)), img/s)
as scalars, the run config as text and each epoch's sample picture as an image to ``<run>/tensorboard/``.
Imports nothing heavy: the writer (and torch's TensorBoard support) is imported when a run enables it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganforge.plugin import hookimpl
from ganforge_tensorboard.settings import TensorBoardSettings

_writers: dict[Path, Any] = {}  # run directory -> its open TensorBoardWriter


@hookimpl
def config_sections():
    return {"tensorboard": TensorBoardSettings}


@hookimpl
def on_run_start(run_dir, config):
    settings = config.tensorboard
    if settings.enabled:
        from ganforge_tensorboard.writer import TensorBoardWriter

        _writers[run_dir] = TensorBoardWriter(run_dir / "tensorboard", settings, config.to_json())


@hookimpl
def on_log(run_dir, record, step):
    if run_dir in _writers:
        _writers[run_dir].scalars(record, step)


@hookimpl
def on_epoch_end(run_dir, epoch, step, sample_path):
    if run_dir in _writers:
        _writers[run_dir].epoch(epoch, step, sample_path)


@hookimpl
def on_run_end(run_dir):
    writer = _writers.pop(run_dir, None)
    if writer is not None:
        writer.close()

"""The ganforge side of the benchmarks: a run through ganforge's own trainer, timed."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from ganforge import api
from ganforge.device import Precision
from ganforge.rundir import RunDir
from ganforge.trainer import Trainer


def ganforge_epoch(config, data, steps: int, workdir: Path) -> float:
    """One epoch (or ``steps`` steps) through ganforge's own trainer; returns its wall time in seconds."""
    variant = api.build_variant(config, data.spec, torch.device("cpu"))
    variant.configure_optimizers()
    run_dir = RunDir.create(workdir)
    trainer = Trainer(variant, data, config, run_dir, Precision(torch.device("cpu")))
    start = time.perf_counter()
    result = trainer.fit()
    elapsed = time.perf_counter() - start
    assert result.steps == steps, (result.steps, steps)
    return elapsed

"""ganforge as a library: the same code path the CLI runs. This module is its table of contents; each part lives in
a module of its own.

    import ganforge
    result = ganforge.train("vanilla", data="ring8", settings={"train.epochs": 2})
    ganforge.sample(result.run_dir.path, count=16).save("grid.png")
    ganforge.translate("runs/<an image-to-image run>", "photos/", "translated/")
"""

from __future__ import annotations

# Assembling a run: the config, the data and the networks a variant trains (ganforge.assembly)
from ganforge.assembly import build_variant, configure, load_dataset, prepare_training, training_data

# Training a new run, and continuing one (ganforge.training, ganforge.resuming)
from ganforge.training import train
from ganforge.resuming import RESUMABLE, resume

# Loading a saved generator (ganforge.loading)
from ganforge.loading import load

# Drawing from it: sample grids, latent walks, translated images (ganforge.sampling)
from ganforge.sampling import MAX_SAMPLES, SAMPLES_NAME, Samples, check_sample_count, interpolate, sample, translate

# Judging it, and drawing a run's curves (ganforge.evaluating, ganforge.evaluation.curves)
from ganforge.evaluating import evaluate, evaluate_truncations
from ganforge.evaluation.curves import plot_curves as plot

# Exporting the generator alone, as ONNX or TorchScript (ganforge.export)
from ganforge.export import export

# What the functions above take and return
from ganforge.device import Precision
from ganforge.evaluation.judges import Report
from ganforge.export import Exported
from ganforge.trainer import Reporter, RunResult
from ganforge.variant import Variant
from ganforge.walk import Walk

__all__ = [
    "build_variant",
    "configure",
    "load_dataset",
    "prepare_training",
    "training_data",
    "train",
    "RESUMABLE",
    "resume",
    "load",
    "MAX_SAMPLES",
    "SAMPLES_NAME",
    "Samples",
    "check_sample_count",
    "interpolate",
    "sample",
    "translate",
    "evaluate",
    "evaluate_truncations",
    "plot",
    "export",
    "Precision",
    "Report",
    "Exported",
    "Reporter",
    "RunResult",
    "Variant",
    "Walk",
]

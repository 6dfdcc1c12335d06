"""What a run does beside training, kept out of the loop: the generator's EMA, evaluation every ``eval.every``
steps with a ``best`` checkpoint, D's overfitting on a run that trains on part of its data, and the curves
picture at the end.

The trainer calls :meth:`RunMonitor.generator_stepped` after each step, asks :meth:`evaluation_due`, wraps
sampling in :meth:`averaged`, adds :meth:`checkpoint_tensors` to each checkpoint, and calls :meth:`finished`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

import torch

from ganforge.config import RunConfig
from ganforge.data import TensorData
from ganforge.evaluation.curves import plot_curves
from ganforge.evaluation.ema import GeneratorAverage
from ganforge.evaluation.judges import Judge, judge_for
from ganforge.evaluation.overfit import OverfitProbe
from ganforge.rundir import RunDir
from ganforge.variant import Variant

BEST_NAME = "best.safetensors"
UPDATES_KEY = "monitor.ema_updates"


def training_rng_kept(device: torch.device) -> contextlib.AbstractContextManager:
    """Restore, on leaving, the CPU generator and the generator of the CUDA ``device`` training draws its noise from.

    ``fork_rng(devices=[])`` alone keeps only the CPU's: on a GPU an evaluation would move training's noise on.
    """
    if device.type != "cuda":
        return torch.random.fork_rng(devices=[])
    return torch.random.fork_rng(devices=[device.index if device.index is not None else torch.cuda.current_device()])


class RunMonitor:
    def __init__(self, variant: Variant, data: TensorData, config: RunConfig, run_dir: RunDir):
        self.variant = variant
        self.config = config
        self.run_dir = run_dir
        ema = config.ema
        self.average = GeneratorAverage(variant, ema.decay, ema.rampup) if ema.decay is not None else None
        self.judge: Judge | None = None
        if config.eval.every is not None:
            from ganforge.registry import get_registry

            registry = get_registry()
            if config.data.core["fraction"] != 1.0:  # trained on a part: evaluation compares with all of the data
                data = registry.get("dataset", config.data.name).build(config.data.params).to(data.data.device)
            self.judge = judge_for(data, config.data.name, config.data.params, registry, data.data.device)
        self.best_rank: tuple[float, ...] | None = None  # of the best evaluation so far (smaller is better)
        self.best: dict[str, Any] | None = None  # {"metric", "value", "step"} of the best evaluation so far
        self.since_best = 0  # evaluations since the best one (eval.patience stops the run when it reaches it)
        self.last_evaluated = 0
        self.overfit = self._overfit_probe(variant, data, config)

    @staticmethod
    def _overfit_probe(variant: Variant, data: TensorData, config: RunConfig) -> OverfitProbe | None:
        """ADA's r_t on training and held-out reals, where the run trains on part of its data (``data.fraction``)."""
        fraction = config.data.core.get("fraction", 1.0)
        if fraction >= 1 or not data.spec.is_image or not OverfitProbe.applies(variant):
            return None
        from ganforge.registry import get_registry

        whole = get_registry().get("dataset", config.data.name).build(config.data.params)
        held_out = whole.rest(fraction, config.train.seed).to(data.data.device)
        try:
            return OverfitProbe(variant, data, held_out, config.train.batch_size, config.train.seed)
        except ValueError:  # too few examples on one side for one minibatch: nothing to measure
            return None

    def overfitting(self) -> dict[str, float]:
        """``rt_train``, ``rt_held_out`` and ``rt_gap`` now (see :mod:`ganforge.evaluation.overfit`), or nothing."""
        if self.overfit is None:
            return {}
        with training_rng_kept(self.variant.device):  # the augmentation in front of D draws random numbers
            return self.overfit.measure()

    @property
    def best_path(self) -> Path:
        return self.run_dir.checkpoints_dir / BEST_NAME

    def step_begins(self) -> None:
        if self.average is not None:
            self.average.settle()

    def generator_stepped(self) -> None:
        if self.average is not None:
            self.average.update()

    def evaluation_due(self, step: int, last: bool) -> bool:
        """Every ``eval.every`` steps, and once more at the end of the run."""
        every = self.config.eval.every
        return every is not None and self.last_evaluated != step and (step % every == 0 or last)

    @contextlib.contextmanager
    def averaged(self) -> Iterator[None]:
        """The generators hold their averaged weights inside the block (when EMA is on)."""
        with self.average.swapped_in() if self.average is not None else contextlib.nullcontext():
            yield

    def evaluate(self, step: int, epoch: int) -> bool:
        """Score the generator (averaged weights when EMA is on), log it; True when it is the best so far."""
        assert self.judge is not None
        with self.averaged(), training_rng_kept(self.variant.device):  # evaluation must not change training's noise
            report = self.judge(self.variant, self.config.eval.samples, seed=step)
        self.last_evaluated = step
        record: dict[str, Any] = {"step": step, "epoch": epoch, "eval": True, "main": report.main, **report.scores}
        if report.evaluator is not None:
            record["evaluator"] = report.evaluator.name
        improved = self.best_rank is None or report.rank() < self.best_rank
        if improved:
            self.best_rank = report.rank()
            self.best = {"metric": report.main, "value": report.scores[report.main], "step": step}
        self.since_best = 0 if improved else self.since_best + 1
        record["best"] = improved
        self.run_dir.log_metrics(record)
        return improved

    def out_of_patience(self) -> bool:
        """Whether ``eval.patience`` evaluations in a row have not improved on the best (Lightning's EarlyStopping)."""
        patience = self.config.eval.patience
        return patience is not None and self.since_best >= patience

    def checkpoint_tensors(self) -> dict[str, torch.Tensor]:
        tensors = {}
        if self.average is not None:
            tensors = self.average.tensors()
            tensors[UPDATES_KEY] = torch.tensor(list(self.average.updates.values()), dtype=torch.int64)  # each ramp-up's t
        if self.best_rank is not None:  # so that a resumed run keeps the best checkpoint unless it beats it
            tensors["monitor.best_rank"] = torch.tensor(self.best_rank, dtype=torch.float64)
            tensors["monitor.since_best"] = torch.tensor(self.since_best, dtype=torch.int64)  # patience goes on counting
            if self.best is not None:
                tensors["monitor.best_step"] = torch.tensor(self.best["step"], dtype=torch.int64)
        return tensors

    def restore(self, tensors: dict[str, torch.Tensor], step: int) -> None:
        """Continue the average and the best score saved in a checkpoint's ``tensors`` (a resumed run at ``step``)."""
        if self.average is not None:
            self.average.restore(tensors)
            # a checkpoint from before the ramp-up's counter averaged every step it took, and one from before the
            # counters were kept per network averaged every network at every step
            counts = tensors[UPDATES_KEY].reshape(-1).tolist() if UPDATES_KEY in tensors else [step]
            names = list(self.average.updates)
            self.average.updates = dict(zip(names, counts if len(counts) == len(names) else counts[:1] * len(names)))
        if "monitor.best_rank" in tensors:
            self.best_rank = tuple(tensors["monitor.best_rank"].tolist())
        if "monitor.since_best" in tensors:
            self.since_best = int(tensors["monitor.since_best"])
        if "monitor.best_step" in tensors:
            self.best = {"metric": None, "value": None, "step": int(tensors["monitor.best_step"])}

    def finished(self) -> Path:
        """Draw ``curves.png``."""
        return plot_curves(self.run_dir.path)

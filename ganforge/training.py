"""``ganforge.train``: a new run, from its config to its last checkpoint, alone or as one process of a torchrun job."""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from typing import Any, Callable

from ganforge.assembly import configure, join, prepare_training, training_data
from ganforge.device import Precision
from ganforge.distributed import Distributed
from ganforge.errors import GanforgeError, GanforgeWarning
from ganforge.interrupt import TrainingInterrupted
from ganforge.registry import Registry, get_registry
from ganforge.resuming import resume
from ganforge.rundir import RunDir, disk_full_error, is_disk_full
from ganforge.state import seed_everything
from ganforge.trainer import Reporter, RunResult, Trainer, plan
from ganforge.variant import Variant


def train(
    variant: str = "vanilla",
    data: str | None = None,
    *,
    settings: dict[str, Any] | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    reporter: Reporter | None = None,
    progress: bool = False,
    registry: Registry | None = None,
) -> RunResult:
    """Train ``variant`` on ``data`` and return what the run left behind (run directory, checkpoint, samples).

    ``settings`` are dotted config keys (``{"train.epochs": 2, "loss.name": "fgan"}``), as ``--set`` takes them;
    ``out`` is the run directory (default ``runs/<variant>-<data>-<time>``); ``progress`` draws the CLI's progress
    bars (in a notebook too); ``reporter`` receives progress instead; ``registry`` defaults to every installed
    plugin. Ctrl-C (or SIGTERM, or SIGHUP) saves a checkpoint at the end of the current step and raises
    :class:`ganforge.interrupt.TrainingInterrupted`; :func:`resume` continues from it.
    """
    registry = registry or get_registry()
    config = configure(variant, data, settings, registry)
    job, device = join(config)
    run_path = Path(out) if out is not None else RunDir.default_path(config.variant.name, config.data.name)
    # torchrun restarted the job after a process failed (--max-restarts): rank 0, which writes the run, decides
    restart = job.broadcast(_restart(RunDir(run_path)) if job.is_main else None)
    if restart == "resume":
        warnings.warn(
            f"the job was restarted (restart {os.environ['TORCHELASTIC_RESTART_COUNT']}) and goes on from the latest "
            f"checkpoint of {run_path}",
            GanforgeWarning,
            stacklevel=2,
        )
        settings = {**(settings or {}), **({} if data is None else {"data.name": data})}
        return resume(run_path, settings=settings, variant=variant, reporter=reporter, registry=registry)
    RunDir.check_writable(run_path, overwrite or restart == "again", writer=job.is_main)
    dataset = training_data(config, registry).to(device)
    model = prepare_training(config, dataset.spec, device, job, registry)
    plan(config.train, len(dataset) // job.world_size, model.batches_per_step)  # data too small: refused before any write
    _spread(job, model, config.train.seed)
    run_dir = RunDir(run_path)
    precision = Precision.for_device(device, config.train.amp, job, config.train.amp_dtype)
    trainer = functools.partial(Trainer, model, dataset, config, run_dir, precision)
    if not job.is_main:
        job.barrier()
        return _fit(trainer, reporter, progress)
    lock, created = run_dir.start(overwrite or restart == "again")
    try:
        run_dir.mark_job()
        run_dir.write_config(config.to_json())
        job.barrier()
        return _fit(trainer, reporter, progress)
    except BaseException as error:
        saved = run_dir.saved_anything()
        # nothing to resume: leave nothing behind, so that the same command can simply be run again (an
        # interruption saved a checkpoint to resume from, by contract: its run is never discarded)
        if not saved and not isinstance(error, TrainingInterrupted):
            run_dir.discard(lock, created)
        if is_disk_full(error):
            raise disk_full_error(run_dir, saved) from None
        raise
    finally:
        lock.release()


def _fit(trainer: Callable[[Reporter | None], Trainer], reporter: Reporter | None, progress: bool) -> RunResult:
    """Build the trainer with ``reporter`` (the CLI's progress bars when ``progress``) and train."""
    try:
        if not progress:
            return trainer(reporter).fit()
        from ganforge.console import ProgressReporter

        with ProgressReporter() as bars:
            return trainer(bars).fit()
    except RuntimeError as exc:
        if "does not currently support double backward" not in str(exc):
            raise
        # R1, R2 and the WGAN gradient penalty differentiate D's gradient, which torch.compile's autograd cannot
        raise GanforgeError(
            "train.compile cannot train a loss whose penalty needs the gradient of D's gradient (R1, R2, the gradient "
            "penalty): torch.compile does not support double backward; pass --set train.compile=off"
        ) from None


def _restart(run_dir: RunDir) -> str | None:
    """In a restart of the torchrun job that began ``run_dir``: "resume" it, or begin it "again" if it died before
    its first checkpoint. None otherwise (a run directory of another job is never taken over)."""
    if not run_dir.begun_by_this_job():
        return None
    return "resume" if run_dir.checkpoints() else "again"


def _spread(job: Distributed, variant: Variant, seed: int) -> None:
    """Start every process from rank 0's weights, then give each its own noise and random draws."""
    if job.enabled:
        job.broadcast_parameters(list(variant.networks.values()))
        seed_everything(seed + job.rank)

"""``ganforge.resume``: a run continued from its newest intact checkpoint, exactly where it stopped, with only the
settings in :data:`RESUMABLE` changed."""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

from ganforge import ranks
from ganforge.assembly import join, prepare_training, training_data
from ganforge.checkpoint import Checkpoint
from ganforge.config import RunConfig, resolve_config
from ganforge.data import TensorData
from ganforge.device import Precision
from ganforge.errors import GanforgeError, GanforgeWarning
from ganforge.loading import refuse_if_not_finite, saved_spec
from ganforge.registry import Registry, get_registry
from ganforge.rundir import RunDir, disk_full_error, is_disk_full
from ganforge.runlock import RunLock
from ganforge.state import restore
from ganforge.trainer import Reporter, RunResult, Trainer, data_fingerprint, plan

# What a resume may change: how much longer, where, how often to log and save, and where the same data lives.
RESUMABLE = (
    "train.epochs",
    "train.max_steps",
    "train.steps",
    "train.device",
    "train.amp",
    "train.amp_dtype",
    "train.channels_last",
    "train.compile",
    "train.sync_batchnorm",
    "train.log_every",
    "train.checkpoint_every",
    "train.keep_checkpoints",
    "train.max_nonfinite_steps",
    "data.root",
    "data.mirror",
    "dist.timeout_s",
)


def resume(
    run: str | Path,
    *,
    settings: dict[str, Any] | None = None,
    variant: str | None = None,
    reporter: Reporter | None = None,
    registry: Registry | None = None,
) -> RunResult:
    """Continue the run in directory ``run`` from its newest intact checkpoint, exactly where it stopped.

    ``settings`` may lengthen the run (``train.epochs``, ``train.max_steps``) or change the other keys in
    :data:`RESUMABLE`; anything else must match the run. A cut made with ``train.max_steps`` is not kept: without
    it in ``settings`` the run goes on to the end of its epochs. ``variant``, if given, must be the run's variant.
    A damaged checkpoint is set aside with a warning and the one before it used. ``registry`` defaults to every
    installed plugin, as in :func:`train`.
    """
    registry = registry or get_registry()
    run_dir = RunDir.existing(Path(run))
    writer = os.environ.get("RANK", "0") == "0"  # one writer per run directory; under torchrun, rank 0
    fix = "resume writes into the run; make it writable, or copy it (cp -r) and resume the copy"
    RunDir.check_writable(run_dir.path, overwrite=True, writer=writer, fix=fix)
    lock = RunLock(run_dir.path, fix)
    try:
        if writer:
            lock.acquire()
            run_dir.remove_partial_files()
        return _resume_locked(run_dir, settings or {}, variant, reporter, registry)
    except BaseException as error:
        if is_disk_full(error):
            raise disk_full_error(run_dir, True) from None
        raise
    finally:
        lock.release()


def _resume_locked(
    run_dir: RunDir, settings: dict[str, Any], variant: str | None, reporter: Reporter | None, registry: Registry
) -> RunResult:
    checkpoint = run_dir.latest_good_checkpoint(set_aside=os.environ.get("RANK", "0") == "0")  # one process renames
    saved_variant = checkpoint.meta["variant"]
    if variant is not None and registry.get("variant", variant).name != saved_variant:
        raise GanforgeError(
            f"{run_dir.path} is a run of variant '{saved_variant}', not '{variant}'; "
            f"continue it with 'ganforge resume {run_dir.path}', or start the new variant with another --out"
        )
    config = _resume_config(checkpoint, settings, registry)
    if config.train.steps is not None and "train.epochs" in settings and "train.steps" not in settings:
        raise GanforgeError(
            f"the run in {run_dir.path} is {config.train.steps} steps long (train.steps, fixed by --minutes or given), "
            "which --epochs does not change; lengthen it with --set train.steps=N"
        )
    job, device = join(config)
    dataset = training_data(config, registry).to(device)
    _check_same_data(dataset, checkpoint)
    # a run begun before point data carried its scale goes on in the unit its networks learned in
    dataset.spec = replace(dataset.spec, scale=saved_spec(checkpoint).scale)
    model = prepare_training(config, dataset.spec, device, job, registry)
    precision = Precision.for_device(device, config.train.amp, job, config.train.amp_dtype)
    own = ranks.own_state(checkpoint, job.rank)  # None: a rank the saved run did not have, which starts as rank 0
    progress = restore(own or checkpoint, model, precision)
    for name, network in model.networks.items():  # every update of NaN weights is skipped: the run would only pretend
        refuse_if_not_finite(network, name, checkpoint.path, "resumed")
    per_step = config.train.batch_size * model.batches_per_step
    progress = ranks.carried_over(progress, checkpoint.path, job.world_size, lambda n: len(dataset) // n // per_step)
    if progress.step >= plan(config.train, len(dataset) // job.world_size, model.batches_per_step, progress).total_steps:
        raise GanforgeError(
            f"the run in {run_dir.path} has done all its steps ({progress.step}); "
            "pass a larger --epochs or --max-steps to train it further"
        )
    if own is None:
        ranks.seed_new_rank(config.train.seed, job.rank, progress.step)
    # nothing above wrote anything: what follows is the first write of the resumed run
    if job.is_main:
        # lines after the last whole logging interval go: a cut's line of a part of one is logged again, whole
        run_dir.rewind(progress.step - progress.metric_count)
        run_dir.write_config(config.to_json())
    job.barrier()
    trainer = Trainer(model, dataset, config, run_dir, precision, reporter, progress)
    trainer.restore((own or checkpoint).tensors)
    return trainer.fit()


def _resume_config(checkpoint: Checkpoint, settings: dict[str, Any], registry: Registry) -> RunConfig:
    """The checkpoint's run config with ``settings`` applied, refusing changes outside :data:`RESUMABLE`."""
    variant_name, flat = RunConfig.flatten(checkpoint.meta["config"])
    try:
        saved = resolve_config(registry, variant_name, flat)
    except GanforgeError as exc:
        raise GanforgeError(f"checkpoint {checkpoint.path} does not fit the installed plugins: {exc}") from None
    # train.max_steps only stops a run early: a resume that does not give it again trains on to the run's end
    wanted = resolve_config(registry, variant_name, {**flat, "train.max_steps": None, **settings})
    before, after = RunConfig.flatten(saved.to_dict())[1], RunConfig.flatten(wanted.to_dict())[1]
    for key in sorted(set(before) | set(after)):
        if key not in RESUMABLE and before.get(key) != after.get(key):
            raise GanforgeError(
                f"{key}={after.get(key)!r} differs from the run being resumed ({key}={before.get(key)!r}); a resume can "
                f"change only {', '.join(RESUMABLE)}. Start a new run (another --out) to change {key}"
            )
    then, now = checkpoint.meta["config"].get("plugins", {}), wanted.to_dict()["plugins"]
    for section in sorted(set(then) & set(now)):
        if then[section] != now[section]:
            warnings.warn(
                f"{section} was provided by {then[section]} when {checkpoint.path.name} was saved and is now by "
                f"{now[section]}; the resumed run may differ from an uninterrupted one",
                GanforgeWarning,
                stacklevel=3,
            )
    return wanted


def _check_same_data(dataset: TensorData, checkpoint: Checkpoint) -> None:
    """Refuse data that differs from what the checkpoint's run trained on (a changed --data-root, say)."""
    now, then = data_fingerprint(dataset), checkpoint.meta.get("data")
    if not (
        isinstance(then, dict)
        and then.get("size") == now["size"]
        and isinstance(then.get("sum"), (int, float))
        and math.isclose(then["sum"], now["sum"], rel_tol=1e-9)  # float sums may differ in the last bits across devices
    ):
        raise GanforgeError(
            f"the dataset is not the one {checkpoint.path} was trained on ({now['size']} examples summing to "
            f"{now['sum']:.6g}; the checkpoint records {then}); resume needs the same data"
        )

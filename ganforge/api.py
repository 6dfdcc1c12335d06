"""ganforge as a library: the same code path the CLI runs.

    import ganforge
    result = ganforge.train("vanilla", data="ring8", settings={"train.epochs": 2})
    ganforge.sample(result.run_dir.path, count=16).save("grid.png")
    ganforge.translate("runs/<an image-to-image run>", "photos/", "translated/")
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Literal

import torch

from ganforge.checkpoint import Checkpoint, load_network, read_checkpoint, unprefixed
from ganforge.config import RunConfig, resolve_config
from ganforge.data import DataSpec, TensorData
from ganforge import distributed, ranks
from ganforge.acceleration import accelerate
from ganforge.device import Precision, resolve_device
from ganforge.distributed import Distributed
from ganforge.discovery import one_line
from ganforge.errors import GanforgeError, GanforgeWarning, OutOfMemory, is_out_of_memory, out_of_memory_error
from ganforge.interrupt import TrainingInterrupted
from ganforge.images import IMAGE_SUFFIXES, image_files, image_grid, read_image, save_samples, scatter_plot, write_image
from ganforge.noise import Truncation, TruncationMode, truncated
from ganforge.outputs import output_file, writing
from ganforge.video import check_target, write_animation
from ganforge.walk import Walk, latent_walk
from ganforge.evaluation.curves import plot_curves
from ganforge.export import Exported, Format, check_batch, check_format
from ganforge.export import export as export_generator
from ganforge.evaluation.ema import load_average
from ganforge.evaluation.judges import Report, check_eval_count, judge_for
from ganforge.registry import Registry, get_registry
from ganforge.rundir import RunDir, disk_full_error, find_checkpoint, is_disk_full
from ganforge.runlock import RunLock
from ganforge.state import restore, seed_everything
from ganforge.trainer import Reporter, RunResult, Trainer, data_fingerprint, plan
from ganforge.variant import Variant

SAMPLES_NAME = "samples.png"  # what 'ganforge sample' writes when --out is left out, or is a directory
MAX_WALK_FRAMES = 3_600  # five minutes at 12 frames a second
MAX_WALK_PICTURES = 100_000  # frames x walks: every frame's pictures are held until the file is written
MIN_FPS, MAX_FPS = 0.1, 100.0  # a GIF stores each frame's time in hundredths of a second, at most 655 s
SEED_MAX = 2**63 - 1  # torch's generators take a signed 64-bit seed
MAX_SAMPLES = 10_000  # samples drawn at once (all in memory, one picture): a grid of 100 x 100 is as many as one reads

# What a resume may change: how much longer, where, how often to log and save, and where the same data lives.
RESUMABLE = (
    "train.epochs",
    "train.max_steps",
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


def configure(
    variant: str = "vanilla",
    data: str | None = None,
    settings: dict[str, Any] | None = None,
    registry: Registry | None = None,
) -> RunConfig:
    """The resolved config for ``variant``: its defaults, then ``data`` and ``settings`` (dotted keys).

    ``registry`` defaults to every installed plugin; tests pass one from :func:`ganforge.testing.registry_with`.
    """
    overrides = dict(settings or {})
    if data is not None:
        overrides["data.name"] = data
    return resolve_config(registry or get_registry(), variant, overrides)


def load_dataset(config: RunConfig, registry: Registry | None = None) -> TensorData:
    """The dataset the config names, built with its ``data.*`` settings: all of it, as evaluation compares with."""
    registry = registry or get_registry()
    return registry.get("dataset", config.data.name).build(config.data.params)


def training_data(config: RunConfig, registry: Registry | None = None) -> TensorData:
    """The examples a run trains on: the dataset, or the part ``data.fraction`` chooses (by ``train.seed``)."""
    data = load_dataset(config, registry)
    try:
        return data.fraction(config.data.core["fraction"], config.train.seed)
    except ValueError as exc:
        raise GanforgeError(str(exc)) from None


def build_variant(config: RunConfig, spec: DataSpec, device: torch.device, registry: Registry | None = None) -> Variant:
    """The config's variant with its networks built (seeded by ``train.seed``) and moved to ``device``."""
    registry = registry or get_registry()
    component = registry.get("variant", config.variant.name)
    variant_cls = component.load()
    seed_everything(config.train.seed)
    try:
        variant = variant_cls(config, spec, registry)
        variant.build()
    except GanforgeError:
        raise
    except Exception as exc:
        if is_out_of_memory(exc):
            raise out_of_memory_error(f"building the networks of variant '{component.name}'", exc) from None
        raise GanforgeError(
            f"variant '{component.name}' from {component.source} failed to build its networks for data of shape "
            f"{spec.shape}: {one_line(exc)}; report this to the authors of {component.plugin}"
        ) from exc
    variant.to(device)
    return variant


def prepare_training(
    config: RunConfig, spec: DataSpec, device: torch.device, job: Distributed = Distributed(), registry: Registry | None = None
) -> Variant:
    """The config's variant ready to train: built, sped up as ``train.*`` asks (:mod:`ganforge.acceleration`), with
    its optimizers."""
    variant = build_variant(config, spec, device, registry)
    accelerate(variant, config.train, job)
    try:
        variant.configure_optimizers()
    except ValueError as exc:  # torch.optim's own range checks (lr, betas, eps, ...) on values the settings gave
        raise GanforgeError(
            f"variant '{config.variant.name}' could not build its optimizers from these settings: {one_line(exc)}; "
            "correct the optim.* values"
        ) from None
    return variant


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
    plugin. Ctrl-C (or SIGTERM) saves a checkpoint at the end of the current step and raises
    :class:`ganforge.interrupt.TrainingInterrupted`; :func:`resume` continues from it.
    """
    registry = registry or get_registry()
    config = configure(variant, data, settings, registry)
    job, device = _join(config)
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
    if not progress:
        return trainer(reporter).fit()
    from ganforge.console import ProgressReporter

    with ProgressReporter() as bars:
        return trainer(bars).fit()


def _restart(run_dir: RunDir) -> str | None:
    """In a restart of the torchrun job that began ``run_dir``: "resume" it, or begin it "again" if it died before
    its first checkpoint. None otherwise (a run directory of another job is never taken over)."""
    if not run_dir.begun_by_this_job():
        return None
    return "resume" if run_dir.checkpoints() else "again"


def _join(config: RunConfig) -> tuple[Distributed, torch.device]:
    """This process's place in a torchrun job (a job of one without torchrun) and the device it trains on."""
    job = distributed.from_environment(config.train.device, config.dist.timeout_s)
    return job, distributed.local_device(job, resolve_device(config.train.device))


def _spread(job: Distributed, variant: Variant, seed: int) -> None:
    """Start every process from rank 0's weights, then give each its own noise and random draws."""
    if job.enabled:
        job.broadcast_parameters(list(variant.networks.values()))
        seed_everything(seed + job.rank)


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
    :data:`RESUMABLE`; anything else must match the run. ``variant``, if given, must be the run's variant.
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
    job, device = _join(config)
    dataset = training_data(config, registry).to(device)
    _check_same_data(dataset, checkpoint)
    # a run begun before point data carried its scale goes on in the unit its networks learned in
    dataset.spec = replace(dataset.spec, scale=_saved_spec(checkpoint).scale)
    model = prepare_training(config, dataset.spec, device, job, registry)
    precision = Precision.for_device(device, config.train.amp, job, config.train.amp_dtype)
    own = ranks.own_state(checkpoint, job.rank)  # None: a rank the saved run did not have, which starts as rank 0
    progress = restore(own or checkpoint, model, precision)
    for name, network in model.networks.items():  # every update of NaN weights is skipped: the run would only pretend
        _refuse_if_not_finite(network, name, checkpoint.path, "resumed")
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
        run_dir.rewind(progress.step)
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
    wanted = resolve_config(registry, variant_name, {**flat, **settings})
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


@dataclass
class Samples:
    """Generated examples and what is needed to draw them."""

    values: torch.Tensor  # images in [-1, 1] (N, C, H, W) or points (N, D), on the CPU
    spec: DataSpec
    reference: torch.Tensor | None  # drawn under point samples, e.g. the true mixture centres
    columns: int | None = None  # the image grid's width (e.g. one class per row); None: as square as possible
    captions: list[str] | None = None  # text-conditioned samples: each row's caption, written under it

    def save(self, path: str | Path) -> Path:
        """Write an image grid (images, with any captions under their rows) or a scatter plot (points) to ``path``
        (a directory: its ``samples.png``); returns the file written."""
        target = output_file(Path(path), Path(SAMPLES_NAME), IMAGE_SUFFIXES)
        return save_samples(self.values, self.spec, target, self.reference, self.columns, self.captions)


def load(path: str | Path, device: str = "auto", registry: Registry | None = None, ema: bool = True) -> Variant:
    """The variant saved in a checkpoint (or a run directory's newest one), networks loaded, in eval mode.

    When the run kept an EMA of the generator (``ema.decay``), the generator gets the averaged weights unless
    ``ema`` is False.
    """
    return _load(path, device, registry, ema)[0]


def _saved_spec(checkpoint: Checkpoint) -> DataSpec:
    """The data spec the checkpoint's networks were built for."""
    fields = checkpoint.meta["spec"]
    return DataSpec(
        tuple(fields["shape"]),
        fields["num_classes"],
        fields["is_image"],
        fields.get("domains", 1),
        fields.get("scale", 1.0),  # written before the field existed: the networks saw points unscaled
        fields.get("captioned", False),
    )


def _load(path: str | Path, device: str, registry: Registry | None = None, ema: bool = True) -> tuple[Variant, Checkpoint]:
    registry = registry or get_registry()
    checkpoint = _read_newest(Path(path))
    meta = checkpoint.meta
    try:
        variant_name, flat = RunConfig.flatten(meta["config"])
        spec = _saved_spec(checkpoint)
    except (KeyError, TypeError, ValueError) as exc:
        raise GanforgeError(f"checkpoint {checkpoint.path} lacks its run config ({exc}); it was not written by this ganforge") from None
    flat["train.device"] = device
    config = resolve_config(registry, variant_name, flat, plugin_settings=False)
    try:
        variant = build_variant(config, spec, resolve_device(device), registry)
    except OutOfMemory:  # the sizes are the checkpoint's, not settings this command was given
        raise GanforgeError(
            f"the networks that checkpoint {checkpoint.path} describes (for data of shape {tuple(spec.shape)}) do not fit "
            "in this device's memory; use a device with more memory (--device), or another checkpoint"
        ) from None
    for name, network in variant.networks.items():
        load_network(network, name, checkpoint.tensors, checkpoint.path)
        network.eval()
    variant.load_extra_state(unprefixed("variant", checkpoint.tensors))  # e.g. which stage a staged GAN reached
    if ema:
        load_average(variant, checkpoint.tensors)
    _warn_if_not_finite(variant, checkpoint.path)
    return variant, checkpoint


def _read_newest(path: Path, attempts: int = 3) -> Checkpoint:
    """The checkpoint at ``path``, or the newest of the run directory ``path``. A run being trained may prune
    the newest one between finding and reading it; then the new newest is read."""
    found = find_checkpoint(path)
    for _ in range(attempts - 1):
        try:
            return read_checkpoint(found)
        except GanforgeError:
            if found == path or found.exists():
                raise
        found = find_checkpoint(path)
    return read_checkpoint(found)


def _refuse_if_not_finite(network: torch.nn.Module, name: str, source: Path, what: str) -> None:
    """Refuse weights holding NaN or infinity: everything drawn or learned from them would be NaN."""
    tensors = [t for t in network.state_dict().values() if t.is_floating_point()]
    bad = sum(int((~torch.isfinite(t)).sum()) for t in tensors)
    if bad:
        raise GanforgeError(
            f"checkpoint {source}: {bad:,} of the {sum(t.numel() for t in tensors):,} values of network '{name}' are NaN or "
            f"infinite, so it cannot be {what}; use an earlier checkpoint of the run (checkpoints/)"
        )


def _warn_if_not_finite(variant: Variant, source: Path) -> None:
    """A warning naming the file when the weights used hold NaN or infinity: the samples would be meaningless."""
    for name, network in variant.networks.items():
        tensors = [t for t in network.state_dict().values() if t.is_floating_point()]
        bad = sum(int((~torch.isfinite(t)).sum()) for t in tensors)
        if bad:
            total = sum(t.numel() for t in tensors)
            warnings.warn(
                f"checkpoint {source}: {bad:,} of the {total:,} values of network '{name}' are NaN or infinite; its "
                "samples and scores are meaningless, use an earlier checkpoint",
                GanforgeWarning,
                stacklevel=3,
            )


def sample(
    path: str | Path,
    count: int = 64,
    device: str = "auto",
    seed: int = 0,
    label: int | None = None,
    registry: Registry | None = None,
    ema: bool = True,
    truncation: float | None = None,
    truncation_mode: TruncationMode | None = None,
    captions: list[str] | None = None,
) -> Samples:
    """``count`` samples from the generator saved at ``path`` (a checkpoint or a run directory).

    ``label`` draws every sample from that class (class-conditional variants only); ``captions`` draws ``count``
    samples of each caption, a row each (text-conditioned variants only). The generator's EMA weights are used
    where the run kept them, unless ``ema`` is False. ``truncation`` draws z from the truncated p_z
    (:class:`ganforge.noise.Truncation`; ``truncation_mode`` "resample" or "mean", default by the noise).
    """
    check_sample_count(count)
    if captions is not None:
        captions = [" ".join(caption.split()) for caption in captions]
        if label is not None:
            raise GanforgeError("--class and --caption both choose what to draw; pass one of them")
        if not captions or not all(captions):
            raise GanforgeError("a caption is empty; write what to draw, e.g. --caption 'a thin one leaning left'")
    variant, checkpoint = _load(path, device, registry, ema)
    chosen = _truncation(variant, truncation, truncation_mode)
    generator = torch.Generator().manual_seed(seed)
    _check_label(variant, label)
    with truncated(chosen, f"variant '{variant.config.variant.name}'"):
        if captions is not None:
            inputs = variant.caption_inputs(count, captions, generator)
        elif label is None:
            inputs = variant.sample_inputs(count, generator, None)
        else:
            inputs = variant.class_inputs(count, label, generator)
    with torch.no_grad():
        values = variant.generate(inputs).float().cpu()
    reference = checkpoint.tensors.get("data.reference")
    return Samples(values, variant.spec, reference, variant.grid_columns(inputs), variant.row_captions(inputs))


def check_sample_count(count: int) -> None:
    """Refuse a count :func:`sample` cannot draw, before anything is loaded."""
    if count < 1:
        raise GanforgeError(f"cannot draw {count} samples; ask for at least 1")
    if count > MAX_SAMPLES:
        raise GanforgeError(
            f"cannot draw {count:,} samples at once: at most {MAX_SAMPLES:,} (they are drawn together and fill one "
            "picture); draw several batches with different --seed values"
        )


def _check_label(variant: Variant, label: int | None) -> None:
    """``label`` (``--class``) must be one of the model's classes."""
    classes = variant.spec.num_classes
    if label is not None and not 0 <= label < classes:
        known = f"its {classes} classes are 0-{classes - 1}" if classes else "it was trained on unlabelled data"
        raise GanforgeError(f"--class {label} is not a class of this model: {known}")


def _truncation(variant: Variant, psi: float | None, mode: TruncationMode | None) -> Truncation | None:
    """The truncation asked for, checked against the variant's p_z; None without ``psi``."""
    if psi is None:
        if mode is not None:
            raise GanforgeError("--truncation-mode needs --truncation PSI")
        return None
    return Truncation.choose(psi, mode, variant.require_prior("--truncation"))


def interpolate(
    path: str | Path,
    out: str | Path,
    *,
    frames: int = 16,
    points: int = 4,
    seeds: list[int] | None = None,
    count: int = 8,
    fps: float = 12.0,
    label: int | None = None,
    seed: int = 0,
    truncation: float | None = None,
    truncation_mode: TruncationMode | None = None,
    device: str = "auto",
    ema: bool = True,
    registry: Registry | None = None,
) -> tuple[Path, Walk]:
    """Write a latent walk of the generator at ``path`` to ``out`` (.gif, or .mp4 where ffmpeg is available).

    ``count`` walks side by side (one row per class for class-conditional variants, or class ``label`` alone) pass
    through ``points`` draws of z from ``seed`` (or one point per seed of ``seeds``) and back to the first,
    ``frames`` frames from each point to the next, by slerp for normal noise and lerp for uniform
    (:mod:`ganforge.walk`). ``truncation`` truncates the points' p_z as in :func:`sample`.
    """
    out = Path(out)
    check_target(out)
    for name, value, least in (("--frames", frames, 1), ("--count", count, 1), ("--points", points, 2)):
        if value < least:
            raise GanforgeError(f"{name} {value} is too small; pass at least {least}")
    if not MIN_FPS <= fps <= MAX_FPS:
        raise GanforgeError(f"--fps {fps:g} is outside [{MIN_FPS:g}, {MAX_FPS:g}], the frame rates a GIF can hold")
    if seeds is not None and len(seeds) < 2:
        raise GanforgeError(f"--seeds names {len(seeds)} point(s); a walk needs at least 2, e.g. --seeds 0,1,2")
    for chosen_seed in [seed, *(seeds or [])]:
        if not 0 <= chosen_seed <= SEED_MAX:
            raise GanforgeError(f"{'--seeds' if seeds and chosen_seed in seeds else '--seed'} {chosen_seed} is outside [0, 2^63 - 1], the seeds torch takes")
    stops = len(seeds) if seeds is not None else points
    if count > MAX_SAMPLES:
        raise GanforgeError(f"--count {count:,} walks side by side is more than one frame holds: at most {MAX_SAMPLES:,}")
    if frames * stops > MAX_WALK_FRAMES:
        raise GanforgeError(
            f"--frames {frames:,} x {stops:,} points is {frames * stops:,} frames: at most {MAX_WALK_FRAMES:,} "
            f"(--points, --seeds) in one walk; pass fewer --frames or --points"
        )
    if frames * stops * count > MAX_WALK_PICTURES:
        raise GanforgeError(
            f"{frames * stops:,} frames of --count {count:,} walks are {frames * stops * count:,} pictures: at most "
            f"{MAX_WALK_PICTURES:,} (all are held in memory); pass a smaller --count, --frames or --points"
        )
    variant, checkpoint = _load(path, device, registry, ema)
    variant.require_prior("a latent walk")
    chosen = _truncation(variant, truncation, truncation_mode)
    _check_label(variant, label)
    if label is not None and not variant.conditional:
        variant.class_inputs(1, label, torch.Generator())  # the variant's own one-line refusal
    with truncated(chosen, f"variant '{variant.config.variant.name}'"):
        walk = latent_walk(variant, count, frames, points, seeds, seed, label)
    if variant.spec.is_image:
        pictures = [image_grid(frame, walk.columns) for frame in walk.frames]
    else:
        everything, reference = torch.cat(walk.frames), checkpoint.tensors.get("data.reference")
        pictures = [scatter_plot(frame, reference, frame=everything) for frame in walk.frames]
    return write_animation(pictures, out, fps), walk


def translate(
    path: str | Path, input_dir: str | Path, out_dir: str | Path, device: str = "auto", batch_size: int = 16, ema: bool = True
) -> list[Path]:
    """Translate every image in ``input_dir`` with the image-to-image model at ``path``; PNGs of the same names
    go to ``out_dir``. Images are converted to the model's channels and size first. Returns the files written.
    The generators' EMA weights are used where the run kept them, unless ``ema`` is False."""
    input_dir, out_dir = Path(input_dir), Path(out_dir)
    if not input_dir.is_dir():
        raise GanforgeError(f"--input-dir {input_dir} is not a directory; pass a directory of images")
    files = image_files(input_dir)
    if not files:
        raise GanforgeError(f"{input_dir} holds no images ({', '.join(IMAGE_SUFFIXES)}); pass a directory of images")
    targets = [out_dir / f"{file.stem}.png" for file in files]
    if len(set(targets)) < len(targets):
        raise GanforgeError(f"{input_dir} holds images whose names differ only in their suffix; their outputs would collide")
    if out_dir.exists() and not out_dir.is_dir():
        raise GanforgeError(f"--out {out_dir} is a file; translated images need a directory")
    clashes = [target for target in targets if target.exists()]
    if clashes:
        raise GanforgeError(f"{clashes[0]} exists already; choose an empty --out directory")
    variant, _ = _load(path, device, ema=ema)
    if not variant.spec.is_image:
        raise GanforgeError(f"the model at {path} was trained on points, not images; it cannot translate images")
    sources = torch.stack([read_image(file, variant.spec.shape) for file in files])
    written = []
    for start in range(0, len(files), batch_size):
        chunk = sources[start : start + batch_size].to(variant.device).float().div_(127.5).sub_(1.0)
        with torch.no_grad():
            outputs = variant.translate(chunk).float().cpu()
        written += [writing(target, lambda: write_image(image, target)) for image, target in zip(outputs, targets[start : start + batch_size])]
    return written


def evaluate(
    path: str | Path,
    count: int | None = None,
    device: str = "auto",
    seed: int = 0,
    ema: bool = True,
    say: Callable[[str], None] = lambda message: None,
    evaluator: Literal["cnn", "inception"] = "cnn",
    inception_weights: str | Path | None = None,
    truncation: float | None = None,
    truncation_mode: TruncationMode | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Score the generator saved at ``path`` against its run's data, with the metrics that fit the data.

    ``count`` samples (default: the protocol's, 2,500 for the 2-D mixtures), drawn with ``seed``; the EMA weights
    unless ``ema`` is False. ``say`` hears about slow first-time work such as training the evaluator, and
    ``progress(done, total)`` how far that training is.
    ``evaluator`` "inception" computes image scores on Inception-v3, whose weights must be on disk (see
    :mod:`ganforge.evaluation.inception`). ``truncation`` scores samples of the truncated p_z, as in :func:`sample`.
    """
    return evaluate_truncations(path, [truncation], truncation_mode, count, device, seed, ema, say, evaluator, inception_weights, progress)[0]


def evaluate_truncations(
    path: str | Path,
    truncations: list[float | None],
    truncation_mode: TruncationMode | None = None,
    count: int | None = None,
    device: str = "auto",
    seed: int = 0,
    ema: bool = True,
    say: Callable[[str], None] = lambda message: None,
    evaluator: Literal["cnn", "inception"] = "cnn",
    inception_weights: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Report]:
    """One :func:`evaluate` report per truncation (None: untruncated), all with the same noise seed and the same
    prepared evaluator: what fidelity (precision) truncation buys at what cost in variety (recall)."""
    variant, _ = _load(path, device, ema=ema)
    check_eval_count(count)  # before the data and the evaluator are loaded
    chosen = [_truncation(variant, psi, truncation_mode if psi is not None else None) for psi in truncations]
    data = load_dataset(variant.config).to(variant.device)
    config = variant.config
    weights = None if inception_weights is None else Path(inception_weights)
    judge = judge_for(data, config.data.name, config.data.params, get_registry(), variant.device, say, evaluator, weights, progress)
    reports = []
    for truncation in chosen:
        with truncated(truncation, f"variant '{config.variant.name}'"):
            reports.append(judge(variant, count, seed))
    return reports


def plot(run: str | Path, out: str | Path | None = None) -> Path:
    """(Re)draw the training curves of the run directory ``run`` (default: ``<run>/curves.png``)."""
    return plot_curves(Path(run), None if out is None else Path(out))


def export(
    path: str | Path,
    format: Format,
    out: str | Path,
    batch: int | None = None,
    ema: bool = True,
    registry: Registry | None = None,
) -> Exported:
    """Write the generator saved at ``path`` (EMA weights where kept, unless ``ema`` is False) to ``out`` as ONNX
    or TorchScript, with a free batch dimension unless ``batch`` is given, checked against PyTorch
    (:mod:`ganforge.export`)."""
    out = Path(out)
    check_format(format, out)
    check_batch(batch)
    variant, checkpoint = _load(path, "cpu", registry, ema)
    _refuse_if_not_finite(variant.networks["generator"], "generator", checkpoint.path, "exported")
    return export_generator(variant, format, out, batch)

"""The training loop: minibatches in, variant steps, metrics, samples and checkpoints out.

Per step the loop does what a hand-written loop does and nothing more: index a minibatch out of the dataset
already on the device, call the variant's step, and add its metrics to running sums that stay on the device.
The host waits for the device only when it logs (every ``train.log_every`` steps), checkpoints and at epoch ends.

A run can stop at any step and go on later exactly as if it had not (see :mod:`ganforge.state`): each epoch's
data order is drawn from a generator whose state is saved with the position inside the epoch.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from ganforge.acceleration import step_begins
from ganforge.augment import Augmentation
from ganforge.budget import fix_length
from ganforge.checkpoint import read_checkpoint, read_metadata, write_checkpoint
from ganforge.config import RunConfig, TrainConfig
from ganforge.data import TensorData
from ganforge.device import Precision
from ganforge.discovery import one_line
from ganforge.distributed import Distributed, PeerLost
from ganforge.errors import GanforgeError, GanforgeWarning
from ganforge.evaluation.monitor import RunMonitor
from ganforge.health import SkipWatch
from ganforge.images import save_samples
from ganforge.interrupt import StopSignals, TrainingInterrupted
from ganforge.lifecycle import Lifecycle
from ganforge.ranks import gather_local_state
from ganforge.rundir import RunDir, is_disk_full
from ganforge.schedule import Clock, Rates
from ganforge.state import Progress, capture
from ganforge.variant import Variant


class Reporter(Protocol):
    """What the loop tells whoever is watching (the CLI draws progress bars from it).

    ``run_started(step, total_steps)`` comes first, where the reporter has it: the generator step the run starts
    from (0, or where a resumed run stopped) and the step it will end at. It is optional, so that reporters
    written before it keep working; so is ``length_fixed(line)``, the one line that says how long a run given
    ``--minutes`` is (:mod:`ganforge.budget`).
    """

    def run_started(self, step: int, total_steps: int) -> None: ...
    def epoch_started(self, epoch: int, epochs: int, steps: int) -> None: ...
    def stepped(self) -> None: ...
    def logged(self, record: dict[str, Any]) -> None: ...
    def epoch_ended(self, epoch: int, sample_path: Path, checkpoint_path: Path) -> None: ...


class SilentReporter:
    def run_started(self, step: int, total_steps: int) -> None: ...
    def epoch_started(self, epoch: int, epochs: int, steps: int) -> None: ...
    def stepped(self) -> None: ...
    def logged(self, record: dict[str, Any]) -> None: ...
    def epoch_ended(self, epoch: int, sample_path: Path, checkpoint_path: Path) -> None: ...


@dataclass
class RunResult:
    """What a finished run left behind."""

    run_dir: RunDir
    steps: int
    epochs: int
    checkpoint: Path
    samples: list[Path] = field(default_factory=list)
    last_metrics: dict[str, Any] = field(default_factory=dict)
    curves: Path | None = None  # the loss, D(x)/D(G(z)) and evaluation curves
    report: Path | None = None  # the run's page, report.html
    stopped_early: dict[str, Any] | None = None  # eval.patience ran out: {"step", "patience", "best_step", "metric", "value"}


@dataclass(frozen=True)
class Plan:
    """How long a run is."""

    examples_per_step: int
    steps_per_epoch: int
    total_steps: int
    epochs: int
    schedule_steps: int  # the length the schedule is laid over: every epoch's steps (train.max_steps only stops early)


def plan(train: TrainConfig, examples: int, batches_per_step: int, at: Progress | None = None) -> Plan:
    """Steps per epoch and in all for ``examples`` examples per rank, from where ``at`` stands (default: the start);
    an error if not even one step fits."""
    at = at or Progress()
    per_step = train.batch_size * batches_per_step
    steps_per_epoch = examples // per_step
    if steps_per_epoch == 0:
        raise GanforgeError(f"the dataset has {examples} examples, fewer than one step uses ({per_step}); lower --batch-size")
    # counted from the start of the epoch in progress, since a run resumed with another number of processes took
    # its earlier epochs in steps of another size
    epoch_start = at.step - at.position
    if train.steps is not None:  # the length in steps (fixed by --minutes, or given): the epochs follow from it
        every_epoch = train.steps
    else:
        every_epoch = epoch_start + (train.epochs - at.epoch + 1) * steps_per_epoch
    total_steps = every_epoch if train.max_steps is None else min(train.max_steps, every_epoch)
    epochs = at.epoch - 1 + math.ceil((total_steps - epoch_start) / steps_per_epoch)
    return Plan(per_step, steps_per_epoch, total_steps, epochs, every_epoch)


def data_fingerprint(data: TensorData) -> dict[str, Any]:
    """Enough to notice a resume on other data: the size and the sum of every value."""
    values = data.data.flatten()
    if values.dtype == torch.uint8:  # from a histogram: a float64 sum would first copy every pixel to 8 bytes
        levels = torch.arange(256, dtype=torch.float64, device=values.device)
        total = torch.bincount(values, minlength=256).double() @ levels
    else:
        total = values.sum(dtype=torch.float64)
    return {"size": len(data), "sum": float(total)}


class Meter:
    """Running sums of the step metrics, on the device until a log line needs them."""

    def __init__(self, progress: Progress, device: torch.device, job: Distributed):
        self.job = job
        self.keys = progress.metric_keys
        self.sums = None if progress.metric_sums is None else progress.metric_sums.to(device)
        self.count = progress.metric_count
        self.device = device
        self.timed, self.started = 0, time.perf_counter()

    def add(self, metrics: dict[str, torch.Tensor]) -> None:
        if self.sums is None:
            self.keys = list(metrics)
            self.sums = torch.zeros(len(self.keys), device=self.device)
        self.sums += torch.stack([metrics[key].float() for key in self.keys])
        self.count += 1
        self.timed += 1

    def take(self, keep: bool = False) -> dict[str, float]:
        """The means since the last call, and the speed as ``steps_per_s``; with ``keep`` the sums go on (a line
        logged where a cut stops the run mid-interval: its resume logs the whole interval)."""
        values = self.job.mean(self.sums / self.count).tolist()  # the one host synchronisation per logging interval
        means = dict(zip(self.keys, values))
        means["steps_per_s"] = self.timed / max(time.perf_counter() - self.started, 1e-9)
        if not keep:
            self.sums.zero_()
            self.count = 0
        self.timed = 0
        self.started = time.perf_counter()
        return means


class Trainer:
    def __init__(
        self,
        variant: Variant,
        data: TensorData,
        config: RunConfig,
        run_dir: RunDir,
        precision: Precision,
        reporter: Reporter | None = None,
        progress: Progress | None = None,
    ):
        self.variant = variant
        self.data = data
        self.config = config
        self.run_dir = run_dir
        self.precision = precision
        self.reporter = reporter or SilentReporter()
        self.progress = progress or Progress()  # also the loop's cursor: step, epoch, position, order_state
        self.fingerprint = data_fingerprint(data)
        self.job = precision.job
        # With several processes, rank 0 alone reports, calls plugins and writes the run directory.
        self.hooks = Lifecycle(variant.registry, run_dir.path, config, variant, enabled=self.job.is_main)
        if not self.job.is_main:
            self.reporter = SilentReporter()
        self.monitor = RunMonitor(variant, data, config, run_dir)  # EMA, evaluation, curves
        self.augment: Augmentation | None = None  # DiffAugment / ADA in front of D (augment.policy)
        if config.augment.operations:
            images_per_step = config.train.batch_size * variant.batches_per_step * self.job.world_size
            self.augment = Augmentation(
                config.augment, variant.discriminator_networks(), data.spec, images_per_step, data.data.device,
                getattr(variant, "loss", None), config.loss.name,
            )
        self.rates = Rates(config.schedule, variant)

    def restore(self, tensors: dict[str, torch.Tensor]) -> None:
        """Continue what the loop keeps beside the variant's state (:func:`ganforge.state.restore`) from a checkpoint's
        ``tensors``: the generator's average, the best evaluation, the augmentation's probability."""
        self.monitor.restore(tensors, self.progress.step)
        if self.augment is not None:
            self.augment.restore(tensors)

    def fit(self) -> RunResult:
        """Train, telling plugins' lifecycle hooks when the run starts and ends (see :mod:`ganforge.hookspecs`)."""
        self.hooks.call("on_run_start")
        self.mark("running", step=self.progress.step)
        try:
            result = self.run()
        except BaseException as error:
            stopped = isinstance(error, TrainingInterrupted)
            try:
                self.mark("interrupted" if stopped else "failed", step=self.progress.step, error=None if stopped else one_line(error))
            except OSError:  # the disk that stopped the run cannot take its status either; the error says why
                pass
            if not is_disk_full(error):  # a page would not fit either: one line saying the disk is full is enough
                self.write_report()
            self.hooks.finish(None, error)
            raise
        self.mark("finished", step=result.steps, **({} if result.stopped_early is None else {"stopped_early": result.stopped_early}))
        result.report = self.write_report()
        self.hooks.finish(result, None)
        return result

    def mark(self, state: str, **details: Any) -> None:
        if self.job.is_main:
            self.run_dir.write_status(state, **details)

    def write_report(self) -> Path | None:
        """The run's page (:mod:`ganforge.report`). A page that cannot be written must not undo the training, nor
        hide why a run failed: its own error becomes a warning (``ganforge report RUN`` tries again)."""
        if not self.job.is_main:
            return None
        from ganforge.report import write_report

        try:
            return write_report(self.run_dir.path, registry=self.variant.registry)
        except Exception as exc:
            warnings.warn(f"could not write {self.run_dir.report_path}: {one_line(exc)}", GanforgeWarning, stacklevel=2)
            return None

    def run(self) -> RunResult:
        try:
            return self.train()
        except PeerLost as lost:
            raise GanforgeError(self.lost_contact(lost)) from None

    def lost_contact(self, lost: PeerLost) -> str:
        """One line naming the rank that stopped answering and the step (asked by a roll call among the ranks)."""
        at, job = self.progress, self.job
        silent = job.silent_ranks(at.step)
        who = f"rank {', '.join(map(str, silent))} of {job.world_size}" if silent else "a rank"
        last = next(reversed(self.run_dir.checkpoints()), None)
        return (
            f"{who} stopped answering after step {at.step} ({lost.reason}); rank {job.rank} waited up to "
            f"dist.timeout_s={job.timeout_s:g} s and stops too. The last checkpoint is "
            f"{last.name if last else 'none'}: go on with 'ganforge resume {self.run_dir.path}'"
        )

    def train(self) -> RunResult:
        train, at = self.config.train, self.progress
        at.world_size = self.job.world_size
        if train.minutes is not None and train.steps is None:
            self.fix_length(time.perf_counter())
        run = plan(train, len(self.data) // self.job.world_size, self.variant.batches_per_step, at)
        if at.step >= run.total_steps:
            raise GanforgeError(
                f"the run in {self.run_dir.path} has done all {run.total_steps} of its steps; "
                "pass a larger --epochs or --max-steps to train it further"
            )
        # a run extended to more epochs goes on along the rest of its schedule (see ganforge.schedule)
        clock = Clock(run.schedule_steps) if at.clock is None else Clock.from_meta(at.clock)
        self.clock = clock.resized(at.step, run.schedule_steps)
        at.clock = self.clock.to_meta()
        fixed_inputs = self.variant.sample_inputs(train.sample_count, torch.Generator().manual_seed(train.seed), self.data)
        order_rng = torch.Generator().manual_seed(train.seed)
        if at.order_state is not None:
            order_rng.set_state(at.order_state)
        self.meter = Meter(at, self.data.data.device, self.job)
        self.watch = SkipWatch(self.variant.optimizers, train.max_nonfinite_steps, at.streaks)
        self.good = next((path for path in reversed(self.run_dir.checkpoints()) if _saved_without_skips(path)), None)
        self.precision.updates = []
        result = RunResult(self.run_dir, at.step, at.epoch - 1, self.run_dir.checkpoint_path(at.step))

        if hasattr(self.reporter, "run_started"):
            self.reporter.run_started(at.step, run.total_steps)
        with StopSignals() as signals:
            try:
                self.loop(run, result, fixed_inputs, order_rng, signals)
            except TrainingInterrupted:
                self.job.barrier()  # all ranks stop at the same step; none tears down while rank 0 still saves
                raise
            finally:
                self.precision.updates = None
                if self.augment is not None:
                    self.augment.detach()
        self.job.barrier()  # rank 0 writes the last samples and checkpoint; no process tears down before it is done
        if train.best_metric is not None and at.best is None:
            warnings.warn(
                f"train.best_metric '{train.best_metric}' was never logged (logged: {', '.join(self.meter.keys)}); "
                "no best checkpoint was kept",
                GanforgeWarning,
                stacklevel=2,
            )
        if self.job.is_main:
            result.curves = self.monitor.finished()
        return result

    def fix_length(self, started: float) -> None:
        """``train.minutes``: time the first steps, fix ``train.steps`` from them and write it into config.json."""
        train = self.config.train
        per_step = train.batch_size * self.variant.batches_per_step
        budget = fix_length(train.minutes, started, self.variant, self.data, self.precision, self.augment, per_step, self.job)
        train.steps = budget.steps
        if self.job.is_main:
            self.run_dir.write_config(self.config.to_json())
        if hasattr(self.reporter, "length_fixed"):
            self.reporter.length_fixed(budget.line(train.minutes))

    def loop(self, run: Plan, result: RunResult, fixed_inputs: Any, order_rng: torch.Generator, signals: StopSignals) -> None:
        train, at = self.config.train, self.progress
        for epoch in range(at.epoch, run.epochs + 1):
            at.order_state = order_rng.get_state()
            order = self.job.shard(torch.randperm(len(self.data), generator=order_rng)).to(self.data.data.device)
            first = at.position if epoch == at.epoch else 0
            end = min(run.steps_per_epoch, first + run.total_steps - at.step)
            at.epoch, at.position, stop = epoch, first, None
            if first == end:  # resumed from this epoch's end checkpoint: nothing left of it
                continue
            self.reporter.epoch_started(epoch, run.epochs, end - first)
            for position in range(first, end):
                indices = order[position * run.examples_per_step : (position + 1) * run.examples_per_step]
                step_begins(train)
                self.variant.position = self.clock.position(at.step)
                self.rates.set(self.variant.position)
                self.monitor.step_begins()
                batch = self.data.batch(indices)
                if self.augment is not None:
                    self.augment.step_begins(batch)
                metrics = self.variant.train_step(batch, self.precision)
                self.monitor.generator_stepped()
                at.step, at.position = at.step + 1, position + 1
                if self.augment is not None:
                    metrics = {**metrics, **self.augment.step_ended(at.step)}
                self.watch.collect(at.step, self.precision.updates)
                self.meter.add(metrics)
                self.reporter.stepped()
                logged = at.step % train.log_every == 0 or at.position == end
                if logged:  # a cut (train.max_steps) mid-interval logs it, and its checkpoint keeps the sums
                    cut = end < run.steps_per_epoch and at.position == end and at.step % train.log_every != 0
                    result.last_metrics = self.log(run, keep=cut)
                if self.monitor.evaluation_due(at.step, last=at.step == run.total_steps) and self.evaluate():
                    result.stopped_early = self.early_stop()
                    break
                stop = self.stop_signal(signals, logged)
                if at.position < end and (stop or (train.checkpoint_every and at.step % train.checkpoint_every == 0)):
                    result.checkpoint = self.save_checkpoint()
                    if stop:
                        raise TrainingInterrupted(stop, at.step, result.checkpoint, self.run_dir.path)
            self.job.average_buffers(self.variant.networks.values())
            sample_path = self.write_samples(epoch, fixed_inputs)
            result.checkpoint = self.save_checkpoint()
            result.samples.append(sample_path)
            result.steps, result.epochs = at.step, epoch
            self.reporter.epoch_ended(epoch, sample_path, result.checkpoint)
            self.hooks.call("on_epoch_end", epoch=epoch, step=at.step, sample_path=sample_path, checkpoint_path=result.checkpoint)
            if stop and at.step < run.total_steps:  # the epoch's last step is always logged, so all agree on it
                raise TrainingInterrupted(stop, at.step, result.checkpoint, self.run_dir.path)
            if result.stopped_early is not None:
                return

    def evaluate(self) -> bool:
        """Rank 0 scores the generator; every rank saves its part of a new best checkpoint. True when the run is to
        stop early (``eval.patience`` evaluations without improvement), as rank 0 decides for all."""
        at = self.progress
        if self.job.is_main:
            improved = self.monitor.evaluate(at.step, at.epoch)
        else:
            improved, self.monitor.last_evaluated = False, at.step
        if self.job.broadcast(improved):
            self.save_checkpoint(self.run_dir.best_path)
        return bool(self.job.broadcast(self.monitor.out_of_patience() if self.job.is_main else False))

    def early_stop(self) -> dict[str, Any]:
        """What status.json and the closing line say about a run that ``eval.patience`` stopped."""
        best = self.monitor.best or {}
        return {
            "step": self.progress.step,
            "patience": self.config.eval.patience,
            "best_step": best.get("step"),
            "metric": best.get("metric"),
            "value": best.get("value"),
            "best_checkpoint": str(self.run_dir.best_path),
        }

    def stop_signal(self, signals: StopSignals, logged: bool) -> int | None:
        """The signal to stop on after this step, if any.

        One process stops at the first step boundary after the signal. Processes of a data-parallel job receive
        it at different steps, and one that stopped alone would leave the others waiting in their next collective,
        so they stop together at a logging step (where they synchronise anyway), if any of them was signalled.
        """
        if not self.job.enabled:
            return signals.received
        if not logged:
            return None
        flag = torch.tensor([0.0 if signals.received is None else 1.0], device=self.data.data.device)
        if self.job.mean(flag).item() == 0:
            return None
        return signals.received or signal.SIGTERM

    def log(self, run: Plan, keep: bool = False) -> dict[str, Any]:
        """Write one line of averaged metrics (``keep``: and go on summing, see :meth:`Meter.take`); stop the run
        if updates keep being skipped."""
        at = self.progress
        means = self.meter.take(keep)
        self.watch.check()
        record = {"step": at.step, "epoch": at.epoch, **means}
        if self.job.is_main:
            record.update(self.monitor.overfitting())  # D's r_t on training and held-out reals (data.fraction < 1)
        record["images_per_s"] = record.pop("steps_per_s") * run.examples_per_step * self.job.world_size
        if skipped := self.watch.take_skipped():
            record["skipped_updates"] = skipped  # updates whose gradients were not finite, left out
        if self.job.is_main:
            self.run_dir.log_metrics({**record, "lr": self.rates.current()})  # the rates the last step used
        self.reporter.logged(record)
        self.hooks.call("on_log", record=dict(record), step=at.step, epoch=at.epoch)
        self.watch.stop_if_failed(self.last_good_checkpoint)
        self.track_best(record)
        return record

    def track_best(self, record: dict[str, Any]) -> None:
        """Keep a checkpoint of the state at the best logged value of ``train.best_metric`` so far."""
        train, at = self.config.train, self.progress
        value = record.get(train.best_metric) if train.best_metric else None
        if value is None or not math.isfinite(value):
            return
        if at.best is None or (value < at.best["value"] if train.best_mode == "min" else value > at.best["value"]):
            at.best = {"metric": train.best_metric, "value": value, "step": at.step}
            self.save_checkpoint(self.run_dir.best_path)

    def last_good_checkpoint(self) -> Path | None:
        """The newest step checkpoint saved with no run of skipped updates in progress, and with finite weights."""
        for path in reversed(self.run_dir.checkpoints()):
            if not _saved_without_skips(path):
                continue
            try:
                tensors = read_checkpoint(path).tensors
            except GanforgeError:
                continue
            weights = (t for name, t in tensors.items() if name.startswith(("network.", "ema.")) and t.is_floating_point())
            if all(bool(torch.isfinite(t).all()) for t in weights):
                return path
        return None

    def write_samples(self, epoch: int, inputs: Any) -> Path:
        path = self.run_dir.sample_path(epoch)
        if not self.job.is_main:
            return path
        networks = self.variant.networks.values()
        modes = [network.training for network in networks]
        for network in networks:
            network.eval()
        try:
            with torch.no_grad(), self.precision.autocast(), self.monitor.averaged():
                samples = self.variant.generate(inputs)
        finally:
            for network, mode in zip(networks, modes):
                network.train(mode)
        columns, captions = self.variant.grid_columns(inputs), self.variant.row_captions(inputs)
        return save_samples(samples, self.data.spec, path, self.data.reference, columns, captions)

    def save_checkpoint(self, path: Path | None = None) -> Path:
        """Save the whole training state at the current step (to ``path``, else the next step checkpoint)."""
        self.watch.check()  # never save past the point where a run of skipped updates ends it
        self.watch.stop_if_failed(self.last_good_checkpoint)
        at = self.progress
        progress = dataclasses.replace(
            at,
            metric_keys=self.meter.keys,
            metric_sums=self.meter.sums,
            metric_count=self.meter.count,
            streaks=dict(self.watch.streaks),
        )
        tensors, meta = capture(self.variant, self.precision, progress)
        tensors.update(self.monitor.checkpoint_tensors())
        if self.augment is not None:
            tensors.update(self.augment.tensors())
        gather_local_state(self.job, tensors, meta)  # every rank's random state and other state of its own
        if not self.job.is_main:
            return path or self.run_dir.checkpoint_path(at.step)
        if self.data.reference is not None:
            tensors["data.reference"] = self.data.reference
        meta.update(
            variant=self.config.variant.name,
            config=self.config.to_dict(),
            spec=dataclasses.asdict(self.data.spec),
            data=self.fingerprint,
        )
        if path is not None:
            written = write_checkpoint(path, tensors, meta)
        else:
            written = write_checkpoint(self.run_dir.checkpoint_path(at.step), tensors, meta)
            if not any(progress.streaks.values()):
                self.good = written
            # a run of skips may end the run: the checkpoint saved before it began is kept until a newer one is good
            self.run_dir.prune_checkpoints(self.config.train.keep_checkpoints, protect=self.good)
        self.hooks.call("on_checkpoint_save", path=written, step=at.step, epoch=at.epoch)
        return written


def _saved_without_skips(path: Path) -> bool:
    """Whether the checkpoint at ``path`` was saved with no optimizer in a run of skipped updates."""
    try:
        streaks = read_metadata(path)["progress"].get("streaks")
    except GanforgeError:
        return False
    return isinstance(streaks, dict) and not any(streaks.values())

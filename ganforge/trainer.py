"""The training loop: minibatches in, variant steps, metrics, samples and checkpoints out.

Per step the loop does what a hand-written loop does and nothing more: index a minibatch out of the dataset
already on the device, call the variant's step, and add its metrics to running sums that stay on the device.
The host waits for the device only when it logs (every ``train.log_every`` steps) and at epoch ends.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from ganforge.checkpoint import optimizer_state, prefixed, write_checkpoint
from ganforge.config import RunConfig
from ganforge.data import TensorData
from ganforge.device import Precision
from ganforge.errors import GanforgeError
from ganforge.evaluation.monitor import RunMonitor
from ganforge.images import save_samples
from ganforge.rundir import RunDir
from ganforge.variant import Variant


class Reporter(Protocol):
    """What the loop tells whoever is watching (the CLI draws progress bars from it)."""

    def epoch_started(self, epoch: int, epochs: int, steps: int) -> None: ...
    def stepped(self) -> None: ...
    def logged(self, record: dict[str, Any]) -> None: ...
    def epoch_ended(self, epoch: int, sample_path: Path, checkpoint_path: Path) -> None: ...


class SilentReporter:
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


class Trainer:
    def __init__(
        self,
        variant: Variant,
        data: TensorData,
        config: RunConfig,
        run_dir: RunDir,
        precision: Precision,
        reporter: Reporter | None = None,
    ):
        self.variant = variant
        self.data = data
        self.config = config
        self.run_dir = run_dir
        self.precision = precision
        self.reporter = reporter or SilentReporter()

    def fit(self) -> RunResult:
        train = self.config.train
        examples_per_step = train.batch_size * self.variant.batches_per_step
        steps_per_epoch = len(self.data) // examples_per_step
        if steps_per_epoch == 0:
            raise GanforgeError(
                f"the dataset has {len(self.data)} examples, fewer than one step uses ({examples_per_step}); "
                "lower --batch-size"
            )
        total_steps = train.epochs * steps_per_epoch if train.max_steps is None else min(train.max_steps, train.epochs * steps_per_epoch)
        epochs = -(-total_steps // steps_per_epoch)
        fixed_inputs = self.variant.sample_inputs(train.sample_count, torch.Generator().manual_seed(train.seed), self.data)
        order_rng = torch.Generator().manual_seed(train.seed)
        result = RunResult(self.run_dir, 0, 0, self.run_dir.checkpoint_path(0))
        self.monitor = RunMonitor(self.variant, self.data, self.config, self.run_dir)

        step = 0
        for epoch in range(1, epochs + 1):
            steps = min(steps_per_epoch, total_steps - step)
            self.reporter.epoch_started(epoch, epochs, steps)
            order = torch.randperm(len(self.data), generator=order_rng).to(self.data.data.device)
            sums: torch.Tensor | None = None
            keys: list[str] = []
            since, started = 0, time.perf_counter()
            for position in range(steps):
                batch = self.data.batch(order[position * examples_per_step : (position + 1) * examples_per_step])
                metrics = self.variant.train_step(batch, self.precision)
                self.monitor.generator_stepped()
                if sums is None:
                    keys = list(metrics)
                    sums = torch.zeros(len(keys), device=self.data.data.device)
                sums += torch.stack([metrics[key].float() for key in keys])
                step += 1
                since += 1
                self.reporter.stepped()
                if step % train.log_every == 0 or position == steps - 1:
                    elapsed = time.perf_counter() - started
                    values = (sums / since).tolist()  # the one host synchronisation per logging interval
                    record = {"step": step, "epoch": epoch, **dict(zip(keys, values))}
                    record["images_per_s"] = since * examples_per_step / max(elapsed, 1e-9)
                    self.run_dir.log_metrics(record)
                    self.reporter.logged(record)
                    result.last_metrics = record
                    sums.zero_()
                    since, started = 0, time.perf_counter()
                if self.monitor.evaluation_due(step, last=step == total_steps) and self.monitor.evaluate(step, epoch):
                    self.save_checkpoint(step, epoch, order_rng, self.monitor.best_path)
            if position == steps_per_epoch - 1:
                self.variant.epoch_ended(epoch)
            sample_path = self.write_samples(epoch, fixed_inputs)
            checkpoint = self.save_checkpoint(step, epoch, order_rng)
            result.samples.append(sample_path)
            result.steps, result.epochs, result.checkpoint = step, epoch, checkpoint
            self.reporter.epoch_ended(epoch, sample_path, checkpoint)
        result.curves = self.monitor.finished()
        return result

    def write_samples(self, epoch: int, inputs: Any) -> Path:
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
        return save_samples(samples, self.data.spec, self.run_dir.sample_path(epoch), self.data.reference)

    def save_checkpoint(self, step: int, epoch: int, order_rng: torch.Generator, path: Path | None = None) -> Path:
        """A checkpoint of the run at ``step``: at ``checkpoints/step_<step>`` (pruned), or at ``path``."""
        tensors: dict[str, torch.Tensor] = {"rng.torch": torch.get_rng_state(), "rng.data": order_rng.get_state()}
        if self.data.reference is not None:
            tensors["data.reference"] = self.data.reference
        optimizers: dict[str, Any] = {}
        for name, network in self.variant.networks.items():
            tensors.update(prefixed(f"network.{name}", network.state_dict()))
        for name, optimizer in self.variant.optimizers.items():
            state, info = optimizer_state(optimizer)
            tensors.update(prefixed(f"optimizer.{name}", state))
            optimizers[name] = info
        tensors.update(prefixed("variant", self.variant.extra_state()))
        tensors.update(self.monitor.checkpoint_tensors())
        scalers = {
            name: scaler.state_dict()
            for name, optimizer in self.variant.optimizers.items()
            if (scaler := self.precision.scalers.get(id(optimizer))) is not None
        }
        meta = {
            "variant": self.config.variant.name,
            "config": self.config.to_dict(),
            "progress": {"step": step, "epoch": epoch},
            "optimizers": optimizers,
            "scalers": scalers,
            "schedulers": {name: scheduler.state_dict() for name, scheduler in self.variant.schedulers.items()},
            "precision": self.precision.name,
            "spec": dataclasses.asdict(self.data.spec),
        }
        if path is not None:
            return write_checkpoint(path, tensors, meta)
        path = write_checkpoint(self.run_dir.checkpoint_path(step), tensors, meta)
        self.run_dir.prune_checkpoints(self.config.train.keep_checkpoints)
        return path

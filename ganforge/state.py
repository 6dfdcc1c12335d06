"""A training run's whole state, as checkpoint tensors and metadata, and back.

Everything the rest of a run depends on is captured: every network, every optimizer (their learning rates
included), the schedule's clock, the fp16 GradScalers, the variant's extra state,
every random number generator (torch on the CPU and each CUDA device, Python's ``random``, numpy's global one),
the data order and the position inside the epoch, the metric sums of the logging interval in progress, the
non-finite streaks and the best value so far. Restored in a fresh process, training goes on bit for bit as if it
had never stopped. In a data-parallel job each rank's own part of this state is added by :mod:`ganforge.ranks`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import numpy
import torch

from ganforge.checkpoint import (
    Checkpoint,
    load_network,
    load_optimizer,
    optimizer_state,
    prefixed,
    unprefixed,
)
from ganforge.device import Precision
from ganforge.errors import GanforgeError
from ganforge.variant import Variant


@dataclass
class Progress:
    """Where a run stands. A fresh run starts from the defaults."""

    step: int = 0  # generator steps done
    epoch: int = 1  # the epoch in progress (1-based)
    position: int = 0  # its steps done; once its end-of-epoch work is done too, the steps per epoch
    order_state: torch.Tensor | None = None  # the data-order generator's state when this epoch drew its order
    metric_keys: list[str] = field(default_factory=list)  # the logging interval in progress: which metrics,
    metric_sums: torch.Tensor | None = None  # their sums so far,
    metric_count: int = 0  # over this many steps
    streaks: dict[str, int] = field(default_factory=dict)  # optimizer -> updates skipped in a row until now
    best: dict[str, Any] | None = None  # {"metric", "value", "step"} of checkpoints/best.safetensors
    clock: dict[str, Any] | None = None  # the schedule's clock (ganforge.schedule.Clock), once the run has started
    world_size: int | None = None  # the ranks the position counts in (None: saved before it was recorded)


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA), Python's ``random`` and numpy's global generator from one ``seed``."""
    torch.manual_seed(seed)
    random.seed(seed)
    numpy.random.seed(seed % 2**32)


def capture(variant: Variant, precision: Precision, progress: Progress) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Checkpoint tensors and JSON metadata holding ``variant``'s training state and ``progress``."""
    tensors: dict[str, torch.Tensor] = {}
    for name, network in variant.networks.items():
        tensors.update(prefixed(f"network.{name}", network.state_dict()))
    optimizers = {name: optimizer_state(opt, f"optimizer.{name}", tensors) for name, opt in variant.optimizers.items()}
    scalers = {
        name: scaler.state_dict()
        for name, optimizer in variant.optimizers.items()
        if (scaler := precision.scalers.get(id(optimizer))) is not None
    }
    tensors.update(prefixed("variant", variant.extra_state()))
    rng = _capture_rng(tensors)
    if progress.order_state is not None:
        tensors["rng.data"] = progress.order_state
    if progress.metric_sums is not None:
        tensors["metrics.sums"] = progress.metric_sums
    meta = {
        "progress": {
            "step": progress.step,
            "epoch": progress.epoch,
            "position": progress.position,
            "metrics": {"keys": progress.metric_keys, "count": progress.metric_count},
            "streaks": progress.streaks,
            "best": progress.best,
            "clock": progress.clock,
            "world_size": progress.world_size,
        },
        "optimizers": optimizers,
        "scalers": scalers,
        "precision": precision.name,
        "rng": rng,
    }
    return tensors, meta


def restore(checkpoint: Checkpoint, variant: Variant, precision: Precision) -> Progress:
    """Load everything :func:`capture` saved into ``variant``, ``precision`` and the RNGs; returns the progress."""
    tensors, meta, source = checkpoint.tensors, checkpoint.meta, checkpoint.path
    for name, network in variant.networks.items():
        load_network(network, name, tensors, source)
    try:
        for name, optimizer in variant.optimizers.items():
            load_optimizer(optimizer, name, meta["optimizers"][name], tensors, source)
        if precision.name == meta["precision"] == "fp16":
            for name, optimizer in variant.optimizers.items():
                precision.scaler(optimizer).load_state_dict(meta["scalers"][name])
        variant.load_extra_state(unprefixed("variant", tensors))
        _restore_rng(meta["rng"], tensors)
        saved = meta["progress"]
        metrics = saved["metrics"]
        return Progress(
            step=saved["step"],
            epoch=saved["epoch"],
            position=saved["position"],
            order_state=tensors["rng.data"],
            metric_keys=list(metrics["keys"]),
            metric_sums=tensors.get("metrics.sums"),
            metric_count=int(metrics["count"]),
            streaks={str(name): int(count) for name, count in saved["streaks"].items()},
            best=saved["best"],
            clock=saved.get("clock"),  # None in checkpoints written before the clock: a fresh one from that step
            world_size=_world_size(saved.get("world_size")),
        )
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError, OverflowError) as exc:  # OverflowError: a numpy state past its range
        raise GanforgeError(
            f"checkpoint {source} lacks part of the training state ({type(exc).__name__}: {exc}); "
            "it can be sampled from but not resumed, use another checkpoint"
        ) from None


def _world_size(value: Any) -> int | None:
    if value is not None and not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        raise ValueError(f"world_size {value!r} is not a number of processes")
    return value


def _capture_rng(tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for index, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{index}"] = state
    kind, keys, position, has_gauss, cached = numpy.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(keys.astype(numpy.int64))
    version, internal, gauss_next = random.getstate()
    return {"python": [version, list(internal), gauss_next], "numpy": [kind, position, has_gauss, cached]}


def _restore_rng(saved: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    cuda = sorted((int(name.rsplit(".", 1)[1]), state) for name, state in tensors.items() if name.startswith("rng.cuda."))
    if cuda and torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
        torch.cuda.set_rng_state_all([state for _, state in cuda])
    version, internal, gauss_next = saved["python"]
    random.setstate((version, tuple(internal), gauss_next))
    kind, position, has_gauss, cached = saved["numpy"]
    numpy.random.set_state((kind, tensors["rng.numpy"].numpy().astype(numpy.uint32), position, has_gauss, cached))

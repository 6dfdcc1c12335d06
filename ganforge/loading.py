"""``ganforge.load``: the variant saved in a checkpoint (or a run directory's newest), rebuilt from the run config
it carries, its networks loaded and in eval mode. Sampling, evaluating and exporting begin with it."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from ganforge.assembly import build_variant
from ganforge.checkpoint import Checkpoint, load_network, read_checkpoint, unprefixed
from ganforge.config import RunConfig, resolve_config
from ganforge.data import DataSpec
from ganforge.device import resolve_device
from ganforge.errors import GanforgeError, GanforgeWarning, OutOfMemory
from ganforge.evaluation.ema import load_average
from ganforge.registry import Registry, get_registry
from ganforge.rundir import find_checkpoint
from ganforge.variant import Variant


def load(path: str | Path, device: str = "auto", registry: Registry | None = None, ema: bool = True) -> Variant:
    """The variant saved in a checkpoint (or a run directory's newest one), networks loaded, in eval mode.

    Where the run kept a moving average (``ema.decay``), every network of ``Variant.generators`` (G, and an
    encoder listed there) gets its averaged weights unless ``ema`` is False; the others (D) keep their live weights.
    """
    return load_with_checkpoint(path, device, registry, ema)[0]


def saved_spec(checkpoint: Checkpoint) -> DataSpec:
    """The data spec the checkpoint's networks were built for."""
    fields = checkpoint.meta["spec"]
    return DataSpec(
        tuple(fields["shape"]),
        fields["num_classes"],
        fields["is_image"],
        fields.get("domains", 1),
        fields.get("scale", 1.0),  # written before the field existed: the networks saw points unscaled
        fields.get("captioned", False),
        tuple(str(name) for name in fields.get("class_names", ())),
    )


def load_with_checkpoint(path: str | Path, device: str, registry: Registry | None = None, ema: bool = True) -> tuple[Variant, Checkpoint]:
    registry = registry or get_registry()
    checkpoint = _read_newest(Path(path))
    meta = checkpoint.meta
    try:
        variant_name, flat = RunConfig.flatten(meta["config"])
        spec = saved_spec(checkpoint)
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


def refuse_if_not_finite(network: torch.nn.Module, name: str, source: Path, what: str) -> None:
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

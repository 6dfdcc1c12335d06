"""From a variant's name and settings to a run ready to go: its config, its data, its networks and optimizers, and
this process's place in the job. Training, resuming, loading and evaluating all start here."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ganforge import distributed
from ganforge.acceleration import accelerate
from ganforge.config import RunConfig, resolve_config
from ganforge.data import DataSpec, TensorData
from ganforge.device import resolve_device
from ganforge.discovery import one_line
from ganforge.distributed import Distributed
from ganforge.errors import GanforgeError, is_out_of_memory, out_of_memory_error
from ganforge.registry import Registry, get_registry
from ganforge.state import seed_everything
from ganforge.variant import Variant


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
    for role in ("generators", "discriminators"):  # what the core's services (EMA, augmentation, export) reach
        missing = [name for name in getattr(variant, role) if name not in variant.networks]
        if missing:
            raise GanforgeError(
                f"variant '{component.name}' from {component.source} declares {role} {', '.join(missing)}, which its "
                f"build() did not put in networks (it has {', '.join(variant.networks) or 'none'}); report this to the "
                f"authors of {component.plugin}"
            )
    variant.to(device)
    return variant


def prepare_training(
    config: RunConfig, spec: DataSpec, device: torch.device, job: Distributed = Distributed(), registry: Registry | None = None
) -> Variant:
    """The config's variant ready to train: built, sped up as ``train.*`` asks (:mod:`ganforge.acceleration`), with
    its optimizers."""
    variant = build_variant(config, spec, device, registry)
    if config.train.batch_size < 2:  # batch norm in training mode has no statistics of one example to normalise by
        normalised = [name for name, network in variant.networks.items() if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in network.modules())]
        if normalised:
            raise GanforgeError(
                f"train.batch_size {config.train.batch_size}: the batch norm in {', '.join(normalised)} needs minibatches of "
                "at least 2; pass --batch-size 2 or more (or settings without batch norm, such as generator.norm=none for vanilla)"
            )
    accelerate(variant, config.train, job)
    try:
        variant.configure_optimizers()
    except ValueError as exc:  # torch.optim's own range checks (lr, betas, eps, ...) on values the settings gave
        raise GanforgeError(
            f"variant '{config.variant.name}' could not build its optimizers from these settings: {one_line(exc)}; "
            "correct the optim.* values"
        ) from None
    return variant


def join(config: RunConfig) -> tuple[Distributed, torch.device]:
    """This process's place in a torchrun job (a job of one without torchrun) and the device it trains on."""
    job = distributed.from_environment(config.train.device, config.dist.timeout_s)
    return job, distributed.local_device(job, resolve_device(config.train.device))

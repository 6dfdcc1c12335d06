"""An exponential moving average of the generator's weights (Yazici et al. 2019, "The Unusual Effectiveness of
Averaging in GAN Training").

After every generator step, each averaged weight moves a little towards the live one:
``ema = decay * ema + (1 - decay) * weight``. GAN training circles around an equilibrium rather than settling
on it; the average sits nearer the centre of the circling, so its samples are usually cleaner. It is on by
default for every variant (``ema.decay`` 0.999, as StudioGAN, StyleGAN2-ADA and R3GAN sample from an average):
samples, ``ganforge sample`` and ``ganforge eval`` use the averaged weights (``--no-ema`` on each for the live
ones; ``ganforge run --no-ema`` keeps no average). They are saved in every checkpoint as
``ema.<network>.<tensor>`` beside the live ones, which training continues from.

Early in a run the weights move far, and an average with a fixed decay would still hold the initial weights (0.999
per step keeps 37% of them after 1,000 steps). So, as in Karras et al. 2020 (StyleGAN2-ADA's ``ema_rampup``), the
average's half-life is at most ``ema.rampup`` (0.05) of the generator steps so far: the step's decay is
``min(decay, 0.5 ** (1 / (rampup * t)))`` at update t. Long runs reach the plain decay (0.999's half-life of
693 steps from step 13,863); ``ema.rampup=none`` uses it from the first step.

A variant whose generators train in turn (``Variant.training_generators``: StackGAN's stage I, then its refiner)
has each network averaged only while it trains, with a ramp-up counted from its own first update: an average of
the refiner over the whole run would still be mostly its untrained initial weights after stage II's first
hundreds of steps (a 44-epoch captioned-MNIST run sampled blank squares). A network that stops training takes
its average as its own weights, once, so that the networks after it (the refiner reads stage I's images) learn
from the weights that samples will use.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

from ganforge.checkpoint import prefixed, unprefixed
from ganforge.errors import GanforgeError
from ganforge.variant import Variant

PREFIX = "ema"


class GeneratorAverage:
    """The averaged copies of a variant's generator networks (``Variant.generators``)."""

    def __init__(self, variant: Variant, decay: float, rampup: float | None = None):
        if not 0.0 < decay < 1.0:
            raise GanforgeError(f"config key 'ema.decay' must be between 0 and 1 (exclusive), got {decay}")
        if rampup is not None and rampup <= 0.0:
            raise GanforgeError(f"config key 'ema.rampup' must be above 0 (none turns the ramp-up off), got {rampup}")
        missing = [name for name in variant.generators if name not in variant.networks]
        if missing:
            raise GanforgeError(
                f"variant '{variant.config.variant.name}' has no network '{missing[0]}' to average; "
                "its class should list its generator networks in `generators`"
            )
        self.variant = variant
        self.decay = decay
        self.rampup = rampup
        self.networks = {name: variant.networks[name] for name in variant.generators}
        self.updates = {name: 0 for name in self.networks}  # each network's updates so far: its ramp-up's t
        self.settled: set[str] = set()  # networks that stopped training and took their average as their weights
        self.average = {name: {key: value.detach().clone() for key, value in network.state_dict().items()} for name, network in self.networks.items()}

    def step_decay(self, name: str) -> float:
        """The decay of network ``name``'s next update: ``decay``, or less while the ramp-up bounds the half-life."""
        if self.rampup is None:
            return self.decay
        return min(self.decay, 0.5 ** (1.0 / (self.rampup * (self.updates[name] + 1))))

    @torch.no_grad()
    def settle(self) -> None:
        """Before a step: every network that has stopped training takes its average as its weights, once."""
        training = self.variant.training_generators
        for name, network in self.networks.items():
            if name in training:
                self.settled.discard(name)
            elif self.updates[name] and name not in self.settled:
                network.load_state_dict(self.average[name])
                self.settled.add(name)

    @torch.no_grad()
    def update(self) -> None:
        """After a step: one step of the average of each network that trains, on the device, with no host
        synchronisation."""
        for name in self.variant.training_generators:
            network, average = self.networks[name], self.average[name]
            weight = 1.0 - self.step_decay(name)
            self.updates[name] += 1
            for key, value in network.state_dict().items():
                if value.is_floating_point():
                    average[key].lerp_(value.detach(), weight)
                else:  # counters such as BatchNorm's num_batches_tracked are copied, not averaged
                    average[key].copy_(value)

    @contextlib.contextmanager
    def swapped_in(self) -> Iterator[None]:
        """The generators hold the averaged weights inside the block, their own weights again after it."""
        live = {name: {key: value.clone() for key, value in network.state_dict().items()} for name, network in self.networks.items()}
        for name, network in self.networks.items():
            network.load_state_dict(self.average[name])
        try:
            yield
        finally:
            for name, network in self.networks.items():
                network.load_state_dict(live[name])

    def restore(self, tensors: dict[str, torch.Tensor]) -> None:
        """Take up the averaged weights saved in checkpoint ``tensors``, where there are any."""
        for name, average in self.average.items():
            for key, value in unprefixed(f"{PREFIX}.{name}", tensors).items():
                average[key].copy_(value)

    def tensors(self) -> dict[str, torch.Tensor]:
        """The averaged weights for a checkpoint."""
        out: dict[str, torch.Tensor] = {}
        for name, average in self.average.items():
            out.update(prefixed(f"{PREFIX}.{name}", average))
        return out


def load_average(variant: Variant, tensors: dict[str, torch.Tensor]) -> bool:
    """Put the averaged weights saved in checkpoint ``tensors`` into the variant's generators; False if none."""
    found = False
    for name in variant.generators:
        saved = unprefixed(f"{PREFIX}.{name}", tensors)
        if saved and name in variant.networks:
            variant.networks[name].load_state_dict(saved)
            found = True
    return found

"""An exponential moving average of the generator's weights (Yazici et al. 2019, "The Unusual Effectiveness of
Averaging in GAN Training").

After every generator step, each averaged weight moves a little towards the live one:
``ema = decay * ema + (1 - decay) * weight``. GAN training circles around an equilibrium rather than settling
on it; the average sits nearer the centre of the circling, so its samples are usually cleaner. When on
(``--set ema.decay=0.999``), samples, ``ganforge sample`` and ``ganforge eval`` use the averaged weights; they are
saved in every checkpoint as ``ema.<network>.<tensor>`` beside the live ones, which training continues from.
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

    def __init__(self, variant: Variant, decay: float):
        if not 0.0 < decay < 1.0:
            raise GanforgeError(f"config key 'ema.decay' must be between 0 and 1 (exclusive), got {decay}")
        missing = [name for name in variant.generators if name not in variant.networks]
        if missing:
            raise GanforgeError(
                f"variant '{variant.config.variant.name}' has no network '{missing[0]}' to average; "
                "its class should list its generator networks in `generators`"
            )
        self.decay = decay
        self.networks = {name: variant.networks[name] for name in variant.generators}
        self.average = {name: {key: value.detach().clone() for key, value in network.state_dict().items()} for name, network in self.networks.items()}

    @torch.no_grad()
    def update(self) -> None:
        """One step of the average, on the device, with no host synchronisation."""
        for name, network in self.networks.items():
            average = self.average[name]
            for key, value in network.state_dict().items():
                if value.is_floating_point():
                    average[key].lerp_(value.detach(), 1.0 - self.decay)
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

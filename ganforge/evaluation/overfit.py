"""How much D has memorised its training images, measured as ADA does (Karras et al. 2020, section 3).

ADA's overfitting heuristic is r_t = E[sign(D(x))] over real training images: +1 when D calls every one of them
real with certainty, about 0 when it cannot tell them from G's samples. Alone it cannot separate "D is confident
because it is a good judge" from "D has memorised these images"; the paper's figure 1 shows the separation with
a held-out set: D's outputs on real images it never trained on fall towards those on generated images while its
outputs on the training images stay high. So ganforge logs both:

- ``rt_train``: E[sign] of D's verdict on a fixed set of training reals,
- ``rt_held_out``: the same on a fixed set of real images of the same dataset that the run never trains on,
- ``rt_gap``: their difference, about 0 while D generalises and growing as it memorises.

A run has held-out reals when it trains on part of its data (``data.fraction`` below 1): the rest of the dataset
is never seen by D. Both sets are scored every ``train.log_every`` steps, by D as it judges in its own steps
(training mode, with whatever augmentation stands in front of it, its normalisation statistics left alone), in
minibatches of the run's size, without gradients, and without moving training's random numbers.

"D says real" is the loss's own verdict, the one ADA's adaptive augmentation reads (``Loss.real_sign``): the sign
of the output for the logistic losses and hinge, the side of the midpoint of its two targets for least squares.
Where D's offset is free (the relativistic losses, the Wasserstein critic: only differences of its outputs count)
the loss gives none, and the probe takes the sign of the output: its level is then arbitrary, so ``rt_gap`` is
the figure to read, not ``rt_train`` or ``rt_held_out`` alone.
"""

from __future__ import annotations

from typing import Any

import torch

from ganforge.data import TensorData
from ganforge.variant import Variant, statistics_frozen

OVERFIT_EXAMPLES = 256  # reals scored on each side: the std of r_t's estimate is at most 1/16
KEYS = ("rt_train", "rt_held_out", "rt_gap")


def real_sign(loss: Any, outputs: torch.Tensor) -> torch.Tensor:
    """+1 where ``loss`` reads D's ``outputs`` as "real", -1 where "fake" (0 exactly on the boundary): the loss's
    own ``real_sign``, or the sign of the output where it gives none."""
    own = getattr(loss, "real_sign", None)
    signs = None if own is None else own(outputs.float())
    return torch.sign(outputs.float()) if signs is None else signs


class OverfitProbe:
    """Scores D on fixed training reals and held-out reals: ADA's r_t on each, and the gap."""

    def __init__(self, variant: Variant, train: TensorData, held_out: TensorData, batch_size: int, seed: int = 0):
        # whole minibatches of the run's size only: D's batch statistics (and PacGAN's packs) as in its own steps
        count = max(batch_size, OVERFIT_EXAMPLES // batch_size * batch_size)
        count = min(count, len(train), len(held_out)) // batch_size * batch_size
        if count == 0:
            raise ValueError(f"the overfitting probe needs {batch_size} training and held-out examples; it has {len(train)} and {len(held_out)}")
        generator = torch.Generator().manual_seed(seed)
        self.variant = variant
        self.train = _some(train, count, generator)
        self.held_out = _some(held_out, count, generator)
        self.batch_size = batch_size

    @staticmethod
    def applies(variant: Variant) -> bool:
        """Whether ``variant`` says how its D judges an example (``discriminate``, as vanilla's recipes do)."""
        return callable(getattr(variant, "discriminate", None)) and getattr(variant, "loss", None) is not None

    @torch.no_grad()
    def measure(self) -> dict[str, float]:
        """``rt_train``, ``rt_held_out`` and ``rt_gap`` of D as it is now."""
        train, held_out = self._rt(self.train), self._rt(self.held_out)
        return {"rt_train": train, "rt_held_out": held_out, "rt_gap": train - held_out}

    def _rt(self, data: TensorData) -> float:
        discriminators = self.variant.discriminator_networks()
        signs = []
        with statistics_frozen(*discriminators):
            for start in range(0, len(data), self.batch_size):
                part = data.batch(torch.arange(start, start + self.batch_size, device=data.data.device))
                outputs = self.variant.discriminate(part.data, part.labels)
                signs.append(real_sign(self.variant.loss, outputs).reshape(-1))
        return float(torch.cat(signs).mean())


def _some(data: TensorData, count: int, generator: torch.Generator) -> TensorData:
    """``count`` examples of ``data``, the same for the same generator state."""
    chosen = torch.randperm(len(data), generator=generator)[:count].sort().values
    return TensorData(data.data[chosen.to(data.data.device)], data.spec, None if data.labels is None else data.labels[chosen.to(data.data.device)])

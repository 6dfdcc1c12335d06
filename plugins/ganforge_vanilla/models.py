"""Fully connected generator and discriminator for data of any shape (images are flattened)."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.data import DataSpec
from ganforge.errors import GanforgeError


class MLPGenerator(nn.Module):
    """G(z; θg): noise z -> one example, widening ``hidden``, 2·hidden, 4·hidden, ... over ``depth`` layers.

    Images come out through tanh, into the [-1, 1] range the data is scaled to; points come out unbounded.
    """

    def __init__(self, noise_dim: int, spec: DataSpec, hidden: int = 256, depth: int = 3, slope: float = 0.2):
        super().__init__()
        if hidden < 1 or depth < 1:
            raise ValueError("hidden and depth must be at least 1")
        self.spec = spec
        widths = [noise_dim] + [hidden * 2**i for i in range(depth)]
        layers: list[nn.Module] = []
        for width_in, width_out in zip(widths, widths[1:]):
            layers += [nn.Linear(width_in, width_out), nn.LeakyReLU(slope)]
        layers.append(nn.Linear(widths[-1], spec.size))
        if spec.is_image:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, *self.spec.shape)


class MLPDiscriminator(nn.Module):
    """D(x; θd) as a logit: D(x) = sigmoid(logit) is the probability that x is real.

    Narrows ``hidden``·2^(depth-1), ..., 2·hidden, hidden over ``depth`` layers, mirroring :class:`MLPGenerator`.
    Returning the logit rather than the probability lets losses use the numerically stable log-sigmoid.

    ``pack`` m > 1 is PacGAN's packing (Lin et al. 2018): D judges m examples at once, concatenated into one
    input, so a batch of N examples (N divisible by m) gives N/m logits. Real packs hold only real examples and
    fake packs only generated ones; seeing m at a time lets D notice when G's samples lack diversity.
    """

    def __init__(
        self, spec: DataSpec, hidden: int = 256, depth: int = 3, slope: float = 0.2, dropout: float = 0.0, pack: int = 1
    ):
        super().__init__()
        if hidden < 1 or depth < 1:
            raise ValueError("hidden and depth must be at least 1")
        if not 0.0 <= dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        if pack < 1:
            raise ValueError("pack must be at least 1")
        self.pack = pack
        widths = [spec.size * pack] + [hidden * 2**i for i in reversed(range(depth))]
        layers: list[nn.Module] = []
        for width_in, width_out in zip(widths, widths[1:]):
            layers += [nn.Linear(width_in, width_out), nn.LeakyReLU(slope)]
            if dropout:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(widths[-1], 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(x) % self.pack:
            raise GanforgeError(
                f"the discriminator packs {self.pack} examples per input but got a batch of {len(x)}; "
                f"use a --batch-size divisible by {self.pack}"
            )
        return self.net(x.reshape(len(x) // self.pack, -1)).squeeze(1)

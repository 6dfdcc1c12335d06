"""Fully connected generator and discriminator for data of any shape (images are flattened)."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.data import DataSpec


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
    """

    def __init__(self, spec: DataSpec, hidden: int = 256, depth: int = 3, slope: float = 0.2, dropout: float = 0.0):
        super().__init__()
        if hidden < 1 or depth < 1:
            raise ValueError("hidden and depth must be at least 1")
        if not 0.0 <= dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        widths = [spec.size] + [hidden * 2**i for i in reversed(range(depth))]
        layers: list[nn.Module] = []
        for width_in, width_out in zip(widths, widths[1:]):
            layers += [nn.Linear(width_in, width_out), nn.LeakyReLU(slope)]
            if dropout:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(widths[-1], 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(1)

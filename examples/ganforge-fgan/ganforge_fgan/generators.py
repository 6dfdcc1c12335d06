"""A fully connected generator with residual blocks, for data of any shape (images are produced flattened)."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.data import DataSpec


class ResidualBlock(nn.Module):
    """x + W2 φ(W1 φ(x)) with φ a leaky ReLU. W2 starts at zero, so the block starts as the identity and the
    network as a shallow MLP that deepens as training moves W2 away from zero (as in Fixup, Zhang et al. 2019)."""

    def __init__(self, width: int, slope: float):
        super().__init__()
        self.inner = nn.Linear(width, width)
        self.outer = nn.Linear(width, width)
        self.activation = nn.LeakyReLU(slope)
        nn.init.zeros_(self.outer.weight)
        nn.init.zeros_(self.outer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.outer(self.activation(self.inner(self.activation(x))))


class ResidualMLPGenerator(nn.Module):
    """G(z; θg): a linear stem from noise to ``hidden`` units, ``blocks`` residual blocks, a linear head to one
    example. Images come out through tanh, into the [-1, 1] range the data is scaled to; points come out unbounded.
    """

    def __init__(
        self,
        noise_dim: int,
        spec: DataSpec,
        hidden: int = 256,  # units of the stem and of every residual block
        blocks: int = 2,  # residual blocks, each starting as the identity
        slope: float = 0.2,  # negative slope of the leaky ReLUs
    ):
        super().__init__()
        if hidden < 1 or blocks < 0:
            raise ValueError("hidden must be at least 1 and blocks at least 0")
        self.shape = spec.shape
        self.stem = nn.Linear(noise_dim, hidden)
        self.blocks = nn.Sequential(*(ResidualBlock(hidden, slope) for _ in range(blocks)))
        head: list[nn.Module] = [nn.LeakyReLU(slope), nn.Linear(hidden, spec.size)]
        if spec.is_image:
            head.append(nn.Tanh())
        self.head = nn.Sequential(*head)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(z))).view(-1, *self.shape)

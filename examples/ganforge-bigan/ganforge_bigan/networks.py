"""BiGAN's two networks beyond G: the encoder E: x -> z, and the joint discriminator D(x, z).

Both declare their inputs (:mod:`ganforge.inputs`): D's are the example x and the code z, so ganforge's contract
suite and augmentation know which is the image; E's is the example, so ``ganforge export RUN --network encoder``
knows the shape of what it takes.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from ganforge.data import DataSpec
from ganforge.inputs import Input
from ganforge.spectral import spectral_normalised


def _layers(width_in: int, hidden: int, depth: int, norm: bool, slope: float = 0.2) -> list[nn.Module]:
    """``depth`` fully connected layers of ``hidden`` units with LeakyReLUs, BatchNorm before all but the first."""
    layers: list[nn.Module] = []
    for i in range(depth):
        if norm and i > 0:  # the norm's shift makes the linear layer's bias redundant
            layers += [nn.Linear(width_in, hidden, bias=False), nn.BatchNorm1d(hidden)]
        else:
            layers.append(nn.Linear(width_in, hidden))
        layers.append(nn.LeakyReLU(slope))
        width_in = hidden
    return layers


class Encoder(nn.Module):
    """E(x): an example (flattened; points in units of the data's std) to a code of ``noise_dim`` values, in the
    space of G's noise z. Deterministic, as in BiGAN."""

    def __init__(self, spec: DataSpec, noise_dim: int, hidden: int, depth: int):
        super().__init__()
        if hidden < 1 or depth < 1:
            raise ValueError("encoder.hidden and encoder.depth must be at least 1")
        self.scale = spec.scale
        self.body = nn.Sequential(*_layers(spec.size, hidden, depth, norm=True), nn.Linear(hidden, noise_dim))
        self.inputs = (Input.data("x", spec),)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.flatten(1) / self.scale)


class JointDiscriminator(nn.Module):
    """D(x, z) as a logit: is (x, z) a pair of the data and its encoding, (x, E(x)), rather than a generated
    example and its noise, (G(z), z)? x and z each pass through layers of their own, then through joint layers
    (as in the BiGAN and ALI discriminators)."""

    def __init__(
        self,
        spec: DataSpec,
        noise_dim: int,
        hidden: int = 512,  # units of every layer
        depth: int = 2,  # layers of the x path, and of the joint path
        norm: Literal["batch", "none"] = "batch",  # batch: BatchNorm in the x path after its first layer
        dropout: float = 0.0,  # dropout probability before each joint layer (ALI's D uses some; BiGAN's none)
        spectral_norm: bool = False,  # Miyato et al. 2018: every layer's weight over its largest singular value
    ):
        super().__init__()
        if hidden < 1 or depth < 1 or not 0.0 <= dropout < 1.0:
            raise ValueError("hidden and depth must be at least 1, dropout in [0, 1)")
        self.scale = spec.scale
        self.x_path = nn.Sequential(*_layers(spec.size, hidden, depth, norm == "batch"))
        self.z_path = nn.Sequential(nn.Linear(noise_dim, hidden), nn.LeakyReLU(0.2))
        joint: list[nn.Module] = []
        for layer in _layers(2 * hidden, hidden, depth, norm=False):
            joint += [nn.Dropout(dropout), layer] if isinstance(layer, nn.Linear) else [layer]
        self.joint = nn.Sequential(*joint, nn.Linear(hidden, 1))
        self.inputs = (Input.data("x", spec), Input.vector("z", noise_dim))
        if spectral_norm:
            spectral_normalised(self)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        joined = torch.cat([self.x_path(x.flatten(1) / self.scale), self.z_path(z.to(x.dtype))], dim=1)
        return self.joint(joined).flatten()

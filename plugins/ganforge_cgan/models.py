"""Class-conditional networks: G(z, y) and D(x, y), the label y entering each through a learned embedding.

Mirza & Osindero feed the one-hot label to both networks next to their usual input; a learned embedding is that
one-hot code times a weight matrix, so ``nn.Embedding`` is the same model without the multiplication by zeros.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from ganforge.data import DataSpec
from ganforge.inputs import Input
from ganforge.spectral import spectral_normalised
from ganforge_dcgan.models import DCGANDiscriminator, DCGANGenerator, image_shape
from ganforge_vanilla.models import MLPDiscriminator, MLPGenerator


class ConditionalMLPGenerator(nn.Module):
    """G(z, y) as in Mirza & Osindero: the label's embedding joins z at the input of an MLP generator."""

    def __init__(
        self,
        noise_dim: int,
        spec: DataSpec,
        num_classes: int,
        embed_dim: int = 10,  # size of the learned label embedding joined to z
        hidden: int = 256,  # units of the first hidden layer (doubling per layer)
        depth: int = 3,  # hidden layers
    ):
        super().__init__()
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.body = MLPGenerator(noise_dim + embed_dim, spec, hidden, depth)
        self.inputs = (Input.vector("z", noise_dim), Input.labels("labels", num_classes))

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([z, self.embed(labels)], dim=1))


class ConditionalMLPDiscriminator(nn.Module):
    """D(x, y): the flattened example and the label's embedding side by side into an MLP discriminator."""

    def __init__(
        self,
        spec: DataSpec,
        num_classes: int,
        embed_dim: int = 10,  # size of the learned label embedding joined to x
        hidden: int = 256,  # units of the last hidden layer (doubling towards the input)
        depth: int = 3,  # hidden layers
        dropout: float = 0.0,  # dropout probability after each hidden layer
        spectral_norm: bool = False,  # Miyato et al. 2018: every layer's weight over its largest singular value
    ):
        super().__init__()
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.scale = spec.scale  # x in units of the data's std, beside an embedding of unit scale
        self.body = MLPDiscriminator(DataSpec((spec.size + embed_dim,), is_image=False), hidden, depth, dropout=dropout)
        self.inputs = (Input.data("x", spec), Input.labels("labels", num_classes))
        if spectral_norm:
            spectral_normalised(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([x.flatten(1) / self.scale, self.embed(labels)], dim=1))


class ConditionalDCGANGenerator(nn.Module):
    """G(z, y) with DCGAN's conv stack: the label's embedding is appended to z before the first projection."""

    def __init__(
        self,
        noise_dim: int,
        spec: DataSpec,
        num_classes: int,
        embed_dim: int = 16,  # size of the learned label embedding appended to z
        width: int = 64,  # channels of the last conv layer before the output (doubling towards the input)
    ):
        super().__init__()
        self.embed = nn.Embedding(num_classes, embed_dim)  # N(0, 1) codes: as loud as z, or G would ignore them
        self.body = DCGANGenerator(noise_dim + embed_dim, spec, width)
        self.inputs = (Input.vector("z", noise_dim), Input.labels("labels", num_classes))

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([z, self.embed(labels)], dim=1))


class ConditionalDCGANDiscriminator(nn.Module):
    """D(x, y) with DCGAN's conv stack: the label's embedding, shaped as one extra image plane, joins x's channels."""

    def __init__(
        self,
        spec: DataSpec,
        num_classes: int,
        width: int = 64,  # channels of the first conv layer (doubling per layer)
        norm: Literal["batch", "layer", "none"] = "batch",  # normalisation after each conv but the first
        spectral_norm: bool = False,  # Miyato et al. 2018: every layer's weight over its largest singular value
    ):
        super().__init__()
        channels, size = image_shape(spec, "the conditional-dcgan discriminator")
        self.size = size
        self.embed = nn.Embedding(num_classes, size * size)
        self.body = DCGANDiscriminator(DataSpec((channels + 1, size, size), spec.num_classes), width, norm)
        self.inputs = (Input.data("x", spec), Input.labels("labels", num_classes))
        if spectral_norm:
            spectral_normalised(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        plane = self.embed(labels).view(-1, 1, self.size, self.size).to(x.dtype)
        return self.body(torch.cat([x, plane], dim=1))

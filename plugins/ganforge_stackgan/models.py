"""StackGAN's networks (Zhang et al. 2017), sized from the image shape rather than fixed at 64 and 256 pixels.

* Stage-I generator: [z, ĉ] → fully connected → base-size feature maps → upsampling blocks (nearest-neighbour
  upsampling, 3x3 conv, batch norm, ReLU) → 3x3 conv and tanh, at the low resolution.
* Stage-II generator: the stage-I image → 3x3 conv and a stride-2 conv (the paper's encoder) → joined with its own
  ĉ, spatially replicated → residual blocks → upsampling blocks to the full resolution. It sees the stage-I image
  rather than z, and corrects its defects and adds detail.
* Discriminator (one per stage, each at its stage's resolution): stride-2 convs down to the base size, then the
  embedding φ, compressed by a fully connected layer and spatially replicated, joins the features, and a 1x1 conv
  and a final conv give the logit that x is a real image *matching* φ.

Weights start from N(0, 0.02) as in DCGAN and the authors' code, except the layers that read the embedding
(see :mod:`ganforge_stackgan.conditioning` for why).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganforge.data import DataSpec
from ganforge.inputs import Input
from ganforge.spectral import spectral_normalised
from ganforge.errors import GanforgeError
from ganforge_dcgan.models import conv_plan, image_shape, init_weights
from ganforge_stackgan.conditioning import ConditioningAugmentation


def up_block(width_in: int, width_out: int) -> nn.Sequential:
    """Double the resolution: nearest-neighbour upsampling, 3x3 conv, batch norm, ReLU (as the paper does)."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(width_in, width_out, 3, 1, 1, bias=False),
        nn.BatchNorm2d(width_out),
        nn.ReLU(inplace=True),
    )


class ResidualBlock(nn.Module):
    """ReLU(x + (conv3, BN, ReLU, conv3, BN)(x))."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


def replicate(vector: torch.Tensor, size: int) -> torch.Tensor:
    """(N, D) -> (N, D, size, size): one copy of the vector at every position."""
    return vector[:, :, None, None].expand(-1, -1, size, size)


class Stage1Generator(nn.Module):
    """G₀(z, φ): a low-resolution image with the rough shape and colours, and (μ, log σ²) of its conditioning."""

    def __init__(
        self,
        noise_dim: int,
        embedding_dim: int,
        spec: DataSpec,
        width: int = 64,  # channels of the last upsampling block (doubling towards the input)
        condition_dim: int = 128,  # size of the conditioning vector drawn around the embedding (conditioning augmentation)
    ):
        super().__init__()
        channels, size = image_shape(spec, "the stackgan stage-I generator")
        base, steps = conv_plan(size, "the stackgan stage-I generator", "lower stages.upscale")
        top = width * 2**steps
        self.augment = ConditioningAugmentation(embedding_dim, condition_dim)
        self.project = nn.Sequential(
            nn.Linear(noise_dim + condition_dim, top * base * base, bias=False), nn.BatchNorm1d(top * base * base), nn.ReLU(inplace=True)
        )
        self.shape = (top, base, base)
        self.body = nn.Sequential(
            *[up_block(top // 2**i, top // 2 ** (i + 1)) for i in range(steps)],
            nn.Conv2d(width, channels, 3, 1, 1),
            nn.Tanh(),
        )
        init_weights(self.project, self.body)
        self.condition_dim = condition_dim
        self.inputs = (Input.vector("z", noise_dim), Input.vector("embedding", embedding_dim))

    def forward(
        self, z: torch.Tensor, embedding: torch.Tensor, epsilon: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(image, μ, log σ²); ``epsilon`` fixes conditioning augmentation's draw."""
        condition, mean, log_variance = self.augment(embedding, epsilon)
        features = self.project(torch.cat([z, condition.to(z.dtype)], dim=1)).view(-1, *self.shape)
        return self.body(features), mean, log_variance


class Stage2Generator(nn.Module):
    """G(s₀, φ): the full-resolution image refined from the stage-I image s₀, and (μ, log σ²) of its conditioning."""

    def __init__(
        self,
        embedding_dim: int,
        spec: DataSpec,
        stage1_spec: DataSpec,
        width: int = 64,  # channels of the encoder's first conv and of the last upsampling block
        condition_dim: int = 128,  # size of the conditioning vector drawn around the embedding (conditioning augmentation)
        residual_blocks: int = 2,  # residual blocks after the condition joins the encoded stage-I image
    ):
        super().__init__()
        channels, size = image_shape(spec, "the stackgan stage-II generator")
        _, low = image_shape(stage1_spec, "the stackgan stage-II generator")
        encoded = low // 2 if low % 2 == 0 else low
        ups = math.log2(size / encoded)
        if not ups.is_integer() or ups < 1:
            raise GanforgeError(f"stackgan cannot refine {low}x{low} images to {size}x{size}; choose stages.upscale 2 or 4")
        ups = int(ups)
        hidden = width * 2**ups
        self.encoded = encoded
        self.augment = ConditioningAugmentation(embedding_dim, condition_dim)
        encoder: list[nn.Module] = [nn.Conv2d(channels, width, 3, 1, 1), nn.ReLU(inplace=True)]
        stride = 2 if encoded < low else 1
        encoder += [nn.Conv2d(width, hidden, 4 if stride == 2 else 3, stride, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True)]
        self.encode = nn.Sequential(*encoder)
        self.join = nn.Sequential(
            nn.Conv2d(hidden + condition_dim, hidden, 3, 1, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True)
        )
        self.body = nn.Sequential(
            *[ResidualBlock(hidden) for _ in range(residual_blocks)],
            *[up_block(hidden // 2**i, hidden // 2 ** (i + 1)) for i in range(ups)],
            nn.Conv2d(width, channels, 3, 1, 1),
            nn.Tanh(),
        )
        init_weights(self.encode, self.join, self.body)
        self.condition_dim = condition_dim
        self.inputs = (Input.data("low", stage1_spec), Input.vector("embedding", embedding_dim))

    def forward(
        self, low: torch.Tensor, embedding: torch.Tensor, epsilon: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(image, μ, log σ²); ``epsilon`` fixes conditioning augmentation's draw."""
        condition, mean, log_variance = self.augment(embedding, epsilon)
        features = self.encode(low)
        joined = torch.cat([features, replicate(condition.to(features.dtype), self.encoded)], dim=1)
        return self.body(self.join(joined)), mean, log_variance


class StageDiscriminator(nn.Module):
    """D(x, φ) as a logit: is x a real image that matches the embedding φ?"""

    def __init__(
        self,
        spec: DataSpec,
        embedding_dim: int,
        width: int = 64,  # channels of the first conv layer (doubling per layer)
        compressed_dim: int = 128,  # size the embedding is compressed to before it joins the image features
        spectral_norm: bool = False,  # Miyato et al. 2018: every layer's weight over its largest singular value
    ):
        super().__init__()
        channels, size = image_shape(spec, "the stackgan discriminator")
        base, steps = conv_plan(size, "the stackgan discriminator", "lower stages.upscale")
        widths = [width * 2**i for i in range(steps)]
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        for width_in, width_out in zip(widths, widths[1:]):
            layers += [nn.Conv2d(width_in, width_out, 4, 2, 1, bias=False), nn.BatchNorm2d(width_out), nn.LeakyReLU(0.2, inplace=True)]
        self.encode = nn.Sequential(*layers)
        self.base = base
        self.compress = nn.Sequential(nn.Linear(embedding_dim, compressed_dim), nn.LeakyReLU(0.2, inplace=True))
        self.judge = nn.Sequential(
            nn.Conv2d(widths[-1] + compressed_dim, widths[-1], 1, bias=False),
            nn.BatchNorm2d(widths[-1]),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(widths[-1], 1, base),
        )
        init_weights(self.encode, self.judge)  # not the embedding's compression: see conditioning.py
        self.inputs = (Input.data("x", spec), Input.vector("embedding", embedding_dim))
        if spectral_norm:
            spectral_normalised(self)

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        features = self.encode(x)
        compressed = replicate(self.compress(embedding.to(features.dtype)), self.base)
        return self.judge(torch.cat([features, compressed], dim=1)).flatten()

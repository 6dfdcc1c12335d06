"""DCGAN's convolutional generator and discriminator (Radford et al. 2016), sized from the dataset's image shape.

Both nets halve (D) or double (G) the resolution with 4x4 stride-2 convolutions between the image and a base
size of at most 7 pixels: 28 → 14 → 7 for MNIST-sized images, 32 → 16 → 8 → 4 and 64 → 32 → 16 → 8 → 4 for colour
ones, so any square size s·2ⁿ with s ≤ 7 works. Channels double as the resolution halves (D) and halve as it
doubles (G), ending at ``width`` next to the image, as in the paper's 64x64 network (width 128 there; the
widely used reference implementation uses 64). Following the paper: no pooling or fully connected hidden
layers; batch normalisation in every layer except G's output and D's input layers; ReLU in G with tanh on its
output, LeakyReLU(0.2) in D; weights drawn from N(0, 0.02).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from ganforge.data import DataSpec
from ganforge.errors import GanforgeError
from ganforge.spectral import spectral_normalised

BASE_MAX = 7  # largest resolution the conv stacks bottom out at


def conv_plan(size: int, owner: str, advice: str = "resize the data or use the mlp networks") -> tuple[int, int]:
    """(base, steps): halving ``size`` ``steps`` times reaches ``base`` ≤ 7, where the stacks start or end."""
    base, steps = size, 0
    while base % 2 == 0 and base > 4:
        base, steps = base // 2, steps + 1
    if steps == 0 or base > BASE_MAX:
        raise GanforgeError(
            f"{owner} cannot build a conv stack for {size}x{size} images: the size must halve to 7 or less "
            f"(14, 16, 28, 32, 64, 128, ...); {advice}"
        )
    return base, steps


def image_shape(spec: DataSpec, owner: str) -> tuple[int, int]:
    """(channels, size) of square image data, or a clear error for anything else."""
    if not spec.is_image or len(spec.shape) != 3 or spec.shape[1] != spec.shape[2]:
        raise GanforgeError(
            f"{owner} works on square images (C, H, H); this dataset has examples of shape {spec.shape}. "
            "Choose an image dataset, or the mlp networks"
        )
    return spec.shape[0], spec.shape[1]


def init_weights(*modules: nn.Module) -> None:
    """Radford et al.: every weight from N(0, 0.02); normalisation scales from N(1, 0.02), biases 0."""
    for layer in (layer for module in modules for layer in module.modules()):
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            if getattr(layer, "bias", None) is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, (nn.BatchNorm2d, nn.GroupNorm)) and layer.affine:
            nn.init.normal_(layer.weight, 1.0, 0.02)
            nn.init.zeros_(layer.bias)


def normalisation(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":  # over (C, H, W) of each example: what Gulrajani et al. use in a WGAN-GP critic
        return nn.GroupNorm(1, channels)
    return nn.Identity()


class DCGANGenerator(nn.Module):
    """G(z): a projection of z to ``base``x``base`` feature maps, then fractionally strided convs up to the image."""

    def __init__(
        self,
        noise_dim: int,
        spec: DataSpec,
        width: int = 64,  # channels of the last conv layer before the output (doubling towards the input)
    ):
        super().__init__()
        if width < 1:
            raise ValueError("width must be at least 1")
        channels, size = image_shape(spec, "the dcgan generator")
        base, steps = conv_plan(size, "the dcgan generator")
        widths = [width * 2**i for i in reversed(range(steps))]
        layers: list[nn.Module] = [nn.ConvTranspose2d(noise_dim, widths[0], base, 1, 0, bias=False)]
        layers += [nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]
        for width_in, width_out in zip(widths, widths[1:]):
            layers += [nn.ConvTranspose2d(width_in, width_out, 4, 2, 1, bias=False), nn.BatchNorm2d(width_out), nn.ReLU(inplace=True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """D(x) as a logit: strided convs down to ``base``x``base``, then one conv over all of it.

    ``norm`` is ``batch`` (Radford et al.), ``layer`` (per-example normalisation, for gradient penalties such as
    WGAN-GP's, which batch statistics would mix across the minibatch) or ``none``. ``spectral_norm`` divides every
    layer's weight by its largest singular value (Miyato et al. 2018, see :mod:`ganforge.spectral`).
    """

    def __init__(
        self,
        spec: DataSpec,
        width: int = 64,  # channels of the first conv layer (doubling per layer)
        norm: Literal["batch", "layer", "none"] = "batch",  # normalisation after each conv but the first (layer: for WGAN-GP)
        slope: float = 0.2,  # negative slope of the LeakyReLUs
        spectral_norm: bool = False,  # Miyato et al. 2018: every layer's weight over its largest singular value
    ):
        super().__init__()
        if width < 1:
            raise ValueError("width must be at least 1")
        channels, size = image_shape(spec, "the dcgan discriminator")
        base, steps = conv_plan(size, "the dcgan discriminator")
        widths = [width * 2**i for i in range(steps)]
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1), nn.LeakyReLU(slope, inplace=True)]
        for width_in, width_out in zip(widths, widths[1:]):
            layers += [nn.Conv2d(width_in, width_out, 4, 2, 1, bias=norm == "none"), normalisation(norm, width_out)]
            layers.append(nn.LeakyReLU(slope, inplace=True))
        layers.append(nn.Conv2d(widths[-1], 1, base, 1, 0))
        self.net = nn.Sequential(*layers)
        init_weights(self)
        if spectral_norm:
            spectral_normalised(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()

"""CycleGAN's networks (Zhu et al. 2017, after Johnson et al. 2016 and pix2pix): image-to-image generators and
the PatchGAN discriminator. All use instance normalisation, as the paper does, and N(0, 0.02) initial weights.

* ``resnet``: c7s1-w, two stride-2 downsamplings (w → 2w → 4w), ``blocks`` residual blocks at 4w, two
  fractionally strided upsamplings and c7s1 to the image, with reflection padding; 6 blocks for images up to
  128 pixels and 9 above, as in the paper.
* ``unet``: the pix2pix U-Net: ``depth`` stride-2 conv levels (channels w, 2w, 4w, 8w, 8w, ...) and mirrored
  transposed convs, each level's encoder output concatenated to its decoder input.
* ``patchgan``: ``layers`` stride-2 4x4 convs and two stride-1 ones; each output judges one overlapping patch (70x70
  pixels with the default 3 layers) as real or fake, so D models texture and style rather than layout.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.data import DataSpec
from ganforge.spectral import spectral_normalised
from ganforge_dcgan.models import image_shape, init_weights


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels)


class ResidualBlock(nn.Module):
    """x + (reflect-pad, conv3, IN, ReLU, reflect-pad, conv3, IN)(x)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels), nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Johnson et al.'s residual image transformation network, as CycleGAN uses it: image -> image of one shape."""

    def __init__(
        self,
        spec: DataSpec,
        width: int = 64,  # channels of the first conv layer (doubling per downsampling)
        blocks: int | None = None,  # residual blocks; None: 6 for images up to 128x128, else 9 (as Zhu et al.)
        downsamples: int = 2,  # stride-2 convolutions down (and transposed ones back up)
    ):
        super().__init__()
        channels, size = image_shape(spec, "the resnet generator")
        if width < 1 or downsamples < 0 or (blocks is not None and blocks < 0):
            raise ValueError("width must be at least 1, blocks and downsamples at least 0")
        if size % 2**downsamples:
            raise ValueError(f"{size}x{size} images cannot be halved {downsamples} times; lower downsamples")
        blocks = (6 if size <= 128 else 9) if blocks is None else blocks
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(channels, width, 7), _norm(width), nn.ReLU(inplace=True)]
        for i in range(downsamples):
            layers += [nn.Conv2d(width * 2**i, width * 2 ** (i + 1), 3, 2, 1), _norm(width * 2 ** (i + 1)), nn.ReLU(inplace=True)]
        layers += [ResidualBlock(width * 2**downsamples) for _ in range(blocks)]
        for i in reversed(range(downsamples)):
            layers += [
                nn.ConvTranspose2d(width * 2 ** (i + 1), width * 2**i, 3, 2, 1, output_padding=1),
                _norm(width * 2**i),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class UNetGenerator(nn.Module):
    """The pix2pix U-Net: an encoder-decoder whose mirrored levels are joined by skip connections."""

    def __init__(
        self,
        spec: DataSpec,
        width: int = 64,  # channels of the first conv layer (doubling per level, at most 8x)
        depth: int | None = None,  # levels of the U; None: as many as the image size allows, up to 8
    ):
        super().__init__()
        channels, size = image_shape(spec, "the unet generator")
        if width < 1:
            raise ValueError("width must be at least 1")
        if depth is None:  # as deep as the size allows, up to pix2pix's 8 levels for 256x256
            depth = 0
            while depth < 8 and size % 2 ** (depth + 1) == 0:
                depth += 1
        if depth < 2 or size % 2**depth:
            raise ValueError(f"{size}x{size} images cannot be halved {depth} times (need at least 2); choose another depth")
        widths = [width * min(2**i, 8) for i in range(depth)]
        self.down = nn.ModuleList([nn.Conv2d(channels, widths[0], 4, 2, 1)])
        for i in range(1, depth):
            innermost = i == depth - 1
            layers = [nn.LeakyReLU(0.2), nn.Conv2d(widths[i - 1], widths[i], 4, 2, 1)]
            self.down.append(nn.Sequential(*layers if innermost else [*layers, _norm(widths[i])]))
        self.up = nn.ModuleList([nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(2 * widths[0], channels, 4, 2, 1), nn.Tanh())])
        for i in range(1, depth):
            width_in = widths[i] if i == depth - 1 else 2 * widths[i]
            self.up.append(nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(width_in, widths[i - 1], 4, 2, 1), _norm(widths[i - 1])))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for level in self.down:
            x = level(x)
            skips.append(x)
        x = self.up[-1](skips.pop())
        for level in reversed(self.up[:-1]):
            x = level(torch.cat([skips.pop(), x], dim=1))
        return x


class PatchGANDiscriminator(nn.Module):
    """D(x) as a map of logits, one per overlapping image patch (70x70 for the default 3 layers)."""

    def __init__(
        self,
        spec: DataSpec,
        width: int = 64,  # channels of the first conv layer (doubling per layer, at most 8x)
        layers: int = 3,  # stride-2 conv layers: 3 gives 70x70 patches
        spectral_norm: bool = False,  # Miyato et al. 2018: every layer's weight over its largest singular value
    ):
        super().__init__()
        channels, size = image_shape(spec, "the patchgan discriminator")
        if width < 1 or layers < 1:
            raise ValueError("width and layers must be at least 1")
        if size // 2**layers < 3:  # the stride-1 layers need room for a map of patches
            raise ValueError(f"{size}x{size} images are too small for {layers} stride-2 layers; lower discriminator.layers")
        widths = [width * min(2**i, 8) for i in range(layers + 1)]
        stack: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        for i in range(1, layers + 1):
            stride = 2 if i < layers else 1
            stack += [nn.Conv2d(widths[i - 1], widths[i], 4, stride, 1), _norm(widths[i]), nn.LeakyReLU(0.2, inplace=True)]
        stack.append(nn.Conv2d(widths[-1], 1, 4, 1, 1))
        self.net = nn.Sequential(*stack)
        init_weights(self)
        if spectral_norm:
            spectral_normalised(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

"""CycleGAN's networks (Zhu et al. 2017, after Johnson et al. 2016 and pix2pix): image-to-image generators and
the PatchGAN discriminator. All use instance normalisation, as the paper does, and N(0, 0.02) initial weights.

* ``resnet``: c7s1-w, two stride-2 downsamplings (w → 2w → 4w), ``blocks`` residual blocks at 4w, two
  fractionally strided upsamplings and c7s1 to the image, with reflection padding. Sized from the image, as
  dcgan's depth is: the paper's w = 64 with 6 blocks for 128-pixel images and 9 from 256 pixels up; below 128
  pixels (digits, icons) w = 16 with 3 blocks, since the paper's network spends 25 times the arithmetic on a
  28-pixel image to model 7x7 feature maps at 256 channels (see benchmarks/README.md).
* ``unet``: the pix2pix U-Net: ``depth`` stride-2 conv levels (channels w, 2w, 4w, 8w, 8w, ...) and mirrored
  transposed convs, each level's encoder output concatenated to its decoder input.
* ``patchgan``: ``layers`` stride-2 4x4 convs and two stride-1 ones; each output judges one overlapping patch (70x70
  pixels with the paper's 3 layers) as real or fake, so D models texture and style rather than layout. By
  default as many layers, up to 3, as keep the patch inside the image (a 16x16 patch on 28-pixel images, 34x34
  on 64-pixel ones, 70x70 from 70 pixels up), and w = 64 from 128 pixels up, 32 below.

``examples/configs/cyclegan-paper.toml`` sets the paper's networks at any size.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.data import DataSpec
from ganforge.spectral import spectral_normalised
from ganforge_dcgan.models import image_shape, init_weights


PAPER_SIZE = 128  # the smallest images Zhu et al. train on; below it the networks are sized down


def patch_size(layers: int) -> int:
    """The side of the image patch one output of a ``layers``-layer PatchGAN sees (its receptive field)."""
    field = 4  # the last 4x4 stride-1 conv, then back through the other stride-1 conv and the stride-2 ones
    for stride in [1] + [2] * layers:
        field = (field - 1) * stride + 4
    return field


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
        width: int | None = None,  # channels of the first conv layer (doubling per downsampling); None: 64 (Zhu et al.) from 128x128 up, else 16
        blocks: int | None = None,  # residual blocks; None: 3 below 128x128, 6 up to 128x128, else 9 (as Zhu et al.)
        downsamples: int = 2,  # stride-2 convolutions down (and transposed ones back up)
    ):
        super().__init__()
        channels, size = image_shape(spec, "the resnet generator")
        width = (64 if size >= PAPER_SIZE else 16) if width is None else width
        if width < 1 or downsamples < 0 or (blocks is not None and blocks < 0):
            raise ValueError("width must be at least 1, blocks and downsamples at least 0")
        if size % 2**downsamples:
            raise ValueError(f"{size}x{size} images cannot be halved {downsamples} times; lower downsamples")
        blocks = (3 if size < PAPER_SIZE else 6 if size <= PAPER_SIZE else 9) if blocks is None else blocks
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
    """D(x) as a map of logits, one per overlapping image patch (70x70 for the paper's 3 layers)."""

    def __init__(
        self,
        spec: DataSpec,
        width: int | None = None,  # channels of the first conv layer (doubling per layer, at most 8x); None: 64 (Zhu et al.) from 128x128 up, else 32
        layers: int | None = None,  # stride-2 conv layers: 3 gives 70x70 patches; None: the most, up to 3, whose patch fits in the image
        spectral_norm: bool = False,  # Miyato et al. 2018: every layer's weight over its largest singular value
    ):
        super().__init__()
        channels, size = image_shape(spec, "the patchgan discriminator")
        width = (64 if size >= PAPER_SIZE else 32) if width is None else width
        if layers is None:
            layers = max([1, *(n for n in (2, 3) if patch_size(n) <= size)])
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

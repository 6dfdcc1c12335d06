"""R3GAN's generator and discriminator (Huang et al. 2024), sized from the dataset's image shape.

Both are stacks of stages, one per resolution, between a ``base`` of at most 7 pixels and the image: 7 → 14 → 28
for MNIST-sized images, 4 → 8 → 16 → 32 and 4 → 8 → 16 → 32 → 64 for colour ones (the same plan as dcgan's). Each
stage holds ``blocks`` residual blocks at its resolution. A block is an inverted bottleneck (ConvNeXt-style, but
with no normalisation): a 1x1 convolution widens the channels ``expansion`` times, a 3x3 grouped convolution
(``group_width`` channels per group) mixes space, a 1x1 convolution narrows back, with a biased LeakyReLU(0.2)
after each of the first two; its output is added to its input.

Fix-up initialisation, in the paper's form: every weight is drawn from N(0, gain² / fan-in) (He et al.); in a
block, the first two convolutions' gain is the LeakyReLU's √(2 / (1 + 0.2²)) times L^(-1/4), where L is the
number of blocks in the network (so that the variance the residual branches add up to stays bounded as blocks are
added), and the last convolution is zero, so that at initialisation every block is the identity. Nothing is
normalised anywhere.

Resolution changes between stages are bilinear, low-pass resampling with the [1, 3, 3, 1] / 8 filter (the
paper's [1, 2, 1] convolved with a box): G upsamples then, if the width changes, applies a 1x1 convolution first;
D does the reverse. G starts from a learned 'basis': a constant ``base``x``base`` map per channel scaled by a
linear function of z; D ends with the transpose, a depthwise ``base``x``base`` convolution to one value per channel
and a linear layer to the logit. G's output is a 1x1 convolution with no tanh, clipped to the data's [-1, 1];
D reads the image through a 1x1 convolution.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.data import DataSpec
from ganforge_dcgan.models import conv_plan, image_shape

SLOPE = 0.2  # the LeakyReLUs' negative slope
ACTIVATION_GAIN = math.sqrt(2 / (1 + SLOPE**2))  # He et al.'s gain for LeakyReLU(0.2)


def he_init(layer: nn.Conv2d | nn.Linear, gain: float = 1.0) -> None:
    """Weights from N(0, gain² / fan-in); a zero gain zeroes them (fix-up's last layer of a residual branch)."""
    fan_in = layer.weight[0].numel()
    nn.init.normal_(layer.weight, 0.0, gain / math.sqrt(fan_in))
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


def stage_widths(width: int, halve_above: int, resolutions: list[int]) -> list[int]:
    """Channels of each stage: ``width`` up to ``halve_above`` pixels, halved at each doubling above it (the paper's
    presets: 32, so FFHQ-64's last stage has half the channels)."""
    widths = []
    for size in resolutions:
        halvings = 0
        while size > halve_above:
            size, halvings = size // 2, halvings + 1
        widths.append(max(1, width >> halvings))
    return widths


class ResidualBlock(nn.Module):
    """x + 1x1 conv(act(grouped 3x3 conv(act(1x1 conv(x))))), the branch zero at initialisation."""

    def __init__(self, channels: int, expansion: int, group_width: int, total_blocks: int):
        super().__init__()
        wide = channels * expansion
        groups = max(1, wide // group_width)
        while wide % groups:  # a width that group_width does not divide: the nearest count of groups that fits
            groups -= 1
        gain = ACTIVATION_GAIN * total_blocks ** (-1 / 4)  # L^(-1/(2m-2)) for the branch's m = 3 layers
        self.widen = nn.Conv2d(channels, wide, 1)  # the bias is the paper's biased activation's
        self.mix = nn.Conv2d(wide, wide, 3, padding=1, groups=groups)
        self.narrow = nn.Conv2d(wide, channels, 1, bias=False)
        he_init(self.widen, gain)
        he_init(self.mix, gain)
        he_init(self.narrow, 0.0)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        y = F.leaky_relu(self.widen(x), SLOPE)
        y = F.leaky_relu(self.mix(y), SLOPE)
        return self.narrow(y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)


def upsample(x: torch.Tensor) -> torch.Tensor:
    """Twice the resolution by bilinear interpolation: the [1, 3, 3, 1] / 4 low-pass filter between the pixels."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def _halve(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Half the length of ``dim`` through the [1, 3, 3, 1] / 8 filter, zero beyond the ends."""
    padded = F.pad(x, (1, 1) if dim == 3 else (0, 0, 1, 1))
    half = x.shape[dim] // 2
    taps = []
    for offset in range(4):  # output i reads padded[2i + offset]
        index: list[slice] = [slice(None)] * x.dim()
        index[dim] = slice(offset, offset + 2 * half - 1, 2)
        taps.append(padded[tuple(index)])
    return (taps[0] + taps[3] + 3 * (taps[1] + taps[2])) / 8


def downsample(x: torch.Tensor) -> torch.Tensor:
    """Half the resolution through the [1, 3, 3, 1] / 8 low-pass filter in each direction (zero beyond the border):
    strided sums, whose double backward (R1 and R2 take one through D) is cheap, where a depthwise convolution's is
    the slowest part of a CPU step."""
    return _halve(_halve(x, 2), 3)


class Resample(nn.Module):
    """:func:`upsample` or :func:`downsample` as a layer."""

    def __init__(self, up: bool):
        super().__init__()
        self.up = up

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upsample(x) if self.up else downsample(x)


class R3GANGenerator(nn.Module):
    """G(z): a learned basis scaled by a linear map of z, then residual stages with low-pass upsampling between."""

    def __init__(
        self,
        noise_dim: int,
        spec: DataSpec,
        width: int = 96,  # channels of the stages up to halve_above pixels; the paper's CIFAR-10 G: 768
        blocks: int = 1,  # residual blocks per stage; the paper's: 2
        expansion: int = 2,  # inverted bottleneck: the blocks' inner width over their width (the paper's 2)
        group_width: int = 16,  # channels per group of the blocks' 3x3 convolutions (the paper's 1536/96 = 16)
        halve_above: int = 32,  # stages above this many pixels have half the channels per doubling (the paper's 32)
    ):
        super().__init__()
        for name, value in (("width", width), ("blocks", blocks), ("expansion", expansion), ("group_width", group_width), ("halve_above", halve_above)):
            if value < 1:
                raise ValueError(f"{name} must be at least 1")
        channels, size = image_shape(spec, "the r3gan generator")
        base, steps = conv_plan(size, "the r3gan generator")
        resolutions = [base * 2**i for i in range(steps + 1)]
        widths = stage_widths(width, halve_above, resolutions)
        total = blocks * len(widths)
        self.base = base
        self.basis = nn.Parameter(torch.randn(widths[0], base, base))
        self.project = nn.Linear(noise_dim, widths[0], bias=False)
        he_init(self.project)
        stages: list[nn.Module] = []
        for index, stage_width in enumerate(widths):
            layers: list[nn.Module] = []
            if index:
                if widths[index - 1] != stage_width:
                    transition = nn.Conv2d(widths[index - 1], stage_width, 1, bias=False)
                    he_init(transition)
                    layers.append(transition)
                layers.append(Resample(up=True))
            layers += [ResidualBlock(stage_width, expansion, group_width, total) for _ in range(blocks)]
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.to_image = nn.Conv2d(widths[-1], channels, 1, bias=False)
        he_init(self.to_image)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.basis[None] * self.project(z)[:, :, None, None]
        # the paper's output layer is linear; its images are read as 8-bit pixels, within [-1, 1]. Clipped here,
        # D judges the images a user gets, and a pixel already past the data's range (Fashion-MNIST's black
        # background lies at -1) needs no gradient to come back
        return self.to_image(self.stages(x)).clamp(-1.0, 1.0)


class R3GANDiscriminator(nn.Module):
    """D(x) as a logit: a 1x1 convolution in, residual stages with low-pass downsampling between, a learned basis out."""

    def __init__(
        self,
        spec: DataSpec,
        width: int = 96,  # channels of the stages up to halve_above pixels; the paper's CIFAR-10 D: 768
        blocks: int = 1,  # residual blocks per stage; the paper's: 2
        expansion: int = 2,  # inverted bottleneck: the blocks' inner width over their width (the paper's 2)
        group_width: int = 16,  # channels per group of the blocks' 3x3 convolutions (the paper's 1536/96 = 16)
        halve_above: int = 32,  # stages above this many pixels have half the channels per doubling (the paper's 32)
    ):
        super().__init__()
        for name, value in (("width", width), ("blocks", blocks), ("expansion", expansion), ("group_width", group_width), ("halve_above", halve_above)):
            if value < 1:
                raise ValueError(f"{name} must be at least 1")
        channels, size = image_shape(spec, "the r3gan discriminator")
        base, steps = conv_plan(size, "the r3gan discriminator")
        resolutions = [size // 2**i for i in range(steps + 1)]
        widths = stage_widths(width, halve_above, resolutions)
        total = blocks * len(widths)
        self.from_image = nn.Conv2d(channels, widths[0], 1, bias=False)
        he_init(self.from_image)
        stages: list[nn.Module] = []
        for index, stage_width in enumerate(widths):
            layers: list[nn.Module] = [ResidualBlock(stage_width, expansion, group_width, total) for _ in range(blocks)]
            if index + 1 < len(widths):
                layers.append(Resample(up=False))
                if widths[index + 1] != stage_width:
                    transition = nn.Conv2d(stage_width, widths[index + 1], 1, bias=False)
                    he_init(transition)
                    layers.append(transition)
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        # a depthwise base x base convolution with no padding: one learned map per channel, summed against it
        self.basis = nn.Parameter(torch.randn(widths[-1], base, base) / base)
        self.to_logit = nn.Linear(widths[-1], 1, bias=False)
        he_init(self.to_logit)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = (self.stages(self.from_image(x)) * self.basis).sum(dim=(2, 3))
        return self.to_logit(features).flatten()

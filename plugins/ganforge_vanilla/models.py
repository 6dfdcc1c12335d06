"""Fully connected generator and discriminator for data of any shape (images are flattened)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from ganforge.data import DataSpec
from ganforge.errors import GanforgeError
from ganforge.spectral import spectral_normalised


def _check_widths(hidden: int, depth: int, growth: int) -> None:
    if hidden < 1 or depth < 1 or growth < 1:
        raise ValueError("hidden, depth and growth must be at least 1")


class MLPGenerator(nn.Module):
    """G(z; θg): noise z -> one example, widening ``hidden``, growth·hidden, growth²·hidden, ... over ``depth`` layers.

    ``norm="batch"`` puts BatchNorm before each activation (as in DCGAN and PacGAN's 2-D generator): it keeps
    every layer's units active and lets G cut sharply between the regions of z that go to different modes.
    ``norm="images"`` does so on image data only: on the 2-D mixtures its noise scatters G's points off the modes.
    ``slope`` 0 makes the LeakyReLUs plain ReLUs. Images come out through tanh, into the [-1, 1] range the data
    is scaled to; points come out unbounded, in units of the data's std (``spec.scale``), so that a network of
    the same init and learning rate fits a mixture of radius 1 and one of radius 4 alike.

    ``init="kaiming"`` draws the weights as He et al. (2015) do for ReLU networks (biases 0), which keeps z's unit
    variance through every layer, so G's first samples already spread over a region of the data's scale; PyTorch's
    default init shrinks the signal by about 0.4 per layer, and G starts as a point near 0 that takes thousands of
    steps to unfold.
    """

    def __init__(
        self,
        noise_dim: int,
        spec: DataSpec,
        hidden: int = 256,  # units of the first hidden layer
        depth: int = 3,  # hidden layers
        slope: float = 0.2,  # negative slope of the LeakyReLUs; 0: ReLU
        growth: int = 2,  # factor between the widths of consecutive hidden layers
        norm: Literal["none", "batch", "images"] = "none",  # batch: BatchNorm before each activation (DCGAN, PacGAN's 2-D G); images: on image data only
        init: Literal["default", "kaiming"] = "default",  # kaiming: He et al.'s init, G's first samples spread at the data's scale
    ):
        super().__init__()
        _check_widths(hidden, depth, growth)
        self.spec = spec
        self.scale = spec.scale
        widths = [noise_dim] + [hidden * growth**i for i in range(depth)]
        batch_norm = norm == "batch" or (norm == "images" and spec.is_image)
        layers: list[nn.Module] = []
        for width_in, width_out in zip(widths, widths[1:]):
            if batch_norm:  # the norm's shift makes the linear layer's bias redundant
                layers += [nn.Linear(width_in, width_out, bias=False), nn.BatchNorm1d(width_out)]
            else:
                layers.append(nn.Linear(width_in, width_out))
            layers.append(nn.LeakyReLU(slope))
        layers.append(nn.Linear(widths[-1], spec.size))
        if spec.is_image:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)
        if init == "kaiming":
            linears = [layer for layer in layers if isinstance(layer, nn.Linear)]
            for linear in linears:
                nonlinearity = "linear" if linear is linears[-1] else "leaky_relu"  # the output layer has none
                nn.init.kaiming_normal_(linear.weight, a=slope, nonlinearity=nonlinearity)
                if linear.bias is not None:
                    nn.init.zeros_(linear.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (self.net(z) * self.scale).view(-1, *self.spec.shape)


class Maxout(nn.Module):
    """A maxout layer (Goodfellow et al. 2013): each of ``width_out`` units is the largest of ``pieces`` linear maps."""

    def __init__(self, width_in: int, width_out: int, pieces: int):
        super().__init__()
        self.pieces = pieces
        self.linear = nn.Linear(width_in, width_out * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # max rather than amax: its backward routes each gradient to the one winning piece by index, which costs
        # about 40% less than amax's, which splits the gradient among tied pieces (a tie has probability zero here)
        return self.linear(x).unflatten(-1, (-1, self.pieces)).max(-1).values


class MLPDiscriminator(nn.Module):
    """D(x; θd) as a logit: D(x) = sigmoid(logit) is the probability that x is real.

    It reads points in units of the data's std (``spec.scale``), as :class:`MLPGenerator` writes them.
    Narrows growth^(depth-1)·hidden, ..., growth·hidden, hidden over ``depth`` layers, mirroring
    :class:`MLPGenerator`; each hidden layer is a linear map and a LeakyReLU of ``slope``, or with ``maxout`` k > 1
    a maxout layer of k pieces (as in PacGAN's and Goodfellow et al.'s discriminators). Returning the logit rather
    than the probability lets losses use the numerically stable log-sigmoid.

    ``pack`` m > 1 is PacGAN's packing (Lin et al. 2018): D judges m examples at once, so a batch of N examples
    (N divisible by m) gives N/m logits. Real packs hold only real examples and fake packs only generated ones;
    seeing m at a time lets D notice when G's samples lack diversity. By default the m examples are concatenated
    into one input, as in the paper; with ``shared`` s > 0 each example first goes through the first s hidden
    layers on its own (the same weights for all m) and the pack is joined after them, so D can learn what one
    good example looks like once rather than separately for each position in the pack.

    ``dropout`` drops hidden units and ``input_dropout`` input values in training, as Goodfellow et al.'s MNIST
    discriminator did (0.5 and 0.2); ``dropout_on="images"`` keeps them to image data. ``spectral_norm`` divides every layer's weight by its largest singular value
    (Miyato et al. 2018, see :mod:`ganforge.spectral`).
    """

    def __init__(
        self,
        spec: DataSpec,
        hidden: int = 256,  # units of the last hidden layer
        depth: int = 3,  # hidden layers
        slope: float = 0.2,  # negative slope of the LeakyReLUs
        dropout: float = 0.0,  # dropout probability after each hidden layer
        pack: int = 1,  # PacGAN's m: examples D judges at once
        growth: int = 2,  # factor between the widths of consecutive hidden layers (narrowing towards the logit)
        maxout: int = 1,  # k > 1: maxout layers of k pieces instead of linear + LeakyReLU
        shared: int = 0,  # with pack > 1: the first s hidden layers see each example alone, with shared weights
        input_dropout: float = 0.0,  # dropout probability on the input values (Goodfellow et al.: 0.2)
        spectral_norm: bool = False,  # Miyato et al. 2018: every layer's weight over its largest singular value
        dropout_on: Literal["any", "images"] = "any",  # images: the dropouts on image data only (not the 2-D mixtures)
    ):
        super().__init__()
        _check_widths(hidden, depth, growth)
        if dropout_on == "images" and not spec.is_image:  # on the mixtures dropout keeps D from finding the modes
            dropout = input_dropout = 0.0
        if not (0.0 <= dropout < 1.0 and 0.0 <= input_dropout < 1.0):
            raise ValueError("dropout and input_dropout must be in [0, 1)")
        if pack < 1 or maxout < 1:
            raise ValueError("pack and maxout must be at least 1")
        if not 0 <= shared <= depth:
            raise ValueError(f"shared must be between 0 and depth ({depth})")
        self.pack = pack
        self.scale = spec.scale
        widths = [spec.size] + [hidden * growth**i for i in reversed(range(depth))]
        alone: list[nn.Module] = [nn.Dropout(input_dropout)] if input_dropout else []  # the first ``shared`` layers, applied to every example on its own
        joined: list[nn.Module] = []  # the rest, applied to the concatenated pack
        for index, (width_in, width_out) in enumerate(zip(widths, widths[1:])):
            layers = alone if index < shared else joined
            width_in *= pack if index == shared else 1  # the first layer after the join sees all m examples
            layers += [Maxout(width_in, width_out, maxout)] if maxout > 1 else [nn.Linear(width_in, width_out), nn.LeakyReLU(slope)]
            if dropout:
                layers.append(nn.Dropout(dropout))
        joined.append(nn.Linear(widths[-1] * (pack if shared == depth else 1), 1))
        self.each = nn.Sequential(*alone)
        self.net = nn.Sequential(*joined)
        if spectral_norm:
            spectral_normalised(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(x) % self.pack:
            raise GanforgeError(
                f"the discriminator packs {self.pack} examples per input but got a batch of {len(x)}; "
                f"use a --batch-size divisible by {self.pack}"
            )
        features = self.each(x.flatten(1) / self.scale)
        # -1 for the batch: an exported (traced) D keeps its batch dimension free
        return self.net(features.reshape(-1, self.pack * features.shape[1])).squeeze(1)

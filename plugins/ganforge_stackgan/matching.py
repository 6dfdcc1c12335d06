"""Image-text matching: the objective StackGAN's text encoder is trained with.

StackGAN reads captions through the char-CNN-RNN of Reed et al. (2016, "Learning Deep Representations of
Fine-Grained Visual Descriptions"), trained beforehand so that a caption's embedding scores high against the
features of its own image and low against other images'. A text encoder learned here (``text-gru``) gets the same
job: an image encoder (:class:`ImageEncoder`, a small conv stack) and the text encoder map an image and a caption
into one space, and :func:`matching_loss` is Reed et al.'s symmetric objective (image → text and text → image) in
its softmax form (as CLIP writes it) over the minibatch: each image must pick its caption among the minibatch's
captions, and each caption its image.

Captioned data repeats captions ("a thick seven leaning right" describes many sevens), so captions with identical
tokens count as correct answers together rather than as one right and the rest wrong.

Why not D's loss alone (as this recipe first did): the matching-aware discriminator also rewards telling a
caption's image from another's, but its gradient reaches the encoder through a network that is itself playing a
moving game. On captioned MNIST (stage I only, widths 32, 1,248 steps, one seed) the encoder learned through D gave
class agreement 49.8% and thickness correlation 0.67; learned by this objective, 59.2% and 0.78
(benchmarks/README.md).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.data import DataSpec
from ganforge_dcgan.models import conv_plan, image_shape


class ImageEncoder(nn.Module):
    """Images -> vectors in the text embedding's space: stride-2 convs (LeakyReLU), then a linear map."""

    def __init__(self, spec: DataSpec, dim: int, width: int = 32):
        super().__init__()
        channels, size = image_shape(spec, "the stackgan image encoder")
        base, steps = conv_plan(size, "the stackgan image encoder")
        layers: list[nn.Module] = []
        width_in = channels
        for step in range(steps):
            width_out = width * 2**step
            layers += [nn.Conv2d(width_in, width_out, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            width_in = width_out
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.out = nn.Linear(width_in * base * base, dim)
        self.log_scale = nn.Parameter(torch.tensor(math.log(10.0)))  # the matching logits' learned scale, as a log

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(images))


def matching_loss(image_vectors: torch.Tensor, text_vectors: torch.Tensor, tokens: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric softmax matching of N images with their N captions (rows pair up), on cosine similarities.

    ``tokens`` (N, L): captions with equal rows are all right answers for one another's images. ``log_scale``: the
    log of the logits' scale (a learned inverse temperature, capped at 100 as CLIP does).
    """
    images = F.normalize(image_vectors.float(), dim=1)
    texts = F.normalize(text_vectors.float(), dim=1)
    logits = log_scale.exp().clamp(max=100.0) * images @ texts.T
    same = (tokens[:, None, :] == tokens[None, :, :]).all(dim=2).float()  # (N, N), 1 on the diagonal at least
    target = same / same.sum(dim=1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))

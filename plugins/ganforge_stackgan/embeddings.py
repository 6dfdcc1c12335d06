"""Conditioning embeddings φ for StackGAN: what describes the example a generator should draw.

The paper embeds captions with a pretrained char-CNN-RNN text encoder; ``onehot`` embeds class labels as fixed
one-hot codes, which work offline for any labelled dataset. A text embedding plugs in as another ``embedding``
component (see :func:`ganforge.hookspecs.register_embeddings`): a module that maps the batch's labels (caption
indices) to its pretrained vectors. Embeddings are fixed: no variant trains them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.data import DataSpec
from ganforge.errors import GanforgeError


class OneHotEmbedding(nn.Module):
    """Class y -> the one-hot vector e_y, of one dimension per class."""

    def __init__(self, spec: DataSpec):
        super().__init__()
        if spec.num_classes < 2:
            raise GanforgeError("the onehot embedding needs a labelled dataset (such as mnist or fashion-mnist); this one has no classes")
        self.dim = spec.num_classes

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        return F.one_hot(labels, self.dim).float()

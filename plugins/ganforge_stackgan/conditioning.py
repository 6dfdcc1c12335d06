"""Conditioning augmentation (Zhang et al. 2017, section 3.1).

Instead of feeding the embedding φ of the condition (a caption, or here a class) to the generator as a fixed
vector, StackGAN draws the conditioning vector ĉ from a Gaussian N(μ(φ), diag σ²(φ)) whose mean and variance are
learned from φ: ĉ = μ + σ ⊙ ε with ε ~ N(0, I). The sampling yields more conditioning points around each
embedding, which smooths the conditioning manifold that few training pairs cover; a penalty on the Kullback-Leibler
divergence of that Gaussian from N(0, I) keeps it from collapsing to a point or drifting away:

    D_KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σⱼ (μⱼ² + σⱼ² − 1 − log σⱼ²)

added to G's loss with weight λ (1 in the paper). ganforge sums over the dimensions, as the formula does, and
averages over the minibatch (the reference code also averages over the dimensions, i.e. its λ is λ / dim).
At sampling time (eval mode) ĉ is the mean μ, so that fixed-noise grids are comparable from epoch to epoch.
"""

from __future__ import annotations

import torch
from torch import nn


def kl_divergence(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    """D_KL(N(mean, diag exp(log_variance)) ‖ N(0, I)) per example, averaged over the minibatch."""
    mean, log_variance = mean.float(), log_variance.float()
    return 0.5 * (mean.square() + log_variance.exp() - 1 - log_variance).sum(dim=1).mean()


class ConditioningAugmentation(nn.Module):
    """φ -> (ĉ, μ, log σ²): a fully connected layer gives μ and log σ², and ĉ is drawn around μ while training."""

    def __init__(self, embedding_dim: int, condition_dim: int):
        super().__init__()
        self.fc = nn.Linear(embedding_dim, 2 * condition_dim)

    def forward(self, embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, log_variance = self.fc(embedding).chunk(2, dim=1)
        if not self.training:
            return mean, mean, log_variance
        return mean + torch.randn_like(mean) * (0.5 * log_variance).exp(), mean, log_variance

"""Conditioning augmentation (Zhang et al. 2017, section 3.1).

Instead of feeding the embedding φ of the condition (a caption, or here a class) to the generator as a fixed
vector, StackGAN draws the conditioning vector ĉ from a Gaussian N(μ(φ), diag σ²(φ)) whose mean and variance are
learned from φ: ĉ = μ + σ ⊙ ε with ε ~ N(0, I). The sampling yields more conditioning points around each
embedding, which smooths the conditioning manifold that few training pairs cover; a penalty on the Kullback-Leibler
divergence of that Gaussian from N(0, I) keeps it from collapsing to a point or drifting away:

    D_KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σⱼ (μⱼ² + σⱼ² − 1 − log σⱼ²)

:func:`kl_divergence` is that sum, averaged over the minibatch. The recipe adds it to G's loss divided by the
number of dimensions, as the authors' code does (their λ = 1 multiplies the mean over the dimensions).

ĉ is drawn at sampling time too, as in the authors' test code: G was trained on ĉ spread around μ, not on μ.
Passing ``epsilon`` fixes the draw, so that sample grids from fixed inputs are comparable from epoch to epoch.
The fully connected layer keeps PyTorch's default initialisation: with sparse one-hot embeddings, DCGAN's
N(0, 0.02) weights would leave μ about 0.02 in size, drowned by ε, and G would learn to ignore the condition.
"""

from __future__ import annotations

import torch
from torch import nn


def kl_divergence(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    """D_KL(N(mean, diag exp(log_variance)) ‖ N(0, I)) per example, averaged over the minibatch."""
    mean, log_variance = mean.float(), log_variance.float()
    return 0.5 * (mean.square() + log_variance.exp() - 1 - log_variance).sum(dim=1).mean()


class ConditioningAugmentation(nn.Module):
    """φ -> (ĉ, μ, log σ²): a fully connected layer gives μ and log σ², and ĉ = μ + σ ⊙ ε."""

    def __init__(self, embedding_dim: int, condition_dim: int):
        super().__init__()
        self.dim = condition_dim
        self.fc = nn.Linear(embedding_dim, 2 * condition_dim)

    def forward(
        self, embedding: torch.Tensor, epsilon: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``epsilon`` (N, dim) fixes the draw; None draws ε ~ N(0, I)."""
        mean, log_variance = self.fc(embedding.to(self.fc.weight.dtype)).chunk(2, dim=1)
        epsilon = torch.randn_like(mean) if epsilon is None else epsilon.to(mean.dtype)
        return mean + epsilon * (0.5 * log_variance).exp(), mean, log_variance

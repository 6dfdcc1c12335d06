"""Hinge loss (Lim & Ye 2017; Miyato et al. 2018, as used by SN-GAN, SAGAN and BigGAN).

    D minimises E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]        G minimises −E[D(G(z))]

D only cares about examples inside the margin, so it stops pushing on samples it already separates well. D's
outputs are unbounded scores here, not probabilities: they are reported as ``critic_real`` and ``critic_fake``.
``r1_gamma`` > 0 adds the R1 penalty to D's loss, ``r2_gamma`` > 0 the R2 penalty.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganforge_losses.penalties import R1Option


class HingeLoss(R1Option):
    """Hinge loss: D's margin of 1 on both sides, G raises D's score on its samples."""

    def __init__(self, r1_gamma: float = 0.0, r2_gamma: float = 0.0):
        super().__init__(r1_gamma, r2_gamma)

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]."""
        return F.relu(1 - real_logits.float()).mean() + F.relu(1 + fake_logits.float()).mean()

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        """−E[D(G(z))]."""
        return -fake_logits.float().mean()

    def report(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict[str, torch.Tensor]:
        """D's mean scores on data and on samples."""
        return {"critic_real": real_logits.float().mean(), "critic_fake": fake_logits.float().mean()}

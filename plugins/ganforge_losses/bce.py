"""The original GAN objective of Goodfellow et al. (2014), on logits.

D maximises log D(x) + log(1 - D(G(z))). For G the paper gives two objectives:

* ``minimax`` (saturating): G minimises log(1 - D(G(z))). Its gradient vanishes while D confidently rejects
  G's samples, which is exactly the state early in training.
* ``non-saturating`` (the default): G maximises log D(G(z)), which has the same fixed point but strong
  gradients early on.

With D(x) = sigmoid(l) for a logit l, log D = -softplus(-l) and log(1 - D) = -softplus(l); computing them this
way stays finite where sigmoid saturates to exactly 0 or 1. ``r1_gamma`` > 0 adds the R1 penalty to D's loss,
``r2_gamma`` > 0 the R2 penalty.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from ganforge_losses.penalties import R1Option


class BCELoss(R1Option):
    """Binary cross-entropy on D's logits, with G's minimax or non-saturating objective."""

    def __init__(
        self,
        mode: Literal["non-saturating", "minimax"] = "non-saturating",  # G maximises log D(G(z)), or minimises log(1 − D(G(z)))
        r1_gamma: float = 0.0,  # R1 penalty weight on real data; 0: off
        r2_gamma: float = 0.0,  # R2 penalty weight on G's samples; 0: off
    ):
        super().__init__(r1_gamma, r2_gamma)
        self.mode = mode

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """-(mean log D(x) + mean log(1 - D(G(z)))): minimising it is D's maximisation."""
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        """minimax: mean log(1 - D(G(z))); non-saturating: -mean log D(G(z)). G minimises either."""
        if self.mode == "minimax":
            return -F.softplus(fake_logits).mean()
        return F.softplus(-fake_logits).mean()

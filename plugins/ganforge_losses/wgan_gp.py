"""Wasserstein GAN with gradient penalty (Gulrajani et al., "Improved Training of Wasserstein GANs", 2017).

D becomes a critic whose score difference estimates the Wasserstein-1 distance between the data and G's
distribution, provided the critic is 1-Lipschitz; instead of clipping weights (Arjovsky et al. 2017), a penalty
pulls the critic's gradient norm towards 1 on random interpolates between real and generated examples:

    D minimises E[D(G(z))] − E[D(x)] + λ E[(‖∇D(x̂)‖₂ − 1)²]        G minimises −E[D(G(z))]

with λ = ``gp_weight`` = 10. The critic takes n_critic = 5 steps per generator step (``d_steps``, used where the
variant's ``optim.d_steps`` is left at None). The paper also uses Adam with lr 1e-4 and betas (0, 0.9)
(``--lr 1e-4 --set optim.beta1=0 --set optim.beta2=0.9``) and a critic without batch normalisation
(``--set discriminator.norm=layer`` for dcgan). The critic's estimate E[D(x)] − E[D(G(z))] is reported as
``wasserstein``; it should fall as G improves.
"""

from __future__ import annotations

import torch

from ganforge.loss import Critic
from ganforge_losses.penalties import R1Option, gradient_penalty


class WGANGPLoss(R1Option):
    """WGAN-GP: Wasserstein critic with gradient penalty λ = 10 and 5 critic steps per G step."""

    d_steps = 5

    def __init__(
        self,
        gp_weight: float = 10.0,  # λ, the gradient penalty's weight (Gulrajani et al.'s 10)
        r1_gamma: float = 0.0,  # R1 penalty weight on real data; 0: off
        r2_gamma: float = 0.0,  # R2 penalty weight on G's samples; 0: off
    ):
        super().__init__(r1_gamma, r2_gamma)
        if gp_weight < 0:
            raise ValueError(f"gp_weight must be at least 0, got {gp_weight}")
        self.gp_weight = gp_weight

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """E[D(G(z))] − E[D(x)]; the gradient penalty comes from :meth:`penalty`."""
        return fake_logits.float().mean() - real_logits.float().mean()

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        """−E[D(G(z))]."""
        return -fake_logits.float().mean()

    def penalty(self, discriminator: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | None:
        """λ E[(‖∇D(x̂)‖₂ − 1)²], plus R1 and R2 when ``r1_gamma`` and ``r2_gamma`` > 0."""
        total = gradient_penalty(discriminator, real, fake, self.gp_weight)
        zero_centred = super().penalty(discriminator, real, fake)
        return total if zero_centred is None else total + zero_centred

    def real_sign(self, real_logits: torch.Tensor) -> None:
        """No ADA signal: D's offset is free (only differences of its outputs count), so its outputs on real data
        alone do not say whether it overfits."""
        return None

    def report(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict[str, torch.Tensor]:
        """The critic's Wasserstein estimate E[D(x)] − E[D(G(z))]."""
        return {"wasserstein": real_logits.float().mean() - fake_logits.float().mean()}

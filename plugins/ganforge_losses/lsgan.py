"""Least-squares GAN loss (Mao et al., "Least Squares Generative Adversarial Networks", 2017).

D regresses its output towards ``real_target`` (b) on data and ``fake_target`` (a) on G's samples; G pulls D's
output on its samples towards ``generator_target`` (c):

    D minimises E[(D(x) − b)²] + E[(D(G(z)) − a)²]        G minimises E[(D(G(z)) − c)²]

with the 0-1-1 coding (a = 0, b = c = 1) by default. Unlike the sigmoid cross-entropy, the squared error keeps
penalising samples that D already classifies correctly but that lie far from the data, so G's gradients do not
vanish. Mao et al. write a factor ½ before each expectation; ganforge uses the form CycleGAN (Zhu et al. 2017)
states, without it, so that its adversarial term keeps its published weight against the cycle loss. With the
default coding the optimal D gives (a + b)/2 = 1/2 on both real and generated data at the equilibrium, so D's
raw outputs are reported as D(x) and D(G(z)). ``r1_gamma`` > 0 adds the R1 penalty to D's loss, ``r2_gamma`` > 0
the R2 penalty.
"""

from __future__ import annotations

import torch

from ganforge_losses.penalties import R1Option


class LeastSquaresLoss(R1Option):
    """Least-squares (LSGAN) loss: D regresses to b on data and a on samples, G pulls towards c."""

    def __init__(
        self,
        real_target: float = 1.0,  # b: what D's output regresses to on real data
        fake_target: float = 0.0,  # a: what D's output regresses to on G's samples
        generator_target: float = 1.0,  # c: what G pulls D's output on its samples towards
        r1_gamma: float = 0.0,  # R1 penalty weight on real data; 0: off
        r2_gamma: float = 0.0,  # R2 penalty weight on G's samples; 0: off
    ):
        super().__init__(r1_gamma, r2_gamma)
        self.real_target, self.fake_target, self.generator_target = real_target, fake_target, generator_target

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """E[(D(x) − b)²] + E[(D(G(z)) − a)²]."""
        return (real_logits.float() - self.real_target).square().mean() + (fake_logits.float() - self.fake_target).square().mean()

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        """E[(D(G(z)) − c)²]."""
        return (fake_logits.float() - self.generator_target).square().mean()

    def real_sign(self, real_logits: torch.Tensor) -> torch.Tensor:
        """ADA's signal: D's output against the midpoint of its two targets (0.5), where it tells nothing apart."""
        return torch.sign(real_logits - (self.real_target + self.fake_target) / 2)

    def report(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict[str, torch.Tensor]:
        """Mean raw D(x) and D(G(z)), heading for (a + b)/2 at the equilibrium."""
        return {"d_real": real_logits.float().mean(), "d_fake": fake_logits.float().mean()}

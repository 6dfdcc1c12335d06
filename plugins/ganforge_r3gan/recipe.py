"""The R3GAN recipe: RpGAN + R1 + R2 with annealed γ and β2, on R3GAN's networks, trained like the vanilla GAN."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge.config import between, below
from ganforge.data import Batch
from ganforge.device import Precision
from ganforge.schedule import cosine
from ganforge_vanilla.recipe import ALGORITHM, Vanilla

GAMMA = 0.05  # R1's and R2's γ at the start: the paper's preset for small images (CIFAR-10)
PENALTIES = ("r1_gamma", "r2_gamma")


@dataclass
class AnnealConfig:
    """Settings of the ``anneal`` section: where R3GAN's annealed settings end, reached along half a cosine over
    the run (the paper lays its schedules over a fixed number of images; here over the run's length)."""

    gamma_final: float = between(0.0, 1.0, 0.1)  # R1/R2's γ at the end as a fraction of loss.r1_gamma / r2_gamma (the paper's 0.05 → 0.005)
    beta2_final: float = below(0.0, 1.0, 0.99)  # Adam's β2 at the end; it starts at optim.beta2 (the paper's 0.9 → 0.99)


class R3GAN(Vanilla):
    """Huang et al. 2024: RpGAN + R1 + R2 on residual, normalisation-free networks, γ and β2 annealed."""

    sections = {**Vanilla.sections, "anneal": AnnealConfig}
    defaults = {
        **ALGORITHM,
        "generator.name": "r3gan",
        "discriminator.name": "r3gan",
        "generator.width": 64,  # channels at the lowest resolution (the paper's CIFAR-10: 768), halving above 7 px
        "discriminator.width": 64,
        "generator.halve_above": 7,  # 28 px: 64, 32, 16 channels at 7, 14, 28 px (the paper keeps 768 up to 32 px)
        "discriminator.halve_above": 7,
        "loss.name": "rpgan",
        "loss.r1_gamma": GAMMA,
        "loss.r2_gamma": GAMMA,
        "noise.dim": 64,  # the paper's z: 64 values from N(0, I)
        "optim.lr": 2e-4,  # falls to 5e-5 along the cosine schedule below
        "optim.beta1": 0.0,
        "optim.beta2": 0.9,  # rises to anneal.beta2_final
        "optim.d_steps": 1,
        "schedule.hold": 0.0,
        "schedule.final": 0.25,  # 2e-4 → 5e-5
        "schedule.shape": "cosine",
        "train.batch_size": 64,
    }

    def build(self) -> None:
        super().build()
        # the penalties' γ as configured, where the loss has them (any built-in loss does): the start of the anneal
        self.gamma_start = {name: getattr(self.loss, name) for name in PENALTIES if hasattr(self.loss, name)}

    def anneal(self) -> None:
        """Set γ and Adam's β2 for :attr:`position`, as the core sets the learning rates."""
        anneal = self.config.anneal
        for name, start in self.gamma_start.items():
            setattr(self.loss, name, cosine(start, start * anneal.gamma_final, self.position))
        beta2 = cosine(self.config.optim.beta2, anneal.beta2_final, self.position)
        for optimizer in self.optimizers.values():
            for group in optimizer.param_groups:
                group["betas"] = (group["betas"][0], beta2)

    def train_step(self, batch: Batch, precision: Precision) -> dict[str, torch.Tensor]:
        self.anneal()
        return super().train_step(batch, precision)

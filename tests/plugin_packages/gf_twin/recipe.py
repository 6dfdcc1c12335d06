"""``twin``: a mixture of two generators (in the spirit of MGAN, Hoang et al. 2018, and MAD-GAN, Ghosh et al. 2018).

z -> G1 for the first half of every batch and G2 for the second half; one discriminator judges the mixture
against the data with the chosen loss (bce by default). Each network has its own Adam optimizer. Every batch of
outputs therefore comes from both generators, so ``generators`` names both: EMA must average the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge import Variant, frozen
from ganforge.loss import real_logits_for_generator
from ganforge.variant import statistics_frozen


@dataclass
class NoiseSettings:
    """Settings of the ``noise`` section."""

    dim: int = 16  # size of z ~ N(0, I), shared by both generators

    def __post_init__(self):
        if self.dim < 1:
            raise ValueError(f"noise.dim must be at least 1, got {self.dim}")


@dataclass
class OptimSettings:
    """Settings of the ``optim`` section: one Adam per network."""

    lr: float = 2e-4  # learning rate of each generator (and of D unless d_lr is set)
    d_lr: float | None = None  # D's own learning rate; None: lr
    beta1: float = 0.5  # Adam β1
    beta2: float = 0.999  # Adam β2

    def __post_init__(self):
        if self.lr <= 0 or (self.d_lr is not None and self.d_lr <= 0):
            raise ValueError("optim.lr and optim.d_lr must be positive")


class Twin(Variant):
    """Two generators, each making half of every batch, against one discriminator."""

    components = {"generator": "generator", "discriminator": "discriminator", "loss": "loss"}
    sections = {"noise": NoiseSettings, "optim": OptimSettings}
    defaults = {"generator.name": "mlp", "discriminator.name": "mlp", "loss.name": "bce", "data.name": "ring8"}
    generators = ("generator_1", "generator_2")  # every network behind the outputs

    def build(self):
        supplied = dict(noise_dim=self.config.noise.dim, spec=self.spec)
        for name in self.generators:  # the same generator settings, independent weights
            self.networks[name] = self.make("generator", **supplied)
        self.networks["discriminator"] = self.make("discriminator", **supplied)
        self.loss = self.make("loss")

    def configure_optimizers(self):
        optim = self.config.optim
        for name, network in self.networks.items():
            lr = optim.d_lr if name == "discriminator" and optim.d_lr is not None else optim.lr
            self.optimizers[name] = torch.optim.Adam(network.parameters(), lr=lr, betas=(optim.beta1, optim.beta2))

    def halves(self, z):
        """z split into G1's part (the first half, rounded down) and G2's part."""
        return z[: len(z) // 2], z[len(z) // 2 :]

    def noise(self, count, generator=None, device=None):
        return torch.randn(count, self.config.noise.dim, generator=generator, device=device or self.device)

    def train_step(self, batch, precision):
        discriminator = self.networks["discriminator"]
        real = batch.data
        with precision.autocast():
            with torch.no_grad():  # the generators are not updated in D's step
                fake = self.generate(self.noise(len(real)))
            real_logits = discriminator(real)
            fake_logits = discriminator(fake)
            loss_d = self.loss.discriminator_loss(real_logits, fake_logits)
        with statistics_frozen(discriminator):  # the penalty's pass of D must not move its running statistics
            penalty = self.loss.penalty(discriminator, real, fake)
        if penalty is not None:
            loss_d = loss_d + penalty
        precision.step(loss_d, self.optimizers["discriminator"])

        # each generator is scored on its own half of a fresh batch and updated by its own optimizer
        losses_g = []
        with frozen(discriminator):
            for name, z, paired in zip(self.generators, self.halves(self.noise(len(real))), self.halves(real)):
                with precision.autocast():
                    # relativistic losses (ragan, rpgan) compare with D's logits on real data of the same size
                    paired_logits = real_logits_for_generator(self.loss, discriminator, paired)
                    loss_g = self.loss.generator_loss(discriminator(self.networks[name](z)), paired_logits)
                precision.step(loss_g, self.optimizers[name])
                losses_g.append(loss_g.detach())

        metrics = {"loss_d": loss_d.detach(), "loss_g": (losses_g[0] + losses_g[1]) / 2}
        if penalty is not None:
            metrics["penalty"] = penalty.detach()
        return metrics | self.loss.report(real_logits.detach(), fake_logits.detach())

    def sample_inputs(self, count, generator, data):
        return self.noise(count, generator, "cpu")

    def generate(self, inputs):
        first, second = self.halves(inputs.to(self.device))
        return torch.cat([self.networks["generator_1"](first), self.networks["generator_2"](second)])

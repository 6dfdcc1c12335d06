"""The vanilla GAN recipe (Goodfellow et al., "Generative Adversarial Nets", 2014).

G(z; θg) maps noise z ~ p_z to data; D(x; θd) gives the probability that x is real. Training alternates, as in
the paper's Algorithm 1: ``k`` discriminator steps, each on a fresh minibatch of data and of noise, with G frozen;
then one generator step with D frozen. At the game's equilibrium G reproduces the data distribution and
D(x) = D(G(z)) = 1/2 everywhere, which is why training reports both means.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge.config import at_least
from ganforge.data import Batch, TensorData
from ganforge.device import Precision
from ganforge.noise import NoiseConfig, sample_noise
from ganforge.variant import Variant, frozen


@dataclass
class OptimConfig:
    """Settings of the ``optim`` section: Adam for both networks."""

    lr: float = at_least(0.0, 2e-4)  # learning rate of G and D
    beta1: float = at_least(0.0, 0.5)  # Adam β1; 0.5 (Radford et al.) oscillates less than the usual 0.9 in GANs
    beta2: float = at_least(0.0, 0.999)  # Adam β2
    d_steps: int = at_least(1, 1)  # Goodfellow's k: discriminator steps per generator step


class Vanilla(Variant):
    """Goodfellow et al. 2014: G(z) and D(x) trained in turn, k D steps per G step."""

    components = {"generator": "generator", "discriminator": "discriminator", "loss": "loss"}
    sections = {"noise": NoiseConfig, "optim": OptimConfig}
    defaults = {"generator.name": "mlp", "discriminator.name": "mlp", "loss.name": "bce", "data.name": "mnist"}

    @property
    def batches_per_step(self) -> int:
        return self.config.optim.d_steps

    def build(self) -> None:
        supplied = dict(noise_dim=self.config.noise.dim, spec=self.spec)
        self.networks["generator"] = self.make("generator", **supplied)
        self.networks["discriminator"] = self.make("discriminator", **supplied)
        self.loss = self.make("loss")

    def configure_optimizers(self) -> None:
        optim = self.config.optim
        for name, network in self.networks.items():
            self.optimizers[name] = torch.optim.Adam(
                network.parameters(), lr=optim.lr, betas=(optim.beta1, optim.beta2), fused=self.device.type == "cuda" or None
            )

    def noise(self, count: int) -> torch.Tensor:
        return sample_noise(self.config.noise, count, self.device)

    def train_step(self, batch: Batch, precision: Precision) -> dict[str, torch.Tensor]:
        generator, discriminator = self.networks["generator"], self.networks["discriminator"]
        for real in batch.data.chunk(self.batches_per_step):
            with precision.autocast():
                with torch.no_grad():  # G is frozen during D's step: no graph through it at all
                    fake = generator(self.noise(len(real)))
                real_logits = discriminator(real)
                fake_logits = discriminator(fake)
                loss_d = self.loss.discriminator_loss(real_logits, fake_logits)
            precision.step(loss_d, self.optimizers["discriminator"])

        with frozen(discriminator), precision.autocast():
            loss_g = self.loss.generator_loss(discriminator(generator(self.noise(len(real)))))
        precision.step(loss_g, self.optimizers["generator"])

        return {
            "loss_d": loss_d.detach(),
            "loss_g": loss_g.detach(),
            "d_real": torch.sigmoid(real_logits.detach().float()).mean(),
            "d_fake": torch.sigmoid(fake_logits.detach().float()).mean(),
        }

    def sample_inputs(self, count: int, generator: torch.Generator, data: TensorData | None) -> torch.Tensor:
        return sample_noise(self.config.noise, count, "cpu", generator)

    def generate(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.networks["generator"](inputs.to(self.device))

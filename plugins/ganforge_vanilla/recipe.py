"""The vanilla GAN recipe (Goodfellow et al., "Generative Adversarial Nets", 2014).

G(z; θg) maps noise z ~ p_z to data; D(x; θd) gives the probability that x is real. Training alternates, as in
the paper's Algorithm 1: ``k`` discriminator steps, each on a fresh minibatch of data and of noise, with G frozen;
then one generator step with D frozen. At the game's equilibrium G reproduces the data distribution and
D(x) = D(G(z)) = 1/2 everywhere, which is why training reports both means.

The loss is a component (``--set loss.name=lsgan``, ``hinge``, ``wgan-gp``, the relativistic ``ragan`` and
``rpgan``): D's step adds the loss's penalty (WGAN-GP's gradient penalty, R1 and R2) computed in fp32, and
``optim.d_steps`` left at None takes the loss's own number of D steps (WGAN-GP's n_critic = 5, else 1).

The default networks are ganforge's MLPs (G 256-512-1024, D 1024-512-256, LeakyReLU 0.2), which train on images
and on the 2-D mixtures alike, with batch norm before each of G's activations (as the most-copied tutorials have
it) and dropout 0.3 after each of D's hidden layers (the paper's D used dropout), minibatches of 32, for 20 epochs. Without them the
MLP GAN collapsed on MNIST's 10,000 test images (a few digits only, the rarest at 0.01% of the samples); each
alone left the rarest digit under 5% (batch norm: 2.9%); together every digit is drawn (measurements in
benchmarks/README.md, "The Quickstart"). The paper's own MNIST networks (G two ReLU layers of 1,200 units, D two maxout
layers of 240 units of 5 pieces with dropout 0.5) are a settings file, ``examples/configs/goodfellow-mnist.toml``:
they draw better images (benchmarks/README.md) but fail on the 2-D mixtures and cost more per step, so they are
not the default. Like every variant it samples from a moving average of G's weights (``ema.decay``); Adam at 2e-4
with β1 0.5 replaces the paper's SGD with momentum.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge.config import at_least, below
from ganforge.data import Batch, TensorData
from ganforge.device import Precision
from ganforge.loss import real_logits_for_generator
from ganforge.noise import NoiseConfig, sample_noise
from ganforge.variant import Variant, frozen, statistics_frozen


@dataclass
class OptimConfig:
    """Settings of the ``optim`` section: Adam for both networks."""

    lr: float = at_least(0.0, 2e-4)  # learning rate of G (and of D unless d_lr is set)
    d_lr: float | None = at_least(0.0, None)  # D's own learning rate (Heusel et al.'s two time-scale rule); None: lr
    beta1: float = below(0.0, 1.0, 0.5)  # Adam β1; 0.5 (Radford et al.) oscillates less than the usual 0.9 in GANs
    beta2: float = below(0.0, 1.0, 0.999)  # Adam β2
    d_steps: int | None = at_least(1, None)  # Goodfellow's k, D steps per G step; None: the loss's (wgan-gp 5, else 1)


# The defaults of the algorithm, which the recipes built on it (dcgan, cgan, pacgan, sngan) share
ALGORITHM = {"loss.name": "bce", "data.name": "mnist"}

class Vanilla(Variant):
    """Goodfellow et al. 2014: G(z) and D(x) trained in turn, k D steps per G step."""

    components = {"generator": "generator", "discriminator": "discriminator", "loss": "loss"}
    sections = {"noise": NoiseConfig, "optim": OptimConfig}
    defaults = {
        **ALGORITHM,
        "generator.name": "mlp",
        "discriminator.name": "mlp",
        # on images G keeps every unit active and cuts sharply between the regions of z of different digits; on the 2-D
        # mixtures batch norm's noise scatters the points (and the README's f-GAN example diverges), so none there
        "generator.norm": "images",
        "discriminator.dropout": 0.3,  # D cannot memorise the few images a digit has, so G is pushed towards all of them
        "discriminator.dropout_on": "images",  # on the 2-D mixtures dropout keeps D (and the f-GAN example) off the modes
        "train.batch_size": 32,  # twice the steps of 64 in the same epochs: recall 0.46 against 0.23 at 20 epochs
        "train.epochs": 20,  # 6,240 steps on MNIST's test split
    }

    @property
    def batches_per_step(self) -> int:
        return self.config.optim.d_steps or self.loss.d_steps

    def build(self) -> None:
        supplied = dict(noise_dim=self.config.noise.dim, spec=self.spec)
        self.networks["generator"] = self.make("generator", **supplied)
        self.networks["discriminator"] = self.make("discriminator", **supplied)
        self.loss = self.make("loss")

    def configure_optimizers(self) -> None:
        optim = self.config.optim
        for name, network in self.networks.items():
            lr = optim.d_lr if name == "discriminator" and optim.d_lr is not None else optim.lr
            # fused: one kernel per update for all parameters (CPU and CUDA); also lets a NaN update skip on the device
            self.optimizers[name] = torch.optim.Adam(
                network.parameters(), lr=lr, betas=(optim.beta1, optim.beta2), fused=True
            )

    def noise(self, count: int) -> torch.Tensor:
        return sample_noise(self.config.noise, count, self.device)

    def fake(self, count: int, labels: torch.Tensor | None) -> torch.Tensor:
        """G(z) for ``count`` fresh draws of z. Conditional variants override this and use ``labels``."""
        return self.networks["generator"](self.noise(count))

    def discriminate(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """D's logits for ``x``. Conditional variants override this and use ``labels``."""
        return self.networks["discriminator"](x)

    def train_step(self, batch: Batch, precision: Precision) -> dict[str, torch.Tensor]:
        k = self.batches_per_step
        reals = batch.data.chunk(k)
        labels = [None] * k if batch.labels is None else batch.labels.chunk(k)
        for real, label in zip(reals, labels):
            with precision.autocast():
                with torch.no_grad():  # G is frozen during D's step: no graph through it at all
                    fake = self.fake(len(real), label)
                real_logits = self.discriminate(real, label)
                fake_logits = self.discriminate(fake, label)
                loss_d = self.loss.discriminator_loss(real_logits, fake_logits)
            with statistics_frozen(self.networks["discriminator"]):
                penalty = self.loss.penalty(lambda x: self.discriminate(x, label), real, fake)
            if penalty is not None:
                loss_d = loss_d + penalty
            precision.step(loss_d, self.optimizers["discriminator"])

        with frozen(self.networks["discriminator"]), precision.autocast():
            # relativistic losses compare with D's logits on the real chunk G's step pairs with (None for the others)
            paired = real_logits_for_generator(self.loss, lambda x: self.discriminate(x, label), real)
            loss_g = self.loss.generator_loss(self.discriminate(self.fake(len(real), label), label), paired)
        precision.step(loss_g, self.optimizers["generator"])

        metrics = {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}
        if penalty is not None:
            metrics["penalty"] = penalty.detach()
        return metrics | self.loss.report(real_logits.detach(), fake_logits.detach())

    def sample_inputs(self, count: int, generator: torch.Generator, data: TensorData | None) -> torch.Tensor:
        return sample_noise(self.config.noise, count, "cpu", generator)

    def generate(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.networks["generator"](inputs.to(self.device))

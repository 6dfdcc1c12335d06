"""The BiGAN recipe (Donahue, Krähenbühl and Darrell, "Adversarial Feature Learning", ICLR 2017), the same model as
ALI (Dumoulin et al., "Adversarially Learned Inference", ICLR 2017).

A generator G: z -> x and an encoder E: x -> z learn together against one discriminator that judges *pairs*:
D(x, z) is the probability that (x, z) is a real example with its encoding, (x, E(x)), rather than a generated
example with its noise, (G(z), z). The value function is the vanilla one on joint pairs:

    min_{G,E} max_D  E_{x ~ data}[log D(x, E(x))] + E_{z ~ p_z}[log(1 − D(G(z), z))]

At the optimum the two joint distributions match, so E inverts G: E(G(z)) = z and G(E(x)) = x. G and E are
trained with the labels inverted (the paper's practical form): they minimise D's loss with the pairs' roles
swapped, −log D(G(z), z) − log(1 − D(x, E(x))) for the bce loss, which works for any loss component.

What it shows of ganforge's plugin interface: D(x, z) is a ``discriminator`` component with a second input it
declares (:mod:`ganforge.inputs`), so augmentation (the image x alone), spectral norm and the contract suite reach
it; E is in ``generators`` (averaged like G, and exported with ``ganforge export RUN --network encoder``); one
optimizer spans G and E, which one loss updates; and a gradient penalty sees D as a function of the joint pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ganforge import Variant, frozen
from ganforge.config import at_least, below
from ganforge.data import Batch, TensorData
from ganforge.device import Precision
from ganforge.noise import NoiseConfig, sample_noise
from ganforge.variant import statistics_frozen
from ganforge_bigan.networks import Encoder


@dataclass
class EncoderConfig:
    """Settings of the ``encoder`` section: E, a fully connected network from an example to a code."""

    hidden: int = at_least(1, 512)  # units of each hidden layer of E
    depth: int = at_least(1, 2)  # hidden layers of E


@dataclass
class OptimConfig:
    """Settings of the ``optim`` section: Adam for G and E together, and for D."""

    lr: float = at_least(0.0, 2e-4)  # learning rate of G and E (one optimizer), and of D unless d_lr is set
    d_lr: float | None = at_least(0.0, None)  # D's own learning rate; None: lr
    beta1: float = below(0.0, 1.0, 0.5)  # Adam β1 (the BiGAN paper's 0.5)
    beta2: float = below(0.0, 1.0, 0.999)  # Adam β2


class BiGAN(Variant):
    """Donahue et al. 2017 / Dumoulin et al. 2017: G(z) and E(x) against a joint D(x, z)."""

    components = {"generator": "generator", "discriminator": "discriminator", "loss": "loss"}
    sections = {"noise": NoiseConfig, "encoder": EncoderConfig, "optim": OptimConfig}
    defaults = {"generator.name": "mlp", "discriminator.name": "joint-mlp", "loss.name": "bce", "data.name": "mnist"}
    generators = ("generator", "encoder")  # E is averaged like G, and its optimizer follows schedule.final
    discriminators = ("discriminator",)  # D(x, z): augmentation reaches its image input x

    def build(self) -> None:
        supplied = dict(noise_dim=self.config.noise.dim, spec=self.spec)
        self.networks["generator"] = self.make("generator", **supplied)
        self.networks["encoder"] = Encoder(self.spec, self.config.noise.dim, self.config.encoder.hidden, self.config.encoder.depth)
        self.networks["discriminator"] = self.make("discriminator", **supplied)
        self.loss = self.make("loss")

    def configure_optimizers(self) -> None:
        optim = self.config.optim
        generator_side = [*self.networks["generator"].parameters(), *self.networks["encoder"].parameters()]
        # one loss updates G and E: one optimizer spans both (precision.step takes one loss and one optimizer)
        self.optimizers["generator"] = torch.optim.Adam(generator_side, lr=optim.lr, betas=(optim.beta1, optim.beta2), fused=True)
        self.optimizers["discriminator"] = torch.optim.Adam(
            self.networks["discriminator"].parameters(), lr=optim.lr if optim.d_lr is None else optim.d_lr, betas=(optim.beta1, optim.beta2), fused=True
        )

    def noise(self, count: int) -> torch.Tensor:
        return sample_noise(self.config.noise, count, self.device)

    def train_step(self, batch: Batch, precision: Precision) -> dict[str, torch.Tensor]:
        generator, encoder, discriminator = (self.networks[name] for name in ("generator", "encoder", "discriminator"))
        real = batch.data
        with precision.autocast():
            with torch.no_grad():  # G and E are fixed in D's step: no graph through them
                z = self.noise(len(real))
                fake, code = generator(z), encoder(real)
            real_logits, fake_logits = discriminator(real, code), discriminator(fake, z)
            loss_d = self.loss.discriminator_loss(real_logits, fake_logits)
        with statistics_frozen(discriminator):  # the penalty's passes of D must not move its running statistics
            judge, real_pairs, fake_pairs = joint(discriminator, (real, code), (fake, z))
            penalty = self.loss.penalty(judge, real_pairs, fake_pairs)
        if penalty is not None:
            loss_d = loss_d + penalty
        precision.step(loss_d, self.optimizers["discriminator"])

        with frozen(discriminator), precision.autocast():
            z = self.noise(len(real))
            # inverted labels: G wants (G(z), z) taken for a real pair, E wants (x, E(x)) taken for a generated one
            loss_g = self.loss.discriminator_loss(discriminator(generator(z), z), discriminator(real, encoder(real)))
        precision.step(loss_g, self.optimizers["generator"])

        metrics = {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}
        if penalty is not None:
            metrics["penalty"] = penalty.detach()
        return metrics | self.loss.report(real_logits.detach(), fake_logits.detach())

    def sample_inputs(self, count: int, generator: torch.Generator, data: TensorData | None) -> torch.Tensor:
        return sample_noise(self.config.noise, count, "cpu", generator)

    def generate(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.networks["generator"](inputs.to(self.device))

    def encode(self, examples: torch.Tensor) -> torch.Tensor:
        """E(x): the codes of ``examples`` (float, images in [-1, 1]), on the device."""
        return self.networks["encoder"](examples.to(self.device))


def joint(
    discriminator: torch.nn.Module, real: tuple[torch.Tensor, torch.Tensor], fake: tuple[torch.Tensor, torch.Tensor]
) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor, torch.Tensor]:
    """D as a function of one input, the joint pair flattened and concatenated, and the real and fake pairs so
    joined: what a loss's ``penalty(discriminator, real, fake)`` differentiates. WGAN-GP then interpolates x and z
    together, and R1 penalises D's gradient in x and in z: BiGAN's D judges both."""
    x, z = real
    size = x[0].numel()

    def judge(pairs: torch.Tensor) -> torch.Tensor:
        return discriminator(pairs[:, :size].reshape(-1, *x.shape[1:]), pairs[:, size:])

    join = lambda pair: torch.cat([pair[0].flatten(1), pair[1].to(pair[0].dtype)], dim=1).detach()  # noqa: E731
    return judge, join(real), join(fake)

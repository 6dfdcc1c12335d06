"""The StackGAN recipe (Zhang et al., "StackGAN: Text to Photo-realistic Image Synthesis with Stacked Generative
Adversarial Networks", 2017), conditioned on a plugin-provided embedding φ (one-hot classes by default).

Stage I draws a low-resolution image from z and a conditioning vector ĉ₀ (conditioning augmentation around φ);
stage II takes that image and its own ĉ and refines it to the full resolution. Each stage has its own
discriminator, which judges image and embedding together. Training follows the paper: stage I alone for the first
``stages.stage1`` of the run (half by default), then stage II with stage I fixed for the rest. The stage is a
function of the run's position (:attr:`ganforge.Variant.position`), so a run extended with a larger
``--epochs`` never goes back to stage I. Samples show the stage trained last; evaluation always scores stage II's
full-resolution images, the only ones comparable to the data. In each step:

* D sees real images with their own embedding (real), generated images with the same embedding (fake), and real
  images with another class's embedding (wrong), so that it learns to reject images that do not match φ:
  D's loss is that of (real, fake) and of (real, wrong), averaged; with the bce loss this is the paper's
  log D(x, φ) + ½ (log(1 − D(G(z, φ), φ)) + log(1 − D(x, φ_wrong))).
* G minimises the loss's generator term plus λ·D_KL(N(μ(φ), Σ(φ)) ‖ N(0, I)) / dim(ĉ), λ = ``stages.kl_weight``
  (the KL divided by its dimensions, as the authors' code averages it).

The real images for stage I are the data average-pooled to the low resolution (``stages.upscale``: 2 for
28 → 14 or 64 → 32 pixels; the paper's 64 → 256 is 4).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganforge.config import at_least, below, between
from ganforge.data import Batch, DataSpec, TensorData
from ganforge.device import Precision
from ganforge.errors import GanforgeError
from ganforge.loss import real_logits_for_generator
from ganforge.noise import ClassInputs, NoiseConfig, sample_noise
from ganforge.variant import Variant, frozen, statistics_frozen
from ganforge_stackgan.conditioning import kl_divergence


@dataclass
class StackInputs:
    """Fixed inputs for samples: noise and classes, and the ε of each stage's conditioning augmentation."""

    classes: ClassInputs
    epsilons: tuple[torch.Tensor, torch.Tensor]  # (N, stage I's condition_dim), (N, stage II's condition_dim)


@dataclass
class StageConfig:
    """Settings of the ``stages`` section: how the two stages are sized and trained."""

    stage1: float = between(0.0, 1.0, 0.5)  # fraction of the run that trains stage I before stage II takes over
    upscale: int = at_least(2, 2)  # full resolution / stage-I resolution: 2 or 4 (the paper: 64 -> 256 is 4)
    kl_weight: float = at_least(0.0, 1.0)  # λ of the KL term of conditioning augmentation (the paper: 1)


@dataclass
class OptimConfig:
    """Settings of the ``optim`` section: Adam for each of the four networks."""

    lr: float = at_least(0.0, 2e-4)  # initial learning rate (the paper: 2e-4)
    beta1: float = below(0.0, 1.0, 0.5)  # Adam β1
    beta2: float = below(0.0, 1.0, 0.999)  # Adam β2


class StackGAN(Variant):
    """Zhang et al. 2017: stage I draws a low-res image from z and the embedding, stage II refines it."""

    components = {
        "generator": "generator",
        "refiner": "generator",
        "discriminator": "discriminator",
        "embedding": "embedding",
        "loss": "loss",
    }
    sections = {"noise": NoiseConfig, "stages": StageConfig, "optim": OptimConfig}
    generators = ("generator", "refiner")
    defaults = {
        "generator.name": "stackgan-stage1",
        "refiner.name": "stackgan-stage2",
        "discriminator.name": "stackgan",
        "embedding.name": "onehot",
        "loss.name": "bce",
        "data.name": "mnist",
    }

    def build(self) -> None:
        if self.spec.num_classes < 2:
            raise GanforgeError(
                f"stackgan conditions on embeddings of the labels, but dataset '{self.config.data.name}' has none; "
                "choose a labelled dataset such as mnist or fashion-mnist"
            )
        upscale = self.config.stages.upscale
        if not self.spec.is_image or self.spec.shape[-1] % upscale:
            raise GanforgeError(f"stackgan needs images whose size divides by stages.upscale={upscale}; the data is {self.spec.shape}")
        channels, height, width = self.spec.shape
        self.stage1_spec = DataSpec((channels, height // upscale, width // upscale), self.spec.num_classes)
        self.networks["embedding"] = embedding = self.make("embedding", spec=self.spec)
        supplied = dict(noise_dim=self.config.noise.dim, embedding_dim=embedding.dim, spec=self.stage1_spec)
        self.networks["generator"] = self.make("generator", **supplied)
        self.networks["refiner"] = self.make("refiner", embedding_dim=embedding.dim, spec=self.spec, stage1_spec=self.stage1_spec)
        self.networks["discriminator_1"] = self.make("discriminator", spec=self.stage1_spec, embedding_dim=embedding.dim)
        self.networks["discriminator_2"] = self.make("discriminator", spec=self.spec, embedding_dim=embedding.dim)
        self.loss = self.make("loss")
        self.shown_stage = 1  # the stage trained last, whose images samples show

    @property
    def stage(self) -> int:
        """The stage being trained: 1 for the first ``stages.stage1`` of the run, 2 after."""
        return 1 if self.position < self.config.stages.stage1 else 2

    def configure_optimizers(self) -> None:
        optim = self.config.optim
        for name in ("generator", "refiner", "discriminator_1", "discriminator_2"):
            self.optimizers[name] = torch.optim.Adam(
                self.networks[name].parameters(), lr=optim.lr, betas=(optim.beta1, optim.beta2), fused=True
            )

    def images(
        self, z: torch.Tensor, embedding: torch.Tensor, stage: int, epsilons: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The images of ``stage`` for noise ``z`` and embedding φ, with the trained stage's (μ, log σ²).

        ``epsilons`` fixes both stages' conditioning-augmentation draws; None draws them afresh.
        """
        epsilon1, epsilon2 = epsilons or (None, None)
        low, mean, log_variance = self.networks["generator"](z, embedding, epsilon1)
        if stage == 1:
            return low, mean, log_variance
        return self.networks["refiner"](low, embedding, epsilon2)

    def train_step(self, batch: Batch, precision: Precision) -> dict[str, torch.Tensor]:
        stage = self.stage
        upscale = self.config.stages.upscale
        if stage == 2 and self.networks["generator"].training:
            self.networks["generator"].eval()  # stage I is fixed while stage II trains, batch-norm statistics included
        real = batch.data if stage == 2 else F.avg_pool2d(batch.data, upscale)
        embed = self.networks["embedding"]
        with torch.no_grad():
            right = embed(batch.labels)
            offset = torch.randint(1, self.spec.num_classes, batch.labels.shape, device=batch.labels.device)
            wrong = embed((batch.labels + offset) % self.spec.num_classes)
        discriminator = self.networks[f"discriminator_{stage}"]
        self.shown_stage = stage
        noise = lambda: sample_noise(self.config.noise, len(real), self.device)  # noqa: E731

        with precision.autocast():
            with torch.no_grad():
                fake = self.images(noise(), right, stage)[0]
            real_logits, fake_logits = discriminator(real, right), discriminator(fake, right)
            wrong_logits = discriminator(real, wrong)
            loss_d = 0.5 * (
                self.loss.discriminator_loss(real_logits, fake_logits) + self.loss.discriminator_loss(real_logits, wrong_logits)
            )
        with statistics_frozen(discriminator):
            penalty = self.loss.penalty(lambda x: discriminator(x, right), real, fake)
        if penalty is not None:
            loss_d = loss_d + penalty
        precision.step(loss_d, self.optimizers[f"discriminator_{stage}"])

        fixed = [self.networks["generator"]] if stage == 2 else []
        with frozen(discriminator, *fixed), precision.autocast():
            fake, mean, log_variance = self.images(noise(), right, stage)
            kl = kl_divergence(mean, log_variance)
            # relativistic losses compare with D's logits on the real images under their own condition (None for the others)
            paired = real_logits_for_generator(self.loss, lambda x: discriminator(x, right), real)
            loss_g = self.loss.generator_loss(discriminator(fake, right), paired) + self.config.stages.kl_weight * kl / mean.shape[1]
        precision.step(loss_g, self.optimizers["generator" if stage == 1 else "refiner"])

        metrics = {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "kl": kl.detach()}
        if penalty is not None:
            metrics["penalty"] = penalty.detach()
        metrics["stage"] = torch.tensor(float(stage), device=self.device)
        return metrics | self.loss.report(real_logits.detach(), fake_logits.detach())

    def extra_state(self) -> dict[str, torch.Tensor]:
        return {"shown_stage": torch.tensor([self.shown_stage])}

    def load_extra_state(self, tensors: dict[str, torch.Tensor]) -> None:
        if "shown_stage" in tensors:
            self.shown_stage = int(tensors["shown_stage"][0])

    def sample_inputs(self, count: int, generator: torch.Generator, data: TensorData | None) -> StackInputs:
        return self.with_epsilons(ClassInputs.grid(self.config.noise, self.spec.num_classes, count, generator), generator)

    def class_inputs(self, count: int, label: int, generator: torch.Generator) -> StackInputs:
        return self.with_epsilons(ClassInputs.single(self.config.noise, label, count, generator), generator)

    def evaluation_inputs(self, count: int, generator: torch.Generator, data: TensorData | None) -> StackInputs:
        return self.with_epsilons(ClassInputs.random(self.config.noise, self.spec.num_classes, count, generator, None if data is None else data.labels), generator)

    def with_epsilons(self, classes: ClassInputs, generator: torch.Generator) -> StackInputs:
        """``classes`` with fixed ε for both stages, shared down each column of a class grid as z is."""
        rows = 1 if classes.columns is None else self.spec.num_classes
        draws = len(classes.labels) // rows
        dims = (self.networks["generator"].condition_dim, self.networks["refiner"].condition_dim)
        return StackInputs(classes, tuple(torch.randn(draws, dim, generator=generator).repeat(rows, 1) for dim in dims))

    def noise_inputs(self, noise: torch.Tensor, labels: torch.Tensor | None, generator: torch.Generator | None) -> StackInputs:
        """z and the classes as given; each stage's ε drawn from ``generator``, or 0 (ĉ = μ(φ)) without one."""
        dims = (self.networks["generator"].condition_dim, self.networks["refiner"].condition_dim)
        if generator is None:  # shaped from z, so that an exported graph keeps its batch dimension free
            epsilons = tuple(noise[:, :1].mul(0).expand(-1, dim) for dim in dims)
        else:
            epsilons = tuple(torch.randn(len(noise), dim, generator=generator).to(noise.device) for dim in dims)
        return StackInputs(ClassInputs(noise, labels, None), epsilons)

    def grid_columns(self, inputs: StackInputs) -> int | None:
        return inputs.classes.columns

    def generate(self, inputs: StackInputs) -> torch.Tensor:
        """Images of the stage trained last: stage I's low-resolution ones until stage II has begun."""
        embedding = self.networks["embedding"](inputs.classes.labels.to(self.device))
        epsilons = tuple(epsilon.to(self.device) for epsilon in inputs.epsilons)
        return self.images(inputs.classes.noise.to(self.device), embedding, self.shown_stage, epsilons)[0]

    def evaluation_outputs(self, inputs: StackInputs) -> torch.Tensor:
        """Stage II's images, at the data's resolution, whichever stage is training."""
        embedding = self.networks["embedding"](inputs.classes.labels.to(self.device))
        epsilons = tuple(epsilon.to(self.device) for epsilon in inputs.epsilons)
        return self.images(inputs.classes.noise.to(self.device), embedding, 2, epsilons)[0]

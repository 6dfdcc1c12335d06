"""The StackGAN recipe (Zhang et al., "StackGAN: Text to Photo-realistic Image Synthesis with Stacked Generative
Adversarial Networks", 2017), conditioned on a plugin-provided embedding φ: of a caption (the paper's text path,
``text-gru`` or ``word-vectors`` on captioned data) or of a class label (``onehot``, the default).

Stage I draws a low-resolution image from z and a conditioning vector ĉ₀ (conditioning augmentation around φ);
stage II takes that image and its own ĉ and refines it to the full resolution. Each stage has its own
discriminator, which judges image and embedding together. Training follows the paper: stage I alone for the first
``stages.stage1`` of the run (half by default), then stage II with stage I fixed for the rest. The stage is a
function of the run's position (:attr:`ganforge.Variant.position`), so a run extended with a larger
``--epochs`` never goes back to stage I. Samples show the stage trained last; evaluation always scores stage II's
full-resolution images, the only ones comparable to the data. In each step:

* D sees real images with their own embedding (real), generated images with the same embedding (fake), and real
  images with a mismatched one (wrong), so that it learns to reject images that do not match φ: D's loss is that
  of (real, fake) and of (real, wrong), averaged; with the bce loss this is the paper's
  log D(x, φ) + ½ (log(1 − D(G(z, φ), φ)) + log(1 − D(x, φ_wrong))). With captions, φ_wrong is the embedding of
  the next image's caption in the minibatch (the paper's and Reed et al.'s mismatched text); with labels, the
  embedding of another class.
* G minimises the loss's generator term plus λ·D_KL(N(μ(φ), Σ(φ)) ‖ N(0, I)) / dim(ĉ), λ = ``stages.kl_weight``
  (the KL divided by its dimensions, as the authors' code averages it).
* An embedding with trainable weights (``text-gru``) learns image-text matching, the objective the paper's
  pretrained encoder was trained with (Reed et al. 2016; :mod:`ganforge_stackgan.matching`): in each stage-I step,
  before D's, it and an image encoder take one step of the symmetric matching loss on the minibatch's real images
  and their captions. G and D see φ as a constant; from stage II on the encoders are fixed with stage I, and the
  matching loss is still reported (``loss_match``).
* With ``stages.match_weight`` λ_m > 0 (a text encoder that learned matching only), the refiner's loss adds λ_m
  times the fixed encoders' matching loss of its images against their captions (AttnGAN's sentence-level DAMSM
  loss, Xu et al. 2018).

The real images for stage I are the data average-pooled to the low resolution (``stages.upscale``: 2 for
28 → 14 or 64 → 32 pixels; the paper's 64 → 256 is 4).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganforge.config import at_least, below, between
from ganforge.data import Batch, DataSpec, TensorData
from ganforge.device import Precision
from ganforge.errors import GanforgeError, GanforgeWarning
from ganforge.loss import real_logits_for_generator
from ganforge.noise import ClassInputs, NoiseConfig, sample_noise
from ganforge.variant import Variant, frozen, statistics_frozen
from ganforge_stackgan.conditioning import kl_divergence
from ganforge_stackgan.matching import ImageEncoder, matching_loss


@dataclass
class StackInputs:
    """Fixed inputs for samples: noise, what the embedding reads, and the ε of each stage's conditioning augmentation."""

    noise: torch.Tensor  # (N, noise.dim)
    conditions: torch.Tensor  # what the embedding reads: class labels (N,), or caption tokens (N, L)
    epsilons: tuple[torch.Tensor, torch.Tensor]  # (N, stage I's condition_dim), (N, stage II's condition_dim)
    columns: int | None  # the grid's width: one class or caption per row; None: a square grid
    captions: list[str] | None = None  # text: each row's caption, written under it
    caption_ids: torch.Tensor | None = None  # evaluation: each input's caption, as an index into the data's captions


@dataclass
class StageConfig:
    """Settings of the ``stages`` section: how the two stages are sized and trained."""

    stage1: float = between(0.0, 1.0, 0.5)  # fraction of the run that trains stage I before stage II takes over
    upscale: int = at_least(2, 2)  # full resolution / stage-I resolution: 2 or 4 (the paper: 64 -> 256 is 4)
    kl_weight: float = at_least(0.0, 1.0)  # λ of the KL term of conditioning augmentation (the paper: 1)
    match_weight: float = at_least(0.0, 0.0)  # λ of the refiner's image-text matching loss (AttnGAN's DAMSM); 0: the paper's


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
    discriminators = ("discriminator_1", "discriminator_2")
    defaults = {
        "generator.name": "stackgan-stage1",
        "refiner.name": "stackgan-stage2",
        "discriminator.name": "stackgan",
        "embedding.name": "onehot",
        "loss.name": "bce",
        "data.name": "mnist",
    }

    def build(self) -> None:
        choice = self.config.embedding
        self.text = callable(getattr(self.registry.get("embedding", choice.name).load(), "tokenize", None))
        data = self.config.data.name
        if self.text and not self.spec.captioned:
            raise GanforgeError(
                f"embedding '{choice.name}' reads captions, but dataset '{data}' has none; choose a captioned dataset "
                "(captioned-mnist, captioned-fashion-mnist, captioned-folder) or a label embedding (--set embedding.name=onehot)"
            )
        if not self.text and self.spec.num_classes < 2:
            raise GanforgeError(
                f"stackgan conditions on embeddings of the labels, but dataset '{data}' has none; "
                "choose a labelled dataset such as mnist or fashion-mnist"
                + (", or a text embedding (--set embedding.name=text-gru) for its captions" if self.spec.captioned else "")
            )
        if not self.text and self.spec.captioned:
            warnings.warn(
                f"dataset '{data}' has captions, but embedding '{choice.name}' conditions on class labels alone; "
                "--set embedding.name=text-gru conditions on the captions",
                GanforgeWarning,
                stacklevel=2,
            )
        upscale = self.config.stages.upscale
        if not self.spec.is_image or self.spec.shape[-1] % upscale:
            raise GanforgeError(f"stackgan needs images whose size divides by stages.upscale={upscale}; the data is {self.spec.shape}")
        channels, height, width = self.spec.shape
        self.stage1_spec = DataSpec((channels, height // upscale, width // upscale), self.spec.num_classes)
        self.networks["embedding"] = embedding = self.make("embedding", spec=self.spec)
        if self.embedding_learns:  # the image side of image-text matching, which trains the text encoder
            self.networks["image_encoder"] = ImageEncoder(self.spec, embedding.dim)
        supplied = dict(noise_dim=self.config.noise.dim, embedding_dim=embedding.dim, spec=self.stage1_spec)
        self.networks["generator"] = self.make("generator", **supplied)
        self.networks["refiner"] = self.make("refiner", embedding_dim=embedding.dim, spec=self.spec, stage1_spec=self.stage1_spec)
        self.networks["discriminator_1"] = self.make("discriminator", spec=self.stage1_spec, embedding_dim=embedding.dim)
        self.networks["discriminator_2"] = self.make("discriminator", spec=self.spec, embedding_dim=embedding.dim)
        if self.config.stages.match_weight > 0 and not self.embedding_learns:
            raise GanforgeError(
                f"stages.match_weight scores the refiner's images with the image-text matching that a trained text encoder "
                f"learns, and embedding '{choice.name}' trains none; use --set embedding.name=text-gru or stages.match_weight=0"
            )
        self.loss = self.make("loss")
        self.shown_stage = 1  # the stage trained last, whose images samples show
        self.grid_captions: list[str] = []  # text: the captions of the sample grid's rows, kept in checkpoints

    @property
    def stage(self) -> int:
        """The stage being trained: 1 for the first ``stages.stage1`` of the run, 2 after."""
        return 1 if self.position < self.config.stages.stage1 else 2

    @property
    def training_generators(self) -> tuple[str, ...]:
        """Stage I's generator, then the refiner: the moving average follows each while it trains."""
        return ("generator",) if self.stage == 1 else ("refiner",)

    @property
    def embedding_learns(self) -> bool:
        """Whether the embedding has weights to train (a text encoder learned with the GAN)."""
        return self.text and any(p.requires_grad for p in self.networks["embedding"].parameters())

    def configure_optimizers(self) -> None:
        optim = self.config.optim
        names = ["generator", "refiner", "discriminator_1", "discriminator_2"]
        if self.embedding_learns:
            names.append("matching")
        for name in names:
            networks = ("embedding", "image_encoder") if name == "matching" else (name,)
            parameters = [p for network in networks for p in self.networks[network].parameters()]
            self.optimizers[name] = torch.optim.Adam(parameters, lr=optim.lr, betas=(optim.beta1, optim.beta2), fused=True)

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

    def embeddings(
        self, batch: Batch, precision: Precision, learn: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, dict[str, torch.Tensor]]:
        """(φ, φ_wrong, tokens, metrics) of the minibatch: its captions' or labels' embeddings, mismatched ones, the
        captions' tokens (None for labels), and for a text encoder with weights its image-text matching loss.

        ``learn``: take the matching step, updating the text and image encoders (stage I of such an encoder).
        """
        embed = self.networks["embedding"]
        if not self.text:
            right = embed(batch.labels)
            offset = torch.randint(1, self.spec.num_classes, batch.labels.shape, device=batch.labels.device)
            return right, embed((batch.labels + offset) % self.spec.num_classes), None, {}
        tokens = batch.captions.tokens(embed.tokenizer_key, embed.tokenize)
        metrics = {}
        with torch.set_grad_enabled(learn), precision.autocast():
            right = embed(tokens)
            if self.embedding_learns:  # reported in stage II too, with the encoders fixed
                encoder = self.networks["image_encoder"]
                loss = matching_loss(encoder(batch.data), right, tokens, encoder.log_scale)
                metrics["loss_match"] = loss.detach()
        if learn:
            precision.step(loss, self.optimizers["matching"])
        right = right.detach()
        return right, right.roll(1, dims=0), tokens, metrics  # each real image with the next one's caption

    def train_step(self, batch: Batch, precision: Precision) -> dict[str, torch.Tensor]:
        stage = self.stage
        upscale = self.config.stages.upscale
        if stage == 2 and self.networks["generator"].training:
            self.networks["generator"].eval()  # stage I is fixed while stage II trains, batch-norm statistics included
            self.networks["embedding"].eval()  # and so is the text encoder it reads
        real = batch.data if stage == 2 else F.avg_pool2d(batch.data, upscale)
        learn = stage == 1 and self.embedding_learns
        discriminator = self.networks[f"discriminator_{stage}"]
        self.shown_stage = stage
        noise = lambda: sample_noise(self.config.noise, len(real), self.device)  # noqa: E731

        right, wrong, tokens, matching = self.embeddings(batch, precision, learn)
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

        fixed = [self.networks[name] for name in ("generator", "image_encoder") if name in self.networks] if stage == 2 else []
        match_weight = self.config.stages.match_weight if stage == 2 else 0.0
        with frozen(discriminator, self.networks["embedding"], *fixed), precision.autocast():
            fake, mean, log_variance = self.images(noise(), right, stage)
            kl = kl_divergence(mean, log_variance)
            # relativistic losses compare with D's logits on the real images under their own condition (None for the others)
            paired = real_logits_for_generator(self.loss, lambda x: discriminator(x, right), real)
            loss_g = self.loss.generator_loss(discriminator(fake, right), paired) + self.config.stages.kl_weight * kl / mean.shape[1]
            if match_weight > 0:  # each refined image must pick its own caption among the minibatch's, and each caption its image
                encoder = self.networks["image_encoder"]
                loss_g = loss_g + match_weight * matching_loss(encoder(fake), right, tokens, encoder.log_scale)
        precision.step(loss_g, self.optimizers["generator" if stage == 1 else "refiner"])

        metrics = {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "kl": kl.detach(), **matching}
        if penalty is not None:
            metrics["penalty"] = penalty.detach()
        metrics["stage"] = torch.tensor(float(stage), device=self.device)
        return metrics | self.loss.report(real_logits.detach(), fake_logits.detach())

    def extra_state(self) -> dict[str, torch.Tensor]:
        state = {"shown_stage": torch.tensor([self.shown_stage])}
        if self.grid_captions:  # so that 'ganforge sample RUN' shows the training grid's captions without the data
            state["grid_captions"] = torch.frombuffer(bytearray("\n".join(self.grid_captions).encode("utf-8")), dtype=torch.uint8)
        return state

    def load_extra_state(self, tensors: dict[str, torch.Tensor]) -> None:
        if "shown_stage" in tensors:
            self.shown_stage = int(tensors["shown_stage"][0])
        if "grid_captions" in tensors:
            self.grid_captions = bytes(tensors["grid_captions"].tolist()).decode("utf-8").split("\n")

    # --- inputs: class labels -----------------------------------------------------------------------------------

    def with_epsilons(self, classes: ClassInputs, generator: torch.Generator) -> StackInputs:
        """``classes`` with fixed ε for both stages, shared down each column of a class grid as z is."""
        rows = 1 if classes.columns is None else self.spec.num_classes
        return StackInputs(classes.noise, classes.labels, self.epsilons(len(classes.labels) // rows, rows, generator), classes.columns)

    def epsilons(self, draws: int, rows: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``draws`` ε for each stage, repeated for ``rows`` rows."""
        dims = (self.networks["generator"].condition_dim, self.networks["refiner"].condition_dim)
        return tuple(torch.randn(draws, dim, generator=generator).repeat(rows, 1) for dim in dims)

    def class_inputs(self, count: int, label: int, generator: torch.Generator) -> StackInputs:
        if self.text:
            raise GanforgeError("this stackgan run is conditioned on captions, not classes; draw from a caption with --caption TEXT")
        return self.with_epsilons(ClassInputs.single(self.config.noise, label, count, generator), generator)

    # --- inputs: captions ---------------------------------------------------------------------------------------

    def caption_inputs(self, count: int, captions: list[str], generator: torch.Generator) -> StackInputs:
        """``count`` samples of each caption, one caption per row; each column shares z and ε across the rows."""
        if not self.text:
            raise GanforgeError(
                f"this stackgan run is conditioned on class labels (embedding '{self.config.embedding.name}'), not text; "
                "draw a class with --class, or train on captioned data with --set embedding.name=text-gru"
            )
        embed = self.networks["embedding"]
        tokens = embed.tokenize(captions)
        unread = [caption for caption, row in zip(captions, tokens) if not bool((row > 0).any())]
        if unread:
            raise GanforgeError(f"caption {unread[0]!r} has no word embedding '{self.config.embedding.name}' can read; write it in words")
        noise = sample_noise(self.config.noise, count, "cpu", generator).repeat(len(captions), 1)
        epsilons = self.epsilons(count, len(captions), generator)
        return StackInputs(noise, tokens.repeat_interleave(count, dim=0), epsilons, count, list(captions))

    def grid_inputs(self, count: int, generator: torch.Generator, data: TensorData | None) -> StackInputs:
        """The sample grid of a text run: a few captions of the data (or those its checkpoint keeps), a row each."""
        rows = max(1, round(math.sqrt(count)))
        if data is not None:
            examples = torch.randperm(len(data), generator=generator)[:rows].tolist()
            self.grid_captions = [data.captions.of(example)[0] for example in examples]
        if not self.grid_captions:
            raise GanforgeError("this run kept no captions for its sample grid; pass --caption TEXT or --captions FILE")
        captions = self.grid_captions[:rows]
        return self.caption_inputs(-(-count // len(captions)), captions, generator)

    # --- the variant contract -----------------------------------------------------------------------------------

    def sample_inputs(self, count: int, generator: torch.Generator, data: TensorData | None) -> StackInputs:
        if self.text:
            return self.grid_inputs(count, generator, data)
        return self.with_epsilons(ClassInputs.grid(self.config.noise, self.spec.num_classes, count, generator), generator)

    def evaluation_inputs(self, count: int, generator: torch.Generator, data: TensorData | None) -> StackInputs:
        if not self.text:
            labels = None if data is None else data.labels
            return self.with_epsilons(ClassInputs.random(self.config.noise, self.spec.num_classes, count, generator, labels), generator)
        if data is None or data.captions is None:
            raise GanforgeError("evaluating a text-conditioned stackgan needs its captioned dataset")
        embed = self.networks["embedding"]
        examples = torch.randint(len(data), (count,), generator=generator)
        ids = data.captions.pick(examples, generator)  # an independent image and caption per sample
        tokens = data.captions.tokens(ids, embed.tokenizer_key, embed.tokenize).cpu()
        noise = sample_noise(self.config.noise, count, "cpu", generator)
        return StackInputs(noise, tokens, self.epsilons(count, 1, generator), None, caption_ids=ids)

    def evaluation_captions(self, inputs: StackInputs) -> torch.Tensor | None:
        return inputs.caption_ids

    def noise_inputs(self, noise: torch.Tensor, labels: torch.Tensor | None, generator: torch.Generator | None) -> StackInputs:
        """z and the classes as given; each stage's ε drawn from ``generator``, or 0 (ĉ = μ(φ)) without one."""
        if self.text:
            raise GanforgeError(
                "this stackgan run is conditioned on captions; latent walks and export take class labels and cannot "
                "drive it yet: draw from captions with 'ganforge sample RUN --caption TEXT'"
            )
        dims = (self.networks["generator"].condition_dim, self.networks["refiner"].condition_dim)
        if generator is None:  # shaped from z, so that an exported graph keeps its batch dimension free
            epsilons = tuple(noise[:, :1].mul(0).expand(-1, dim) for dim in dims)
        else:
            epsilons = tuple(torch.randn(len(noise), dim, generator=generator).to(noise.device) for dim in dims)
        return StackInputs(noise, labels, epsilons, None)

    def grid_columns(self, inputs: StackInputs) -> int | None:
        return inputs.columns

    def row_captions(self, inputs: StackInputs) -> list[str] | None:
        return inputs.captions

    def generate(self, inputs: StackInputs) -> torch.Tensor:
        """Images of the stage trained last: stage I's low-resolution ones until stage II has begun."""
        return self.draw(inputs, self.shown_stage)

    def evaluation_outputs(self, inputs: StackInputs) -> torch.Tensor:
        """Stage II's images, at the data's resolution, whichever stage is training."""
        return self.draw(inputs, 2)

    def draw(self, inputs: StackInputs, stage: int) -> torch.Tensor:
        embedding = self.networks["embedding"](inputs.conditions.to(self.device))
        epsilons = tuple(epsilon.to(self.device) for epsilon in inputs.epsilons)
        return self.images(inputs.noise.to(self.device), embedding, stage, epsilons)[0]

"""The variant (recipe) contract: which networks a GAN has, and how one training step goes.

The core owns the loop, devices, mixed precision, logging, checkpoints and sampling; a variant owns everything
that differs between GANs. CycleGAN's two generators and two discriminators, or StackGAN's stages, are more
entries in :attr:`Variant.networks` and :attr:`Variant.optimizers` and a different :meth:`Variant.train_step`.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar, Iterator

import torch
from torch import nn

from ganforge.config import RunConfig, supplied_parameters
from ganforge.data import Batch, DataSpec, TensorData
from ganforge.device import Precision
from ganforge.errors import GanforgeError
from ganforge.loss import complete
from ganforge.noise import NoiseConfig


@contextlib.contextmanager
def statistics_frozen(*modules: nn.Module) -> Iterator[None]:
    """Normalisation layers of ``modules`` keep normalising with the minibatch's statistics inside the block, but
    leave their running statistics as they are.

    A BatchNorm running average should describe D on the data it is trained to judge, once per D step: the
    generator's step and a gradient penalty run D again on inputs of their own, and must not move it.
    """
    layers = [
        m
        for module in modules
        for m in module.modules()
        if isinstance(m, nn.modules.batchnorm._NormBase) and m.training and m.track_running_stats
    ]
    for layer in layers:
        layer.track_running_stats = False  # in training mode: batch statistics, no update of the running ones
    try:
        yield
    finally:
        for layer in layers:
            layer.track_running_stats = True


@contextlib.contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Stop gradients reaching the parameters of ``modules``, and their running statistics moving, while the other
    network is updated."""
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        with statistics_frozen(*modules):
            yield
    finally:
        for p in params:
            p.requires_grad_(True)


class Variant:
    """A GAN recipe. Subclass it, fill in the class attributes, and implement the four methods below."""

    components: ClassVar[dict[str, str]] = {}  # config section -> component kind, e.g. {"generator": "generator"}
    sections: ClassVar[dict[str, type]] = {}  # config section -> dataclass of this variant's own settings
    defaults: ClassVar[dict[str, Any]] = {}  # dotted config key -> default, e.g. {"data.name": "mnist"}
    generators: ClassVar[tuple[str, ...]] = ("generator",)  # every network behind the outputs: EMA averages these
    # every discriminator in networks: augmentation, the contract suite and the services in front of D reach these
    discriminators: ClassVar[tuple[str, ...]] = ("discriminator",)
    domains: ClassVar[int] = 1  # image domains its training data holds: 2 for unpaired image-to-image (CycleGAN)

    def __init__(self, config: RunConfig, spec: DataSpec, registry):
        self.config = config
        self.spec = spec
        self.registry = registry
        self.device = torch.device("cpu")
        self.networks: dict[str, nn.Module] = {}  # every network here is moved to the device and checkpointed
        self.optimizers: dict[str, torch.optim.Optimizer] = {}  # every optimizer here is checkpointed; the core sets their rates
        self.position = 0.0  # how far through its schedule the run is, 0 to 1, set by the core before each step

    def make(self, section: str, **supplied: Any) -> Any:
        """The component chosen in config ``section``, built with the user's settings and ``supplied`` arguments.

        A factory that raises, or returns something that is not a component of its kind, is a GanforgeError
        naming the plugin that provides it.
        """
        choice = getattr(self.config, section)
        component = self.registry.get(choice.kind, choice.name)
        wanted = supplied_parameters(component.load())
        missing = [name for name in wanted if name not in supplied]
        if missing:
            raise GanforgeError(
                f"{choice.kind} '{choice.name}' needs {', '.join(missing)}, which variant "
                f"'{self.config.variant.name}' does not supply; choose another {choice.kind}"
            )
        built = component.build(choice.params, **{name: supplied[name] for name in wanted})
        return complete(built) if choice.kind == "loss" else built  # the optional parts of the loss contract default

    def discriminator_networks(self) -> list[nn.Module]:
        """The modules of :attr:`discriminators`."""
        return [self.networks[name] for name in self.discriminators]

    def to(self, device: torch.device) -> None:
        """Move every network to ``device``; :meth:`generate` and :meth:`train_step` work there."""
        self.device = device
        for network in self.networks.values():
            network.to(device)

    @property
    def training_generators(self) -> tuple[str, ...]:
        """The networks of :attr:`generators` that train at this point of the run (:attr:`position`): all of them
        by default. The moving average follows only these; one that has stopped training takes its average as its
        own weights (StackGAN's stage I generator, before stage II learns to refine its images)."""
        return self.generators

    @property
    def batches_per_step(self) -> int:
        """Minibatches one :meth:`train_step` consumes (Goodfellow's k discriminator steps use k)."""
        return 1

    def build(self) -> None:
        """Create :attr:`networks` (on the CPU; the core moves them). Called for training and for sampling."""
        raise NotImplementedError

    def configure_optimizers(self) -> None:
        """Create :attr:`optimizers` for the networks, which are on their device by now. Training only."""
        raise NotImplementedError

    def train_step(self, batch: Batch, precision: Precision) -> dict[str, torch.Tensor]:
        """One generator step and the discriminator steps that precede it.

        ``batch`` holds :attr:`batches_per_step` minibatches stacked. Use ``precision.autocast()`` around forward
        passes and ``precision.step(loss, optimizer)`` to update. Return scalar tensors, left on the device (the
        core averages them and synchronises only when it logs); ``loss_d``, ``loss_g``, ``d_real`` (mean D(x)) and
        ``d_fake`` (mean D(G(z))) are shown in the progress bar when present.
        """
        raise NotImplementedError

    def extra_state(self) -> dict[str, torch.Tensor]:
        """Training state beyond networks and optimizers (CycleGAN's image pool), as tensors."""
        return {}

    def load_extra_state(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`extra_state` returned (also when a checkpoint is loaded for sampling)."""

    def sample_inputs(self, count: int, generator: torch.Generator, data: TensorData | None) -> Any:
        """The fixed inputs (noise, labels, or source images) behind samples, on the CPU.

        ``data`` is the training data during training, and None when sampling from a checkpoint.
        """
        raise NotImplementedError

    def generate(self, inputs: Any) -> torch.Tensor:
        """Outputs for ``inputs`` from :meth:`sample_inputs`: images in [-1, 1] (N, C, H, W) or points (N, D)."""
        raise NotImplementedError

    def evaluation_inputs(self, count: int, generator: torch.Generator, data: TensorData | None) -> Any:
        """Inputs for exactly ``count`` outputs of :meth:`evaluation_outputs`, drawn independently, on the CPU.

        Evaluation compares the distribution of these outputs with the data's, so unlike a sample grid (which
        shares z down its columns) every draw must be independent. The default, :meth:`sample_inputs`, is right
        for variants whose sample inputs are i.i.d. noise. ``data`` is the data evaluation compares against
        (held-out data where the dataset has it).
        """
        return self.sample_inputs(count, generator, data)

    def evaluation_outputs(self, inputs: Any) -> torch.Tensor:
        """The outputs that are comparable to the data, for :meth:`evaluation_inputs`' ``inputs``: one example of
        ``spec.shape`` per input.

        The default is :meth:`generate`. A staged variant returns its final stage, at the data's resolution, even
        while an earlier stage trains; an image-to-image variant returns its translations alone.
        """
        return self.generate(inputs)

    def grid_columns(self, inputs: Any) -> int | None:
        """Columns of the sample grid drawn from :meth:`generate`'s outputs for ``inputs``; None: as square as possible.

        A class-conditional variant puts one class per row; an image-to-image one puts each source beside its
        translations.
        """
        return None

    def class_inputs(self, count: int, label: int, generator: torch.Generator) -> Any:
        """Inputs for :meth:`generate` that draw ``count`` examples of class ``label`` (``ganforge sample --class``).

        Class-conditional variants implement this; the core has checked that ``label`` is one of the model's classes.
        """
        raise GanforgeError(
            f"variant '{self.config.variant.name}' is not class-conditional and cannot draw a chosen class; "
            "drop --class, or train a class-conditional variant"
        )

    def caption_inputs(self, count: int, captions: list[str], generator: torch.Generator) -> Any:
        """Inputs for :meth:`generate` that draw ``count`` examples of each caption, one caption per grid row
        (``ganforge sample --caption``). Text-conditioned variants implement this."""
        raise GanforgeError(
            f"variant '{self.config.variant.name}' is not conditioned on text and cannot draw from a caption; "
            "drop --caption, or train a text-conditioned variant (stackgan with --set embedding.name=text-gru)"
        )

    def row_captions(self, inputs: Any) -> list[str] | None:
        """The text written under each row of the sample grid for ``inputs`` (a text-conditioned variant: each
        row's caption); None: no text."""
        return None

    def evaluation_captions(self, inputs: Any) -> torch.Tensor | None:
        """For a text-conditioned variant, the caption of each of :meth:`evaluation_inputs`' inputs, as an index into
        the evaluation data's ``captions`` (int64 (N,), on the CPU), so that evaluation can check that each output
        shows what its caption asks for; None for other variants."""
        return None
    @property
    def prior(self) -> NoiseConfig | None:
        """p_z, the distribution of the generator's noise input: the ``noise`` section, where the variant has one.

        Latent walks (``ganforge interpolate``), truncation and export read it; None (image-to-image variants)
        means the variant draws no noise.
        """
        noise = getattr(self.config, "noise", None)
        return noise if isinstance(noise, NoiseConfig) else None

    def noise_inputs(self, noise: torch.Tensor, labels: torch.Tensor | None, generator: torch.Generator | None) -> Any:
        """Inputs for :meth:`generate` made of exactly these draws of z, (N, ``prior.dim``), on the CPU or device.

        ``labels`` (N,) int64 are the classes for class-conditional variants (those that implement
        :meth:`class_inputs`), None for the others. Any other randomness of the inputs (StackGAN's conditioning
        augmentation) is drawn from ``generator``; None means at its mean, deterministic (as ``ganforge export``
        needs). The default suits a generator that takes z alone.
        """
        self.require_prior("noise inputs")
        return noise

    def require_prior(self, purpose: str) -> NoiseConfig:
        """:attr:`prior`, or a one-line error saying why ``purpose`` (a latent walk, truncation) cannot be had."""
        if self.prior is not None:
            return self.prior
        name = self.config.variant.name
        if self.translates:
            raise GanforgeError(f"variant '{name}' translates images and draws no noise, so {purpose} has nothing to work on")
        raise GanforgeError(
            f"variant '{name}' does not declare the noise it draws, which {purpose} needs: its plugin can give it a "
            "'noise' section of ganforge.noise.NoiseConfig (or override Variant.prior)"
        )

    @property
    def translates(self) -> bool:
        """Whether the variant is image-to-image (it implements :meth:`translate`)."""
        return type(self).translate is not Variant.translate

    @property
    def conditional(self) -> bool:
        """Whether the variant draws chosen classes (it implements :meth:`class_inputs`)."""
        return type(self).class_inputs is not Variant.class_inputs

    def translate(self, images: torch.Tensor) -> torch.Tensor:
        """Translated ``images`` (N, C, H, W in [-1, 1], on the device) from the source domain to the target domain.

        Image-to-image variants implement this (``ganforge sample --input-dir``).
        """
        raise GanforgeError(
            f"variant '{self.config.variant.name}' generates rather than translates images; --input-dir needs an "
            "image-to-image variant"
        )

"""Differentiable augmentation of every discriminator input, for any variant: DiffAugment (Zhao, Liu, Lin, Zhu and
Han, "Differentiable Augmentation for Data-Efficient GAN Training", NeurIPS 2020) with ADA's adaptive probability
(Karras, Aittala, Hellsten, Laine, Lehtinen and Aila, "Training Generative Adversarial Networks with Limited
Data", NeurIPS 2020).

With little data D memorises the training images, and G's gradients stop carrying information. Augmenting what
D sees makes memorising harder; augmenting real and generated images alike, with differentiable operations,
keeps G's target the data itself (augmenting the reals alone would teach G the augmentations).

``--set augment.policy=color,translation,cutout`` puts the operations in front of every network the variant
declares in :attr:`ganforge.Variant.discriminators`, through a forward pre-hook: every call of D in training
(D's step on real and on generated images, G's step, gradient penalties) sees its image input augmented, whatever
the variant, with no change to its code. The image input is D's first argument, and only it is augmented: a
discriminator's other inputs (cgan's label, StackGAN's embedding, BiGAN's code z, pix2pix's source image) reach
it untouched, so a pair stays the pair it was. Each call draws its own random parameters, one set per example, as the
paper's code does (``D(DiffAugment(x))`` and ``D(DiffAugment(G(z)))`` are two calls); gradients flow through to
the images, and so to G.

* ``color``: brightness ±0.5, saturation x[0, 2], contrast x[0.5, 1.5] (each per example; on the [-1, 1] scale);
* ``translation``: shifts of up to 1/8 of the image's height and width, zeros (grey) shifted in;
* ``cutout``: a square of half the image's size set to 0, anywhere in the image.

``augment.adaptive=true`` applies each operation to each example with a probability p instead of always, and
adjusts p as ADA does: every ``augment.interval`` G steps, r = E[sign(D(x))] over D's outputs on the real images
since the last adjustment, over every process of a data-parallel job (so p is the same on all), the sign taken
by the loss (``Loss.real_sign``: of a logit for bce and hinge, against 0.5 for lsgan; relativistic losses and
critics, whose D has a free offset, give none and refuse ``augment.adaptive``); p moves up when r is above ``augment.target`` (0.6: D too sure of the reals, the
sign of overfitting) and down when below, by (images in those steps) / ``augment.speed`` (p may go from 0 to 1
in 500,000 images, as in the paper). p starts at 0, is logged as ``augment_p``, and is saved in checkpoints and
restored on resume. D's outputs on real images are those of calls whose image input is the step's real
minibatch itself or a view of it (a slice, a detached copy for a gradient penalty); a variant that transforms
its reals before D (StackGAN's low-resolution stage) gives no signal, and a run warns when none arrives.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import torch
from torch import nn

from ganforge.config import AUGMENT_OPERATIONS, AugmentConfig
from ganforge.data import Batch, DataSpec
from ganforge.errors import GanforgeError, GanforgeWarning


def brightness(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.rand(len(x), 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)


def saturation(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (torch.rand(len(x), 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean


def contrast(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(len(x), 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its height and width, zeros shifted in (the paper's, with two gathers
    in place of its three-index lookup: the same pixels, several times faster on a CPU)."""
    count, channels, height, width = x.shape
    shift_y, shift_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    dy = torch.randint(-shift_y, shift_y + 1, (count, 1), device=x.device)
    dx = torch.randint(-shift_x, shift_x + 1, (count, 1), device=x.device)
    # read from the image padded with one ring of zeros: a pixel shifted in from outside reads the ring
    rows = torch.clamp(torch.arange(height, device=x.device) + dy + 1, 0, height + 1)
    columns = torch.clamp(torch.arange(width, device=x.device) + dx + 1, 0, width + 1)
    padded = nn.functional.pad(x, [1, 1, 1, 1])
    shifted = padded.gather(2, rows[:, None, :, None].expand(count, channels, height, width + 2))
    return shifted.gather(3, columns[:, None, None, :].expand(count, channels, height, width))


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero a square of ``ratio`` of the image's size centred anywhere in it (the part inside the image)."""
    count, _, height, width = x.shape
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    top = torch.randint(0, height + (1 - size_y % 2), (count, 1, 1), device=x.device) - size_y // 2
    left = torch.randint(0, width + (1 - size_x % 2), (count, 1, 1), device=x.device) - size_x // 2
    rows = torch.arange(height, device=x.device)[:, None]
    columns = torch.arange(width, device=x.device)[None, :]
    inside = (rows >= top) & (rows < top + size_y) & (columns >= left) & (columns < left + size_x)
    return x * (~inside).to(x.dtype).unsqueeze(1)


POLICIES: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], ...]] = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}
assert tuple(POLICIES) == AUGMENT_OPERATIONS  # the config's names for them


def augment(x: torch.Tensor, operations: list[str], probability: torch.Tensor | None = None) -> torch.Tensor:
    """``x`` (N, C, H, W) through each of ``operations``; with ``probability``, each operation applies to each
    example with that probability (a tensor, so that it can change on the device without a synchronisation)."""
    for name in operations:
        for operation in POLICIES[name]:
            changed = operation(x)
            if probability is None:
                x = changed
            else:
                chosen = torch.rand(len(x), 1, 1, 1, device=x.device) < probability
                x = torch.where(chosen, changed, x)
    return x


class Augmentation:
    """The augmentation in front of a variant's discriminators during training, and ADA's probability."""

    def __init__(
        self,
        config: AugmentConfig,
        discriminators: list[nn.Module],
        spec: DataSpec,
        images_per_step: int,
        device: torch.device,
        loss: Any = None,
        loss_name: str = "",
    ):
        """``loss``: the variant's loss (``loss_name`` in the config), whose ``real_sign`` gives ADA's signal
        (:meth:`ganforge.loss.Loss.real_sign`; the sign of a logit where None)."""
        if not spec.is_image:
            raise GanforgeError("augment.policy augments images; this dataset holds points. Leave augment.policy at none")
        if not discriminators:
            raise GanforgeError(
                "augment.policy found no discriminator to augment the inputs of: the variant declares none in "
                "Variant.discriminators; leave augment.policy at none"
            )
        self.real_sign: Callable[[torch.Tensor], torch.Tensor | None] = torch.sign if loss is None else loss.real_sign
        if config.adaptive and self.real_sign(torch.zeros(1)) is None:
            raise GanforgeError(
                f"augment.adaptive reads ADA's overfitting signal from D's outputs on real images, which loss '{loss_name}' "
                "does not give (its D's offset is free); use a fixed augmentation (augment.adaptive=false) or another loss"
            )
        self.config = config
        self.operations = config.operations
        self.images_per_step = images_per_step
        self.p = torch.zeros((), device=device)  # ADA's probability; unused without augment.adaptive
        self.sign_sum = torch.zeros((), device=device)  # sum of sign(D(x)) on real images since the last adjustment
        self.sign_count = torch.zeros((), device=device)
        self.reals: list[torch.Tensor] = []  # the step's real minibatches: inputs sharing their storage are real
        self.warned = False
        self.calls_on_real: list[bool] = []
        self.handles = []
        for discriminator in discriminators:
            self.handles.append(discriminator.register_forward_pre_hook(self.before_discriminator))
            self.handles.append(discriminator.register_forward_hook(self.after_discriminator))

    def before_discriminator(self, module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if not module.training or not args or not isinstance(args[0], torch.Tensor) or args[0].dim() != 4:
            self.calls_on_real.append(False)
            return None
        x = args[0]
        self.calls_on_real.append(self.config.adaptive and any(_same_storage(x, real) for real in self.reals))
        return (augment(x, self.operations, self.p if self.config.adaptive else None), *args[1:])

    def after_discriminator(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        if self.calls_on_real.pop() and isinstance(output, torch.Tensor):
            self.sign_sum += self.real_sign(output.detach().float()).mean()
            self.sign_count += 1

    def step_begins(self, batch: Batch) -> None:
        self.reals = [t for t in (batch.data, batch.other) if t is not None]

    def step_ended(self, step: int) -> dict[str, torch.Tensor]:
        """Adjust p every ``augment.interval`` steps; the metrics to log."""
        self.reals = []
        if not self.config.adaptive:
            return {}
        if step % self.config.interval == 0:
            if not self.warned and step == self.config.interval and self.sign_count.item() == 0:  # once a run
                warnings.warn(
                    "augment.adaptive saw no discriminator outputs on the minibatch's real images (the variant "
                    "transforms them before D), so the augmentation probability stays where it is",
                    GanforgeWarning,
                    stacklevel=2,
                )
                self.warned = True
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                # every rank adjusts p from the signal of all: p stays the same everywhere, and the logged p is in use
                totals = torch.stack([self.sign_sum, self.sign_count])
                torch.distributed.all_reduce(totals)
                self.sign_sum, self.sign_count = totals[0].clone(), totals[1].clone()
            heuristic = self.sign_sum / self.sign_count.clamp(min=1)
            step_size = self.images_per_step * self.config.interval / self.config.speed
            moved = torch.sign(heuristic - self.config.target) * step_size * (self.sign_count > 0)
            self.p = (self.p + moved).clamp(0.0, 1.0)
            self.sign_sum.zero_()
            self.sign_count.zero_()
        return {"augment_p": self.p}

    def detach(self) -> None:
        """Take the augmentation out of the discriminators (the run is over)."""
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def tensors(self) -> dict[str, torch.Tensor]:
        return {"augment.p": self.p, "augment.sign_sum": self.sign_sum, "augment.sign_count": self.sign_count}

    def restore(self, tensors: dict[str, torch.Tensor]) -> None:
        """Continue p and the adjustment in progress from a checkpoint's ``tensors`` (a resumed run)."""
        for name in ("p", "sign_sum", "sign_count"):
            if f"augment.{name}" in tensors:
                setattr(self, name, tensors[f"augment.{name}"].to(self.p.device).clone())


def _same_storage(x: torch.Tensor, real: torch.Tensor) -> bool:
    return x.untyped_storage().data_ptr() == real.untyped_storage().data_ptr()

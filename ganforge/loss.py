"""The adversarial-loss contract: what every ``loss`` component provides to the variants that use it.

A variant computes D's outputs (logits, or PatchGAN maps of them) and hands them to the loss; the loss never
sees the networks except through :meth:`Loss.penalty`, which gets D as a function of its input so that
gradient penalties work for conditional discriminators (D(x, y) with y fixed) as well.
"""

from __future__ import annotations

from typing import Callable, ClassVar

import torch

Critic = Callable[[torch.Tensor], torch.Tensor]  # D as a function of its input alone


class Loss:
    """Base class of adversarial losses. Subclass it and implement the two losses; the rest is optional."""

    d_steps: ClassVar[int] = 1  # D steps per G step the loss is designed for; a variant's optim.d_steps=None uses it

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """What D minimises, from its outputs on real data and on G's samples."""
        raise NotImplementedError

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """What G minimises, from D's outputs on G's samples."""
        raise NotImplementedError

    def penalty(self, discriminator: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | None:
        """A regulariser added to D's loss (a gradient penalty), or None. Called in fp32, outside autocast.

        ``discriminator`` maps a batch of inputs to D's outputs; ``real`` and ``fake`` are detached minibatches.
        """
        return None

    def report(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict[str, torch.Tensor]:
        """Scalars about D's outputs for the progress bar and metrics.jsonl, left on the device.

        ``d_real`` and ``d_fake`` are shown as D(x) and D(G(z)): use them only where D's output is a probability
        or heads for one value at equilibrium; a critic's unbounded scores deserve other names.
        """
        return {}


class _Adapted(Loss):
    """A loss written to the two-method contract, given :class:`Loss`'s defaults for what it leaves out."""

    def __init__(self, inner: object):
        self.inner = inner
        self.d_steps = getattr(inner, "d_steps", Loss.d_steps)

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return self.inner.discriminator_loss(real_logits, fake_logits)

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return self.inner.generator_loss(fake_logits)

    def penalty(self, discriminator: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | None:
        own = getattr(self.inner, "penalty", None)
        return own(discriminator, real, fake) if own else None

    def report(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict[str, torch.Tensor]:
        own = getattr(self.inner, "report", None)
        return own(real_logits, fake_logits) if own else {}


def as_loss(built: object) -> Loss:
    """``built`` as a :class:`Loss`: any object with ``discriminator_loss`` and ``generator_loss`` will do."""
    return built if isinstance(built, Loss) else _Adapted(built)

"""The adversarial-loss contract: what every ``loss`` component provides to the variants that use it.

A variant computes D's outputs (logits, or PatchGAN maps of them) and hands them to the loss; the loss never
sees the networks except through :meth:`Loss.penalty`, which gets D as a function of its input so that
gradient penalties work for conditional discriminators (D(x, y) with y fixed) as well.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar

import torch

Critic = Callable[[torch.Tensor], torch.Tensor]  # D as a function of its input alone


class Loss:
    """Base class of adversarial losses. Subclass it and implement the two losses; the rest is optional.

    A loss plugin need not subclass it: any object with the two loss methods works, and variants see it through
    :func:`complete`, which supplies the defaults below for whatever it lacks.
    """

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

        By default the means of D(x) and D(G(z)) as probabilities, sigmoid of the logits, shown as D(x) and D(G(z))
        (both head for 1/2 at the equilibrium). A loss whose D is not a probability (a critic's unbounded score)
        reports something else under other names.
        """
        return {"d_real": torch.sigmoid(real_logits.float()).mean(), "d_fake": torch.sigmoid(fake_logits.float()).mean()}


class _Completed(Loss):
    """A loss object with only some of the contract, the rest taken from :class:`Loss`."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.d_steps = getattr(inner, "d_steps", Loss.d_steps)

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return self.inner.discriminator_loss(real_logits, fake_logits)

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return self.inner.generator_loss(fake_logits)

    def penalty(self, discriminator: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | None:
        own = getattr(self.inner, "penalty", None)
        return None if own is None else own(discriminator, real, fake)

    def report(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict[str, torch.Tensor]:
        own = getattr(self.inner, "report", None)
        return super().report(real_logits, fake_logits) if own is None else own(real_logits, fake_logits)


def complete(loss: Any) -> Loss:
    """``loss`` as a full :class:`Loss`: itself if it is one, else wrapped so that its missing parts default."""
    return loss if isinstance(loss, Loss) else _Completed(loss)

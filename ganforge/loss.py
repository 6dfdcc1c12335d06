"""The adversarial-loss contract: what every ``loss`` component provides to the variants that use it.

A variant computes D's outputs (logits, or PatchGAN maps of them) and hands them to the loss; the loss never
sees the networks except through :meth:`Loss.penalty`, which gets D as a function of its input so that
gradient penalties work for conditional discriminators (D(x, y) with y fixed) as well.

A relativistic loss (RaGAN, RpGAN) compares G's samples with the data in G's step too: it sets
``needs_real_logits``, and the variant passes D's logits on the G step's real minibatch, computed with the current
D and without a graph (:func:`real_logits_for_generator`), as the second argument of ``generator_loss``.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, ClassVar

import torch

Critic = Callable[[torch.Tensor], torch.Tensor]  # D as a function of its input alone


class Loss:
    """Base class of adversarial losses. Subclass it and implement the two losses; the rest is optional.

    A loss plugin need not subclass it: any object with the two loss methods works, and variants see it through
    :func:`complete`, which supplies the defaults below for whatever it lacks.
    """

    d_steps: ClassVar[int] = 1  # D steps per G step the loss is designed for; a variant's optim.d_steps=None uses it
    # True: G's loss compares with D's logits on real data, which the variant passes to generator_loss (RaGAN, RpGAN)
    needs_real_logits: ClassVar[bool] = False

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """What D minimises, from its outputs on real data and on G's samples."""
        raise NotImplementedError

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        """What G minimises, from D's outputs on G's samples.

        ``real_logits``: D's outputs on the real minibatch the G step pairs with, when ``needs_real_logits`` (else
        None). They are constants for G: computed with the current D, without a graph.
        """
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

    def real_sign(self, real_logits: torch.Tensor) -> torch.Tensor | None:
        """ADA's overfitting signal: per output of D on real data, +1 where it says "real" and -1 where it says
        "generated", relative to what D outputs when it tells nothing apart; ``augment.adaptive`` raises the
        augmentation probability while the mean is above ``augment.target``. By default the sign of a logit
        (balance at 0: bce, hinge). None where D's outputs on real data alone cannot say, its offset being free
        (relativistic losses, a critic): ``augment.adaptive`` is then refused."""
        return torch.sign(real_logits)


class _Completed(Loss):
    """A loss object with only some of the contract, the rest taken from :class:`Loss`."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.d_steps = getattr(inner, "d_steps", Loss.d_steps)
        self.needs_real_logits = bool(getattr(inner, "needs_real_logits", False))
        self.takes_real_logits = _takes_second_argument(inner.generator_loss)
        if self.needs_real_logits and not self.takes_real_logits:
            raise TypeError(
                f"{type(inner).__name__} sets needs_real_logits but its generator_loss takes only the fake logits; "
                "declare it as generator_loss(self, fake_logits, real_logits=None)"
            )

    def __getattr__(self, name: str) -> Any:  # the inner loss's own settings (gp_weight, r1_gamma, ...)
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return self.inner.discriminator_loss(real_logits, fake_logits)

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        if self.takes_real_logits:
            return self.inner.generator_loss(fake_logits, real_logits)
        return self.inner.generator_loss(fake_logits)  # a loss written to the one-argument contract

    def penalty(self, discriminator: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | None:
        own = getattr(self.inner, "penalty", None)
        return None if own is None else own(discriminator, real, fake)

    def report(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict[str, torch.Tensor]:
        own = getattr(self.inner, "report", None)
        return super().report(real_logits, fake_logits) if own is None else own(real_logits, fake_logits)

    def real_sign(self, real_logits: torch.Tensor) -> torch.Tensor | None:
        own = getattr(self.inner, "real_sign", None)
        return super().real_sign(real_logits) if own is None else own(real_logits)


def _takes_second_argument(method: Callable) -> bool:
    """Whether ``method`` (bound) accepts a second positional argument: generator_loss(fake_logits, real_logits)."""
    try:
        inspect.signature(method).bind(None, None)
    except TypeError:
        return False
    except ValueError:  # no signature to inspect (a builtin): assume the old one-argument contract
        return False
    return True


def complete(loss: Any) -> Loss:
    """``loss`` as a full :class:`Loss`: itself if it is one that takes ``real_logits``, else wrapped so that its
    missing parts default and ``generator_loss(fake_logits, real_logits)`` reaches a one-argument generator_loss
    without the real logits. Variants can therefore always call ``generator_loss(fake_logits, real_logits)``."""
    if isinstance(loss, Loss) and _takes_second_argument(loss.generator_loss):
        return loss
    return _Completed(loss)


def real_logits_for_generator(loss: Any, discriminator: Critic, real: torch.Tensor) -> torch.Tensor | None:
    """D's logits on ``real`` for G's step when ``loss`` needs them, else None (nothing is computed).

    ``discriminator`` is D as a function of its input (conditional variants fix the condition); ``real`` is the
    real minibatch the G step pairs with. The logits come from the current D, without a graph: they are constants
    for G. Call it inside the G step's ``frozen(D)`` and autocast, like D's pass on the fakes.
    """
    if not getattr(loss, "needs_real_logits", False):
        return None
    with torch.no_grad():
        return discriminator(real)

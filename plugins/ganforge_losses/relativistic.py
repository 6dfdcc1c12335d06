"""Relativistic losses: D judges whether real data is more realistic than generated data, not each on its own.

With C the discriminator's raw output (its logit, the critic) and σ the sigmoid:

* ``ragan``, the relativistic average GAN (Jolicoeur-Martineau, "The relativistic discriminator: a key element
  missing from standard GAN", 2018), in its cross-entropy form. D̃(x) = σ(C(x) − E C(G(z))) is the probability
  that x is more realistic than the average sample, D̃(G(z)) = σ(C(G(z)) − E C(x)) the reverse:

      D minimises −E log D̃(x) − E log(1 − D̃(G(z)))        G minimises −E log D̃(G(z)) − E log(1 − D̃(x))

* ``rpgan``, the relativistic pairing GAN (Jolicoeur-Martineau 2018's RSGAN; the adversarial term of R3GAN,
  Huang et al., "The GAN is dead; long live the GAN! A Modern GAN Baseline", 2024), with f = softplus: each real
  example is paired with one sample, element by element,

      D minimises E softplus(C(G(z)) − C(x))        G minimises E softplus(C(x) − C(G(z)))

  R3GAN's objective is RpGAN with R1 and R2 at the same γ: ``--set loss.name=rpgan --set loss.r1_gamma=γ
  --set loss.r2_gamma=γ``. Huang et al. show that RpGAN removes the mode dropping that the classic loss's
  landscape allows, and that the two zero-centred penalties make it converge locally.

G's loss in both needs D's logits on real data (``needs_real_logits``): the variant passes them, computed with
the current D on the G step's real minibatch and without a graph, so they are constants for G. D(x) and D(G(z))
are reported as the relativistic probabilities D̃ (``d_real``, ``d_fake``), which head for 1/2 at the
equilibrium like the classic D's; for ``rpgan`` they are the paired σ(C(x) − C(G(z))) and its complement.
For PatchGAN maps the average (``ragan``) is over the batch at each position, and the pairs (``rpgan``) are of
the same position in the paired images. ``r1_gamma`` and ``r2_gamma`` > 0 add the R1 and R2 penalties to D's loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganforge_losses.penalties import R1Option


def _needed(real_logits: torch.Tensor | None, name: str) -> torch.Tensor:
    if real_logits is None:
        raise ValueError(
            f"{name}'s generator loss compares G's samples with real data: pass D's real logits as "
            "generator_loss(fake_logits, real_logits) (the loss sets needs_real_logits)"
        )
    return real_logits.detach().float()  # constants for G, even if the caller kept a graph


class RelativisticAverageLoss(R1Option):
    """RaGAN (Jolicoeur-Martineau 2018): each side is judged against the other side's mean logit."""

    needs_real_logits = True

    def __init__(self, r1_gamma: float = 0.0, r2_gamma: float = 0.0):
        super().__init__(r1_gamma, r2_gamma)

    @staticmethod
    def _relative(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """C(x) − E C(G(z)) and C(G(z)) − E C(x), the means over the batch."""
        return real - fake.mean(dim=0, keepdim=True), fake - real.mean(dim=0, keepdim=True)

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """−E log σ(C(x) − E C(G(z))) − E log(1 − σ(C(G(z)) − E C(x)))."""
        real, fake = self._relative(real_logits.float(), fake_logits.float())
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        """−E log σ(C(G(z)) − E C(x)) − E log(1 − σ(C(x) − E C(G(z)))): both terms depend on G."""
        real, fake = self._relative(_needed(real_logits, "ragan"), fake_logits.float())
        return F.softplus(-fake).mean() + F.softplus(real).mean()

    def real_sign(self, real_logits: torch.Tensor) -> None:
        """No ADA signal: D's offset is free (only differences of its outputs count), so its outputs on real data
        alone do not say whether it overfits."""
        return None

    def report(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict[str, torch.Tensor]:
        """The relativistic D̃(x) and D̃(G(z)), both 1/2 at the equilibrium."""
        real, fake = self._relative(real_logits.float(), fake_logits.float())
        return {"d_real": torch.sigmoid(real).mean(), "d_fake": torch.sigmoid(fake).mean()}


class RelativisticPairingLoss(R1Option):
    """RpGAN (R3GAN, Huang et al. 2024): each real example against one sample, softplus of the logit gap."""

    needs_real_logits = True

    def __init__(self, r1_gamma: float = 0.0, r2_gamma: float = 0.0):
        super().__init__(r1_gamma, r2_gamma)

    @staticmethod
    def _gap(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """C(x) − C(G(z)) for each pair."""
        if real.shape != fake.shape:
            raise ValueError(
                f"rpgan pairs each real example with one sample: D's logits on real data {tuple(real.shape)} and on "
                f"samples {tuple(fake.shape)} must have the same shape (as many samples as real examples)"
            )
        return real - fake

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """E softplus(C(G(z)) − C(x)) = −E log σ(C(x) − C(G(z)))."""
        return F.softplus(-self._gap(real_logits.float(), fake_logits.float())).mean()

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        """E softplus(C(x) − C(G(z))) = −E log σ(C(G(z)) − C(x))."""
        return F.softplus(self._gap(_needed(real_logits, "rpgan"), fake_logits.float())).mean()

    def real_sign(self, real_logits: torch.Tensor) -> None:
        """No ADA signal: D's offset is free (only differences of its outputs count), so its outputs on real data
        alone do not say whether it overfits."""
        return None

    def report(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict[str, torch.Tensor]:
        """σ(C(x) − C(G(z))) over the pairs and its complement: how surely D ranks the real one first (1/2 at the
        equilibrium)."""
        d_real = torch.sigmoid(self._gap(real_logits.float(), fake_logits.float())).mean()
        return {"d_real": d_real, "d_fake": 1 - d_real}

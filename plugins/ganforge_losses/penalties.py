"""Penalties on D's gradient with respect to its input, and the R1 and R2 options every built-in loss has.

* WGAN-GP (Gulrajani et al. 2017): λ E[(‖∇D(x̂)‖₂ − 1)²] at random points x̂ = εx + (1 − ε)G(z) on the lines
  between real and generated examples, ε ~ U[0, 1] per example; it keeps the critic close to 1-Lipschitz.
* R1 (Mescheder et al. 2018): (γ/2) E[‖∇D(x)‖²] on real data only; it stops D from growing gradients where the
  data lies, which makes training converge locally for any of the losses.
* R2 (Mescheder et al. 2018; Huang et al. 2024, R3GAN): (γ/2) E[‖∇D(G(z))‖²] on generated data. R3GAN shows that
  RpGAN with R1 and R2 together (``loss.name=rpgan``, ``loss.r1_gamma=γ``, ``loss.r2_gamma=γ``) converges locally
  where R1 alone does not reliably.

Gradients are taken per example and summed over all of D's outputs for it, so PatchGAN maps work too. They come
out of a BatchNorm discriminator mixed with the rest of the minibatch; Gulrajani et al. therefore use layer
normalisation in the critic (``--set discriminator.norm=layer`` for dcgan).
"""

from __future__ import annotations

import torch

from ganforge.loss import Critic, Loss


def input_gradients(discriminator: Critic, inputs: torch.Tensor) -> torch.Tensor:
    """∇ₓ of D's (summed) output at each example of ``inputs``, flattened to (N, size), kept differentiable."""
    inputs = inputs.detach().float().requires_grad_(True)
    (gradients,) = torch.autograd.grad(discriminator(inputs).float().sum(), inputs, create_graph=True)
    return gradients.flatten(1)


def gradient_penalty(discriminator: Critic, real: torch.Tensor, fake: torch.Tensor, weight: float) -> torch.Tensor:
    """WGAN-GP's ``weight`` · E[(‖∇D(x̂)‖₂ − 1)²] at random interpolates x̂ between ``real`` and ``fake``."""
    shape = (len(real),) + (1,) * (real.dim() - 1)
    epsilon = torch.rand(shape, device=real.device)
    mixed = epsilon * real.float() + (1 - epsilon) * fake.float()
    return weight * (input_gradients(discriminator, mixed).norm(dim=1) - 1).square().mean()


def r1_penalty(discriminator: Critic, real: torch.Tensor, gamma: float) -> torch.Tensor:
    """R1's (``gamma``/2) · E[‖∇D(x)‖²] on the ``real`` examples."""
    return gamma / 2 * input_gradients(discriminator, real).square().sum(dim=1).mean()


def r2_penalty(discriminator: Critic, fake: torch.Tensor, gamma: float) -> torch.Tensor:
    """R2's (``gamma``/2) · E[‖∇D(x̃)‖²] on the generated examples ``fake``."""
    return gamma / 2 * input_gradients(discriminator, fake).square().sum(dim=1).mean()


class R1Option(Loss):
    """Base of the built-in losses: adds the R1 penalty (on real data) to D's loss when ``r1_gamma`` > 0, and the
    R2 penalty (on G's samples) when ``r2_gamma`` > 0."""

    def __init__(
        self,
        r1_gamma: float = 0.0,  # R1: γ/2 · E‖∇D(x)‖² on real data added to D's loss (Mescheder et al. 2018); 0: off
        r2_gamma: float = 0.0,  # R2: γ/2 · E‖∇D(G(z))‖² on G's samples added to D's loss (R3GAN); 0: off
    ):
        for name, gamma in (("r1_gamma", r1_gamma), ("r2_gamma", r2_gamma)):
            if gamma < 0:
                raise ValueError(f"{name} must be at least 0, got {gamma}")
        self.r1_gamma, self.r2_gamma = r1_gamma, r2_gamma

    def penalty(self, discriminator: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | None:
        terms = []
        if self.r1_gamma:
            terms.append(r1_penalty(discriminator, real, self.r1_gamma))
        if self.r2_gamma:
            terms.append(r2_penalty(discriminator, fake, self.r2_gamma))
        return sum(terms[1:], terms[0]) if terms else None

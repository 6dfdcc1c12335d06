"""The f-GAN losses of Nowozin, Cseke and Tomioka, "f-GAN: Training Generative Neural Samplers using Variational
Divergence Minimization" (NeurIPS 2016).

Any f-divergence D_f(P||Q) = E_Q[f(p/q)] has the variational lower bound

    D_f(P||Q) >= F(T) = E_{x~P}[T(x)] - E_{x~Q}[f*(T(x))]

where f* is the convex conjugate of f, with equality at T(x) = f'(p(x)/q(x)). The discriminator outputs an
unbounded value v (the "logit"), and T = g_f(v) maps it into the domain of f* (the output activations of the
paper's Table 2). D maximises F, tightening the bound; G, whose samples are Q, minimises it (``minimax``) or, as
the paper recommends in practice, maximises E_Q[g_f(v)] (``non-saturating``), the analogue of Goodfellow's trick.

Each f*(g_f(v)) below is the paper's f* composed with g_f and simplified: for instance for the GAN divergence
-log(1 - exp(-softplus(-v))) is exactly softplus(v), which stays finite where the composition would not.

For reverse KL and squared Hellinger, -g_f(v) is exp(-v) (+ 1 for Hellinger), so G's non-saturating loss
-E_Q[g_f(v)] is exponential in D's output. Off the data, the optimal critic log(p/q) goes to -inf (reverse KL is
infinite between distributions of different supports, and ring8's modes are 0.01 wide), so a few samples that D
rejects by far made this loss overflow float32 (v < -88) and training stop. G minimises log E_Q[exp(-v)] instead,
by logsumexp: a monotone function of the textbook loss, so the same minimiser, and its gradient is the textbook
gradient times a positive factor (the softmax weights of the samples), which Adam's step size hardly feels.
"""

from __future__ import annotations

import math
from typing import Callable, Literal

import torch
import torch.nn.functional as F

Tensor = torch.Tensor
LOG2 = math.log(2.0)

# divergences whose G loss -g_f(v) is exp(-v) plus a constant; see the module docstring
EXPONENTIAL_ACTIVATION = ("reverse-kl", "hellinger")

# divergence -> (g_f: the output activation, v -> f*(g_f(v)): its conjugate, simplified)
DIVERGENCES: dict[str, tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]] = {
    # Kullback-Leibler, f(u) = u log u: g(v) = v, f*(t) = exp(t - 1)
    "kl": (lambda v: v, lambda v: torch.exp(v - 1)),
    # reverse KL, f(u) = -log u: g(v) = -exp(-v), f*(t) = -1 - log(-t)
    "reverse-kl": (lambda v: -torch.exp(-v), lambda v: v - 1),
    # Pearson chi-squared, f(u) = (u - 1)^2: g(v) = v, f*(t) = t^2/4 + t
    "pearson": (lambda v: v, lambda v: 0.25 * v * v + v),
    # squared Hellinger, f(u) = (sqrt(u) - 1)^2: g(v) = 1 - exp(-v), f*(t) = t / (1 - t)
    "hellinger": (lambda v: 1 - torch.exp(-v), lambda v: torch.expm1(v)),
    # Jensen-Shannon, f(u) = -(u + 1) log((1 + u)/2) + u log u: g(v) = log 2 - softplus(-v), f*(t) = -log(2 - exp(t))
    "js": (lambda v: LOG2 - F.softplus(-v), lambda v: F.softplus(v) - LOG2),
    # the original GAN, f(u) = u log u - (u + 1) log(u + 1): g(v) = -softplus(-v), f*(t) = -log(1 - exp(t))
    "gan": (lambda v: -F.softplus(-v), lambda v: F.softplus(v)),
}


class FGANLoss:
    """f-GAN: D maximises E_P[g_f(v)] - E_Q[f*(g_f(v))], a lower bound on the f-divergence between data and G."""

    def __init__(
        self,
        divergence: Literal["kl", "reverse-kl", "pearson", "hellinger", "js", "gan"] = "js",  # the f-divergence D estimates
        mode: Literal["non-saturating", "minimax"] = "non-saturating",  # G maximises E_Q[g_f(v)], or minimises the bound
    ):
        if divergence not in DIVERGENCES:
            raise ValueError(f"unknown divergence '{divergence}'; choose one of: {', '.join(DIVERGENCES)}")
        if mode not in ("non-saturating", "minimax"):
            raise ValueError(f"unknown mode '{mode}'; choose non-saturating or minimax")
        self.divergence = divergence
        self.mode = mode
        self.activation, self.conjugate = DIVERGENCES[divergence]

    def bound(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """F = mean g_f(v_real) - mean f*(g_f(v_fake)): the estimate of D_f(data || G) that D maximises."""
        return self.activation(real_logits).mean() - self.conjugate(fake_logits).mean()

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """-F: minimising it is D's maximisation of the bound."""
        return -self.bound(real_logits, fake_logits)

    def generator_loss(self, fake_logits: Tensor) -> Tensor:
        """minimax: -mean f*(g_f(v_fake)), G's part of F; non-saturating: -mean g_f(v_fake), or for reverse KL and
        Hellinger log mean exp(-v_fake), its finite monotone form. G minimises any of them."""
        if self.mode == "minimax":
            return -self.conjugate(fake_logits).mean()
        if self.divergence in EXPONENTIAL_ACTIVATION:
            v = fake_logits.float().flatten()
            return torch.logsumexp(-v, 0) - math.log(v.numel())
        return -self.activation(fake_logits).mean()

"""The f-GAN losses against the maths of Nowozin et al. (2016), computed independently from f and f*."""

import math

import pytest
import torch
import torch.nn.functional as F

import ganforge
from ganforge import testing
from ganforge_fgan import plugin
from ganforge_fgan.losses import DIVERGENCES, FGANLoss


def t(values):
    """float64 for the exact comparisons below; the loss itself works in any float dtype."""
    return torch.tensor(values, dtype=torch.float64)


# f, f' and the convex conjugate f* of each divergence, straight from the paper's Tables 1 and 2.
F_TABLE = {
    "kl": (lambda u: u * math.log(u), lambda u: 1 + math.log(u), lambda t: math.exp(t - 1)),
    "reverse-kl": (lambda u: -math.log(u), lambda u: -1 / u, lambda t: -1 - math.log(-t)),
    "pearson": (lambda u: (u - 1) ** 2, lambda u: 2 * (u - 1), lambda t: t * t / 4 + t),
    "hellinger": (lambda u: (math.sqrt(u) - 1) ** 2, lambda u: 1 - 1 / math.sqrt(u), lambda t: t / (1 - t)),
    "js": (
        lambda u: -(u + 1) * math.log((1 + u) / 2) + u * math.log(u),
        lambda u: math.log(2 * u / (1 + u)),
        lambda t: -math.log(2 - math.exp(t)),
    ),
    "gan": (
        lambda u: u * math.log(u) - (u + 1) * math.log(u + 1),
        lambda u: math.log(u / (1 + u)),
        lambda t: -math.log(1 - math.exp(t)),
    ),
}
# The critic value v* = g_f^{-1}(f'(p/q)) at which the bound is tight, solved by hand per divergence.
OPTIMAL_V = {
    "kl": lambda u: 1 + math.log(u),
    "reverse-kl": lambda u: math.log(u),
    "pearson": lambda u: 2 * (u - 1),
    "hellinger": lambda u: 0.5 * math.log(u),
    "js": lambda u: math.log(u),
    "gan": lambda u: math.log(u),
}
# Two distributions on three points, as samples with exactly these frequencies.
P, Q = [0.5, 0.25, 0.25], [0.25, 0.25, 0.5]
P_SAMPLES, Q_SAMPLES = [0, 0, 1, 2], [0, 1, 2, 2]


def closed_form(divergence):
    """D_f(P||Q) from its textbook formula, not through f."""
    pairs = list(zip(P, Q))
    mixture = sum(p * math.log(2 * p / (p + q)) + q * math.log(2 * q / (p + q)) for p, q in pairs)
    return {
        "kl": sum(p * math.log(p / q) for p, q in pairs),
        "reverse-kl": sum(q * math.log(q / p) for p, q in pairs),
        "pearson": sum((p - q) ** 2 / q for p, q in pairs),
        "hellinger": sum((math.sqrt(p) - math.sqrt(q)) ** 2 for p, q in pairs),
        "js": mixture,  # 2 JSD(P||Q) with the paper's f
        "gan": mixture - math.log(4),
    }[divergence]


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_f_divergence_closed_forms_agree_with_f(divergence):
    f = F_TABLE[divergence][0]
    assert sum(q * f(p / q) for p, q in zip(P, Q)) == pytest.approx(closed_form(divergence), rel=1e-12)


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_table_conjugates_satisfy_fenchel_young_equality(divergence):
    """f*(f'(u)) = u f'(u) - f(u): the table's f* really is f's conjugate."""
    f, f_prime, f_star = F_TABLE[divergence]
    for u in (0.2, 0.5, 1.0, 2.0, 5.0):
        assert f_star(f_prime(u)) == pytest.approx(u * f_prime(u) - f(u), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_simplified_conjugate_equals_f_star_of_activation(divergence):
    activation, conjugate = DIVERGENCES[divergence]
    f_star = F_TABLE[divergence][2]
    for v in (-3.0, -0.5, 0.0, 0.7, 2.0):
        value = activation(t(v)).item()
        assert conjugate(t(v)).item() == pytest.approx(f_star(value), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_optimal_critic_makes_the_bound_equal_the_divergence(divergence):
    v = t([OPTIMAL_V[divergence](p / q) for p, q in zip(P, Q)])
    loss = FGANLoss(divergence)
    bound = -loss.discriminator_loss(v[P_SAMPLES], v[Q_SAMPLES]).item()
    assert bound == pytest.approx(closed_form(divergence), rel=1e-9)


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_any_other_critic_gives_a_lower_bound(divergence):
    loss = FGANLoss(divergence)
    generator = torch.Generator().manual_seed(0)
    for _ in range(50):
        v = torch.randn(3, generator=generator, dtype=torch.float64)
        assert -loss.discriminator_loss(v[P_SAMPLES], v[Q_SAMPLES]).item() <= closed_form(divergence) + 1e-9


def test_gan_divergence_is_goodfellows_loss():
    real, fake = torch.randn(64, dtype=torch.float64), torch.randn(64, dtype=torch.float64)
    loss = FGANLoss("gan")
    assert torch.allclose(loss.discriminator_loss(real, fake), F.softplus(-real).mean() + F.softplus(fake).mean())
    assert torch.allclose(loss.generator_loss(fake), F.softplus(-fake).mean())  # -log D(G(z))
    assert torch.allclose(FGANLoss("gan", "minimax").generator_loss(fake), -F.softplus(fake).mean())  # log(1 - D(G(z)))


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_minimax_generator_minimises_the_bound(divergence):
    """G's minimax loss is F up to the term that does not depend on G."""
    real, fake = torch.randn(16, dtype=torch.float64), torch.randn(16, dtype=torch.float64)
    loss = FGANLoss(divergence, "minimax")
    assert torch.allclose(loss.generator_loss(fake), loss.bound(real, fake) - loss.activation(real).mean())


@pytest.mark.parametrize("divergence", ["js", "gan"])
def test_finite_where_the_textbook_composition_is_not(divergence):
    """At a confident critic f*(g_f(v)) taken literally is log(0); the simplified form stays finite, with gradients."""
    activation, _ = DIVERGENCES[divergence]
    f_star = {"js": lambda t: -torch.log(2 - torch.exp(t)), "gan": lambda t: -torch.log(1 - torch.exp(t))}[divergence]
    logits = torch.tensor([-200.0, 200.0], requires_grad=True)
    assert not torch.isfinite(f_star(activation(logits))).all()
    for mode in ("non-saturating", "minimax"):
        loss = FGANLoss(divergence, mode)
        total = loss.discriminator_loss(logits.flip(0), logits) + loss.generator_loss(logits)
        (grad,) = torch.autograd.grad(total, logits)
        assert torch.isfinite(total) and torch.isfinite(grad).all()


def test_unknown_settings_are_rejected_with_the_choices():
    registry = testing.registry_with(plugin)
    with pytest.raises(ganforge.GanforgeError, match="choose one of: kl, reverse-kl, pearson, hellinger, js, gan"):
        testing.build("loss", "fgan", registry, settings={"divergence": "wasserstein"})


@pytest.mark.parametrize("mode", ["non-saturating", "minimax"])
@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_keeps_the_loss_contract(divergence, mode):
    registry = testing.registry_with(plugin)
    testing.check_loss(testing.build("loss", "fgan", registry, settings={"divergence": divergence, "mode": mode}))


# -g_f(v) is exp(-v) (+ a constant) for these: G's non-saturating loss taken literally overflows float32 at v < -88
EXPONENTIAL_G = ["reverse-kl", "hellinger"]


@pytest.mark.parametrize("divergence", EXPONENTIAL_G)
def test_non_saturating_generator_loss_is_finite_where_d_rejects_samples_by_far(divergence):
    """Off the data, the optimal critic is log(p/q) -> -inf; a few such samples must not make G's loss inf."""
    logits = torch.tensor([-200.0, -1.0, 0.5, 3.0], requires_grad=True)
    assert not torch.isfinite(-DIVERGENCES[divergence][0](logits).mean())  # the textbook value overflows
    loss = FGANLoss(divergence).generator_loss(logits)
    (grad,) = torch.autograd.grad(loss, logits)
    assert torch.isfinite(loss) and torch.isfinite(grad).all()
    assert grad[0] < 0 and grad.abs().argmax() == 0  # the worst-judged sample still pulls hardest, towards higher v


@pytest.mark.parametrize("divergence", EXPONENTIAL_G)
def test_non_saturating_generator_loss_keeps_the_textbook_direction(divergence):
    """log E_Q[exp(-v)] is a monotone function of -E_Q[g_f(v)]: same minimiser, gradient a positive multiple."""
    logits = torch.randn(32, dtype=torch.float64, requires_grad=True)
    (ours,) = torch.autograd.grad(FGANLoss(divergence).generator_loss(logits), logits)
    (textbook,) = torch.autograd.grad(-DIVERGENCES[divergence][0](logits).mean(), logits)
    ratio = ours / textbook
    assert (ratio > 0).all() and torch.allclose(ratio, ratio[0].expand_as(ratio))

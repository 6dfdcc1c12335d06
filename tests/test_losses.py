"""The BCE loss against Goodfellow's objectives computed by hand from probabilities."""

import math

import pytest
import torch

from ganforge.registry import get_registry


def bce(mode="non-saturating"):
    return get_registry().load("loss", "bce")(mode=mode)


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_discriminator_loss_is_negated_value_function():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    expected = -(
        sum(math.log(sigmoid(r)) for r in real.tolist()) / 2 + sum(math.log(1 - sigmoid(f)) for f in fake.tolist()) / 2
    )
    assert bce().discriminator_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)


def test_minimax_generator_minimises_log_one_minus_d():
    fake = torch.tensor([0.5, -3.0, 1.0])
    expected = sum(math.log(1 - sigmoid(f)) for f in fake.tolist()) / 3
    assert bce("minimax").generator_loss(fake).item() == pytest.approx(expected, rel=1e-6)


def test_non_saturating_generator_maximises_log_d():
    fake = torch.tensor([0.5, -3.0, 1.0])
    expected = -sum(math.log(sigmoid(f)) for f in fake.tolist()) / 3
    assert bce().generator_loss(fake).item() == pytest.approx(expected, rel=1e-6)


def test_equilibrium_value():
    """At D = 1/2 everywhere, D's loss is 2 log 2 and the non-saturating G loss is log 2."""
    zero = torch.zeros(4)
    assert bce().discriminator_loss(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert bce().generator_loss(zero).item() == pytest.approx(math.log(2))


def test_stable_where_sigmoid_saturates():
    """Probabilities would give log(0) = -inf here; logits stay finite and keep a gradient."""
    fake = torch.tensor([-200.0, 200.0], requires_grad=True)
    for mode in ("minimax", "non-saturating"):
        loss = bce(mode).generator_loss(fake)
        (grad,) = torch.autograd.grad(loss, fake)
        assert torch.isfinite(loss) and torch.isfinite(grad).all()
    assert torch.isfinite(bce().discriminator_loss(torch.tensor([-200.0]), torch.tensor([200.0])))


def test_non_saturating_keeps_gradient_when_d_rejects_fakes():
    """Goodfellow's reason for the non-saturating objective: strong gradients early, when D(G(z)) ~ 0."""
    grads = {}
    for mode in ("minimax", "non-saturating"):
        fake = torch.tensor([-8.0], requires_grad=True)
        (grads[mode],) = torch.autograd.grad(bce(mode).generator_loss(fake), fake)
    assert abs(grads["non-saturating"].item()) > 100 * abs(grads["minimax"].item())

"""The loss family against hand-computed values: lsgan, hinge, wgan-gp (with its gradient penalty) and R1."""

import math

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import ganforge
from ganforge.cli import app
from ganforge.registry import get_registry
from ganforge_losses.penalties import gradient_penalty, r1_penalty

from conftest import TINY
from variant_helpers import build

REAL, FAKE = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([0.5, -3.0])


def loss(name, **settings):
    return get_registry().load("loss", name)(**settings)


def test_lsgan_matches_its_definition():
    lsgan = loss("lsgan")
    real_term = ((2 - 1) ** 2 + (-1 - 1) ** 2 + (0.5 - 1) ** 2) / 3
    assert lsgan.discriminator_loss(REAL, FAKE).item() == pytest.approx(real_term + (0.5**2 + 3.0**2) / 2)
    assert lsgan.generator_loss(FAKE).item() == pytest.approx(((0.5 - 1) ** 2 + (-3 - 1) ** 2) / 2)
    coded = loss("lsgan", real_target=1.0, fake_target=-1.0, generator_target=0.0)  # Mao et al.'s -1-1-0 coding
    assert coded.discriminator_loss(REAL, FAKE).item() == pytest.approx(real_term + (1.5**2 + 2.0**2) / 2)
    assert coded.generator_loss(FAKE).item() == pytest.approx((0.5**2 + 3.0**2) / 2)


def test_hinge_matches_its_definition():
    hinge = loss("hinge")
    expected_d = (max(0, 1 - 2) + max(0, 1 + 1) + max(0, 1 - 0.5)) / 3 + (max(0, 1 + 0.5) + max(0, 1 - 3)) / 2
    assert hinge.discriminator_loss(REAL, FAKE).item() == pytest.approx(expected_d)
    assert hinge.generator_loss(FAKE).item() == pytest.approx(-(0.5 - 3) / 2)
    assert set(hinge.report(REAL, FAKE)) == {"critic_real", "critic_fake"}


def test_wgan_critic_loss_and_estimate():
    wgan = loss("wgan-gp")
    assert wgan.discriminator_loss(REAL, FAKE).item() == pytest.approx((0.5 - 3) / 2 - (2 - 1 + 0.5) / 3)
    assert wgan.generator_loss(FAKE).item() == pytest.approx(1.25)
    assert wgan.report(REAL, FAKE)["wasserstein"].item() == pytest.approx(0.5 + 1.25)
    assert wgan.d_steps == 5


def linear_critic(weights):
    """D(x) = w·x + 1: its gradient is w everywhere, so ‖∇D‖ = ‖w‖ at every interpolate."""
    layer = nn.Linear(len(weights), 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([weights]))
        layer.bias.fill_(1.0)
    return lambda x: layer(x).squeeze(1)


def test_gradient_penalty_on_a_linear_critic():
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    assert gradient_penalty(linear_critic([3.0, 4.0]), real, fake, weight=10.0).item() == pytest.approx(10 * (5 - 1) ** 2)
    assert gradient_penalty(linear_critic([0.6, 0.8]), real, fake, weight=10.0).item() == pytest.approx(0.0, abs=1e-10)


def test_gradient_penalty_is_taken_between_real_and_fake():
    """D(x) = ½‖x‖² has ∇D(x) = x; with real = fake every interpolate is that point, whatever ε is drawn."""
    point = torch.tensor([[3.0, 4.0], [0.0, 2.0]])
    critic = lambda x: 0.5 * x.square().sum(1)  # noqa: E731
    expected = 10 * ((5 - 1) ** 2 + (2 - 1) ** 2) / 2
    assert gradient_penalty(critic, point, point.clone(), weight=10.0).item() == pytest.approx(expected)


def test_gradient_penalty_trains_the_critic_towards_unit_gradients():
    layer = nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[3.0, 4.0]]))
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.01)
    for _ in range(60):
        optimizer.zero_grad()
        gradient_penalty(lambda x: layer(x).squeeze(1), torch.randn(8, 2), torch.randn(8, 2), 10.0).backward()
        optimizer.step()
    assert layer.weight.norm().item() == pytest.approx(1.0, abs=1e-3)


def test_r1_penalty_and_option():
    critic = linear_critic([3.0, 4.0])
    real = torch.randn(5, 2)
    assert r1_penalty(critic, real, gamma=10.0).item() == pytest.approx(10 / 2 * 25)
    for name in ("bce", "lsgan", "hinge"):
        assert loss(name).penalty(critic, real, real) is None
        assert loss(name, r1_gamma=2.0).penalty(critic, real, real).item() == pytest.approx(25)
    assert loss("wgan-gp", r1_gamma=2.0).penalty(critic, real, real).item() == pytest.approx(10 * 16 + 25)


def test_penalty_reaches_the_discriminator_through_the_vanilla_step():
    data = ganforge.api.load_dataset(ganforge.configure("vanilla", "ring8", {"data.size": 64}))
    settings = {**TINY, "data.name": "ring8", "loss.name": "bce", "loss.r1_gamma": 1.0, "optim.d_steps": 1}
    model = build("vanilla", data, settings)
    metrics = model.train_step(data.batch(torch.arange(32)), ganforge.api.Precision(torch.device("cpu")))
    assert metrics["penalty"] > 0 and {"loss_d", "loss_g", "d_real", "d_fake"} <= metrics.keys()


def test_wgan_gp_takes_five_critic_steps_unless_told_otherwise():
    data = ganforge.api.load_dataset(ganforge.configure("vanilla", "ring8", {"data.size": 64}))
    assert build("vanilla", data, {**TINY, "data.name": "ring8", "loss.name": "wgan-gp"}).batches_per_step == 5
    assert build("vanilla", data, {**TINY, "data.name": "ring8", "loss.name": "wgan-gp", "optim.d_steps": 2}).batches_per_step == 2
    assert build("vanilla", data, {**TINY, "data.name": "ring8"}).batches_per_step == 1


@pytest.mark.parametrize("name", ["bce", "lsgan", "hinge", "wgan-gp", "ragan", "rpgan"])
def test_discriminator_loss_falls_against_a_fixed_generator(name):
    """Each loss (and its penalty) gives D gradients that separate real from generated data."""
    data = ganforge.api.load_dataset(ganforge.configure("vanilla", "ring8", {"data.size": 128}))
    model = build("vanilla", data, {**TINY, "data.name": "ring8", "loss.name": name, "optim.lr": 1e-3})
    generator, discriminator = model.networks["generator"], model.networks["discriminator"]
    real, fake = data.batch(torch.arange(128)).data, generator(torch.randn(128, TINY["noise.dim"])).detach()
    losses = []
    for _ in range(15):
        real_logits, fake_logits = discriminator(real), discriminator(fake)
        loss_d = model.loss.discriminator_loss(real_logits, fake_logits)
        penalty = model.loss.penalty(discriminator, real, fake)
        total = loss_d if penalty is None else loss_d + penalty
        model.optimizers["discriminator"].zero_grad()
        total.backward()
        model.optimizers["discriminator"].step()
        losses.append(total.item())  # what D minimises, penalty included
    assert sum(losses[-3:]) < sum(losses[:3])


def test_choosing_a_loss_is_one_flag(tmp_path):
    result = CliRunner().invoke(
        app,
        ["run", "vanilla", "--data", "ring8", "--set", "data.size=128", "--set", "loss.name=hinge", "--max-steps", "2",
         "--batch-size", "32", "--set", "generator.hidden=8", "--set", "discriminator.hidden=8", "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "critic_real" in (tmp_path / "metrics.jsonl").read_text()


def test_losses_are_listed():
    names = {c.name for c in get_registry().components("loss")}
    assert {"bce", "lsgan", "hinge", "wgan-gp", "ragan", "rpgan"} <= names
    assert math.isclose(loss("wgan-gp").gp_weight, 10.0)

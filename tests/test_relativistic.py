"""Losses that need D's real logits in G's step: RaGAN, RpGAN (R3GAN), the R2 penalty beside R1, and the contract
that hands G's loss the real logits (computed fresh with the current D, without a graph) only where asked for."""

import math

import pytest
import torch
from torch import nn

import ganforge
from ganforge import testing
from ganforge.loss import Loss, complete, real_logits_for_generator
from ganforge.plugin import hookimpl
from ganforge.registry import get_registry
from ganforge_losses.penalties import r1_penalty, r2_penalty

from conftest import TINY
from variant_helpers import build

REAL, FAKE = [2.0, -1.0, 0.5], [0.5, -3.0, 1.0]


def loss(name, **settings):
    return get_registry().load("loss", name)(**settings)


def softplus(x):
    return math.log1p(math.exp(x))


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def mean(values):
    values = list(values)
    return sum(values) / len(values)


def test_ragan_matches_jolicoeur_martineau():
    """D: −E log σ(C(x) − E C(G(z))) − E log(1 − σ(C(G(z)) − E C(x))); G the same with real and fake swapped."""
    ragan = loss("ragan")
    assert ragan.needs_real_logits
    m_real, m_fake = mean(REAL), mean(FAKE)
    expected_d = mean(-math.log(sigmoid(r - m_fake)) for r in REAL) + mean(-math.log(1 - sigmoid(f - m_real)) for f in FAKE)
    expected_g = mean(-math.log(sigmoid(f - m_real)) for f in FAKE) + mean(-math.log(1 - sigmoid(r - m_fake)) for r in REAL)
    real, fake = torch.tensor(REAL), torch.tensor(FAKE)
    assert ragan.discriminator_loss(real, fake).item() == pytest.approx(expected_d, rel=1e-6)
    assert ragan.generator_loss(fake, real).item() == pytest.approx(expected_g, rel=1e-6)
    report = ragan.report(real, fake)
    assert report["d_real"].item() == pytest.approx(mean(sigmoid(r - m_fake) for r in REAL), rel=1e-6)
    assert report["d_fake"].item() == pytest.approx(mean(sigmoid(f - m_real) for f in FAKE), rel=1e-6)


def test_ragan_generator_gradient_flows_through_both_terms():
    """The real term depends on G through the fakes' mean: a constant shift of every fake logit by δ moves it."""
    fake = torch.tensor(FAKE, requires_grad=True)
    (grad,) = torch.autograd.grad(loss("ragan").generator_loss(fake, torch.tensor(REAL)), fake)
    m_real, m_fake = mean(REAL), mean(FAKE)
    n = len(FAKE)
    real_term = -mean(sigmoid(r - m_fake) for r in REAL) / n  # d/df_i of mean softplus(r - mean f): fakes up, loss down
    expected = [-(1 - sigmoid(f - m_real)) / n + real_term for f in FAKE]
    assert grad.tolist() == pytest.approx(expected, rel=1e-5)


def test_rpgan_pairs_each_real_with_one_fake():
    """R3GAN's RpGAN: D minimises E softplus(C(G(z)) − C(x)), G minimises E softplus(C(x) − C(G(z))), per pair."""
    rpgan = loss("rpgan")
    assert rpgan.needs_real_logits
    real, fake = torch.tensor(REAL), torch.tensor(FAKE)
    assert rpgan.discriminator_loss(real, fake).item() == pytest.approx(mean(softplus(f - r) for r, f in zip(REAL, FAKE)), rel=1e-6)
    assert rpgan.generator_loss(fake, real).item() == pytest.approx(mean(softplus(r - f) for r, f in zip(REAL, FAKE)), rel=1e-6)
    # pairing, not averaging: the same logits in another order give another loss
    assert rpgan.generator_loss(fake.flip(0), real).item() != pytest.approx(rpgan.generator_loss(fake, real).item())
    assert rpgan.report(real, fake)["d_real"].item() == pytest.approx(mean(sigmoid(r - f) for r, f in zip(REAL, FAKE)), rel=1e-6)


def test_relativistic_losses_refuse_what_they_cannot_use():
    for name in ("ragan", "rpgan"):
        with pytest.raises(ValueError, match="real logits"):
            loss(name).generator_loss(torch.tensor(FAKE))
    with pytest.raises(ValueError, match="pairs"):
        loss("rpgan").discriminator_loss(torch.zeros(3), torch.zeros(4))


def test_relativistic_generator_losses_treat_real_logits_as_constants():
    real = torch.tensor(REAL, requires_grad=True)
    for name in ("ragan", "rpgan"):
        out = loss(name).generator_loss(torch.tensor(FAKE, requires_grad=True), real)
        assert torch.autograd.grad(out, real, allow_unused=True)[0] is None


def relu_critic(weights):
    """D(x) = relu(w·x): gradient w where w·x > 0, zero (flat) where w·x < 0."""
    w = torch.tensor(weights)
    return lambda x: torch.relu(x @ w)


def test_r2_penalises_gradients_on_fake_data_only():
    critic = relu_critic([3.0, 4.0])
    real = torch.tensor([[1.0, 1.0], [2.0, 0.5]])  # w·x > 0: slope ‖w‖ = 5
    flat_fake = -real  # w·x < 0: D is flat there
    assert r2_penalty(critic, flat_fake, gamma=10.0).item() == 0.0
    assert r2_penalty(critic, real, gamma=10.0).item() == pytest.approx(10 / 2 * 25)
    assert loss("bce", r2_gamma=10.0).penalty(critic, real, flat_fake).item() == 0.0  # R2 alone ignores the reals
    assert loss("bce", r2_gamma=10.0).penalty(critic, flat_fake, real).item() == pytest.approx(125)
    assert loss("bce", r1_gamma=10.0).penalty(critic, flat_fake, real).item() == 0.0  # R1 alone ignores the fakes


def test_r1_and_r2_add_up_on_every_builtin_loss():
    critic = relu_critic([3.0, 4.0])
    real, fake = torch.tensor([[1.0, 1.0]]), torch.tensor([[0.5, 0.1]])
    for name in ("bce", "lsgan", "hinge", "ragan", "rpgan"):
        assert loss(name, r1_gamma=2.0, r2_gamma=4.0).penalty(critic, real, fake).item() == pytest.approx(25 + 2 * 25), name
        assert loss(name).penalty(critic, real, fake) is None
    assert loss("wgan-gp", r1_gamma=2.0, r2_gamma=4.0).penalty(critic, real, fake).item() == pytest.approx(10 * 16 + 25 + 50)
    with pytest.raises(ValueError, match="r2_gamma"):
        loss("rpgan", r2_gamma=-1.0)


class OneArgument:
    """A third-party loss written to the old contract: G's loss takes the fake logits only."""

    def discriminator_loss(self, real_logits, fake_logits):
        return (fake_logits - real_logits).mean()

    def generator_loss(self, fake_logits):
        return -fake_logits.mean()


class OldSubclass(Loss):
    def discriminator_loss(self, real_logits, fake_logits):
        return (fake_logits - real_logits).mean()

    def generator_loss(self, fake_logits):
        return -fake_logits.mean()


class Relativistic:
    needs_real_logits = True

    def discriminator_loss(self, real_logits, fake_logits):
        return (fake_logits - real_logits).mean()

    def generator_loss(self, fake_logits, real_logits=None):
        return (real_logits - fake_logits).mean()


def test_completed_losses_pass_real_logits_only_where_they_are_taken():
    fake, real = torch.tensor(FAKE), torch.tensor(REAL)
    for old in (OneArgument(), OldSubclass()):
        completed = complete(old)
        assert completed.needs_real_logits is False
        assert completed.generator_loss(fake, real).item() == pytest.approx(-mean(FAKE))
        assert completed.generator_loss(fake).item() == pytest.approx(-mean(FAKE))
    relativistic = complete(Relativistic())
    assert relativistic.needs_real_logits is True
    assert relativistic.generator_loss(fake, real).item() == pytest.approx(mean(REAL) - mean(FAKE))
    assert complete(loss("rpgan")) is not None and complete(loss("rpgan")).needs_real_logits


def test_real_logits_for_generator_only_when_needed_and_without_a_graph():
    layer = nn.Linear(2, 1)
    critic = lambda x: layer(x).squeeze(1)  # noqa: E731
    real = torch.randn(4, 2)
    assert real_logits_for_generator(complete(loss("bce")), critic, real) is None
    logits = real_logits_for_generator(complete(loss("rpgan")), critic, real)
    assert logits.shape == (4,) and not logits.requires_grad
    assert torch.equal(logits, critic(real).detach())


@pytest.mark.parametrize("name", ["ragan", "rpgan"])
def test_relativistic_losses_keep_the_loss_contract(name):
    testing.check_loss(loss(name))
    testing.check_loss(loss(name, r1_gamma=1.0, r2_gamma=1.0))


def test_check_loss_catches_a_relativistic_loss_that_ignores_real_logits():
    class Ignores(Relativistic):
        def generator_loss(self, fake_logits, real_logits=None):
            return -fake_logits.mean()

    with pytest.raises(AssertionError, match="real logits"):
        testing.check_loss(Ignores())


class Spy:
    """Wraps a loss and records what G's loss was given."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def generator_loss(self, fake_logits, real_logits=None):
        self.calls.append((fake_logits.detach().clone(), real_logits))
        return self.inner.generator_loss(fake_logits, real_logits)


def test_vanilla_g_step_gets_fresh_real_logits_of_its_real_minibatch():
    """With d_steps = 2 the G step pairs with the last real chunk, scored by D after its updates, without a graph."""
    data = ganforge.api.load_dataset(ganforge.configure("vanilla", "ring8", {"data.size": 64}))
    settings = {**TINY, "data.name": "ring8", "loss.name": "rpgan", "loss.r1_gamma": 1.0, "loss.r2_gamma": 1.0, "optim.d_steps": 2}
    settings["discriminator.dropout"] = 0.0  # D gives the same logits twice only without dropout (vanilla's default has it)
    model = build("vanilla", data, settings)
    model.loss = spy = Spy(model.loss)
    batch = data.batch(torch.arange(64))
    metrics = model.train_step(batch, ganforge.api.Precision(torch.device("cpu")))
    ((fake_logits, real_logits),) = spy.calls
    assert real_logits is not None and real_logits.grad_fn is None and not real_logits.requires_grad
    assert real_logits.shape == fake_logits.shape == (32,)
    with torch.no_grad():  # D is unchanged by the G step: its logits on the last chunk now are what G was given
        assert torch.allclose(real_logits, model.networks["discriminator"](batch.data.chunk(2)[-1]))
    assert metrics["penalty"] > 0


def test_r3gan_objective_is_one_flag_away_and_trains(tmp_path):
    """RpGAN + R1 + R2 on vanilla: a short run through the CLI's Trainer, every step finite, G and D both change."""
    settings = {**TINY, "data.size": 640, "train.epochs": 1, "loss.name": "rpgan", "loss.r1_gamma": 0.1, "loss.r2_gamma": 0.1}
    result = ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path / "run")
    assert result.steps == 20
    metrics = result.last_metrics
    assert all(math.isfinite(metrics[k]) for k in ("loss_d", "loss_g", "penalty", "d_real", "d_fake"))
    assert metrics["penalty"] > 0


class RecordingLoss(Loss):
    """A relativistic test loss that checks, in every G step of any variant, that it got usable real logits."""

    needs_real_logits = True
    seen: list = []

    def discriminator_loss(self, real_logits, fake_logits):
        return torch.nn.functional.softplus(fake_logits.float() - real_logits.float()).mean()

    def generator_loss(self, fake_logits, real_logits=None):
        assert real_logits is not None, "the variant did not pass real logits to a loss that needs them"
        assert real_logits.shape == fake_logits.shape, f"real logits {tuple(real_logits.shape)}, fake {tuple(fake_logits.shape)}"
        assert not real_logits.requires_grad, "real logits for G's step carry a graph"
        RecordingLoss.seen.append(tuple(real_logits.shape))
        return torch.nn.functional.softplus(real_logits.float() - fake_logits.float()).mean()


class RecordingPlugin:
    @hookimpl
    def register_losses(self, register):
        register("recording", RecordingLoss, "test-only relativistic loss that checks what G's loss is given")


@pytest.mark.parametrize("variant", testing.registry_with(builtins=True).names("variant"))
def test_every_builtin_variant_hands_real_logits_to_g_step(variant):
    """vanilla, dcgan, cgan, pacgan, cyclegan, stackgan, and any built-in variant added later."""
    registry = testing.registry_with(RecordingPlugin(), builtins=True)
    RecordingLoss.seen.clear()
    testing.check_variant(variant, settings={"loss.name": "recording"}, registry=registry)
    assert RecordingLoss.seen, f"{variant}'s G step never called the loss"


def test_a_scaffolded_variant_hands_real_logits_to_g_step(tmp_path, monkeypatch):
    """`ganforge new-plugin --kind variant` writes a G step that works with relativistic losses as generated."""
    import importlib

    from typer.testing import CliRunner

    from ganforge.cli import app

    result = CliRunner().invoke(app, ["new-plugin", "rel-variant", "--kind", "variant", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    package = next(p for p in (tmp_path / "ganforge-rel-variant").iterdir() if (p / "plugin.py").exists())
    monkeypatch.syspath_prepend(str(package.parent))
    registry = testing.registry_with(importlib.import_module(f"{package.name}.plugin"), RecordingPlugin(), builtins=True)
    RecordingLoss.seen.clear()
    testing.check_variant("rel-variant", settings={"loss.name": "recording"}, registry=registry)
    assert RecordingLoss.seen

"""D(x, z) and the BiGAN recipe against ganforge's contracts, and the joint penalty's meaning."""

import pytest
import torch

from ganforge import testing
from ganforge.data import DataSpec
from ganforge_bigan import plugin
from ganforge_bigan.networks import Encoder
from ganforge_bigan.recipe import joint

TINY = {"generator.hidden": 16, "generator.depth": 2, "discriminator.hidden": 16, "encoder.hidden": 16, "noise.dim": 8}


@pytest.fixture(scope="module")
def registry():
    return testing.registry_with(plugin, builtins=True)


@pytest.mark.parametrize("spectral_norm", [False, True])
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 8, 8), (2,)])
def test_the_joint_discriminator_keeps_the_discriminator_contract(registry, shape, spectral_norm):
    """On what tiny_data returns: D(x, z) draws z from its declared inputs; gradients reach x, z and every weight."""
    data = testing.tiny_data(shape, count=16)
    settings = {"hidden": 16, "spectral_norm": spectral_norm}
    discriminator = testing.build("discriminator", "joint-mlp", registry, settings=settings, spec=data.spec, noise_dim=8)
    assert [one.name for one in discriminator.inputs] == ["x", "z"]
    assert testing.check_discriminator(discriminator, data).shape == (8,)
    assert testing.check_discriminator(discriminator, data, torch.randn(8, 8)).shape == (8,)


def test_the_encoder_maps_examples_to_codes():
    spec = DataSpec((1, 8, 8))
    encoder = Encoder(spec, noise_dim=6, hidden=16, depth=2)
    assert encoder(torch.rand(5, *spec.shape)).shape == (5, 6) and encoder.inputs[0].shape == spec.shape


@pytest.mark.parametrize("shape", [(1, 8, 8), (2,)])
def test_the_recipe_keeps_the_variant_contract(registry, shape):
    """A two-step run: G, E and D all move, the checkpoint loads back equal. check_variant returns the run's last
    line of metrics.jsonl: step and epoch (ints), then the step's metrics and images_per_s (floats)."""
    metrics = testing.check_variant("bigan", testing.tiny_data(shape, count=64), TINY, registry)
    assert (metrics["step"], metrics["epoch"]) == (2, 1) and {"loss_d", "loss_g", "d_real", "d_fake", "images_per_s"} <= set(metrics)
    assert all(isinstance(value, float) for key, value in metrics.items() if key not in ("step", "epoch"))


def test_a_gradient_penalty_sees_the_joint_pair(registry):
    """penalty(discriminator, real, fake) gets D of one input, the pair (x, z) flattened side by side: R1 penalises
    D's gradient in x and in z."""
    spec = DataSpec((1, 4, 4))
    discriminator = testing.build("discriminator", "joint-mlp", registry, settings={"hidden": 8, "dropout": 0.0}, spec=spec, noise_dim=3)
    x, z = torch.rand(5, *spec.shape), torch.randn(5, 3)
    judge, real, fake = joint(discriminator, (x, z), (x.flip(0), z.flip(0)))
    assert real.shape == (5, 16 + 3) and not real.requires_grad
    assert torch.equal(judge(real), discriminator(x, z))
    loss = testing.build("loss", "bce", registry, settings={"r1_gamma": 1.0})
    penalty = loss.penalty(judge, real, fake)
    assert penalty is not None and penalty > 0


def test_the_encoders_optimizer_follows_schedule_final(registry):
    """docs/plugins.md: an optimizer with parameters of a network in `generators` falls to schedule.final, any other
    to schedule.d_final. G and E share one; E's parameters are in it."""
    import ganforge
    from ganforge import api
    from ganforge.schedule import Rates

    settings = {**TINY, "data.size": 64, "schedule.hold": 0.0, "schedule.final": 0.5, "schedule.d_final": 0.1}
    config = ganforge.configure("bigan", "ring8", settings, registry)
    model = api.prepare_training(config, api.load_dataset(config, registry).spec, torch.device("cpu"), registry=registry)
    spanned = {id(p) for group in model.optimizers["generator"].param_groups for p in group["params"]}
    assert all(id(p) in spanned for p in model.networks["encoder"].parameters())
    rates = Rates(config.schedule, model)
    rates.set(1.0)
    assert rates.current() == pytest.approx({"generator": 2e-4 * 0.5, "discriminator": 2e-4 * 0.1})

"""R3GAN: its objective (RpGAN + R1 + R2, γ and β2 annealed) against hand-computed values, and its networks'
shapes and fix-up initialisation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ganforge import api
from ganforge.config import ScheduleConfig
from ganforge.data import DataSpec
from ganforge.registry import get_registry
from ganforge.schedule import multiplier
from ganforge_r3gan.models import R3GANDiscriminator, R3GANGenerator, ResidualBlock, downsample, upsample

SIZES = [((1, 28, 28), 7), ((3, 32, 32), 4), ((3, 64, 64), 4)]


def r3gan_loss(gamma: float):
    return get_registry().get("loss", "rpgan").build({"r1_gamma": gamma, "r2_gamma": gamma})


def test_rpgan_loss_on_given_logits():
    loss = r3gan_loss(0.0)
    real, fake = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    # D: mean softplus(C(G(z)) − C(x)) over the pairs; G: mean softplus(C(x) − C(G(z)))
    d = (math.log(1 + math.exp(-1.0)) + math.log(1 + math.exp(2.0))) / 2
    g = (math.log(1 + math.exp(1.0)) + math.log(1 + math.exp(-2.0))) / 2
    assert loss.discriminator_loss(real, fake).item() == pytest.approx(d, rel=1e-6)
    assert loss.generator_loss(fake, real).item() == pytest.approx(g, rel=1e-6)


def test_r1_and_r2_on_a_discriminator_whose_gradient_is_known():
    # D(x) = ½‖x‖²: ∇D(x) = x, so R1 = γ/2 · E‖x‖² on the reals and R2 = γ/2 · E‖x̃‖² on the samples
    def quadratic(x):
        return 0.5 * x.flatten(1).square().sum(dim=1)

    real = torch.tensor([[1.0, 2.0], [0.0, 3.0]])  # ‖x‖²: 5 and 9
    fake = torch.tensor([[2.0, 0.0], [1.0, 1.0]])  # 4 and 2
    gamma = 0.5
    penalty = r3gan_loss(gamma).penalty(quadratic, real, fake)
    assert penalty.item() == pytest.approx(gamma / 2 * (5 + 9) / 2 + gamma / 2 * (4 + 2) / 2)
    assert r3gan_loss(0.0).penalty(quadratic, real, fake) is None


def built(settings=None, spec=DataSpec((1, 28, 28), num_classes=10)):
    config = api.configure("r3gan", "fashion-mnist", {"generator.width": 16, "discriminator.width": 16, **(settings or {})})
    variant = api.build_variant(config, spec, torch.device("cpu"))
    variant.configure_optimizers()
    return variant


def test_the_recipe_is_the_papers_objective_and_optimiser():
    variant = built()
    assert variant.config.loss.name == "rpgan"
    assert variant.loss.r1_gamma == variant.loss.r2_gamma == 0.05
    for optimizer in variant.optimizers.values():
        assert optimizer.param_groups[0]["betas"] == (0.0, 0.9)
        assert optimizer.param_groups[0]["lr"] == 2e-4


@pytest.mark.parametrize("position, fraction", [(0.0, 0.0), (0.5, 0.5), (1.0, 1.0), (0.25, (1 - math.cos(math.pi / 4)) / 2)])
def test_gamma_and_beta2_follow_half_a_cosine(position, fraction):
    variant = built()
    variant.position = position
    variant.anneal()
    gamma = 0.05 + (0.005 - 0.05) * fraction
    assert variant.loss.r1_gamma == pytest.approx(gamma) and variant.loss.r2_gamma == pytest.approx(gamma)
    for optimizer in variant.optimizers.values():
        assert optimizer.param_groups[0]["betas"][1] == pytest.approx(0.9 + (0.99 - 0.9) * fraction)


def test_the_cosine_learning_rate_schedule():
    cosine = ScheduleConfig(hold=0.0, final=0.25, shape="cosine")
    assert multiplier(cosine, 0.0) == 1.0
    assert multiplier(cosine, 0.5) == pytest.approx(0.625)
    assert multiplier(cosine, 1.0) == pytest.approx(0.25)
    assert multiplier(ScheduleConfig(hold=0.0, final=0.25), 0.5) == pytest.approx(0.625)  # the line meets it halfway
    assert multiplier(cosine, 0.1) > multiplier(ScheduleConfig(hold=0.0, final=0.25), 0.1)  # flat at the start


@pytest.mark.parametrize("shape, base", SIZES)
def test_network_shapes(shape, base):
    spec = DataSpec(shape)
    generator = R3GANGenerator(64, spec, width=16)
    discriminator = R3GANDiscriminator(spec, width=16)
    assert generator.basis.shape[1:] == (base, base) and discriminator.basis.shape[1:] == (base, base)
    z = torch.randn(5, 64)
    images = generator(z)
    assert images.shape == (5, *shape)
    assert discriminator(images).shape == (5,)


def test_widths_halve_above_the_set_size():
    generator = R3GANGenerator(8, DataSpec((3, 64, 64)), width=32)
    widths = [block.widen.in_channels for block in generator.modules() if isinstance(block, ResidualBlock)]
    assert widths == [32, 32, 32, 32, 16]  # 4, 8, 16, 32 px, then half at 64 px (the paper's FFHQ-64)
    generator = R3GANGenerator(8, DataSpec((1, 28, 28)), width=32, halve_above=7)
    assert [block.widen.in_channels for block in generator.modules() if isinstance(block, ResidualBlock)] == [32, 16, 8]


@pytest.mark.parametrize("shape, base", SIZES)
def test_fixup_every_residual_branch_is_zero_at_initialisation(shape, base):
    spec = DataSpec(shape)
    blocks = [
        block
        for network in (R3GANGenerator(64, spec, width=16, blocks=2), R3GANDiscriminator(spec, width=16, blocks=2))
        for block in network.modules()
        if isinstance(block, ResidualBlock)
    ]
    assert len(blocks) == 2 * 2 * (1 + int(math.log2(shape[1] // base)))
    for block in blocks:
        x = torch.randn(3, block.widen.in_channels, 8, 8)
        assert torch.equal(block.branch(x), torch.zeros_like(x))
        assert torch.equal(block(x), x)  # each block is the identity
        assert torch.equal(block.narrow.weight, torch.zeros_like(block.narrow.weight))
        # the other two layers: He et al.'s scale for LeakyReLU(0.2), times L^(-1/4) for the network's L blocks
        total = len(blocks) // 2
        expected = math.sqrt(2 / (1 + 0.2**2)) * total ** (-1 / 4) / math.sqrt(block.widen.weight[0].numel())
        assert block.widen.weight.std().item() == pytest.approx(expected, rel=0.2)


def test_no_normalisation_anywhere():
    spec = DataSpec((1, 28, 28))
    norms = (torch.nn.modules.batchnorm._NormBase, torch.nn.GroupNorm, torch.nn.LayerNorm)
    for network in (R3GANGenerator(64, spec, width=16), R3GANDiscriminator(spec, width=16)):
        assert not [m for m in network.modules() if isinstance(m, norms)]
        assert any(isinstance(m, torch.nn.Conv2d) and m.groups > 1 for m in network.modules())  # grouped convolutions


def test_resampling_is_the_low_pass_filter():
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
    kernel = torch.outer(taps, taps) / 64
    x = torch.randn(2, 3, 8, 8)
    filtered = F.conv2d(x.reshape(6, 1, 8, 8), kernel[None, None], stride=2, padding=1).view(2, 3, 4, 4)
    assert torch.allclose(downsample(x), filtered, atol=1e-6)
    spread = F.conv_transpose2d(x.reshape(6, 1, 8, 8), 4 * kernel[None, None], stride=2, padding=1).view(2, 3, 16, 16)
    assert torch.allclose(upsample(x)[..., 1:-1, 1:-1], spread[..., 1:-1, 1:-1], atol=1e-6)  # bilinear inside the border


def test_images_lie_in_the_data_range():
    generator = R3GANGenerator(64, DataSpec((1, 28, 28)), width=16)
    with torch.no_grad():
        for parameter in generator.parameters():  # a G whose linear output leaves [-1, 1] far behind
            parameter.mul_(30)
    images = generator(torch.randn(16, 64))
    assert images.min() >= -1 and images.max() <= 1 and images.abs().max() == 1

"""The residual MLP generator: the generator contract, identity-initialised blocks, and a short GAN run."""

import pytest
import torch

import ganforge
from ganforge import testing
from ganforge.data import DataSpec
from ganforge_fgan import plugin
from ganforge_fgan.generators import ResidualBlock


@pytest.fixture(scope="module")
def registry():
    return testing.registry_with(plugin, builtins=True)


@pytest.mark.parametrize("spec", [DataSpec((1, 28, 28)), DataSpec((3, 8, 8)), DataSpec((2,), is_image=False)])
def test_keeps_the_generator_contract(registry, spec):
    generator = testing.build("generator", "mlp-residual", registry, settings={"hidden": 32}, noise_dim=8, spec=spec)
    testing.check_generator(generator, torch.randn(5, 8), spec)


def test_blocks_start_as_the_identity_and_then_learn():
    block = ResidualBlock(16, slope=0.2)
    x = torch.randn(4, 16)
    assert torch.equal(block(x), x)
    torch.nn.init.normal_(block.outer.weight)
    assert not torch.allclose(block(x), x)


def test_depth_is_a_setting(registry):
    spec = DataSpec((2,), is_image=False)
    shallow = testing.build("generator", "mlp-residual", registry, settings={"blocks": 0}, noise_dim=4, spec=spec)
    deep = testing.build("generator", "mlp-residual", registry, settings={"blocks": 3}, noise_dim=4, spec=spec)
    assert len(deep.blocks) == 3 and len(shallow.blocks) == 0


def test_trains_with_the_fgan_loss_and_samples(registry, tmp_path):
    """The package's two components in the vanilla recipe, through the same library API the CLI uses."""
    settings = {
        "generator.name": "mlp-residual",
        "generator.hidden": 32,
        "loss.name": "fgan",
        "loss.divergence": "reverse-kl",
        "discriminator.hidden": 16,
        "noise.dim": 8,
        "data.size": 512,
        "train.batch_size": 64,
        "train.epochs": 1,
    }
    result = ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path, registry=registry)
    assert result.steps == 8 and all(map(torch.isfinite, map(torch.tensor, [result.last_metrics["loss_d"], result.last_metrics["loss_g"]])))
    config = result.run_dir.config_path.read_text()
    assert '"divergence": "reverse-kl"' in config and '"loss": "ganforge-fgan 0.1.0"' in config
    assert ganforge.sample(tmp_path, count=6, device="cpu", registry=registry).values.shape == (6, 2)

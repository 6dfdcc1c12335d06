"""The MLP networks' options, as a user sets them with --set: BatchNorm, ReLU, init, constant widths, maxout, shared layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ganforge
from ganforge.errors import GanforgeError

from conftest import TINY


def networks(settings: dict) -> dict[str, nn.Module]:
    # the mlp factories' own defaults where vanilla's differ (batch norm in G, dropout in D)
    factory = {"generator.growth": 2, "generator.slope": 0.2, "generator.norm": "none", "discriminator.growth": 2, "discriminator.maxout": 1, "discriminator.dropout": 0.0}
    config = ganforge.configure("vanilla", "ring8", {**TINY, "data.size": 64, "generator.depth": 3, "discriminator.depth": 3, **factory, **settings})
    return ganforge.api.build_variant(config, ganforge.api.load_dataset(config).spec, torch.device("cpu")).networks


def widths(network: nn.Module) -> list[int]:
    return [layer.out_features for layer in network.modules() if isinstance(layer, nn.Linear)]


def test_generator_batch_norm_and_relu_change_what_it_computes():
    plain = networks({"generator.hidden": 16})["generator"]
    assert not any(isinstance(layer, nn.BatchNorm1d) for layer in plain.modules())
    generator = networks({"generator.hidden": 16, "generator.norm": "batch", "generator.slope": 0.0})["generator"]
    assert sum(isinstance(layer, nn.BatchNorm1d) for layer in generator.modules()) == 3
    activations = [layer for layer in generator.modules() if isinstance(layer, nn.LeakyReLU)]
    assert len(activations) == 3 and all(layer.negative_slope == 0.0 for layer in activations)
    z = torch.randn(64, generator.net[0].in_features)
    generator.train()
    in_training = generator(z)
    assert in_training.shape == (64, 2)
    # training normalises with the minibatch's statistics, so one example's output depends on the others
    assert not torch.allclose(generator(z[:8])[0], in_training[0])
    generator.eval()  # sampling uses the running statistics: an example's output is its own
    assert torch.allclose(generator(z[:8])[0], generator(z)[0])


def test_kaiming_init_starts_the_generator_at_the_scale_of_its_noise():
    z = torch.randn(4096, 2)
    settings = {"noise.dim": 2, "generator.hidden": 64, "generator.growth": 1, "generator.slope": 0.0}
    default = networks(settings)["generator"]
    kaiming = networks({**settings, "generator.init": "kaiming"})["generator"]
    with torch.no_grad():
        assert default(z).std() < 0.1  # PyTorch's init: the first samples sit in a speck near the origin
        assert 0.3 < kaiming(z).std() < 3.0
    assert all(not layer.bias.any() for layer in kaiming.modules() if isinstance(layer, nn.Linear))
    with pytest.raises(GanforgeError, match="init"):
        networks({"generator.init": "xavier"})


def test_growth_one_keeps_every_hidden_layer_at_the_same_width():
    nets = networks({"generator.hidden": 12, "generator.growth": 1, "discriminator.hidden": 10, "discriminator.growth": 1})
    assert widths(nets["generator"]) == [12, 12, 12, 2]
    assert widths(nets["discriminator"]) == [10, 10, 10, 1]
    assert widths(networks({"generator.hidden": 12})["generator"]) == [12, 24, 48, 2]  # the default doubles


def test_maxout_discriminator_takes_the_largest_of_its_pieces():
    discriminator = networks({"discriminator.hidden": 8, "discriminator.maxout": 5})["discriminator"]
    assert widths(discriminator) == [32 * 5, 16 * 5, 8 * 5, 1]
    assert discriminator(torch.randn(6, 2)).shape == (6,)
    maxout = discriminator.net[0]
    x = torch.randn(3, 2)
    assert torch.equal(maxout(x), maxout.linear(x).view(3, 32, 5).max(-1).values)


def test_shared_layers_judge_each_example_alone_before_the_pack_is_joined():
    settings = {"discriminator.hidden": 8, "discriminator.growth": 1, "discriminator.pack": 4}
    concatenated = networks(settings)["discriminator"]
    shared = networks({**settings, "discriminator.shared": 1})["discriminator"]
    assert concatenated.net[0].in_features == 2 * 4  # PacGAN's concatenated input
    assert shared.each[0].in_features == 2 and shared.net[0].in_features == 8 * 4
    x = torch.randn(8, 2)
    assert shared(x).shape == (2,)
    # the shared layer has one set of weights for all four positions: the same point gives the same features
    features = shared.each(x[:1].repeat(4, 1))
    assert torch.equal(features[0], features[3])
    # and the packs stay separate: changing the second pack leaves the first pack's logit alone
    changed = x.clone()
    changed[4:] += 1
    assert shared(changed)[0] == shared(x)[0] and shared(changed)[1] != shared(x)[1]
    with pytest.raises(GanforgeError, match="shared must be between 0 and depth"):
        networks({**settings, "discriminator.shared": 4})


def test_discriminator_learning_rate_can_differ_from_the_generators():
    config = ganforge.configure("vanilla", "ring8", {**TINY, "data.size": 64, "optim.lr": 1e-4, "optim.d_lr": 1e-3})
    variant = ganforge.api.build_variant(config, ganforge.api.load_dataset(config).spec, torch.device("cpu"))
    variant.configure_optimizers()
    assert variant.optimizers["generator"].param_groups[0]["lr"] == 1e-4
    assert variant.optimizers["discriminator"].param_groups[0]["lr"] == 1e-3


def test_vanillas_batch_norm_and_dropout_apply_to_images_only(tmp_path):
    """vanilla's defaults (generator.norm=images, discriminator.dropout_on=images): on for MNIST-shaped images, off
    on the 2-D mixtures, where they keep the f-GAN example's G off the modes."""
    from PIL import Image

    (tmp_path / "a").mkdir()
    for index in range(4):
        Image.new("L", (28, 28), index * 60).save(tmp_path / "a" / f"{index}.png")
    for data, settings, expected in (("ring8", {"data.size": 64}, 0), ("image-folder", {"data.root": str(tmp_path)}, 3)):
        config = ganforge.configure("vanilla", data, {"generator.depth": 3, "discriminator.depth": 3, **settings})
        built = ganforge.api.build_variant(config, ganforge.api.load_dataset(config).spec, torch.device("cpu")).networks
        assert sum(isinstance(m, nn.BatchNorm1d) for m in built["generator"].modules()) == expected, data
        assert sum(isinstance(m, nn.Dropout) for m in built["discriminator"].modules()) == expected, data

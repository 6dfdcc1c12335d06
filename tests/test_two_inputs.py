"""Networks with more than one input (cgan's D(x, y), stackgan's D(x, φ), BiGAN's D(x, z)), declared discriminators,
exporting any one network, and the plugin guide's promises about them (docs/plugins.md).

The example package examples/ganforge-bigan runs the whole of it as a third party; these tests need no plugin.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ganforge
from ganforge import api, registry as registry_module, testing
from ganforge.augment import Augmentation
from ganforge.config import AugmentConfig
from ganforge.data import DataSpec, Protocol, TensorData
from ganforge.device import Precision
from ganforge.errors import GanforgeError
from ganforge.evaluation import evaluator as evaluator_module
from ganforge.evaluation import judges
from ganforge.export import export_variant as export_network
from ganforge.inputs import Input
from ganforge_vanilla.models import MLPDiscriminator
from ganforge_vanilla.recipe import Vanilla

from conftest import TINY

SPEC = DataSpec((1, 8, 8), num_classes=3)


class Pairs(nn.Module):
    """D(x, z) on joint pairs, as BiGAN's; ``declare`` False leaves its second input undeclared, ``detach`` cuts z's gradient."""

    def __init__(self, declare: bool = True, detach: bool = False):
        super().__init__()
        self.x_path, self.z_path, self.detach = nn.Linear(64, 8), nn.Linear(4, 8), detach
        self.head = nn.Linear(16, 1)
        if declare:
            self.inputs = (Input.data("x", SPEC), Input.vector("z", 4))

    def forward(self, x, z):
        z = z.detach() if self.detach else z
        return self.head(torch.cat([self.x_path(x.flatten(1)), self.z_path(z)], 1)).flatten()


def test_check_discriminator_takes_what_tiny_data_returns():
    """docs/plugins.md's table: check_discriminator(discriminator, data) with data from tiny_data (it wanted a tensor:
    AttributeError: 'TensorData' object has no attribute 'detach'). A conditional D gets the data's labels."""
    data = testing.tiny_data(SPEC.shape, num_classes=3)
    logits = testing.check_discriminator(MLPDiscriminator(SPEC, hidden=8, depth=1), data)
    assert logits.shape == (8,)
    conditional = testing.build("discriminator", "conditional-mlp", spec=SPEC, num_classes=3, settings={"hidden": 8, "depth": 1})
    seen = []
    conditional.register_forward_pre_hook(lambda module, args: seen.append(args[1]))
    testing.check_discriminator(conditional, data)
    assert torch.equal(seen[0], data.labels[:8])


def test_a_second_input_is_drawn_where_declared_and_named_where_not():
    assert testing.check_discriminator(Pairs(), torch.rand(5, *SPEC.shape) * 2 - 1).shape == (5,)
    with pytest.raises(AssertionError, match=r"forward cannot take its 1 input\(s\).*declares them all as `self.inputs"):
        testing.check_discriminator(Pairs(declare=False), torch.rand(5, *SPEC.shape))
    with pytest.raises(AssertionError, match="no gradient reaches the discriminator's input 'z'"):
        testing.check_discriminator(Pairs(detach=True), torch.rand(5, *SPEC.shape))


def test_augmentation_changes_the_image_input_alone():
    """augment.policy: D(x, z)'s x is augmented, z reaches D as it was given."""
    pairs = Pairs().train()
    seen = []
    Augmentation(AugmentConfig(policy="cutout"), [pairs], SPEC, 8, torch.device("cpu"))
    pairs.register_forward_hook(lambda module, args, output: seen.append(args))
    x, z = torch.rand(6, *SPEC.shape) * 0.5 + 0.5, torch.randn(6, 4)
    pairs(x, z)
    assert (seen[0][0].flatten(1) == 0).any(1).all() and seen[0][1] is z


class BuiltInside(Vanilla):
    """Builds its discriminator itself, not with make(): declared, it is still every service's discriminator."""

    def build(self) -> None:
        super().build()
        self.networks["discriminator"] = MLPDiscriminator(self.spec, hidden=16, depth=2)


class MisDeclared(Vanilla):
    discriminators = ("critic",)


def plugin_with(**variants) -> object:
    class Plugin:
        @ganforge.hookimpl
        def register_variants(self, register):
            for name, variant in variants.items():
                register(name, variant)

    return Plugin()


def test_a_discriminator_built_inside_the_variant_is_augmented(tmp_path):
    """It lost DiffAugment: "augment.policy found no discriminator to augment the inputs of"."""
    registry = testing.registry_with(plugin_with(inside=BuiltInside), builtins=True)
    settings = {**TINY, "data.size": 64, "train.max_steps": 2, "augment.policy": "translation,cutout", "data.name": "image-folder"}
    data = testing.tiny_data((1, 8, 8), count=32)
    config = ganforge.configure("inside", "ring8", {k: v for k, v in settings.items() if k != "data.name"}, registry)
    model = api.prepare_training(config, data.spec, torch.device("cpu"), registry=registry)
    augmentation = Augmentation(config.augment, model.discriminator_networks(), data.spec, 8, torch.device("cpu"))
    seen = []
    model.networks["discriminator"].register_forward_hook(lambda module, args, output: seen.append(args[0]))
    model.train_step(data.batch(torch.arange(8)), Precision(torch.device("cpu")))
    augmentation.detach()
    assert len(seen) >= 3 and all((images.flatten(1) == 0).any(1).all() for images in seen)


def test_declaring_a_discriminator_that_is_not_built_is_one_line():
    registry = testing.registry_with(plugin_with(misdeclared=MisDeclared), builtins=True)
    with pytest.raises(GanforgeError, match="declares discriminators critic, which its build\\(\\) did not put in networks"):
        ganforge.train("misdeclared", "ring8", settings={**TINY, "data.size": 64, "train.max_steps": 1}, registry=registry)


def test_one_loss_stepped_twice_is_one_clear_error():
    """docs/plugins.md, precision.step: one loss, one optimizer. Two steps on one loss were a RuntimeError from autograd."""
    first, second = nn.Linear(2, 2), nn.Linear(2, 1)
    loss = second(first(torch.randn(4, 2))).pow(2).mean()
    precision = Precision(torch.device("cpu"))
    precision.step(loss, torch.optim.Adam(first.parameters()))
    with pytest.raises(GanforgeError, match="give the networks it updates one optimizer"):
        precision.step(loss, torch.optim.Adam(second.parameters()))
    both = torch.optim.Adam([{"params": first.parameters()}, {"params": second.parameters(), "lr": 1e-2}])
    before = [p.detach().clone() for p in (*first.parameters(), *second.parameters())]
    precision.step(second(first(torch.randn(4, 2))).pow(2).mean(), both)
    assert all(not torch.equal(a, b) for a, b in zip(before, (*first.parameters(), *second.parameters())))


def test_export_writes_any_one_network_on_its_inputs(tmp_path):
    """ganforge export RUN --network NAME: a discriminator on x, cgan's generator on z and labels, checked against PyTorch."""
    run = ganforge.train("vanilla", "ring8", settings={**TINY, "data.size": 64, "train.max_steps": 2}, out=tmp_path / "run").run_dir.path
    exported = api.export(run, "torchscript", tmp_path / "d.pt", network="discriminator")
    assert exported.inputs == {"x": ["batch", 2]} and exported.output == ["batch"] and exported.difference <= 1e-4
    model = ganforge.load(run, device="cpu")
    x = torch.randn(5, 2)
    with torch.no_grad():
        assert torch.allclose(torch.jit.load(str(tmp_path / "d.pt"))(x), model.networks["discriminator"](x), atol=1e-5)
    with pytest.raises(GanforgeError, match="has no network 'encoder'; choose one of: generator, discriminator"):
        api.export(run, "torchscript", tmp_path / "e.pt", network="encoder")

    data = testing.tiny_data((1, 16, 16), count=16, num_classes=3)
    registry = testing.registry_with(builtins=True)
    config = ganforge.configure("cgan", "mnist", {"generator.width": 4, "discriminator.width": 4, "noise.dim": 8, "train.batch_size": 8}, registry)
    model = api.prepare_training(config, data.spec, torch.device("cpu"), registry=registry)
    exported = export_network(model, "torchscript", tmp_path / "g.pt", network="generator")
    assert exported.inputs == {"z": ["batch", 8], "labels": ["batch"]} and exported.difference <= 1e-4


@pytest.fixture
def quick_evaluator(monkeypatch):
    monkeypatch.setattr(evaluator_module, "TRAIN_STEPS", 4)
    monkeypatch.setattr(judges, "IMAGE_SAMPLES", 32)


def test_protocol_target_names_the_evaluator_of_a_labelled_image_dataset(tmp_path, mnist_root, quick_evaluator, monkeypatch):
    """docs/plugins.md, Datasets: a labelled image dataset with Protocol(target="mnist") is scored by MNIST's evaluator
    (eval trained one for the plugin's own dataset instead)."""

    def digits(root: str | None = None, split: str = "test") -> TensorData:
        mnist = testing.registry_with(builtins=True).get("dataset", "mnist").build({"root": root, "split": "test"})
        return TensorData(mnist.data[:200], mnist.spec, mnist.labels[:200], protocol=Protocol(target="mnist"))

    class Plugin:
        @ganforge.hookimpl
        def register_datasets(self, register):
            register("digits-copy", digits)

    registry = testing.registry_with(Plugin(), builtins=True)
    monkeypatch.setattr(registry_module, "_registry", registry)  # what ganforge.evaluate resolves names with
    settings = {**TINY, "data.root": str(mnist_root), "train.max_steps": 2}
    result = ganforge.train("vanilla", "digits-copy", settings=settings, out=tmp_path / "run", registry=registry)
    report = ganforge.evaluate(result.run_dir.path, count=32, device="cpu")
    assert report.evaluator.dataset == "mnist"

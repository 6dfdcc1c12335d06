"""Every registered component keeps its kind's contract (see ganforge.testing).

Parametrized over the process's registry, so a plugin is held to the same contract as the built-ins the moment
it is installed: ``pip install -e examples/ganforge-fgan`` adds its loss and generator to this file's tests.
"""

from __future__ import annotations

import typing

import pytest
import torch

from ganforge import testing
from ganforge.config import factory_options, supplied_parameters
from ganforge.data import DataSpec, TensorData
from ganforge.registry import Component, get_registry

from conftest import real_data

REGISTRY = get_registry()
IMAGES = DataSpec((1, 28, 28), num_classes=10)
# what the built-in variants hand their networks: noise and the data's spec, cgan the classes, stackgan its embedding's size
SUPPLIED = {"noise_dim": 8, "spec": IMAGES, "num_classes": 10, "embedding_dim": 8}


def components(kind: str) -> list:
    return [pytest.param(c, id=c.qualified_name) for c in REGISTRY.components(kind)]


def loss_settings() -> list:
    """Each loss with its defaults, and once per choice of each of its ``Literal`` settings."""
    cases = []
    for component in REGISTRY.components("loss"):
        cases.append(pytest.param(component, {}, id=component.qualified_name))
        for name, option in factory_options(component.load()).items():
            if typing.get_origin(option.annotation) is typing.Literal:
                for choice in typing.get_args(option.annotation):
                    if choice != option.default:
                        cases.append(pytest.param(component, {name: choice}, id=f"{component.qualified_name}[{name}={choice}]"))
    return cases


def build_network(component: Component, **supplied):
    wanted = supplied_parameters(component.load())
    unknown = [name for name in wanted if name not in supplied]
    if unknown:
        pytest.skip(f"{component.qualified_name} needs {', '.join(unknown)}, which this contract test cannot supply")
    return component.build({}, **{name: supplied[name] for name in wanted})


@pytest.mark.parametrize("component", components("generator"))
def test_generator_contract(component):
    """Generators that ask for ``noise_dim`` map noise; those that do not are image-to-image (CycleGAN's). Inputs
    they declare beyond the first (cgan's labels, stackgan's embedding) are drawn by the check."""
    generator = build_network(component, **SUPPLIED)
    maps_noise = "noise_dim" in supplied_parameters(component.load())
    inputs = torch.randn(3, SUPPLIED["noise_dim"]) if maps_noise else torch.rand(3, *IMAGES.shape) * 2 - 1
    testing.check_generator(generator, inputs, IMAGES)


@pytest.mark.parametrize("component", components("discriminator"))
def test_discriminator_contract(component):
    """On a tiny labelled dataset, as a plugin author's test passes it: D(x) alone, or D(x, *its declared inputs)
    (cgan's D(x, y) with the data's labels, stackgan's D(x, φ), BiGAN's D(x, z))."""
    discriminator = build_network(component, **SUPPLIED)
    testing.check_discriminator(discriminator, testing.tiny_data(IMAGES.shape, count=3, num_classes=10))


@pytest.mark.parametrize("component, settings", loss_settings())
def test_loss_contract(component, settings):
    testing.check_loss(component.build(settings))


# Datasets assembled from the MNIST-family files in the shared data root rather than from a directory of their own.
BUILT_FROM_SHARED = {"digits2fashion": ("mnist", "fashion-mnist"), "stacked-mnist": ("mnist",)}


def load_dataset(component: Component) -> TensorData:
    """The dataset with its defaults; one that reads files gets the shared copy, or the test skips."""
    options = factory_options(component.load())
    settings = {}
    if "root" in options:
        root = real_data(*BUILT_FROM_SHARED.get(component.name, (component.name,)))
        settings["root"] = str(root if component.name in BUILT_FROM_SHARED else root / component.name)
        if "split" in options and "test" in typing.get_args(options["split"].annotation):
            settings["split"] = "test"  # the one split every shared copy has
    return component.build(settings)


@pytest.mark.parametrize("component", components("dataset"))
def test_dataset_contract(component):
    testing.check_dataset(load_dataset(component))


@pytest.mark.parametrize("component", components("variant"))
def test_variant_contract(component):
    """A two-step run on 64 examples of the variant's default dataset (tiny images where that needs absent files)."""
    default = component.load().defaults.get("data.name")
    try:
        data = load_dataset(REGISTRY.get("dataset", default, prefer=component.plugin)) if default else None
    except pytest.skip.Exception:
        data = None
    if data is not None:
        keep = torch.arange(min(64, len(data)))
        data = TensorData(data.data[keep], data.spec, None if data.labels is None else data.labels[keep], data.reference, data.other)
    metrics = testing.check_variant(component.qualified_name, data=data, registry=REGISTRY)
    assert metrics["step"] == 2


def test_check_variant_fails_when_one_trained_network_never_moves():
    """Issue 14, finding 11: check_variant passed when any one network changed (CycleGAN has four). A StackGAN
    held in stage I for the whole run never updates its refiner or stage-II discriminator."""
    settings = {"stages.stage1": 1.0, "generator.width": 4, "refiner.width": 4, "discriminator.width": 4}
    with pytest.raises(AssertionError, match="left network\\(s\\) refiner, discriminator_2 unchanged"):
        testing.check_variant("stackgan", settings=settings, registry=REGISTRY)

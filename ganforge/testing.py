"""Helpers for testing ganforge plugins, in their authors' test suites and in ganforge's own.

* :func:`registry_with`: a fresh registry holding only the plugins you name (no entry points, no environment);
* :func:`build`: one component from a registry, built as a variant would build it;
* :func:`tiny_data`: a small in-memory dataset of images or points;
* ``check_*``: the contracts every generator, discriminator, loss, dataset and variant must keep (shapes,
  dtypes, devices, gradients, a short training run). Each raises ``AssertionError`` saying what is wrong.

::

    from ganforge import testing
    from ganforge_fgan import plugin

    def test_fgan_loss_keeps_the_loss_contract():
        registry = testing.registry_with(plugin)
        testing.check_loss(testing.build("loss", "fgan", registry))
"""

from __future__ import annotations

import importlib
import inspect
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganforge import api
from ganforge.errors import GanforgeError
from ganforge.data import Captions, DataSpec, TensorData
from ganforge.device import Precision
from ganforge.inputs import declared_inputs
from ganforge.loss import complete
from ganforge.discovery import PluginSource, Selection, builtin_sources
from ganforge.registry import Registry, build_registry, get_registry
from ganforge.rundir import RunDir
from ganforge.trainer import Trainer

__all__ = [
    "registry_with",
    "build",
    "tiny_data",
    "check_generator",
    "check_discriminator",
    "check_loss",
    "check_dataset",
    "check_variant",
]


def registry_with(*plugins: Any, builtins: bool = False) -> Registry:
    """A fresh registry holding only ``plugins``, plus ganforge's built-in plugins when ``builtins``.

    A plugin is a module, an import path (``"ganforge_fgan.plugin"``) or an object with hook implementations.
    Installed entry points and the ``GANFORGE_*`` plugin variables are ignored, and the registry is strict: a
    plugin that fails to load, or a lifecycle hook that raises, is a :class:`ganforge.GanforgeError`, so a test sees
    exactly the plugins it names and every bug in them.
    """
    sources = builtin_sources() if builtins else []
    for plugin in plugins:
        if isinstance(plugin, str):
            plugin = importlib.import_module(plugin)
        if inspect.ismodule(plugin) and any(existing.module == plugin.__name__ for existing in sources):
            continue  # a built-in plugin named again
        sources.append(PluginSource.from_object(plugin))
    return build_registry(sources, Selection(), strict=True)


def build(kind: str, name: str, registry: Registry | None = None, settings: dict[str, Any] | None = None, **supplied: Any) -> Any:
    """The ``kind`` component ``name`` built with ``settings`` (its ``<section>.*`` keys) and ``supplied`` arguments
    (such as ``noise_dim`` and ``spec``), checked as the core checks it."""
    return (registry or get_registry()).get(kind, name).build(settings, **supplied)


def tiny_data(
    shape: tuple[int, ...] = (1, 8, 8), count: int = 64, num_classes: int = 0, seed: int = 0, domains: int = 1, captioned: bool = False
) -> TensorData:
    """``count`` random examples: uint8 images when ``shape`` is (C, H, W), float points when it is (D,), with
    random labels in ``range(num_classes)`` when ``num_classes`` > 0, ``count`` more images of a second domain
    when ``domains`` is 2 (unpaired image-to-image data), and two captions per example when ``captioned`` (naming
    its class, if it has one, and one of four colours)."""
    generator = torch.Generator().manual_seed(seed)
    is_image = len(shape) == 3
    if is_image:
        data = torch.randint(0, 256, (count, *shape), generator=generator, dtype=torch.uint8)
    else:
        data = torch.randn(count, *shape, generator=generator)
    labels = torch.randint(num_classes, (count,), generator=generator) if num_classes else None
    other = torch.randint(0, 256, (count, *shape), generator=generator, dtype=torch.uint8) if domains == 2 else None
    captions = None
    if captioned:
        colours = torch.randint(4, (count,), generator=generator).tolist()
        names = ["red", "green", "blue", "grey"]
        kinds = [f"class {label}" for label in labels.tolist()] if labels is not None else ["thing"] * count
        texts = [text for kind, colour in zip(kinds, colours) for text in (f"a {names[colour]} {kind}", f"{kind}, {names[colour]}")]
        captions = Captions(texts, torch.arange(count + 1) * 2)
    spec = DataSpec(tuple(shape), num_classes, is_image, domains, captioned=captioned)
    return TensorData(data, spec, labels, other=other, captions=captions)


def _gradients_reach(module: nn.Module, what: str) -> None:
    missing = [name for name, p in module.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"{what}: no gradient reaches parameter(s) {', '.join(missing)}"
    broken = [name for name, p in module.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
    assert not broken, f"{what}: non-finite gradient in parameter(s) {', '.join(broken)}"
    module.zero_grad(set_to_none=True)


def _completed_inputs(network: nn.Module, given: tuple, what: str, device: torch.device, labels: torch.Tensor | None = None) -> tuple:
    """``given`` followed by examples of the network's declared inputs (:mod:`ganforge.inputs`) that were not given:
    ``labels`` for a class-label input where they fit, random draws otherwise. Fails where ``forward`` takes more
    than it is given and declares none of it."""
    declared = declared_inputs(network) or ()
    count = len(given[0])
    generator = torch.Generator().manual_seed(0)
    extra = []
    for one in declared[len(given) :]:
        if one.classes and labels is not None and int(labels.max()) < one.classes:
            extra.append(labels[:count].to(device))
        else:
            extra.append(one.example(count, generator).to(device))
    inputs = (*given, *extra)
    try:
        inspect.signature(network.forward).bind(*inputs)
    except TypeError as exc:
        raise AssertionError(
            f"the {what}'s forward cannot take its {len(inputs)} input(s) ({exc}): a {what} that takes more inputs "
            "declares them all as `self.inputs = (ganforge.inputs.Input.data(...), ...)`"
        ) from None
    if declared:
        assert len(declared) == len(inputs), f"the {what} declares {len(declared)} input(s) and was given {len(inputs)}"
        for one, tensor in zip(declared, inputs):
            assert tuple(tensor.shape[1:]) == one.shape, f"input '{one.name}' is {tuple(tensor.shape[1:])} per example, the {what} declares {one.shape}"
    return inputs


def check_generator(generator: nn.Module, inputs: torch.Tensor | tuple, spec: DataSpec) -> torch.Tensor:
    """``generator(*inputs)`` gives one float example of ``spec.shape`` per input row, on the inputs' device,
    finite, images in [-1, 1]; and a gradient reaches every parameter. Returns the output.

    ``inputs`` is z, or a tuple of all the generator's inputs; inputs it declares beyond those given (cgan's labels,
    :mod:`ganforge.inputs`) are drawn at random. A generator that returns a tuple (StackGAN's image, μ and
    log σ²) is checked on its first item.
    """
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    assert isinstance(generator, nn.Module), f"a generator is a torch.nn.Module, got {type(generator).__name__}"
    inputs = _completed_inputs(generator, inputs, "generator", inputs[0].device)
    count = len(inputs[0])
    out = generator(*inputs)
    if isinstance(out, tuple) and out:
        out = out[0]
    assert isinstance(out, torch.Tensor), f"the generator returned {type(out).__name__}, not a tensor"
    assert tuple(out.shape) == (count, *spec.shape), f"generator output {tuple(out.shape)}, expected {(count, *spec.shape)}"
    assert out.is_floating_point(), f"generator output is {out.dtype}, not floating point"
    assert out.device == inputs[0].device, f"generator output on {out.device}, its inputs on {inputs[0].device}"
    assert torch.isfinite(out).all(), "generator output is not finite"
    if spec.is_image:
        assert out.min() >= -1 - 1e-4 and out.max() <= 1 + 1e-4, "generated images must lie in [-1, 1] (end in tanh)"
    (out.float() * torch.randn_like(out.float())).sum().backward()
    _gradients_reach(generator, "generator")
    return out.detach()


def check_discriminator(discriminator: nn.Module, data: torch.Tensor | TensorData, *conditions: Any) -> torch.Tensor:
    """``discriminator(x, *conditions)`` gives finite float logits, one per example or a map of them per example
    (PatchGAN), on the data's device; gradients reach every parameter, the input x and every other float input
    (the generator's step, an encoder's step through BiGAN's D(x, z), and gradient penalties need them). Returns
    the logits.

    ``data`` is a batch of examples x (float, images in [-1, 1]) or a dataset (what :func:`tiny_data` returns),
    whose first 8 examples are used with their labels. Inputs the discriminator declares beyond x and
    ``conditions`` (:mod:`ganforge.inputs`) are the dataset's labels for a class-label input, random draws otherwise.
    """
    assert isinstance(discriminator, nn.Module), f"a discriminator is a torch.nn.Module, got {type(discriminator).__name__}"
    labels = None
    if isinstance(data, TensorData):
        batch = data.batch(torch.arange(min(len(data), 8), device=data.data.device))
        data, labels = batch.data, batch.labels
    x = data.detach().float().clone().requires_grad_(True)
    inputs = _completed_inputs(discriminator, (x, *conditions), "discriminator", x.device, labels)
    inputs = (x, *(t.detach().clone().requires_grad_(True) if isinstance(t, torch.Tensor) and t.is_floating_point() else t for t in inputs[1:]))
    logits = discriminator(*inputs)
    assert isinstance(logits, torch.Tensor), f"the discriminator returned {type(logits).__name__}, not a tensor"
    assert logits.dim() >= 1 and len(logits) == len(x), f"discriminator output {tuple(logits.shape)}, expected logits for each of {len(x)} examples"
    assert logits.is_floating_point(), f"discriminator output is {logits.dtype}, not floating point"
    assert logits.device == x.device, f"discriminator output on {logits.device}, its input on {x.device}"
    assert torch.isfinite(logits).all(), "discriminator output is not finite"
    (logits * torch.randn_like(logits)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0, "no gradient reaches the discriminator's input"
    names = [one.name for one in declared_inputs(discriminator) or ()] or [f"input {i}" for i in range(len(inputs))]
    for name, tensor in zip(names[1:], inputs[1:]):
        if isinstance(tensor, torch.Tensor) and tensor.requires_grad:
            assert tensor.grad is not None and tensor.grad.abs().sum() > 0, f"no gradient reaches the discriminator's input '{name}'"
    _gradients_reach(discriminator, "discriminator")
    return logits.detach()


def _scalar(value: Any, what: str, device: torch.device) -> torch.Tensor:
    assert isinstance(value, torch.Tensor), f"{what} returned {type(value).__name__}, not a tensor"
    assert value.dim() == 0, f"{what} returned shape {tuple(value.shape)}, not a scalar"
    assert value.is_floating_point() and torch.isfinite(value), f"{what} returned {value}, not a finite float"
    assert value.device.type == device.type, f"{what} returned a tensor on {value.device}, its inputs are on {device}"
    return value


def check_loss(loss: Any, device: str | torch.device = "cpu", batch: int = 16) -> None:
    """``discriminator_loss(real_logits, fake_logits)`` and ``generator_loss(fake_logits, real_logits)`` return
    finite float scalars on the logits' device that gradients flow through; D's loss is lower when it tells real
    (high logits) from fake (low logits) than when it has them backwards, and G's loss is lower when D takes fakes
    for real.

    G's loss is called as variants call it, through :func:`ganforge.loss.complete`: with D's real logits (constants,
    no graph) when the loss sets ``needs_real_logits``, and then it must depend on them and be lower when D scores
    the fakes above the reals; with None otherwise (a one-argument ``generator_loss`` gets the fake logits only).
    """
    device = torch.device(device)
    completed = complete(loss)
    needs_real = completed.needs_real_logits
    generator = torch.Generator().manual_seed(0)
    real = torch.randn(batch, generator=generator).to(device).requires_grad_(True)
    fake = torch.randn(batch, generator=generator).to(device).requires_grad_(True)
    loss_d = _scalar(loss.discriminator_loss(real, fake), "discriminator_loss", device)
    grad_real, grad_fake = torch.autograd.grad(loss_d, (real, fake))
    assert torch.isfinite(grad_real).all() and grad_real.abs().sum() > 0, "discriminator_loss has no gradient for real logits"
    assert torch.isfinite(grad_fake).all() and grad_fake.abs().sum() > 0, "discriminator_loss has no gradient for fake logits"

    def generator_loss(fake_logits: torch.Tensor, real_logits: torch.Tensor) -> torch.Tensor:
        return completed.generator_loss(fake_logits, real_logits.detach() if needs_real else None)

    loss_g = _scalar(generator_loss(fake, real), "generator_loss", device)
    (grad_g,) = torch.autograd.grad(loss_g, fake)
    assert torch.isfinite(grad_g).all() and grad_g.abs().sum() > 0, "generator_loss has no gradient for fake logits"
    if needs_real:
        shifted = generator_loss(fake, real + 1.0)
        assert not torch.isclose(shifted, loss_g), "generator_loss sets needs_real_logits but does not depend on the real logits"

    high, low = torch.full((batch,), 2.0, device=device), torch.full((batch,), -2.0, device=device)
    assert loss.discriminator_loss(high, low) < loss.discriminator_loss(low, high), (
        "discriminator_loss is not lower when D scores real examples above fakes"
    )
    assert generator_loss(high, low) < generator_loss(low, high), "generator_loss is not lower when D scores fakes as real"


def check_dataset(dataset: Any) -> None:
    """A :class:`TensorData` with at least one example of ``spec.shape``: uint8 images or float points, int64
    labels in ``range(spec.num_classes)`` if any, and minibatches that are float, images in [-1, 1]."""
    assert isinstance(dataset, TensorData), f"a dataset is a ganforge.data.TensorData, got {type(dataset).__name__}"
    spec = dataset.spec
    assert len(dataset) >= 1, "the dataset is empty"
    assert tuple(dataset.data.shape[1:]) == tuple(spec.shape), f"examples {tuple(dataset.data.shape[1:])}, spec says {spec.shape}"
    if spec.is_image:
        assert len(spec.shape) == 3 and dataset.data.dtype == torch.uint8, "images are uint8 tensors of shape (N, C, H, W)"
    else:
        assert dataset.data.is_floating_point(), f"point data is float, got {dataset.data.dtype}"
    if dataset.labels is not None:
        labels = dataset.labels
        assert labels.dtype == torch.int64 and labels.shape == (len(dataset),), "labels are one int64 per example"
        assert spec.num_classes > 0, "labelled data must say how many classes it has (spec.num_classes)"
        assert 0 <= int(labels.min()) and int(labels.max()) < spec.num_classes, f"labels outside range({spec.num_classes})"
    batch = dataset.batch(torch.arange(min(len(dataset), 8)))
    assert batch.data.dtype == torch.float32 and tuple(batch.data.shape[1:]) == tuple(spec.shape), "minibatches are float32"
    if spec.is_image:
        assert batch.data.min() >= -1 and batch.data.max() <= 1, "image minibatches lie in [-1, 1]"


def check_variant(
    name: str,
    data: TensorData | None = None,
    settings: dict[str, Any] | None = None,
    registry: Registry | None = None,
    steps: int = 2,
    device: str = "cpu",
) -> dict[str, float]:
    """A short real run of variant ``name`` on ``data`` (default: 64 tiny 1x28x28 images in 10 classes, in as many
    domains as the variant's ``domains``).

    Builds it, trains ``steps`` steps through the core's loop as one whole one-epoch run (so a staged variant
    reaches each stage; each step must return finite scalar tensors on the device), checks that training changed
    every network that has an optimizer, that samples and a checkpoint were written, that the checkpoint loads
    back into equal networks, and that the loaded variant generates at least the examples asked for (a class
    grid rounds up to whole rows), also without training data (as ``ganforge sample`` does).

    Returns the run's last line of ``metrics.jsonl`` as a dict: ``step`` and ``epoch`` (ints), each metric
    ``train_step`` returns averaged since the line before, and ``images_per_s`` (floats).
    """
    registry = registry or get_registry()
    domains = registry.get("variant", name).load().domains
    data = (data or tiny_data((1, 28, 28), num_classes=10, domains=domains)).to(torch.device(device))
    settings = {"train.batch_size": 8, "train.log_every": 1, "train.sample_count": 4, **(settings or {})}
    settings.update({"train.epochs": 1, "train.max_steps": None, "train.device": device})
    config = api.configure(name, settings=settings, registry=registry)
    variant = api.prepare_training(config, data.spec, torch.device(device), registry=registry)
    needed = steps * config.train.batch_size * variant.batches_per_step
    assert len(data) >= needed, f"{steps} steps of variant '{name}' need {needed} examples; the data has {len(data)}"
    data = data.head(needed)
    before = {n: [p.detach().clone() for p in network.parameters()] for n, network in variant.networks.items()}
    optimized = {id(p) for optimizer in variant.optimizers.values() for group in optimizer.param_groups for p in group["params"]}
    trained = [n for n, network in variant.networks.items() if any(id(p) in optimized for p in network.parameters())]
    assert trained, f"variant '{name}' has no network that an optimizer updates"
    variant.train_step = _checked_steps(variant.train_step, torch.device(device))

    with tempfile.TemporaryDirectory() as tmp:
        run_dir = RunDir.create(Path(tmp) / "run")
        run_dir.write_config(config.to_json())
        result = Trainer(variant, data, config, run_dir, Precision(torch.device(device))).fit()
        assert result.steps == steps, f"the run stopped after {result.steps} of {steps} steps"
        assert result.samples and result.samples[-1].stat().st_size > 0, "no sample picture was written"
        unchanged = [n for n in trained if all(torch.equal(a, b) for a, b in zip(before[n], variant.networks[n].parameters()))]
        assert not unchanged, f"{steps} training steps left network(s) {', '.join(unchanged)} unchanged, though an optimizer updates them"

        loaded = api.load(result.checkpoint, device=device, registry=registry, ema=False)  # the live weights
        for network_name, network in variant.networks.items():
            saved = loaded.networks[network_name].state_dict()
            assert all(torch.equal(t, saved[k]) for k, t in network.state_dict().items()), f"network '{network_name}' did not load back equal"
        for with_data in (data, None):
            try:
                inputs = loaded.sample_inputs(5, torch.Generator().manual_seed(0), with_data)
            except GanforgeError:
                if with_data is None:  # image-to-image variants need images to translate, and must say so clearly
                    continue
                raise
            with torch.no_grad():
                out = loaded.generate(inputs)
            # a staged generator (StackGAN) shows the stage it has reached, at that stage's resolution
            assert len(out) >= 5 and out.shape[1] == data.spec.shape[0], f"generate gave {tuple(out.shape)} when asked for 5 examples of {data.spec.shape}"
            assert torch.isfinite(out).all(), "generated samples are not finite"
    return result.last_metrics


def _checked_steps(train_step: Any, device: torch.device) -> Any:
    def checked(batch: Any, precision: Precision) -> dict[str, torch.Tensor]:
        metrics = train_step(batch, precision)
        assert isinstance(metrics, dict) and metrics, "train_step must return a dict of metric name -> scalar tensor"
        for key, value in metrics.items():
            assert isinstance(value, torch.Tensor) and value.numel() == 1, f"metric '{key}' is not a scalar tensor"
            assert value.device.type == device.type, f"metric '{key}' is on {value.device}; leave metrics on the training device"
            assert torch.isfinite(value).all(), f"metric '{key}' is not finite: {value}"
        return metrics

    return checked

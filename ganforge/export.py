"""The generator (or any one network) alone, as a file that runs without ganforge: ONNX (for onnxruntime and friends) or TorchScript.

What is exported is the variant's own sampling path, :meth:`~ganforge.Variant.noise_inputs` then
:meth:`~ganforge.Variant.generate`, with the weights loaded for sampling (the EMA's where the run kept one):

* noise-driven variants: ``z`` (N, noise.dim) float32 drawn from p_z (and ``labels`` (N,) int64 for
  class-conditional ones) to ``output``, images (N, C, H, W) in [-1, 1] or points (N, D); any other randomness
  (StackGAN's conditioning augmentation) is fixed at its mean, so the file is a deterministic function;
* image-to-image variants: ``images`` (N, C, H, W) float32 in [-1, 1] of the source domain to their translations.

``--network NAME`` exports one network of the variant instead (an encoder, a discriminator, one generator), with
the weights loaded for sampling (averaged for the networks of ``Variant.generators``, where the run kept an
average), on the inputs it declares (:mod:`ganforge.inputs`): an encoder's ``x``, a joint discriminator's ``x`` and
``z``, cgan's ``z`` and ``labels``. A network that declares none takes ``x`` (a discriminator) or ``z`` (a
generator of a variant with a prior).

The batch dimension is free (``dynamic``) unless a fixed batch is asked for. Every export is checked: the file is
loaded back (onnxruntime, or ``torch.jit.load``) and run on fresh inputs, and its outputs must match PyTorch's.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.inputs import Input, declared_inputs
from ganforge.loading import load_with_checkpoint, refuse_if_not_finite
from ganforge.registry import Registry
from ganforge.rundir import check_output_file
from ganforge.noise import sample_noise
from ganforge.variant import Variant

Format = Literal["onnx", "torchscript"]
FORMATS = ("onnx", "torchscript")
MAX_BATCH = 10_000  # a fixed batch is traced and checked with that many examples, in memory
TOLERANCE = 1e-4  # outputs are in [-1, 1]; float32 kernels of two runtimes differ in the last bits only
EXTRA = "pip install 'ganforge[export]' (onnx and onnxruntime)"


class Sampler(nn.Module):
    """The variant's generator side as one module: inputs (noise and labels, or images) to outputs."""

    def __init__(self, variant: Variant):
        super().__init__()
        self.variant = variant
        self.generators = nn.ModuleDict({name: variant.networks[name] for name in variant.generators})  # what it holds

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        variant = self.variant
        if variant.translates:
            return variant.translate(inputs[0])
        labels = inputs[1] if variant.conditional else None
        return variant.generate(variant.noise_inputs(inputs[0], labels, None))


@dataclass
class Exported:
    """What ``ganforge export`` wrote and how it checked it."""

    path: Path
    inputs: dict[str, list[int | str]]  # input name -> shape ("batch" where it is free)
    output: list[int | str]
    difference: float  # the largest |exported - PyTorch| over the check's outputs
    checked_batch: int


def check_batch(batch: int | None) -> None:
    """Refuse a fixed batch size that is none, or more examples than the export can trace and check at once."""
    if batch is not None and batch < 1:
        raise GanforgeError(f"--batch {batch} is not a batch size; pass at least 1, or leave it out for a free batch dimension")
    if batch is not None and batch > MAX_BATCH:
        raise GanforgeError(f"--batch {batch:,} is larger than {MAX_BATCH:,}, the most an export is traced and checked with; leave it out for a free batch dimension")


def example_inputs(variant: Variant, batch: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Inputs of ``batch`` examples as the exported file takes them, on the variant's device."""
    generator = torch.Generator().manual_seed(seed)
    prior = variant.prior
    if variant.translates:
        images = torch.rand(batch, *variant.spec.shape, generator=generator).mul_(2).sub_(1)
        return (images.to(variant.device),)
    z = sample_noise(prior, batch, "cpu", generator).to(variant.device)
    if not variant.conditional:
        return (z,)
    return z, torch.randint(variant.spec.num_classes, (batch,), generator=generator).to(variant.device)


def input_names(variant: Variant) -> list[str]:
    if variant.translates:
        return ["images"]
    return ["z", "labels"] if variant.conditional else ["z"]


def check_format(format: str, out: Path) -> None:
    """Refuse, before any work, an unknown format or a missing ONNX package."""
    if format not in FORMATS:
        raise GanforgeError(f"--format {format!r} is not one of: {', '.join(FORMATS)}")
    check_output_file(out)
    if format == "onnx":
        for package in ("onnx", "onnxruntime"):
            try:
                __import__(package)
            except ImportError:
                raise GanforgeError(f"exporting to ONNX needs the {package} package: {EXTRA}") from None


def export(
    path: str | Path,
    format: Format,
    out: str | Path,
    batch: int | None = None,
    ema: bool = True,
    registry: Registry | None = None,
    network: str | None = None,
) -> Exported:
    """Write the generator saved at ``path`` (EMA weights where kept, unless ``ema`` is False), or its network
    ``network`` alone on the inputs it declares (an encoder, a discriminator), to ``out`` as ONNX or TorchScript,
    with a free batch dimension unless ``batch`` is given, checked against PyTorch as this module describes."""
    out = Path(out)
    check_format(format, out)
    check_batch(batch)
    variant, checkpoint = load_with_checkpoint(path, "cpu", registry, ema)
    refused = network or "generator"  # NaN weights export a file that computes NaN
    if refused in variant.networks:
        refuse_if_not_finite(variant.networks[refused], refused, checkpoint.path, "exported")
    return export_variant(variant, format, out, batch, network=network)


def network_inputs(variant: Variant, name: str) -> tuple[Input, ...]:
    """What network ``name`` of ``variant`` takes: its declared inputs, else a discriminator's ``x`` or a
    generator's ``z``."""
    if name not in variant.networks:
        raise GanforgeError(
            f"variant '{variant.config.variant.name}' has no network '{name}'; choose one of: {', '.join(variant.networks)}"
        )
    declared = declared_inputs(variant.networks[name])
    if declared:
        return declared
    if name in variant.discriminators:
        return (Input.data("x", variant.spec),)
    if name in variant.generators and variant.prior is not None and not variant.translates:
        return (Input.vector("z", variant.prior.dim),)
    raise GanforgeError(
        f"network '{name}' of variant '{variant.config.variant.name}' does not declare what it takes; its plugin can "
        "declare it as `self.inputs = (ganforge.inputs.Input.data('x', spec), ...)`"
    )


class NetworkAlone(nn.Module):
    """One network called on its declared inputs, refused where it returns more than one tensor."""

    def __init__(self, network: nn.Module, name: str):
        super().__init__()
        self.network = network
        self.name = name

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        out = self.network(*inputs)
        if not isinstance(out, torch.Tensor):
            raise GanforgeError(f"network '{self.name}' returns {type(out).__name__}, not one tensor; export writes networks with one output")
        return out


def export_variant(
    variant: Variant, format: Format, out: Path, batch: int | None = None, seed: int = 0, network: str | None = None
) -> Exported:
    """Write ``variant``'s generator side (or its network ``network`` alone) to ``out`` in ``format``, with a free
    batch dimension unless ``batch`` is given, and check the written file against PyTorch on fresh inputs."""
    check_format(format, out)
    check_batch(batch)
    if network is not None:
        inputs = network_inputs(variant, network)
        sampler: nn.Module = NetworkAlone(variant.networks[network], network).eval()
        names = [one.name for one in inputs]

        def examples(count: int, seed: int) -> tuple[torch.Tensor, ...]:
            generator = torch.Generator().manual_seed(seed)
            return tuple(one.example(count, generator).to(variant.device) for one in inputs)

    else:
        if not variant.translates:
            variant.require_prior("export")  # its inputs are draws of z
        sampler = Sampler(variant).eval()
        names = input_names(variant)

        def examples(count: int, seed: int) -> tuple[torch.Tensor, ...]:
            return example_inputs(variant, count, seed)

    traced_with = examples(batch or 2, seed)
    if network is not None:  # a network that cannot take its inputs fails here, in one line, before anything is written
        try:
            with torch.no_grad():
                sampler(*traced_with)
        except GanforgeError:
            raise
        except Exception as exc:
            shown = ", ".join(f"{name} {tuple(t.shape)}" for name, t in zip(names, traced_with))
            raise GanforgeError(f"network '{network}' does not run on the inputs it declares ({shown}): {type(exc).__name__}: {exc}") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on constants, the legacy exporter's deprecation
        if format == "onnx":
            free = {name: {0: "batch"} for name in [*names, "output"]} if batch is None else None
            torch.onnx.export(
                sampler, traced_with, str(out), dynamo=False, input_names=names, output_names=["output"], dynamic_axes=free
            )
            _describe_onnx(out, variant, network, names)
        else:
            torch.jit.trace(sampler, traced_with).save(str(out))
    checked = batch or 3  # another batch size than traced with, to show the batch dimension is free
    check_inputs = examples(checked, seed + 1)
    with torch.no_grad():
        expected = sampler(*check_inputs).float().cpu()
    got = _run_onnx(out, names, check_inputs) if format == "onnx" else _run_torchscript(out, check_inputs)
    difference = float((got - expected).abs().max())
    if not difference <= TOLERANCE:
        raise GanforgeError(
            f"the exported {out} differs from PyTorch by up to {difference:.3g} (tolerance {TOLERANCE:g}); the "
            "generator uses an operation the exporter does not translate faithfully"
        )
    shapes = {name: ["batch" if batch is None else batch, *tensor.shape[1:]] for name, tensor in zip(names, traced_with)}
    return Exported(out, shapes, ["batch" if batch is None else batch, *expected.shape[1:]], difference, checked)


def _describe_onnx(path: Path, variant: Variant, network: str | None, names: list[str]) -> None:
    """Record in the file's metadata what its inputs mean, for whoever runs it without ganforge."""
    import onnx

    model = onnx.load(str(path))
    prior = variant.prior
    notes = {
        "ganforge.network": network or "sampler",
        "ganforge.inputs": json.dumps(names),
        "ganforge.variant": variant.config.variant.name,
        "ganforge.data": variant.config.data.name,
        "ganforge.output_shape": json.dumps(list(variant.spec.shape)),
        "ganforge.noise": json.dumps(None if prior is None else {"dim": prior.dim, "dist": prior.dist}),
        "ganforge.num_classes": str(variant.spec.num_classes),
    }
    for key, value in notes.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def _run_onnx(path: Path, names: list[str], inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {name: tensor.cpu().numpy() for name, tensor in zip(names, inputs)}
    return torch.from_numpy(session.run(None, feeds)[0]).float()


def _run_torchscript(path: Path, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript's, pointing at torch.export
        loaded = torch.jit.load(str(path), map_location="cpu")
    with torch.no_grad():
        return loaded(*(tensor.cpu() for tensor in inputs)).float()

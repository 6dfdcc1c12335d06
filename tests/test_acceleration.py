"""Speed settings (channels-last layout, torch.compile, SyncBatchNorm) change how fast a run trains, not what it learns."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import TINY
from torch import nn
from typer.testing import CliRunner
from variant_helpers import build, tiny_run

import ganforge
from ganforge.acceleration import accelerate
from ganforge.checkpoint import read_checkpoint
from ganforge.cli import app
from ganforge.data import DataSpec, TensorData
from ganforge.distributed import Distributed
from ganforge.errors import GanforgeError

IMAGES = TensorData(((torch.rand(96, 1, 16, 16, generator=torch.Generator().manual_seed(0)) > 0.5) * 255).to(torch.uint8), DataSpec((1, 16, 16)))
DCGAN = {"generator.width": 8, "discriminator.width": 8, "noise.dim": 16, "train.batch_size": 32, "train.sample_count": 16, "train.max_steps": 3, "train.log_every": 1}


def final_weights(result, networks=("generator", "discriminator")) -> dict[str, torch.Tensor]:
    """The networks' weights in the run's checkpoint (``network.<name>.<parameter>``), checked to cover ``networks``."""
    weights = {k: v for k, v in read_checkpoint(result.checkpoint).tensors.items() if k.startswith("network.")}
    assert weights, "the checkpoint holds no network.* tensors"  # an empty filter would make every comparison pass
    assert {key.split(".")[1] for key in weights} == set(networks), sorted(weights)
    return weights


def test_channels_last_trains_conv_nets_to_the_same_weights(tmp_path):
    plain = tiny_run("dcgan", IMAGES, {**DCGAN, "train.channels_last": False}, tmp_path / "plain")
    nhwc = tiny_run("dcgan", IMAGES, {**DCGAN, "train.channels_last": True}, tmp_path / "nhwc")
    expected, got = final_weights(plain), final_weights(nhwc)
    assert expected.keys() == got.keys()
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], atol=1e-5, rtol=1e-4, msg=key)


def test_channels_last_converts_only_conv_weights():
    model = build("dcgan", IMAGES, {**DCGAN, "train.channels_last": True})
    accelerate(model, model.config.train, Distributed())
    convs = [p for net in model.networks.values() for p in net.parameters() if p.dim() == 4]
    wide = [p for p in convs if p.shape[1] > 1]  # a (N, 1, k, k) weight is contiguous in both layouts
    assert wide and all(p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous() for p in wide)


def test_channels_last_is_on_by_default_only_on_cuda():
    model = build("dcgan", IMAGES, DCGAN)
    accelerate(model, model.config.train, Distributed())
    assert all(p.is_contiguous() for net in model.networks.values() for p in net.parameters())


@pytest.mark.slow  # compiles: 1-2 minutes per mode on two cores
@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])  # on the CPU, reduce-overhead compiles without CUDA graphs
def test_a_compiled_run_learns_what_an_eager_run_learns_and_saves_plain_keys(tmp_path, mode):
    # no dropout in D (vanilla's default has the paper's): compiled code draws its masks from another generator
    settings = {**TINY, "train.max_steps": 4, "train.device": "cpu", "data.size": 256, "discriminator.dropout": 0.0}
    eager = ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path / "eager")
    compiled = ganforge.train("vanilla", "ring8", settings={**settings, "train.compile": mode}, out=tmp_path / "compiled")
    expected, got = final_weights(eager), final_weights(compiled)
    assert expected.keys() == got.keys() and not any("_orig_mod" in key for key in got)
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], atol=1e-4, rtol=1e-3, msg=key)
    assert ganforge.sample(tmp_path / "compiled", count=5, device="cpu").values.shape == (5, 2)


@pytest.mark.parametrize(("flag", "mode"), [("--compile", "default"), ("--cuda-graphs", "reduce-overhead")])
def test_compile_flags_set_the_compile_mode(tmp_path, monkeypatch, flag, mode):
    compiled = []
    monkeypatch.setattr(nn.Module, "compile", lambda self, mode: compiled.append(mode))  # the flag's effect, not inductor's
    out = tmp_path / "run"
    args = ["run", "vanilla", "--data", "ring8", "--device", "cpu", "--max-steps", "2", "--out", str(out), flag]
    args += [f"--set={key}={value}" for key, value in TINY.items()] + ["--set", "data.size=256"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert json.loads((out / "config.json").read_text())["train"]["compile"] == mode
    assert compiled == [mode, mode]  # generator and discriminator


def test_an_unknown_compile_mode_names_the_choices():
    with pytest.raises(GanforgeError, match="train.compile.*'reduce-overhead'"):
        ganforge.configure("vanilla", "ring8", {"train.compile": "fast"})


def test_sync_batchnorm_across_cpu_processes_is_a_clear_error():
    model = build("dcgan", IMAGES, {**DCGAN, "train.sync_batchnorm": True})
    with pytest.raises(GanforgeError, match="sync_batchnorm needs CUDA"):
        accelerate(model, model.config.train, Distributed(rank=0, world_size=2))


def test_sync_batchnorm_swaps_every_batchnorm_and_keeps_checkpoint_keys(monkeypatch):
    model = build("dcgan", IMAGES, {**DCGAN, "train.sync_batchnorm": True, "train.channels_last": False})
    keys = {name: set(net.state_dict()) for name, net in model.networks.items()}
    monkeypatch.setattr(model, "device", torch.device("cuda"))  # the layers swap on the CPU; only their forward needs CUDA
    accelerate(model, model.config.train, Distributed(rank=0, world_size=2))
    layers = [m for net in model.networks.values() for m in net.modules()]
    assert any(isinstance(m, nn.SyncBatchNorm) for m in layers)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) and not isinstance(m, nn.SyncBatchNorm) for m in layers)
    assert {name: set(net.state_dict()) for name, net in model.networks.items()} == keys


def test_sync_batchnorm_is_nothing_to_do_for_one_process():
    model = build("dcgan", IMAGES, {**DCGAN, "train.sync_batchnorm": True})
    accelerate(model, model.config.train, Distributed())
    assert not any(isinstance(m, nn.SyncBatchNorm) for net in model.networks.values() for m in net.modules())

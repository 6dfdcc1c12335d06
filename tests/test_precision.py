"""The mixed-precision policy (issue 14, findings 7 and 9): which dtype a CUDA device gets, forcing one with
``train.amp_dtype``, and which fp16 updates the loss scaler skipped count toward ``train.max_nonfinite_steps``.

CUDA is not needed: the device queries are replaced, and fp16 with a GradScaler runs on the CPU too.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ganforge
from ganforge.device import Precision
from ganforge.errors import GanforgeError
from ganforge.health import SkipWatch


@pytest.fixture
def gpus(monkeypatch):
    """Two CUDA devices: cuda:0 an H100 (8.0+, native bf16), cuda:1 a V100 (7.0, bf16 only emulated).

    ``torch.cuda.is_bf16_supported`` answers True by default (emulation counts), and about the current device.
    """
    capability = {0: (9, 0), 1: (7, 0)}
    current = [0]

    def get_device_capability(device=None):
        index = device.index if isinstance(device, torch.device) else device
        return capability[current[0] if index is None else index]

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: current[0])
    monkeypatch.setattr(torch.cuda, "get_device_capability", get_device_capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation or capability[current[0]] >= (8, 0))
    monkeypatch.setattr(torch.version, "hip", None)
    return current


def test_a_gpu_without_native_bf16_gets_fp16_with_a_loss_scaler(gpus):
    assert Precision.for_device(torch.device("cuda", 1), amp=True).name == "fp16"
    assert Precision.for_device(torch.device("cuda", 0), amp=True).name == "bf16"


def test_the_chosen_device_is_asked_not_the_current_one(gpus):
    gpus[0] = 1  # the current device is the V100; the run trains on the H100
    assert Precision.for_device(torch.device("cuda", 0), amp=True).name == "bf16"
    gpus[0] = 0
    assert Precision.for_device(torch.device("cuda", 1), amp=True).name == "fp16"
    assert Precision.for_device(torch.device("cuda"), amp=True).name == "bf16"  # no index: the current device


def test_amp_dtype_forces_a_precision_and_amp_off_still_means_fp32(gpus):
    assert Precision.for_device(torch.device("cuda", 0), amp=True, dtype="fp16").name == "fp16"
    assert Precision.for_device(torch.device("cuda", 1), amp=True, dtype="bf16").name == "bf16"
    assert Precision.for_device(torch.device("cuda", 0), amp=False, dtype="fp16").name == "fp32"
    assert Precision.for_device(torch.device("cpu"), amp=True).name == "fp32"  # auto: fp32 on the CPU
    assert Precision.for_device(torch.device("cpu"), amp=True, dtype="bf16").name == "bf16"  # forced: honoured


def test_amp_dtype_is_a_checked_setting_a_resume_may_change():
    assert ganforge.configure("vanilla", "ring8", {"train.amp_dtype": "fp16"}).train.amp_dtype == "fp16"
    assert ganforge.configure("vanilla", "ring8").train.amp_dtype == "auto"
    with pytest.raises(GanforgeError, match="train.amp_dtype"):
        ganforge.configure("vanilla", "ring8", {"train.amp_dtype": "fp8"})
    assert "train.amp_dtype" in ganforge.api.RESUMABLE


class InfiniteGradient(torch.autograd.Function):
    """The identity, whose backward returns infinite gradients: a finite loss that overflows any scale."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return torch.full_like(grad, float("inf"))


def fp16_setup(seed: int = 0):
    torch.manual_seed(seed)
    network = nn.Linear(4, 3)
    optimizer = torch.optim.SGD(network.parameters(), lr=0.0)  # the same gradients every time
    precision = Precision(torch.device("cpu"), torch.float16)
    precision.updates = []
    x = torch.randn(8, 4)

    def loss(times: float = 1.0) -> torch.Tensor:
        with precision.autocast():
            return network(x).float().square().mean() * times

    return network, optimizer, precision, loss


def flags(precision: Precision) -> list[float]:
    return [flag.item() for _, flag, _ in precision.updates]


@pytest.mark.parametrize("fused", [False, True], ids=["plain-adam", "fused-adam"])
def test_under_fp16_a_finite_loss_with_overflowing_gradients_is_skipped_and_counted(fused):
    torch.manual_seed(0)
    network = nn.Linear(4, 3)
    optimizer = torch.optim.Adam(network.parameters(), lr=0.01, fused=fused)
    precision = Precision(torch.device("cpu"), torch.float16)
    precision.updates = []
    x = torch.randn(8, 4)
    with precision.autocast():
        precision.step(network(x).float().square().mean(), optimizer)  # a good update: the scale has settled
    before = [p.detach().clone() for p in network.parameters()]
    with precision.autocast():
        loss = InfiniteGradient.apply(network(x).float().square().mean())
    assert torch.isfinite(loss)
    precision.step(loss, optimizer)
    assert all(torch.equal(a, b) for a, b in zip(before, network.parameters()))  # the scaler skipped it
    assert flags(precision) == [0.0, 1.0]  # and it counts


def test_the_loss_scalers_warm_up_does_not_count_but_overflow_at_scale_one_does():
    network, optimizer, precision, loss = fp16_setup()
    # This loss's gradients overflow fp16 (65504) at every scale from the initial 2**16 down to 2**6: 11 updates
    # in a row skipped while the scale settles (2**5 fits), which must not stop a run with the default limit 10.
    for _ in range(14):
        precision.step(loss(4096.0), optimizer)
    assert flags(precision) == [0.0] * 14
    assert precision.scaler(optimizer).get_scale() == 2.0**5
    watch = SkipWatch({"g": optimizer}, limit=10)
    watch.collect(1, precision.updates)
    watch.check()
    assert watch.failure is None

    # A finite loss whose gradients overflow at any scale: not warm-up once the scale is down to 1 or below.
    network, optimizer, precision, loss = fp16_setup()
    for _ in range(20):
        precision.step(InfiniteGradient.apply(loss()), optimizer)
    assert flags(precision) == [0.0] * 16 + [1.0] * 4  # scales 2**16 .. 2**1 uncounted, then 1, 1/2, ...


def test_after_the_warm_up_every_overflow_counts():
    network, optimizer, precision, loss = fp16_setup()
    for _ in range(12):
        precision.step(loss(4096.0), optimizer)  # 11 skipped while the scale falls to 2**5, then one goes through
    precision.step(loss(), optimizer)
    precision.step(loss(2.0**30), optimizer)  # overflows at the settled scale
    precision.step(loss(2.0**30), optimizer)
    precision.step(loss(), optimizer)
    assert flags(precision) == [0.0] * 13 + [1.0, 1.0, 0.0]


def test_an_fp16_run_whose_gradients_keep_overflowing_stops(tmp_path, monkeypatch):
    from conftest import TINY
    from ganforge_losses.bce import BCELoss

    original, seen = BCELoss.discriminator_loss, [0]

    def discriminator_loss(self, real_logits, fake_logits):
        seen[0] += 1
        loss = original(self, real_logits, fake_logits)
        return InfiniteGradient.apply(loss) if seen[0] >= 23 else loss

    monkeypatch.setattr(BCELoss, "discriminator_loss", discriminator_loss)
    settings = {**TINY, "data.size": 640, "train.epochs": 2, "train.device": "cpu", "train.amp_dtype": "fp16", "train.max_nonfinite_steps": 4}
    with pytest.raises(GanforgeError, match=r"training stopped at step 26: 4 updates in a row of optimizer 'discriminator'"):
        ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path)

"""Non-finite losses and gradients: the update is skipped exactly, counted, and a run that keeps failing stops."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from torch import nn
from typer.testing import CliRunner

import ganforge
from ganforge.cli import app
from ganforge.device import Precision
from ganforge.errors import GanforgeError
from ganforge_losses.bce import BCELoss

from conftest import TINY

SETTINGS = {**TINY, "data.size": 640, "train.epochs": 2, "train.log_every": 5, "train.checkpoint_every": 5}  # 20 steps/epoch


def poison_discriminator_loss(monkeypatch, updates: set[int] | range) -> None:
    """Make D's loss NaN on the given D updates (1-based), as a bad batch or an exploding network would."""
    original, seen = BCELoss.discriminator_loss, [0]

    def discriminator_loss(self, real_logits, fake_logits):
        seen[0] += 1
        loss = original(self, real_logits, fake_logits)
        return loss * float("nan") if seen[0] in updates else loss

    monkeypatch.setattr(BCELoss, "discriminator_loss", discriminator_loss)


def snapshot(network: nn.Module, optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    state = [value for entries in optimizer.state.values() for value in entries.values() if isinstance(value, torch.Tensor)]
    return [t.detach().clone() for t in [*network.parameters(), *state]]


@pytest.mark.parametrize("fused", [False, True], ids=["plain-adam", "fused-adam"])
def test_a_skipped_update_leaves_weights_and_optimizer_state_exactly_as_they_were(fused):
    torch.manual_seed(0)
    network = nn.Linear(4, 3)
    optimizer = torch.optim.Adam(network.parameters(), lr=0.1, fused=fused)
    precision = Precision(torch.device("cpu"))
    precision.updates = []
    x = torch.randn(8, 4)
    precision.step(network(x).square().mean(), optimizer)
    before = snapshot(network, optimizer)

    precision.step(network(x).square().mean() * float("nan"), optimizer)  # NaN loss
    # A finite loss whose gradient is infinite: d sqrt(u)/du at u = 0.
    precision.step(torch.sqrt(network.weight - network.weight.detach()).sum(), optimizer)
    assert all(torch.equal(a, b) for a, b in zip(before, snapshot(network, optimizer)))

    precision.step(network(x).square().mean(), optimizer)
    assert not torch.equal(before[0], network.weight)
    assert [flag.item() for _, flag, _ in precision.updates] == [0.0, 1.0, 1.0, 0.0]


def test_under_fp16_loss_scaling_a_nan_loss_is_flagged():
    network = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(network.parameters(), lr=0.1)
    precision = Precision(torch.device("cpu"), torch.float16)
    precision.updates = []
    before = network.weight.detach().clone()
    precision.step(network(torch.randn(2, 4)).mean() * float("nan"), optimizer)
    assert torch.equal(before, network.weight) and precision.updates[0][1].item() == 1.0


def test_isolated_nan_updates_are_skipped_and_counted_and_training_goes_on(tmp_path, monkeypatch):
    poison_discriminator_loss(monkeypatch, {3, 7, 8, 31})
    result = ganforge.train("vanilla", "ring8", settings=SETTINGS, out=tmp_path)
    assert result.steps == 40
    records = [json.loads(line) for line in result.run_dir.metrics_path.read_text().splitlines()]
    assert {r["step"]: r["skipped_updates"] for r in records if "skipped_updates" in r} == {5: 1, 10: 2, 35: 1}
    assert all(torch.isfinite(t).all() for name, t in load_file(result.checkpoint).items() if t.is_floating_point())


def test_many_nan_updates_in_a_row_stop_the_run_naming_the_step_and_the_loss(tmp_path, monkeypatch):
    poison_discriminator_loss(monkeypatch, range(23, 1000))
    settings = {**SETTINGS, "train.max_nonfinite_steps": 4}
    with pytest.raises(GanforgeError) as raised:
        ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path)
    message = str(raised.value)
    assert message.startswith("training stopped at step 26: 4 updates in a row of optimizer 'discriminator'")
    assert "loss nan" in message and "train.max_nonfinite_steps=4" in message and "\n" not in message
    # step 25 was saved during the streak (from D's 23rd update): good means saved before it began (issue 18)
    last_good = tmp_path / "checkpoints" / "step_00000020.safetensors"
    assert f"the last good checkpoint, saved before these skips began (from step 23), is {last_good}" in message
    assert [p.name for p in sorted((tmp_path / "checkpoints").iterdir())][-1] == "step_00000025.safetensors"
    assert all(torch.isfinite(t).all() for t in load_file(last_good).values() if t.is_floating_point())


def test_the_cli_reports_the_stop_as_one_line(tmp_path, monkeypatch):
    poison_discriminator_loss(monkeypatch, range(1, 1000))
    sets = [arg for key, value in SETTINGS.items() for arg in ("--set", f"{key}={value}")]
    result = CliRunner().invoke(app, ["run", "vanilla", "--data", "ring8", *sets, "--set", "train.max_nonfinite_steps=3", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "training stopped at step 3" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "no checkpoint was saved before these skips began (from step 1)" in result.stderr and "Traceback" not in result.output
    assert not list(tmp_path.iterdir())  # a start that saved nothing leaves nothing behind (issue 18)

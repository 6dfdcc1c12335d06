"""Evaluation during training leaves training's random streams alone (issue 14, finding 8): on the CPU and, by
forking the training device's generator too, on CUDA, where the noise is drawn."""

from __future__ import annotations

import pytest
import torch
from conftest import TINY

import ganforge
from ganforge.checkpoint import read_checkpoint
from ganforge.evaluation.monitor import RunMonitor
from ganforge.rundir import RunDir


def weights(result) -> dict[str, torch.Tensor]:
    tensors = read_checkpoint(result.checkpoint).tensors
    return {k: v for k, v in tensors.items() if k.startswith("network.")}


def test_a_run_ends_with_the_same_weights_with_and_without_evaluation(tmp_path):
    settings = {**TINY, "data.size": 320, "train.max_steps": 10, "train.device": "cpu", "eval.samples": 100}
    plain = ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path / "plain")
    evaluated = ganforge.train("vanilla", "ring8", settings={**settings, "eval.every": 3}, out=tmp_path / "evaluated")
    assert any('"eval": true' in line for line in evaluated.run_dir.metrics_path.read_text().splitlines())
    expected, got = weights(plain), weights(evaluated)
    assert expected and expected.keys() == got.keys()
    for key in expected:
        assert torch.equal(got[key], expected[key]), key


@pytest.mark.parametrize(
    "device",
    ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")])],
)
def test_evaluation_leaves_the_noise_of_the_training_device_alone(tmp_path, device):
    """The noise training draws next, on the device it draws it on, is the same with an evaluation in between as
    without: the judge's own draws (z, on that device) come from generators put back afterwards."""
    config = ganforge.configure("vanilla", "ring8", {**TINY, "data.size": 64, "eval.every": 5, "eval.samples": 64})
    data = ganforge.api.load_dataset(config).to(torch.device(device))
    model = ganforge.api.build_variant(config, data.spec, torch.device(device))
    monitor = RunMonitor(model, data, config, RunDir.create(tmp_path / "run"))
    real_judge = monitor.judge

    def judge(variant, count, seed=0):
        # a generator that draws noise of its own inside (StackGAN's conditioning augmentation does, on the device)
        torch.randn(1000, device=variant.device)
        torch.randn(1000)
        return real_judge(variant, count, seed)

    monitor.judge = judge

    def next_noise(evaluate: bool) -> tuple[torch.Tensor, torch.Tensor]:
        torch.manual_seed(1)  # every device's generator
        if evaluate:
            monitor.evaluate(step=5, epoch=1)
        return torch.randn(8), torch.randn(8, device=device)

    without, with_evaluation = next_noise(False), next_noise(True)
    assert torch.equal(without[0], with_evaluation[0]) and torch.equal(without[1], with_evaluation[1])
    assert monitor.last_evaluated == 5  # it did evaluate, drawing samples

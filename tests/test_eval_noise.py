"""Evaluation during training leaves training's random streams alone (issue 14, finding 8): on the CPU and, by
forking the training device's generator too, on CUDA, where the noise is drawn."""

from __future__ import annotations

import contextlib

import pytest
import torch
from conftest import TINY

import ganforge
from ganforge.checkpoint import read_checkpoint
from ganforge.evaluation.judges import Report
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


@pytest.mark.parametrize(("device", "forked"), [(torch.device("cuda", 1), [1]), (torch.device("cuda"), [3]), (torch.device("cpu"), [])])
def test_evaluation_forks_the_rng_of_the_device_training_draws_from(tmp_path, monkeypatch, device, forked):
    config = ganforge.configure("vanilla", "ring8", {**TINY, "data.size": 64, "eval.every": 5})
    data = ganforge.api.load_dataset(config)
    model = ganforge.api.build_variant(config, data.spec, torch.device("cpu"))
    model.device = device  # as the trainer leaves it on that GPU; the stub judge below draws nothing there
    monitor = RunMonitor(model, data, config, RunDir.create(tmp_path / "run"))
    monitor.judge = lambda variant, count, seed=0: Report("stub", 2, {"score": 1.0}, "score", True)
    calls = []

    @contextlib.contextmanager
    def fork_rng(devices=None, enabled=True, **kwargs):
        calls.append(list(devices) if devices is not None else None)
        yield  # the CPU build cannot fork a CUDA generator; what was asked for is what matters here

    monkeypatch.setattr(torch.random, "fork_rng", fork_rng)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 3)
    monitor.evaluate(step=5, epoch=1)
    assert calls[0] == forked  # the outermost fork: the one around the whole evaluation

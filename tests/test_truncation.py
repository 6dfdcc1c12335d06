"""The truncation trick: ``sample --truncation`` and ``eval --truncation`` (issue 16)."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

import ganforge
from ganforge import api
from ganforge.cli import app
from ganforge.errors import GanforgeError
from ganforge.noise import NoiseConfig, Truncation, sample_noise, truncated

from conftest import TINY

runner = CliRunner()


def draws(truncation: Truncation | None, dist: str = "normal", seed: int = 0, count: int = 4000) -> torch.Tensor:
    with truncated(truncation):
        return sample_noise(NoiseConfig(dim=8, dist=dist), count, "cpu", torch.Generator().manual_seed(seed))


def test_resampling_keeps_every_component_within_the_threshold_and_redraws_rather_than_clips():
    z = draws(Truncation(0.5, "resample"))
    assert z.abs().max() <= 0.5
    assert (z.abs() == 0.5).float().mean() < 0.001  # no mass piled up at the threshold, as clipping would leave
    # N(0, 1) truncated to [-0.5, 0.5]: std 0.2843 (var = 1 - 2·0.5·φ(0.5)/(2Φ(0.5) - 1))
    assert z.std().item() == pytest.approx(0.2843, abs=0.01)
    assert torch.equal(z, draws(Truncation(0.5, "resample")))  # the seed still fixes the samples


def test_the_mean_form_moves_z_towards_the_mean_latent():
    assert torch.allclose(draws(Truncation(0.25, "mean")), 0.25 * draws(None))
    assert torch.equal(draws(Truncation(1.0, "mean")), draws(None))  # ψ = 1: untruncated


def test_uniform_noise_defaults_to_the_mean_form_and_normal_to_resampling():
    assert Truncation.choose(0.5, None, NoiseConfig(dist="uniform")).mode == "mean"
    assert Truncation.choose(0.5, None, NoiseConfig(dist="normal")).mode == "resample"
    assert draws(Truncation.choose(0.5, None, NoiseConfig(dist="uniform")), "uniform").abs().max() <= 0.5


@pytest.mark.parametrize("psi, mode, message", [
    (0.0, "resample", "must be above 0"),
    (-1.0, None, "must be above 0"),
    (1.5, "mean", r"outside \[0, 1\]"),
    (0.5, "clip", "not one of: resample, mean"),
])  # fmt: skip
def test_bad_truncations_are_one_line_errors(psi, mode, message):
    with pytest.raises(GanforgeError, match=message):
        Truncation.choose(psi, mode, NoiseConfig())


def test_a_variant_that_draws_its_noise_elsewhere_is_told_truncation_cannot_reach_it():
    with pytest.raises(GanforgeError, match="drew no noise through ganforge.noise.sample_noise"):
        with truncated(Truncation(0.5, "resample"), "variant 'x'"):
            torch.randn(3)


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("truncation") / "run"
    ganforge.train("vanilla", "ring8", settings={**TINY, "data.size": 256, "train.max_steps": 8}, out=out)
    return out


def test_sample_truncation_draws_from_the_truncated_prior(ring_run, monkeypatch):
    seen = []
    model = ganforge.load(ring_run, device="cpu")
    generate = type(model).generate
    monkeypatch.setattr(type(model), "generate", lambda self, inputs: seen.append(inputs.clone()) or generate(self, inputs))
    plain = api.sample(ring_run, 500, device="cpu", seed=3)
    cut = api.sample(ring_run, 500, device="cpu", seed=3, truncation=0.3)
    assert seen[0].abs().max() > 2 and seen[1].abs().max() <= 0.3
    assert not torch.equal(plain.values, cut.values)
    assert cut.values.std(0).sum() < plain.values.std(0).sum()  # less variety, as truncation promises


def test_eval_reports_a_row_per_truncation(ring_run):
    result = runner.invoke(app, ["eval", str(ring_run), "--truncation", "0.25,1,none", "--json", "-n", "300", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["truncation"] for row in rows] == [0.25, 1.0, None]
    assert all(row["samples"] == 300 and "modes" in row for row in rows)
    untruncated = api.evaluate(ring_run, 300, "cpu")
    assert rows[2]["high_quality"] == untruncated.scores["high_quality"]  # "none" is the plain evaluation
    table = runner.invoke(app, ["eval", str(ring_run), "--truncation", "0.5,none", "-n", "300", "--device", "cpu"])
    assert table.exit_code == 0 and "truncation" in table.stdout and "none" in table.stdout


@pytest.mark.parametrize("args, message", [
    (["sample", "{run}", "--truncation", "0"], "--truncation 0 is not a threshold"),
    (["sample", "{run}", "--truncation-mode", "mean"], "--truncation-mode needs --truncation"),
    (["eval", "{run}", "--truncation", "0.5,big"], "'big' is not a number"),
    (["eval", "{run}", "--truncation", "2", "--truncation-mode", "mean"], r"outside \[0, 1\]"),
])  # fmt: skip
def test_bad_truncation_flags_are_one_line_and_exit_2(ring_run, tmp_path, monkeypatch, args, message):
    import re

    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [arg.format(run=ring_run) for arg in args])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and re.search(message, result.stderr)
    assert not (tmp_path / "samples.png").exists()

"""Networks for points work in units of the data's std (DataSpec.scale), and runs saved before that keep theirs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

import ganforge
from ganforge.checkpoint import read_checkpoint, write_checkpoint
from ganforge.rundir import find_checkpoint
from ganforge_datasets.mixtures import grid25, ring8
from ganforge_vanilla.models import MLPDiscriminator, MLPGenerator

from conftest import TINY


def test_mixtures_carry_their_own_std_whatever_the_sample():
    for dataset, std in [(ring8, 0.5**0.5), (grid25, 8**0.5)]:
        small, large = dataset(size=500, seed=1), dataset(size=50_000, seed=2)
        assert small.spec.scale == large.spec.scale == pytest.approx(std, rel=1e-3)
        assert large.data.std(dim=0) == pytest.approx(torch.full((2,), std), rel=0.01)


def _seeded(make):
    torch.manual_seed(0)
    return make()


def test_the_same_weights_on_data_four_times_as_wide_draw_and_judge_four_times_as_wide():
    spec = ring8(size=16).spec
    wide = replace(spec, scale=4 * spec.scale)
    z, x = torch.randn(8, 3), torch.randn(8, 2)
    narrow_g, wide_g = (_seeded(lambda: MLPGenerator(3, s, hidden=8, depth=2)) for s in (spec, wide))
    narrow_d, wide_d = (_seeded(lambda: MLPDiscriminator(s, hidden=8, depth=2)) for s in (spec, wide))
    assert torch.allclose(wide_g(z), 4 * narrow_g(z))
    assert torch.allclose(wide_d(4 * x), narrow_d(x))


def _drop_scale(run: Path) -> None:
    """Rewrite the run's newest checkpoint as ganforge wrote it before DataSpec.scale existed."""
    path = find_checkpoint(run)
    checkpoint = read_checkpoint(path)
    meta = dict(checkpoint.meta)
    meta["spec"] = {key: value for key, value in meta["spec"].items() if key != "scale"}
    write_checkpoint(path, checkpoint.tensors, meta)


def test_a_run_saved_before_points_had_a_scale_is_sampled_and_resumed_unscaled(tmp_path):
    settings = {**TINY, "data.size": 256, "train.batch_size": 32, "train.epochs": 1}
    ganforge.train("vanilla", "grid25", settings=settings, out=tmp_path)
    _drop_scale(tmp_path)
    variant = ganforge.load(tmp_path, "cpu")
    assert variant.networks["generator"].scale == variant.networks["discriminator"].scale == 1.0
    resumed = ganforge.resume(tmp_path, settings={"train.epochs": 2})
    assert read_checkpoint(resumed.checkpoint).meta["spec"]["scale"] == 1.0

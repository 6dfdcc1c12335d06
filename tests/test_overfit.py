"""D's overfitting as ADA measures it: r_t on training reals and on held-out reals, logged and plotted."""

import json
from types import SimpleNamespace

import pytest
import torch
from PIL import Image
from torch import nn

import ganforge
from ganforge.data import DataSpec, TensorData
from ganforge.evaluation.overfit import OverfitProbe, real_sign
from ganforge.loss import complete
from ganforge.registry import get_registry

from conftest import TINY


def images(count: int, seed: int) -> TensorData:
    generator = torch.Generator().manual_seed(seed)
    data = torch.randint(0, 256, (count, 1, 8, 8), generator=generator, dtype=torch.uint8)
    return TensorData(data, DataSpec((1, 8, 8), 2, True), torch.randint(2, (count,), generator=generator))


class Memoriser(nn.Module):
    """Calls an image real exactly when it is one of the images it was shown."""

    def __init__(self, seen: TensorData):
        super().__init__()
        self.register_buffer("seen", seen.scaled(seen.data).flatten(1))

    def forward(self, x):
        matches = (x.flatten(1)[:, None] == self.seen[None]).all(-1).any(1)
        return torch.where(matches, 4.0, -4.0)


class Brightness(nn.Module):
    """Judges by mean brightness alone: the same on any real image, seen or not."""

    def forward(self, x):
        return x.flatten(1).mean(1) * 50


def probe(discriminator: nn.Module, train: TensorData, held_out: TensorData, loss=None) -> OverfitProbe:
    variant = SimpleNamespace(
        discriminator_networks=lambda: [discriminator],
        loss=loss or SimpleNamespace(),
        discriminate=lambda x, labels: discriminator(x),
    )
    return OverfitProbe(variant, train, held_out, batch_size=32)


def test_a_memorising_discriminator_shows_the_gap_and_a_general_one_none():
    train, held_out = images(300, seed=0), images(300, seed=1)
    memorised = probe(Memoriser(train), train, held_out).measure()
    assert memorised == {"rt_train": 1.0, "rt_held_out": -1.0, "rt_gap": 2.0}
    general = probe(Brightness(), train, held_out).measure()
    assert abs(general["rt_train"]) < 0.5 and abs(general["rt_gap"]) < 0.25  # brightness is spread around 0
    assert general["rt_gap"] == pytest.approx(general["rt_train"] - general["rt_held_out"])


def test_the_probe_scores_whole_minibatches_of_fixed_examples():
    train, held_out = images(300, seed=0), images(90, seed=1)
    made = probe(Brightness(), train, held_out)
    assert len(made.train) == len(made.held_out) == 64  # 90 held-out images make two minibatches of 32
    assert made.measure() == made.measure()
    with pytest.raises(ValueError, match="needs 32 training and held-out examples"):
        probe(Brightness(), train, images(20, seed=1))


LOSSES = [component.name for component in get_registry().components("loss")]


@pytest.mark.parametrize("name", LOSSES)
def test_the_probe_reads_real_as_adaptive_augmentation_does(name):
    """One verdict for "D says real": the loss's own real_sign, which ADA reads; the output's sign where it has none."""
    loss = complete(get_registry().load("loss", name)())
    outputs = torch.tensor([-0.5, 0.4, 0.6, 2.0])
    own = loss.real_sign(outputs)
    assert real_sign(loss, outputs).tolist() == (torch.sign(outputs) if own is None else own).tolist()


def test_least_squares_reads_real_nearer_its_real_target():
    least_squares = complete(get_registry().load("loss", "lsgan")())
    assert real_sign(least_squares, torch.tensor([-0.5, 0.4, 0.6, 2.0])).tolist() == [-1, -1, 1, 1]


def test_a_run_on_part_of_its_data_logs_and_plots_r_t(tmp_path, fashion_root):
    out = tmp_path / "run"
    settings = {**TINY, "data.root": str(fashion_root), "data.split": "test", "data.fraction": 0.02, "train.max_steps": 12, "train.log_every": 4}
    ganforge.train("vanilla", "fashion-mnist", settings=settings, out=out)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    probed = [r for r in records if "rt_train" in r]
    assert probed == [r for r in records if "loss_d" in r] and {4, 8, 12} <= {r["step"] for r in probed}  # every logged step
    for record in probed:
        assert -1 <= record["rt_train"] <= 1 and -1 <= record["rt_held_out"] <= 1
        assert record["rt_gap"] == pytest.approx(record["rt_train"] - record["rt_held_out"])
    assert Image.open(out / "curves.png").height >= 900  # losses, D(x)/D(G(z)) and the overfitting panel

    whole = tmp_path / "whole"
    ganforge.train("vanilla", "fashion-mnist", settings={**settings, "data.fraction": 1.0, "train.max_steps": 2}, out=whole)
    assert not any("rt_train" in json.loads(line) for line in (whole / "metrics.jsonl").read_text().splitlines())

"""Inversion (``ganforge project``) and walks between projected images (``ganforge interpolate --from --to``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import ganforge
from ganforge.cli import app
from ganforge.images import write_image

from variant_helpers import vanilla_and_cgan_runs

runner = CliRunner()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return vanilla_and_cgan_runs(tmp_path_factory.mktemp("projection"), max_steps=4)


def own_sample(run, tmp_path, label=None):
    """An image the run's generator draws (from a z the projection does not know), written as a PNG."""
    model = ganforge.load(run, device="cpu")
    generator = torch.Generator().manual_seed(123)
    inputs = model.class_inputs(1, label, generator) if label is not None else model.sample_inputs(1, generator, None)
    with torch.no_grad():
        image = model.generate(inputs)[0]
    return write_image(image, tmp_path / "target.png")


def project(*args):
    return runner.invoke(app, ["project", *args, "--device", "cpu", "--pixels-only"])


def test_projecting_the_generators_own_sample_recovers_a_close_image(runs, tmp_path):
    target = own_sample(runs / "vanilla", tmp_path)
    result = project(str(runs / "vanilla"), "--target", str(target), "--out", str(tmp_path / "p"), "--steps", "150")
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "p" / "projection.json").read_text())
    assert record["distance"] < 0.2 * record["random_z_distance"]  # far closer than a random z's image
    assert record["class"] is None and f"distance {record['distance']:.4f}" in result.stdout
    z = np.load(tmp_path / "p" / "projected_z.npy")
    assert z.shape == (1, 8)
    model = ganforge.load(runs / "vanilla", device="cpu")  # the z written redraws the reconstruction written
    with torch.no_grad():
        redrawn = model.generate(torch.from_numpy(z))[0]
    written = np.asarray(Image.open(tmp_path / "p" / "projected.png"), dtype=np.float32) / 127.5 - 1
    assert np.abs(redrawn[0].numpy() - written).max() <= 1 / 127.5 + 1e-6


def test_a_conditional_projection_finds_the_class(runs, tmp_path):
    target = own_sample(runs / "cgan", tmp_path, label=1)
    result = project(str(runs / "cgan"), "--target", str(target), "--out", str(tmp_path / "p"), "--steps", "80")
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "p" / "projection.json").read_text())
    assert record["class"] == 1 and record["distance"] < 0.2 * record["random_z_distance"]


def test_the_walk_between_two_projections_starts_and_ends_at_them(runs, tmp_path):
    for name, seed in (("a", 1), ("b", 2)):
        z = torch.randn(1, 8, generator=torch.Generator().manual_seed(seed)).numpy()
        (tmp_path / name).mkdir()
        np.save(tmp_path / name / "projected_z.npy", z)
    out = tmp_path / "walk.gif"
    result = runner.invoke(app, ["interpolate", str(runs / "vanilla"), "--from", str(tmp_path / "a" / "projected_z.npy"),
                                 "--to", str(tmp_path / "b" / "projected_z.npy"), "--frames", "5", "--out", str(out), "--device", "cpu"])  # fmt: skip
    assert result.exit_code == 0, result.output
    with Image.open(out) as gif:
        assert gif.n_frames == 5
        gif.seek(0)
        first = gif.convert("L").copy()
    model = ganforge.load(runs / "vanilla", device="cpu")
    with torch.no_grad():
        start = model.generate(torch.from_numpy(np.load(tmp_path / "a" / "projected_z.npy")))
    from ganforge.images import WALK_MIN_TILE, image_grid

    assert np.array_equal(np.asarray(first), np.asarray(image_grid(start, 1, min_tile=WALK_MIN_TILE).convert("L")))


@pytest.mark.parametrize(
    "args, said",
    [
        (["--target", "missing.png", "--out", "p"], "--target missing.png is not a file"),
        (["--target", "t.png", "--out", "p", "--steps", "0"], "--steps 0 is outside"),
        (["--target", "t.png", "--out", "p", "--class", "7"], "--class 7 is not a class"),
    ],
)
def test_bad_projections_are_one_line(runs, tmp_path, monkeypatch, args, said):
    monkeypatch.chdir(tmp_path)
    Image.new("L", (8, 8)).save(tmp_path / "t.png")
    result = project(str(runs / "cgan"), *args)
    assert result.exit_code == 2 and said in result.stderr and "Traceback" not in result.output


def test_a_walk_needs_both_ends_and_real_arrays(runs, tmp_path):
    np.save(tmp_path / "z.npy", np.zeros(3, dtype=np.float32))
    half = runner.invoke(app, ["interpolate", str(runs / "vanilla"), "--from", str(tmp_path / "z.npy"), "--device", "cpu"])
    assert half.exit_code == 2 and "--from and --to go together" in half.stderr
    wrong = runner.invoke(app, ["interpolate", str(runs / "vanilla"), "--from", str(tmp_path / "z.npy"), "--to", str(tmp_path / "z.npy"),
                                "--out", str(tmp_path / "w.gif"), "--device", "cpu"])  # fmt: skip
    assert wrong.exit_code == 2 and "this model's z has 8 finite floats" in wrong.stderr


def test_a_walks_frames_leave_no_empty_cell(runs, tmp_path):
    from ganforge import api
    from ganforge.walk import full_rows

    assert [full_rows(n) for n in (2, 4, 6, 7, 8, 9)] == [2, 2, 3, 7, 4, 3]
    written, walk = api.interpolate(runs / "vanilla", tmp_path / "walk.gif", frames=2, points=2, count=8, device="cpu")
    assert walk.columns == 4
    with Image.open(written) as gif:
        scale = 14  # 8x8 images enlarged to 112 pixels, the 2-pixel padding with them
        assert (gif.width, gif.height) == ((4 * (8 + 2) + 2) * scale, (2 * (8 + 2) + 2) * scale)  # two full rows of 4

"""Latent walks: ``ganforge interpolate`` (issue 16). Every variant's walk is in tests/test_matrix.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import ganforge
from ganforge import api, video
from ganforge.cli import app
from ganforge.errors import GanforgeError
from ganforge.noise import NoiseConfig, sample_noise
from ganforge.walk import lerp, slerp

from conftest import TINY

runner = CliRunner()


def test_slerp_follows_the_great_circle_and_lerp_the_chord():
    a, b = torch.tensor([[3.0, 0.0]]), torch.tensor([[0.0, 3.0]])
    assert torch.allclose(slerp(a, b, 0.0), a) and torch.allclose(slerp(a, b, 1.0), b)
    middle = slerp(a, b, 0.5)
    assert torch.allclose(middle, torch.tensor([[3 / math.sqrt(2), 3 / math.sqrt(2)]]))
    assert lerp(a, b, 0.5).norm() == pytest.approx(3 / math.sqrt(2))  # the chord's middle is nearer the origin
    assert torch.isfinite(slerp(a, -a, 0.5)).all()  # opposite points: no arc is defined, and nothing divides by 0
    # draws of N(0, I) in many dimensions keep their length along slerp, and lose ~30% of it midway along lerp
    z = sample_noise(NoiseConfig(dim=256), 2, "cpu", torch.Generator().manual_seed(0))
    start, end = z[:1], z[1:]
    assert slerp(start, end, 0.5).norm() == pytest.approx(float(lerp(start.norm(), end.norm(), 0.5)), rel=1e-4)
    assert lerp(start, end, 0.5).norm() < 0.8 * start.norm()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two tiny ring8 runs: normal noise with an EMA, and uniform noise."""
    root = tmp_path_factory.mktemp("walks")
    base = {**TINY, "data.size": 256, "train.max_steps": 8}
    ganforge.train("vanilla", "ring8", settings={**base, "ema.decay": 0.5}, out=root / "normal")
    ganforge.train("vanilla", "ring8", settings={**base, "noise.dist": "uniform"}, out=root / "uniform")
    return root


def test_a_walk_is_a_looping_gif_of_points_times_frames_starting_at_the_first_point(runs, tmp_path):
    written, walk = api.interpolate(runs / "normal", tmp_path / "walk.gif", frames=3, points=4, count=5, fps=10, seed=7, device="cpu")
    assert walk.path == "slerp" and len(walk.frames) == 12
    with Image.open(written) as gif:
        assert gif.n_frames == 12 and gif.info["loop"] == 0 and gif.info["duration"] == 100
    model = ganforge.load(runs / "normal", device="cpu")  # EMA weights, as interpolate uses
    first = sample_noise(model.prior, 5, "cpu", torch.Generator().manual_seed(7))
    with torch.no_grad():
        assert torch.allclose(walk.frames[0], model.generate(first), atol=1e-6)
        live = ganforge.load(runs / "normal", device="cpu", ema=False).generate(first)
    assert not torch.allclose(walk.frames[0], live)  # the EMA generator, not the live one
    steps = [float((b - a).abs().max()) for a, b in zip(walk.frames, walk.frames[1:] + walk.frames[:1])]
    assert min(steps) > 0  # every frame moves, and the last leads back to the first


def test_uniform_noise_is_walked_in_straight_lines_inside_its_cube(runs, tmp_path):
    _, walk = api.interpolate(runs / "uniform", tmp_path / "walk.gif", frames=2, points=2, count=3, device="cpu")
    assert walk.path == "lerp"


def test_chosen_seeds_are_the_points_of_the_walk(runs, tmp_path):
    _, walk = api.interpolate(runs / "normal", tmp_path / "walk.gif", frames=2, seeds=[3, 11], count=4, device="cpu")
    model = ganforge.load(runs / "normal", device="cpu")
    with torch.no_grad():
        for frame, seed in ((walk.frames[0], 3), (walk.frames[2], 11)):
            point = sample_noise(model.prior, 4, "cpu", torch.Generator().manual_seed(seed))
            assert torch.allclose(frame, model.generate(point), atol=1e-6)


def test_the_cli_writes_the_gif_and_says_so(runs, tmp_path):
    out = tmp_path / "walk.gif"
    result = runner.invoke(app, ["interpolate", str(runs / "normal"), "--out", str(out), "--frames", "2", "--points", "2", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "Wrote 4 frames (slerp)" in result.stdout and out.stat().st_size > 0


def encoder_available() -> bool:
    try:
        video.ffmpeg_executable()
    except GanforgeError:
        return False
    return True


def test_an_mp4_where_an_encoder_is_available_else_one_line(runs, tmp_path):
    out = tmp_path / "walk.mp4"
    result = runner.invoke(app, ["interpolate", str(runs / "normal"), "--out", str(out), "--frames", "2", "--points", "2", "--device", "cpu"])
    if encoder_available():
        assert result.exit_code == 0, result.output
        assert out.read_bytes()[4:8] == b"ftyp"  # an MP4 container
    else:
        assert result.exit_code == 2 and "ffmpeg" in result.stderr and len(result.stderr.splitlines()) == 1


def test_without_an_encoder_an_mp4_is_refused_before_any_work(runs, tmp_path, monkeypatch):
    import builtins
    import shutil

    real_import = builtins.__import__
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(builtins, "__import__", lambda name, *a, **k: (_ for _ in ()).throw(ImportError(name)) if name == "imageio_ffmpeg" else real_import(name, *a, **k))
    with pytest.raises(GanforgeError, match=r"\.mp4 needs an encoder: put ffmpeg on PATH or pip install 'ganforge\[video\]'"):
        api.interpolate(runs / "normal", tmp_path / "walk.mp4", device="cpu")


@pytest.mark.parametrize("args, message", [
    (["--out", "walk.avi"], r"must end in \.gif or \.mp4"),
    (["--points", "1"], "--points 1 is too small"),
    (["--frames", "0"], "--frames 0 is too small"),
    (["--seeds", "3"], "a walk needs at least 2"),
    (["--seeds", "3,x"], "not a list of whole numbers"),
    (["--fps", "0"], r"--fps 0 is outside \[0.1, 100\]"),
    (["--class", "2"], "not class-conditional"),
    (["--class", "9"], "--class 9 is not a class of this model"),
    (["--out", "{tmp}/walk.gif/inside.gif"], "walk.gif is a file"),
])  # fmt: skip
def test_bad_walks_are_one_line_and_exit_2_writing_nothing(runs, tmp_path, monkeypatch, args, message):
    import re

    monkeypatch.chdir(tmp_path)
    blocker = tmp_path / "walk.gif"
    if "walk.gif/" in " ".join(args):
        blocker.write_text("mine")
    result = runner.invoke(app, ["interpolate", str(runs / "normal"), "--device", "cpu", *[a.format(tmp=tmp_path) for a in args]])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.splitlines()) == 1 and re.search(message, result.stderr), result.stderr
    assert [p.name for p in tmp_path.iterdir()] == (["walk.gif"] if blocker.exists() else [])
    assert not blocker.exists() or blocker.read_text() == "mine"


def test_walks_of_small_images_are_enlarged_nearest_neighbour_to_be_watched(tmp_path):
    from ganforge.data import DataSpec, TensorData

    from variant_helpers import tiny_run

    data = TensorData(torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8), DataSpec((1, 28, 28)))
    tiny_run("vanilla", data, {**TINY, "train.max_steps": 2}, tmp_path / "run")
    out = tmp_path / "walk.gif"
    _, walk = api.interpolate(tmp_path / "run", out, frames=2, points=2, count=2, device="cpu")
    with Image.open(out) as gif:
        columns = walk.columns or 2
        assert gif.width >= columns * 112  # each 28-pixel image at least 112 pixels wide: four times its size
        gif.seek(1)
        frame = torch.from_numpy(np.asarray(gif.convert("L")).copy())
    block = frame[2 * 4 : 2 * 4 + 112, 2 * 4 : 2 * 4 + 112].reshape(28, 4, 28, 4)
    assert (block == block[:, :1, :, :1]).all()  # nearest-neighbour: every source pixel a flat 4x4 block

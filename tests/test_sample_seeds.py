"""One image per seed: ``ganforge sample RUN --seeds 0-35 --out DIR``."""

from __future__ import annotations

import pytest
from PIL import Image
from typer.testing import CliRunner

import ganforge
from ganforge.cli import app
from ganforge.errors import GanforgeError
from ganforge.per_seed import parse_seeds

from variant_helpers import vanilla_and_cgan_runs

runner = CliRunner()


def test_seed_ranges_and_lists():
    assert parse_seeds("0-3,7") == [0, 1, 2, 3, 7]
    assert parse_seeds("5") == [5] and parse_seeds("2,2,1") == [2, 1]
    for bad, said in (("a-3", "not a seed or a range"), ("3-1", "runs backwards"), ("0-20000", "more than 10,000"), ("-4", "not a seed")):
        with pytest.raises(GanforgeError, match=said):
            parse_seeds(bad)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return vanilla_and_cgan_runs(tmp_path_factory.mktemp("seeds"), max_steps=2)


def sample(*args: str):
    return runner.invoke(app, ["sample", *args, "--device", "cpu"])


def test_each_seed_gives_its_own_image_and_the_same_one_on_every_call(runs, tmp_path):
    first = sample(str(runs / "vanilla"), "--seeds", "0-3,7", "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    assert "Wrote 5 images" in first.stdout
    names = sorted(path.name for path in (tmp_path / "a").iterdir())
    assert names == ["seed0000.png", "seed0001.png", "seed0002.png", "seed0003.png", "seed0007.png"]
    # another call, other seeds beside it and in another order: seed 7 and seed 2 are the same bytes
    again = sample(str(runs / "vanilla"), "--seeds", "7,9,2", "--out", str(tmp_path / "b"))
    assert again.exit_code == 0, again.output
    for name in ("seed0007.png", "seed0002.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    pictures = {name: Image.open(tmp_path / "a" / name).tobytes() for name in names}
    assert len(set(pictures.values())) == len(names)  # different seeds, different images
    with Image.open(tmp_path / "a" / "seed0000.png") as one:
        assert one.size == (8, 8)  # one image at the model's size, not a grid


def test_class_and_truncation_choose_what_each_seed_draws(runs, tmp_path):
    for label in ("0", "1"):
        result = sample(str(runs / "cgan"), "--seeds", "0-1", "--class", label, "--out", str(tmp_path / label))
        assert result.exit_code == 0, result.output
    assert (tmp_path / "0" / "seed0000.png").read_bytes() != (tmp_path / "1" / "seed0000.png").read_bytes()
    truncated = sample(str(runs / "vanilla"), "--seeds", "0", "--truncation", "0.5", "--out", str(tmp_path / "t"))
    plain = sample(str(runs / "vanilla"), "--seeds", "0", "--out", str(tmp_path / "p"))
    assert truncated.exit_code == 0 and plain.exit_code == 0, truncated.output + plain.output
    assert (tmp_path / "t" / "seed0000.png").read_bytes() != (tmp_path / "p" / "seed0000.png").read_bytes()


@pytest.mark.parametrize(
    "args, said",
    [
        (["--seeds", "0-3"], "--seeds needs --out DIR"),
        (["--seeds", "x", "--out", "d"], "'x' is not a seed or a range"),
        (["--seeds", "0", "--class", "5", "--out", "d"], "--class 5 is not a class of this model"),
        (["--seeds", "0", "--caption", "a", "--caption", "b", "--out", "d"], "a single --caption"),
    ],
)
def test_bad_seeds_are_one_line(runs, tmp_path, monkeypatch, args, said):
    monkeypatch.chdir(tmp_path)
    result = sample(str(runs / "cgan"), *args)
    assert result.exit_code == 2 and said in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "d").exists()

"""Every kind of bad input, through the command line: one line on stderr saying what and what to do, exit code 2.

(Unknown variant and dataset names, malformed --set, a negative batch size or learning rate, a missing data root and
a corrupt checkpoint for ``sample`` are in test_cli.py.)
"""

from __future__ import annotations

import gzip
import os
from dataclasses import replace

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from typer.testing import CliRunner

import ganforge
import stateful_plugin
from ganforge.api import configure
from ganforge.cli import app
from ganforge.config import parse_assignments
from ganforge.errors import GanforgeError
from ganforge_datasets import mnist as mnist_module

from conftest import TINY

RING8 = ["--data", "ring8", "--set", "data.size=64", "--epochs", "1"]


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("downloading ")]  # progress
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


@pytest.fixture(scope="module")
def vanilla_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("vanilla-run")
    ganforge.train("vanilla", "ring8", settings={**TINY, "data.size": 64, "train.epochs": 1}, out=out)
    return out


def test_unknown_component_name():
    assert_one_line_error(invoke("run", "vanilla", *RING8, "--set", "discriminator.name=mpl"), "unknown discriminator 'mpl'. Did you mean 'mlp'?")


@pytest.mark.parametrize("value", ["nan", "inf", "1e999"])
def test_a_learning_rate_that_is_not_a_finite_number(value):
    assert_one_line_error(invoke("run", "vanilla", *RING8, "--set", f"optim.lr={value}"), "config key 'optim.lr': expected a finite number")


def test_a_seed_out_of_range():
    assert_one_line_error(invoke("run", "vanilla", *RING8, "--seed", str(2**64)), "config key 'train.seed': must be at most")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu():
    assert_one_line_error(invoke("run", "vanilla", *RING8, "--device", "cuda"), "--device cuda: no CUDA GPU is available here", "use --device cpu")


@pytest.mark.parametrize(
    "content, problem",
    [(gzip.compress(b"\0\0\x08\x03" + b"\0" * 8)[:-10], "corrupt gzip data"), (b"\x01\x02\x03\x04", "bad magic number")],
    ids=["truncated-gzip", "corrupt-idx"],
)
def test_corrupt_dataset_files_are_named(tmp_path, content, problem):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / name).write_bytes(content)
    result = invoke("run", "vanilla", "--data", "mnist", "--set", "data.split=test", "--data-root", tmp_path)
    assert_one_line_error(result, f"{tmp_path / 't10k-images-idx3-ubyte.gz'} is not a valid IDX file ({problem}", "delete it and download it again")


def test_a_download_with_the_wrong_checksum(tmp_path, monkeypatch):
    served = tmp_path / "mirror"
    served.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (served / name).write_bytes(gzip.compress(b"\0\0\x08\x01\0\0\0\0"))
    monkeypatch.setattr(mnist_module, "SYSTEM_DIR", tmp_path / "system")
    monkeypatch.setattr(mnist_module, "MNIST", replace(mnist_module.MNIST, mirrors=()))
    result = invoke("run", "vanilla", "--data", "mnist", "--set", "data.split=test", "--set", f"data.mirror={served.as_uri()}")
    assert_one_line_error(result, "checksum mismatch", "--data-root")


def test_an_empty_image_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("no pictures here")
    assert_one_line_error(invoke("run", "vanilla", "--data", "image-folder", "--data-root", tmp_path), "no images (.png", f"found under {tmp_path}")


def test_images_of_different_sizes_name_two_files_and_their_sizes(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    Image.new("RGB", (8, 6)).save(tmp_path / "b.jpg")
    result = invoke("run", "vanilla", "--data", "image-folder", "--data-root", tmp_path)
    assert_one_line_error(result, f"{tmp_path / 'a.png'} is 8x8 but {tmp_path / 'b.jpg'} is 8x6", "resize them to one size")


def test_a_run_of_another_variant_cannot_be_resumed_as_this_one(vanilla_run, monkeypatch):
    stateful_plugin.install(monkeypatch)
    result = invoke("run", "stateful", "--resume", vanilla_run, "--epochs", "2")
    assert_one_line_error(result, f"{vanilla_run} is a run of variant 'vanilla', not 'stateful'", f"ganforge resume {vanilla_run}")


def test_a_checkpoint_of_a_variant_that_is_not_installed(vanilla_run, tmp_path):
    from ganforge.checkpoint import read_checkpoint, write_checkpoint

    source = read_checkpoint(next((vanilla_run / "checkpoints").iterdir()))
    meta = {**source.meta, "variant": "stylegan9", "config": {**source.meta["config"], "variant": "stylegan9"}}
    edited = write_checkpoint(tmp_path / "other.safetensors", source.tensors, meta)
    assert_one_line_error(invoke("sample", edited), "unknown variant 'ganforge:stylegan9'")


def test_resume_refuses_changes_that_would_make_another_run(vanilla_run):
    result = invoke("resume", vanilla_run, "--epochs", "2", "--set", "generator.hidden=64")
    assert_one_line_error(result, "generator.hidden=64 differs from the run being resumed (generator.hidden=16)", "Start a new run")


def test_resume_needs_a_run_directory(tmp_path):
    assert_one_line_error(invoke("resume", tmp_path / "nothing"), "run directory", "does not exist")
    assert_one_line_error(invoke("resume", tmp_path), "holds no checkpoints")
    assert_one_line_error(invoke("run", "vanilla", "--resume", tmp_path, "--out", tmp_path / "x"), "leave out --out")


def test_resume_with_only_corrupt_checkpoints(tmp_path):
    ganforge.train("vanilla", "ring8", settings={**TINY, "data.size": 64, "train.epochs": 1}, out=tmp_path)
    (checkpoint,) = (tmp_path / "checkpoints").iterdir()
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])
    assert_one_line_error(invoke("resume", tmp_path, "--epochs", "2"), "no intact checkpoint", str(checkpoint), "corrupt or")


def test_resume_falls_back_with_a_one_line_warning(tmp_path):
    ganforge.train("vanilla", "ring8", settings={**TINY, "data.size": 64, "train.epochs": 2}, out=tmp_path)
    older, newest = sorted((tmp_path / "checkpoints").iterdir())
    newest.write_bytes(b"\0" * 64)
    result = invoke("resume", tmp_path)
    assert result.exit_code == 0, result.output
    (warning,) = result.stderr.strip().splitlines()
    assert warning.startswith(f"warning: checkpoint {newest}") and f"went back to {older.name}" in warning


def test_an_output_directory_that_cannot_be_written(tmp_path):
    if os.geteuid() == 0:  # root writes through permission bits; procfs refuses everyone
        locked, out = "/proc", "/proc/ganforge-run"
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        out = locked / "run"
    result = invoke("run", "vanilla", *RING8, "--out", out)
    assert_one_line_error(result, f"cannot write to {locked}", "choose another --out")


def test_an_output_path_inside_a_file(tmp_path):
    (tmp_path / "[x]").mkdir()  # brackets survive: messages are not read as console markup
    (tmp_path / "[x]" / "file").write_text("")
    result = invoke("run", "vanilla", *RING8, "--out", tmp_path / "[x]" / "file" / "run")
    assert_one_line_error(result, f"{tmp_path / '[x]' / 'file'} is a file")


# --- property: whatever --set gets, the answer is the clear error or the right value ------------------------------

_KEYS = {  # key -> what a correct resolution of its (stripped) text is
    "train.batch_size": lambda text: _at_least(int(text.replace("_", "")), 1),
    "data.size": lambda text: int(text.replace("_", "")),  # ring8 itself rejects sizes below 1 when built
    "train.max_steps": lambda text: None if text.lower() in ("none", "null") else _at_least(int(text.replace("_", "")), 1),
    "optim.lr": lambda text: _at_least(_finite(float(text)), 0.0),
    "train.amp": lambda text: {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}[text.lower()],
    "loss.mode": lambda text: {"non-saturating": text, "minimax": text}[text],
    "train.device": lambda text: text,
    "loss.name": lambda text: {"bce": "bce", "ganforge:bce": "bce"}[text],
}


def _at_least(value, minimum):
    if value < minimum:
        raise ValueError
    return value


def _finite(value: float) -> float:
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError
    return value


_texts = st.one_of(
    st.text(max_size=12),
    st.integers(-(10**20), 10**20).map(str),
    st.floats().map(repr),
    st.sampled_from(["true", "No", "none", "NULL", "1_000", "1e400", " 5 ", "nan", "-0", "0x10", "minimax", "", "=", "bce", "bc\ne"]),
)
_assignments = st.lists(
    st.one_of(
        st.builds(lambda key, value: f"{key}={value}", st.sampled_from(sorted(_KEYS)) | st.text(max_size=10), _texts),
        st.text(max_size=15),
    ),
    max_size=4,
)


def _resolved(config, key: str):
    section, name = key.split(".")
    values = getattr(config, section)
    return values.params[name] if hasattr(values, "params") and name != "name" else getattr(values, name)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(assignments=_assignments)
def test_any_set_gives_the_right_value_or_one_clear_error(assignments):
    try:
        parsed = parse_assignments(assignments)
        config = configure("vanilla", "ring8", parsed)
    except GanforgeError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    for key, text in parsed.items():
        assert key in _KEYS, f"{key!r} was accepted"
        assert _resolved(config, key) == _KEYS[key](text), (key, text)


@pytest.mark.parametrize("variant", ["vanilla", "dcgan"])
def test_a_minibatch_of_one_with_batch_norm_is_one_line_and_writes_nothing(variant, tmp_path):
    """Batch norm in training mode cannot normalise one example (vanilla's G on images and dcgan's networks have it)."""
    (tmp_path / "a").mkdir()
    for index in range(4):
        Image.new("L", (28, 28), index * 60).save(tmp_path / "a" / f"{index}.png")
    data = ["--data", "image-folder", "--data-root", tmp_path]
    result = invoke("run", variant, *data, "--batch-size", "1", "--max-steps", "2", "--out", tmp_path / "run")
    assert_one_line_error(result, "train.batch_size 1", "batch norm", "--batch-size 2")
    assert not (tmp_path / "run").exists()

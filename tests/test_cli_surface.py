"""The command line's surface under bad input: usage errors, output paths, counts, seeds, metrics files and optimizer
settings each give one ``error:`` line naming what was wrong and what to do, exit code 2, no traceback.

(Wrong names, malformed --set and damaged checkpoints are in test_bad_input.py and test_cli.py.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

import ganforge
from ganforge.cli import app
from ganforge.config import MAX_EVAL_SAMPLES
from ganforge.api import MAX_SAMPLES

from conftest import TINY

RING8 = ["--data", "ring8", "--set", "data.size=64", "--epochs", "1"]


def invoke(*args, **kwargs):
    return CliRunner().invoke(app, [str(a) for a in args], prog_name="ganforge", **kwargs)


def one_line_error(result, *fragments: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output and "╭" not in result.output, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ring-run") / "run"
    ganforge.train("vanilla", "ring8", settings={**TINY, "data.size": 64, "train.epochs": 1}, out=out)
    return out


# --- typer's usage errors, as one line ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["run", "vanilla", "--batch-size", "abc"], ["Invalid value for '--batch-size' 'abc'", "valid integer", "See 'ganforge run --help'"]),
        (["run", "vanilla", "--nproc", "0"], ["Invalid value for '--nproc' '0'", "greater than or equal to 1"]),
        (["sample"], ["Missing argument", "See 'ganforge sample --help'"]),
        (["trian"], ["No such command 'trian'. Did you mean 'run'?"]),
        (["sampel", "r"], ["No such command 'sampel'. Did you mean 'sample'?"]),
        (["run", "vanilla", "--bach-size", "3"], ["No such option: --bach-size. Did you mean --batch-size?"]),
        (["sample", "r", "--seed", "99999999999999999999999"], ["Invalid value for '--seed'", "less than or equal to 9223372036854775807"]),
        (["eval", "r", "--seed", "-1"], ["Invalid value for '--seed' '-1'", "greater than or equal to 0"]),
    ],
    ids=["not-an-int", "nproc-0", "missing-path", "misspelled-command", "misspelled-sample", "misspelled-option", "huge-seed", "negative-seed"],
)
def test_usage_errors_are_one_line(args, fragments):
    one_line_error(invoke(*args), *fragments)


def test_help_and_version_still_work():
    assert invoke("--version").exit_code == 0
    result = invoke("run", "--help")
    assert result.exit_code == 0 and "--batch-size" in result.output


# --- optimizer settings out of Adam's range -------------------------------------------------------------------------


@pytest.mark.parametrize("setting", ["optim.beta1=1.5", "optim.beta1=1", "optim.beta2=1.0", "optim.beta1=-0.1"])
def test_adam_betas_out_of_range(tmp_path, setting):
    key = setting.partition("=")[0]
    result = invoke("run", "vanilla", *RING8, "--set", setting, "--out", tmp_path / "run")
    one_line_error(result, f"config key '{key}'", "must be")
    assert not (tmp_path / "run").exists()


# --- sample: where the picture goes, how many, which seed -----------------------------------------------------------


@pytest.mark.parametrize("name", ["s.txt", "s", "s.png.json"])
def test_sample_to_an_unsupported_suffix(ring_run, tmp_path, name):
    one_line_error(invoke("sample", ring_run, "--out", tmp_path / name), f"--out {tmp_path / name}", ".png")
    assert list(tmp_path.iterdir()) == []


def test_sample_into_an_existing_directory_writes_inside_it(ring_run, tmp_path):
    result = invoke("sample", ring_run, "-n", "8", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "samples.png").is_file()
    assert f"Wrote 8 samples to {tmp_path / 'samples.png'}" in " ".join(result.stdout.split())


def test_sample_under_a_file_is_one_line(ring_run, tmp_path):
    (tmp_path / "file").write_text("mine")
    one_line_error(invoke("sample", ring_run, "--out", tmp_path / "file" / "s.png"), f"cannot write {tmp_path / 'file' / 's.png'}", "choose another --out")
    assert (tmp_path / "file").read_text() == "mine"


def test_sample_to_a_place_that_refuses_writing(ring_run, tmp_path, monkeypatch):
    def refuse(self, path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Image.Image, "save", refuse)
    one_line_error(invoke("sample", ring_run, "--out", tmp_path / "s.png"), "Permission denied", "choose another --out")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_sample_into_a_read_only_directory(ring_run, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        one_line_error(invoke("sample", ring_run, "--out", locked / "s.png"), "Permission denied")
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize("count", [0, -3])
def test_sample_too_few(ring_run, tmp_path, count):
    one_line_error(invoke("sample", ring_run, "-n", count, "--out", tmp_path / "s.png"), "ask for at least 1")


def test_sample_too_many_is_refused_before_any_work(ring_run, tmp_path):
    one_line_error(invoke("sample", ring_run, "-n", 10_000_000, "--out", tmp_path / "s.png"), f"at most {MAX_SAMPLES:,}")
    assert list(tmp_path.iterdir()) == []


# --- eval: how many samples -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, -5])
def test_eval_too_few(ring_run, count):
    one_line_error(invoke("eval", ring_run, "-n", count, "--device", "cpu"), "use -n 2 or more")


def test_eval_too_many(ring_run):
    one_line_error(invoke("eval", ring_run, "-n", 10_000_000, "--device", "cpu"), f"at most {MAX_EVAL_SAMPLES:,}")


# --- plot: malformed metrics.jsonl and output paths -----------------------------------------------------------------


def metrics_run(tmp_path: Path, *lines: str) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text("".join(line + "\n" for line in lines))
    return run


GOOD = json.dumps({"step": 1, "epoch": 1, "loss_d": 1.3, "loss_g": 0.7, "d_real": 0.5, "d_fake": 0.4})


@pytest.mark.parametrize(
    "line, fragments",
    [
        ("[1, 2]", ["line 2 is not a JSON object"]),
        ("7", ["line 2 is not a JSON object"]),
        (json.dumps({"loss_d": 1.0}), ["line 2 has no numeric 'step'"]),
        (json.dumps({"step": "three", "loss_d": 1.0}), ["line 2 has no numeric 'step'"]),
        (json.dumps({"step": 2, "eval": True, "modes": 3}), ["line 2 is an evaluation record without 'main'"]),
        (json.dumps({"step": 2, "eval": True, "main": ["x"]}), ["line 2 is an evaluation record without 'main'"]),
    ],
    ids=["list", "number", "no-step", "text-step", "eval-no-main", "eval-bad-main"],
)
def test_plot_names_the_bad_line(tmp_path, line, fragments):
    run = metrics_run(tmp_path, GOOD, line)
    one_line_error(invoke("plot", run), f"{run / 'metrics.jsonl'}", *fragments)


def test_plot_to_an_unsupported_suffix(tmp_path):
    run = metrics_run(tmp_path, GOOD)
    one_line_error(invoke("plot", run, "--out", tmp_path / "c.xyz"), "--out", "'.xyz'", ".png")


def test_plot_into_an_existing_directory_writes_inside_it_and_says_so(tmp_path):
    run = metrics_run(tmp_path, GOOD)
    target = tmp_path / "pictures"
    target.mkdir()
    result = invoke("plot", run, "--out", target)
    assert result.exit_code == 0, result.output
    assert (target / "curves.png").stat().st_size > 0 and not (tmp_path / "pictures.png").exists()
    assert f"Wrote {target / 'curves.png'}" in " ".join(result.stdout.split())


def test_plot_skips_points_it_cannot_draw(tmp_path):
    """An evaluation record without its main score, and values beyond float32 (no metric is computed wider), are
    left out of the curves; found by the attack (1e308 broke matplotlib's axis layout)."""
    huge = json.dumps({"step": 2, "loss_d": 1e308, "loss_g": -1e300, "d_real": 0.5, "d_fake": 0.5})
    run = metrics_run(tmp_path, GOOD, huge, json.dumps({"step": 1, "eval": True, "main": "modes"}), json.dumps({"step": 3, "eval": True, "main": "modes", "modes": 1e308}))
    result = invoke("plot", run)
    assert result.exit_code == 0, result.output
    assert (run / "curves.png").stat().st_size > 0


# --- sizes beyond this machine: the settings are the cause, not a plugin's bug ---------------------------------------


@pytest.mark.parametrize(
    "setting, what",
    [("data.size=1000000000000000", "building dataset 'ring8'"), ("generator.hidden=1000000000", "building generator 'mlp'")],
    ids=["data", "network"],
)
def test_out_of_memory_names_the_sizes_not_the_authors(tmp_path, setting, what):
    """Sizes far past any address space, so that the allocation fails at once, overcommit or not."""
    result = invoke("run", "vanilla", *RING8, "--set", setting, "--out", tmp_path / "run")
    line = one_line_error(result, what, "ran out of memory", "lower the sizes")
    assert "report this" not in line


# --- damaged checkpoint metadata the attack found -------------------------------------------------------------------


def test_a_checkpoint_whose_recorded_providers_are_not_names_still_resumes(ring_run, tmp_path):
    """config.plugins records who provided each component ("ganforge 0.1.0"); a value that is no such text is
    ignored (the name is resolved as a user's would be) rather than crashing the resume."""
    import shutil

    from ganforge.checkpoint import read_file, write_checkpoint

    run = tmp_path / "run"
    shutil.copytree(ring_run, run)
    newest = sorted((run / "checkpoints").glob("*.safetensors"))[-1]
    saved = read_file(newest)
    saved.meta["config"]["plugins"]["generator"] = 1.5
    write_checkpoint(newest, saved.tensors, saved.meta)
    result = invoke("resume", run, "--epochs", "2", "--device", "cpu")
    assert result.exit_code == 0, result.output


def test_a_setting_torch_cannot_hold_is_one_line_without_cpp_frames(tmp_path):
    """torch's own errors carry a C++ stack after their first line; the error line keeps only the message."""
    result = invoke("run", "vanilla", *RING8, "--set", "generator.hidden=1180591620717411303424", "--out", tmp_path / "run")
    line = one_line_error(result, "generator 'mlp'", "rejected its settings", "Overflow")
    assert "frame #" not in result.output and "Exception raised from" not in line


def test_running_out_of_gpu_memory_while_training_is_one_line(tmp_path, monkeypatch):
    """A batch too large for the GPU fails inside the training step; the line names training and the sizes."""
    import torch

    from ganforge import trainer

    def out_of_memory(self):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 79.11 GiB total capacity)")

    monkeypatch.setattr(trainer.Trainer, "fit", out_of_memory)
    line = one_line_error(invoke("run", "vanilla", *RING8, "--out", tmp_path / "run"), "training ran out of memory", "CUDA out of memory", "train.batch_size")
    assert "report this" not in line

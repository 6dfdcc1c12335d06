"""The command line as a user meets it: list, run on real data, sample, and one-line errors."""

import json

import pytest
from PIL import Image
from typer.testing import CliRunner

from ganforge.cli import app

runner = CliRunner()

TINY_FLAGS = [
    "--batch-size", "32",
    "--set", "generator.hidden=16", "--set", "generator.depth=2",
    "--set", "discriminator.hidden=16", "--set", "discriminator.depth=2",
    "--set", "train.log_every=2", "--set", "train.sample_count=16",
]  # fmt: skip


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_list_shows_every_kind_with_its_provider():
    result = invoke("list")
    assert result.exit_code == 0
    for kind, name in [("variant", "vanilla"), ("generator", "mlp"), ("discriminator", "mlp"), ("loss", "bce"),
                       ("dataset", "mnist"), ("dataset", "fashion-mnist"), ("dataset", "ring8"), ("dataset", "grid25")]:  # fmt: skip
        assert any(kind in line and name in line for line in result.stdout.splitlines()), (kind, name)
    assert "ganforge 0.1.0" in result.stdout


def test_list_json_with_kind_and_wildcard():
    rows = json.loads(invoke("list", "dataset", "*mnist*", "--json").stdout)
    assert [r["name"] for r in rows] == ["captioned-fashion-mnist", "captioned-mnist", "fashion-mnist", "mnist", "stacked-mnist"]
    assert all(r["kind"] == "dataset" and r["plugin"] == "ganforge" and r["description"] for r in rows)


def test_run_on_real_fashion_mnist_then_sample(tmp_path, fashion_root):
    out = tmp_path / "run"
    result = invoke(
        "run", "vanilla", "--data", "fashion-mnist", "--data-root", fashion_root, "--set", "data.split=test",
        "--max-steps", "6", "--seed", "3", "--device", "cpu", "--out", out, *TINY_FLAGS,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "vanilla on fashion-mnist" in result.stdout and "Trained 6 generator steps" in result.stdout
    assert f"ganforge sample {out} -n 64" in result.stdout.replace("\n", "")
    assert str(out / "checkpoints") in result.stdout.replace("\n", "")

    config = json.loads((out / "config.json").read_text())
    assert config["data"] == {"name": "fashion-mnist", "root": str(fashion_root), "split": "test", "mirror": None, "fraction": 1.0}
    assert config["train"]["seed"] == 3 and config["train"]["max_steps"] == 6
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6]
    grid = Image.open(out / "samples" / "epoch_001.png")
    assert grid.mode == "L" and grid.width >= 4 * 28

    picture = tmp_path / "grid.png"
    result = invoke("sample", out, "-n", "9", "--out", picture, "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert Image.open(picture).size == (184, 184)  # 3x3 tiles of 28+2 px, 2 px border (92 px), enlarged x2 to tiles of 56
    result = invoke("sample", next((out / "checkpoints").iterdir()), "-n", "4", "--out", tmp_path / "from-file.png")
    assert result.exit_code == 0, result.output


def test_the_closing_hint_fits_the_variant(tmp_path, fashion_root, mnist_root):
    out = tmp_path / "run"
    result = invoke(
        "run", "cyclegan", "--data", "digits2fashion", "--data-root", mnist_root.parent, "--set", "data.split=test",
        "--max-steps", "1", "--batch-size", "2", "--set", "generator.width=4", "--set", "discriminator.width=4",
        "--device", "cpu", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "--input-dir" in result.stdout and "-n 64" not in result.stdout  # translators need source images


def test_run_on_mnist_test_split(tmp_path, mnist_root):
    result = invoke(
        "run", "vanilla", "--data", "mnist", "--set", "data.split=test", "--data-root", mnist_root,
        "--max-steps", "2", "--out", tmp_path, *TINY_FLAGS,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "checkpoints" / "step_00000002.safetensors").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "vanila"], "unknown variant 'vanila'. Did you mean 'vanilla'? Run 'ganforge list variant'"),
        (["run", "vanilla", "--data", "fashionmnist"], "unknown dataset 'fashionmnist'. Did you mean 'fashion-mnist'?"),
        (["run", "vanilla", "--set", "loss.mode"], "is not of the form key=value"),
        (["run", "vanilla", "--set", "generator.width=3"], "accepted keys: generator.name, generator.hidden"),
        (["run", "vanilla", "--set", "train.epoch=2"], "unknown config key 'train.epoch' for variant 'vanilla'. Did you mean 'train.epochs'?"),
        (["run", "vanilla", "--set", "loss.mode=minmax"], "got 'minmax'. Did you mean 'minimax'?"),
        (["run", "vanilla", "--set", "generator.hidden=wide"], "config key 'generator.hidden': expected an integer"),
        (["run", "vanilla", "--batch-size", "-1"], "config key 'train.batch_size': must be at least 1"),
        (["run", "vanilla", "--lr", "-0.5"], "config key 'optim.lr': must be at least 0.0"),
        (["run", "vanilla", "--data", "ring8", "--device", "tpu"], "--device 'tpu' is not a device"),
        (["run", "vanilla", "--data-root", "/nonexistent/dir"], "data root /nonexistent/dir does not exist"),
        (["sample", "/nonexistent/run"], "/nonexistent/run does not exist"),
        (["list", "widget"], "unknown component kind 'widget'"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_corrupt_checkpoint_is_named(tmp_path):
    broken = tmp_path / "step_00000001.safetensors"
    broken.write_bytes(b"not a checkpoint at all")
    result = invoke("sample", broken)
    assert result.exit_code == 2 and str(broken) in result.stderr.replace("\n", "")


def test_debug_shows_the_traceback():
    result = invoke("--debug", "run", "vanila")
    assert result.exit_code != 0 and result.exception is not None


def test_help_and_version():
    assert invoke("--help").exit_code == 0
    result = invoke("--version")
    assert result.exit_code == 0 and "ganforge 0.1.0" in result.stdout


@pytest.fixture(scope="module")
def tiny_ring_run(tmp_path_factory):
    import ganforge
    from conftest import TINY

    out = tmp_path_factory.mktemp("ring") / "run"
    ganforge.train("vanilla", "ring8", settings={**TINY, "data.size": 64, "train.max_steps": 2}, out=out)
    return out


def test_n_is_how_many_samples_in_sample_and_eval_alike(tiny_ring_run):
    for command in ("sample", "eval"):
        shown = invoke(command, "--help").stdout
        assert "--count" in shown and "-n" in shown and "--samples" not in shown, command
    result = invoke("eval", tiny_ring_run, "--count", "300", "--json", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["samples"] == 300
    result = invoke("eval", tiny_ring_run, "-n", "200", "--json", "--device", "cpu")
    assert result.exit_code == 0 and json.loads(result.stdout)["samples"] == 200, result.output


def test_the_old_eval_samples_option_still_works_with_a_warning(tiny_ring_run):
    result = invoke("eval", tiny_ring_run, "--samples", "200", "--json", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["samples"] == 200
    assert "warning: --samples is deprecated; use --count (-n)" in result.stderr
    result = invoke("eval", tiny_ring_run, "--samples", "200", "-n", "300")
    assert result.exit_code == 2 and "--samples and --count" in result.stderr, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_compile_and_cuda_graphs_together_are_one_clear_error(tmp_path):
    result = invoke("run", "vanilla", "--data", "ring8", "--compile", "--cuda-graphs", "--max-steps", "1", "--out", tmp_path / "run")
    assert result.exit_code == 2, result.output
    assert "--compile and --cuda-graphs" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()

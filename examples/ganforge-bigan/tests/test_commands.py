"""The installed package driven as a user drives it: ganforge run, eval, resume, sample and export --network
encoder, on the command line; and what ganforge.load gives back (averaged G and E, live D)."""

import importlib.util
import json

import pytest
import torch
from typer.testing import CliRunner

import ganforge
from ganforge.cli import app

runner = CliRunner()
TINY = ["--set", "generator.hidden=16", "--set", "generator.depth=2", "--set", "discriminator.hidden=16",
        "--set", "encoder.hidden=16", "--set", "noise.dim=4", "--set", "data.size=256", "--batch-size", "32"]  # fmt: skip


def ganforge_command(*args: str) -> str:
    result = runner.invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two epochs of 8 steps on ring8 with the moving average on."""
    out = tmp_path_factory.mktemp("bigan") / "run"
    ganforge_command("run", "bigan", "--data", "ring8", "--epochs", "2", "--set", "ema.decay=0.9", "--out", out, *TINY)
    return out


def test_lists_its_components():
    listed = ganforge_command("list", "*bigan*") + ganforge_command("list", "discriminator")
    assert "bigan" in listed and "joint-mlp" in listed and "ganforge-bigan 0.1.0" in listed


def test_run_eval_resume_sample(run, tmp_path):
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 16 and {"loss_d", "loss_g", "d_real", "d_fake"} <= set(records[-1])
    shown = ganforge_command("eval", run, "-n", "256", "--device", "cpu", "--json")
    scored = json.JSONDecoder().raw_decode(shown[shown.index("{") :])[0]  # the report; notes may follow on stderr
    assert scored["samples"] == 256
    ganforge_command("resume", run, "--epochs", "3")
    assert json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 24
    ganforge_command("sample", run, "-n", "16", "--out", tmp_path / "grid.png", "--device", "cpu")
    assert (tmp_path / "grid.png").stat().st_size > 0


def test_load_gives_averaged_generator_and_encoder_and_the_live_discriminator(run):
    averaged, live = ganforge.load(run, device="cpu"), ganforge.load(run, device="cpu", ema=False)
    assert averaged.generators == ("generator", "encoder") and averaged.discriminators == ("discriminator",)
    for name in ("generator", "encoder"):
        assert not all(torch.equal(a, b) for a, b in zip(averaged.networks[name].parameters(), live.networks[name].parameters())), name
    assert all(torch.equal(a, b) for a, b in zip(averaged.networks["discriminator"].parameters(), live.networks["discriminator"].parameters()))


@pytest.mark.parametrize("format", ["torchscript", "onnx"])
def test_export_writes_the_averaged_encoder(run, tmp_path, format):
    if format == "onnx" and importlib.util.find_spec("onnxruntime") is None:
        pytest.skip("ONNX export needs pip install 'ganforge[export]'")
    out = tmp_path / f"encoder.{'pt' if format == 'torchscript' else 'onnx'}"
    shown = ganforge_command("export", run, "--network", "encoder", "--format", format, "--out", out)
    assert "x ('batch', 2) -> output ('batch', 4)" in shown
    points = torch.randn(7, 2)
    with torch.no_grad():
        expected = ganforge.load(run, device="cpu").networks["encoder"](points)
    if format == "torchscript":
        got = torch.jit.load(str(out))(points)
    else:
        import onnxruntime

        got = torch.from_numpy(onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"x": points.numpy()})[0])
    assert torch.allclose(got, expected, atol=1e-5)

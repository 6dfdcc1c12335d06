"""``ganforge export``: the generator alone as ONNX or TorchScript (issue 16). Every variant's export is in
tests/test_matrix.py; the README's onnxruntime snippet in tests/test_documented.py."""

from __future__ import annotations

import builtins
import importlib

import pytest
import torch
from typer.testing import CliRunner

import ganforge
from ganforge import api
from ganforge.cli import app
from ganforge.errors import GanforgeError
from ganforge.noise import sample_noise

from conftest import TINY

runner = CliRunner()


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "run"
    ganforge.train("vanilla", "ring8", settings={**TINY, "data.size": 256, "train.max_steps": 8, "ema.decay": 0.5}, out=out)
    return out


def pytorch_outputs(run, z):
    with torch.no_grad():
        return ganforge.load(run, device="cpu").generate(z)  # EMA weights


def test_onnx_with_a_free_batch_runs_in_onnxruntime_as_in_pytorch(ring_run, tmp_path):
    pytest.importorskip("onnx", reason="pip install 'ganforge[export]'")
    onnxruntime = pytest.importorskip("onnxruntime", reason="pip install 'ganforge[export]'")
    exported = api.export(ring_run, "onnx", tmp_path / "g.onnx")
    assert exported.inputs == {"z": ["batch", 8]} and exported.output == ["batch", 2] and exported.difference < 1e-5
    session = onnxruntime.InferenceSession(str(exported.path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["z"]
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["ganforge.noise"] == '{"dim": 8, "dist": "normal"}' and meta["ganforge.variant"] == "vanilla"
    for batch in (1, 7):
        z = torch.randn(batch, 8)
        got = torch.from_numpy(session.run(None, {"z": z.numpy()})[0])
        assert torch.allclose(got, pytorch_outputs(ring_run, z), atol=1e-5)


def test_onnx_with_a_fixed_batch_takes_that_batch_only(ring_run, tmp_path):
    pytest.importorskip("onnx", reason="pip install 'ganforge[export]'")
    onnxruntime = pytest.importorskip("onnxruntime", reason="pip install 'ganforge[export]'")
    exported = api.export(ring_run, "onnx", tmp_path / "g.onnx", batch=4)
    session = onnxruntime.InferenceSession(str(exported.path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == [4, 8]
    with pytest.raises(Exception, match="dimension"):
        session.run(None, {"z": torch.randn(3, 8).numpy()})


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated")
def test_torchscript_loads_without_ganforge_and_matches(ring_run, tmp_path):
    exported = api.export(ring_run, "torchscript", tmp_path / "g.pt")
    loaded = torch.jit.load(str(exported.path))
    z = sample_noise(ganforge.load(ring_run, device="cpu").prior, 6, "cpu", torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(loaded(z), pytorch_outputs(ring_run, z), atol=1e-6)
    assert not any(name.startswith("variant.") and "discriminator" in name for name, _ in loaded.named_parameters())
    assert all("generator" in name for name, _ in loaded.named_parameters())  # the generator alone


def test_the_cli_says_what_it_wrote_and_how_it_checked(ring_run, tmp_path):
    out = tmp_path / "g.pt"
    result = runner.invoke(app, ["export", str(ring_run), "--format", "torchscript", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}: z ('batch', 8) -> output ('batch', 2)" in result.stdout
    assert "Checked against PyTorch on a batch of 3: largest difference" in result.stdout


def _importable(package: str) -> bool:
    try:
        importlib.import_module(package)
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("missing", ["onnx", "onnxruntime"])
def test_without_onnx_installed_the_error_names_the_extra(ring_run, tmp_path, monkeypatch, missing):
    """Whether or not the export extra is installed: with ``missing`` taken away, the first package ONNX export
    lacks is named, with the extra that brings both."""
    real_import = builtins.__import__

    def without(name, *args, **kwargs):
        if name.split(".")[0] == missing:
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    absent = [package for package in ("onnx", "onnxruntime") if package == missing or not _importable(package)]
    monkeypatch.setattr(builtins, "__import__", without)
    result = runner.invoke(app, ["export", str(ring_run), "--format", "onnx", "--out", str(tmp_path / "g.onnx")])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: exporting to ONNX needs the {absent[0]} package: pip install 'ganforge[export]' (onnx and onnxruntime)"]
    assert not (tmp_path / "g.onnx").exists()


@pytest.mark.parametrize("args, message", [
    (["--format", "tflite", "--out", "g.tflite"], "--format 'tflite' is not one of: onnx, torchscript"),
    (["--format", "torchscript", "--out", "g.pt", "--batch", "0"], "--batch 0 is not a batch size"),
    (["--format", "torchscript", "--out", "."], "is a directory"),
    (["--format", "torchscript", "--out", "notes.txt/g.pt"], "notes.txt is a file"),
])  # fmt: skip
def test_bad_exports_are_one_line_and_exit_2(ring_run, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    if "notes.txt/g.pt" in args:
        (tmp_path / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["export", str(ring_run), *args])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr
    assert [p.name for p in tmp_path.iterdir()] in ([], ["notes.txt"])


def test_a_missing_run_is_one_line(tmp_path):
    with pytest.raises(GanforgeError, match="does not exist"):
        api.export(tmp_path / "nothing", "torchscript", tmp_path / "g.pt")

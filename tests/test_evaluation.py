"""Evaluation as a user meets it: --eval-every, the best checkpoint, EMA, curves, `ganforge eval` and `plot`."""

import json

import pytest
import torch
from PIL import Image
from safetensors import safe_open
from typer.testing import CliRunner

import ganforge
from ganforge.cli import app
from ganforge.errors import GanforgeError
from ganforge.evaluation import evaluator as evaluator_module
from ganforge.evaluation import judges
from ganforge.evaluation.ema import GeneratorAverage

from conftest import TINY

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    """A tiny ring8 run with EMA and evaluation every 20 steps."""
    out = tmp_path_factory.mktemp("ring") / "run"
    settings = {**TINY, "data.size": 1280, "train.epochs": 2, "ema.decay": 0.9, "eval.every": 20, "eval.samples": 500}
    ganforge.train("vanilla", "ring8", settings=settings, out=out)
    return out


def test_eval_every_logs_scores_and_keeps_the_best_checkpoint(ring_run):
    records = [json.loads(line) for line in (ring_run / "metrics.jsonl").read_text().splitlines()]
    evaluations = [r for r in records if r.get("eval")]
    assert [r["step"] for r in evaluations] == [20, 40, 60, 80]
    for record in evaluations:
        assert record["main"] == "modes" and 0 <= record["modes"] <= 8 and 0 <= record["high_quality"] <= 1
        assert record["reverse_kl"] >= 0
    assert evaluations[0]["best"] is True
    best = (ring_run / "checkpoints" / "best.safetensors")
    with safe_open(str(best), "pt") as handle:
        progress = json.loads(handle.metadata()["progress"])
    assert progress["step"] == max(r["step"] for r in evaluations if r["best"])
    assert any(r.get("loss_d") is not None for r in records)


def test_ema_weights_are_saved_and_used_for_sampling(ring_run):
    checkpoint = sorted((ring_run / "checkpoints").glob("step_*.safetensors"))[-1]
    with safe_open(str(checkpoint), "pt") as handle:
        names = set(handle.keys())
    assert any(name.startswith("ema.generator.") for name in names)
    averaged = ganforge.sample(ring_run, count=20, device="cpu")
    live = ganforge.sample(ring_run, count=20, device="cpu", ema=False)
    assert not torch.equal(averaged.values, live.values)


def test_ema_update_is_the_moving_average():
    config = ganforge.configure("vanilla", "ring8", {**TINY, "data.size": 64, "generator.norm": "none"})  # parameters only: no batch-norm buffers
    variant = ganforge.api.build_variant(config, ganforge.api.load_dataset(config).spec, torch.device("cpu"))
    average = GeneratorAverage(variant, decay=0.75)
    generator = variant.networks["generator"]
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    with torch.no_grad():
        for parameter in generator.parameters():
            parameter.add_(1.0)
    average.update()
    for key, value in average.average["generator"].items():
        assert torch.allclose(value, 0.75 * before[key] + 0.25 * (before[key] + 1.0))
    with average.swapped_in():
        assert all(torch.equal(generator.state_dict()[k], average.average["generator"][k]) for k in before)
    assert all(torch.equal(generator.state_dict()[k], before[k] + 1.0) for k in before)


def test_curves_png_is_written_and_redrawn(ring_run, tmp_path):
    picture = Image.open(ring_run / "curves.png")
    assert picture.width > 400 and picture.height > 600  # three panels: losses, D(x)/D(G(z)), the evaluation
    result = invoke("plot", ring_run, "--out", tmp_path / "again.png")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "again.png").size == picture.size


def test_eval_command_table_and_json(ring_run):
    result = invoke("eval", ring_run, "-n", "300", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "modes captured (of 8)" in result.stdout and "reverse KL" in result.stdout and "300 samples" in result.stdout
    result = invoke("eval", ring_run / "checkpoints" / "best.safetensors", "-n", "300", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["main"] == "modes" and report["samples"] == 300 and report["total_modes"] == 8


def test_eval_and_plot_errors_are_one_line(tmp_path):
    for args, message in [
        (["eval", tmp_path / "missing"], "does not exist"),
        (["plot", tmp_path], "metrics.jsonl does not exist"),
        (["eval", tmp_path, "-n", "1"], "holds no checkpoints"),
    ]:
        result = invoke(*args)
        assert result.exit_code == 2 and message in result.stderr, result.output
        assert len(result.stderr.strip().splitlines()) == 1


def test_pacgan_packs_four_samples_per_discriminator_input(tmp_path):
    recipe = ganforge.configure("pacgan")
    assert recipe.discriminator.params["pack"] == 4 and recipe.train.batch_size == 128 and recipe.data.name == "ring8"
    config = ganforge.configure("pacgan", "ring8", {**TINY, "data.size": 64})
    variant = ganforge.api.build_variant(config, ganforge.api.load_dataset(config).spec, torch.device("cpu"))
    assert variant.networks["discriminator"](torch.zeros(32, 2)).shape == (8,)
    with pytest.raises(GanforgeError, match="use a --batch-size divisible by 4"):
        variant.networks["discriminator"](torch.zeros(30, 2))
    result = ganforge.train("pacgan", "ring8", settings={**TINY, "data.size": 640, "train.epochs": 2}, out=tmp_path)
    assert result.steps == 40 and 0 < result.last_metrics["d_real"] < 1


def test_eval_of_an_image_run_names_its_evaluator(tmp_path, fashion_root, monkeypatch):
    monkeypatch.setattr(evaluator_module, "TRAIN_STEPS", 20)
    monkeypatch.setattr(judges, "IMAGE_SAMPLES", 500)  # real images compared against: fewer, for speed
    out = tmp_path / "run"
    settings = {**TINY, "data.root": str(fashion_root), "data.split": "test", "train.max_steps": 3}
    ganforge.train("vanilla", "fashion-mnist", settings=settings, out=out)
    result = invoke("eval", out, "-n", "200", "--device", "cpu")
    assert result.exit_code == 0, result.output
    text = result.stdout.replace("\n", " ")
    for label in ("FID", "KID (raw MMD², unscaled)", "precision (k=3)", "recall (k=3)", "classifier score", "ganforge-cnn/2:fashion-mnist@"):
        assert label in text, label
    assert "trained on fashion-mnist train split, 60,000 images" in text
    report = json.loads(invoke("eval", out, "-n", "200", "--json").stdout)
    assert report["fid"] > 0 and 0 <= report["precision"] <= 1 and len(report["evaluator"]["weights_sha256"]) == 64


def test_stacked_mnist_modes_are_labelled_per_channel(tmp_path, mnist_root, monkeypatch):
    from ganforge_datasets.stacked import stacked_mnist
    from ganforge_datasets.mnist import mnist

    digits = mnist(str(mnist_root), "test")
    stacked = stacked_mnist(str(mnist_root), "test", size=50, seed=3)
    assert stacked.data.shape == (50, 3, 28, 28) and stacked.spec.num_classes == 1000
    for image, label in zip(stacked.data[:5], stacked.labels[:5].tolist()):
        for channel, digit in zip(image, (label // 100, label // 10 % 10, label % 10)):
            matches = (digits.data[:, 0] == channel).flatten(1).all(1)
            assert digit in digits.labels[matches].tolist()

    monkeypatch.setattr(evaluator_module, "TRAIN_STEPS", 20)
    out = tmp_path / "run"
    settings = {**TINY, "data.root": str(mnist_root), "data.split": "test", "data.size": 256, "train.max_steps": 2}
    ganforge.train("vanilla", "stacked-mnist", settings=settings, out=out)
    report = json.loads(invoke("eval", out, "-n", "300", "--json").stdout)
    assert report["total_modes"] == 1000 and 1 <= report["modes"] <= 300
    assert report["evaluator"]["dataset"] == "mnist" and "no train split available" in report["evaluator"]["trained_on"]


def test_inception_evaluator_is_never_substituted(ring_run, tmp_path, monkeypatch):
    """Without torch-fidelity, or without the weights on disk, asking for Inception FID is a one-line error."""
    import sys
    import types

    from ganforge.evaluation.inception import InceptionEvaluator

    result = invoke("eval", ring_run, "--evaluator", "inception")
    assert result.exit_code == 2 and "scored by mode coverage" in result.stderr
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)
    with pytest.raises(GanforgeError, match="needs the torch-fidelity package"):
        InceptionEvaluator()
    fake = types.ModuleType("torch_fidelity.feature_extractor_inceptionv3")
    fake.FeatureExtractorInceptionV3 = object
    monkeypatch.setitem(sys.modules, "torch_fidelity", types.ModuleType("torch_fidelity"))
    monkeypatch.setitem(sys.modules, "torch_fidelity.feature_extractor_inceptionv3", fake)
    with pytest.raises(GanforgeError, match="weights as safetensors at .*inception-v3-compat.safetensors and ganforge does not download"):
        InceptionEvaluator()
    (tmp_path / "bad.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(GanforgeError, match="not a readable safetensors file"):
        InceptionEvaluator(tmp_path / "bad.safetensors")


def test_in_training_evaluation_with_a_data_fraction_compares_with_all_of_the_data(tmp_path, monkeypatch):
    """data.fraction trains on a part; --eval-every scores against the whole dataset, as `ganforge eval` does."""
    from variant_helpers import labelled_folder

    monkeypatch.setattr(evaluator_module, "TRAIN_STEPS", 20)
    root = labelled_folder(tmp_path / "images", classes=2, per_class=32)
    settings = {**TINY, "data.root": str(root), "data.fraction": 0.25, "train.batch_size": 8, "train.max_steps": 4,
                "eval.every": 4, "eval.samples": 48, "ema.decay": None}  # fmt: skip
    out = tmp_path / "run"
    ganforge.train("vanilla", "image-folder", settings=settings, out=out)
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    during = next(record for record in logged if record.get("eval") and record["step"] == 4)
    after = ganforge.evaluate(out, count=48, device="cpu", seed=4)
    assert after.protocol == "images, 64 real"  # all of the folder, not the 16 images trained on
    assert during["fid"] == pytest.approx(after.scores["fid"]) and during["recall"] == pytest.approx(after.scores["recall"])


class _FeaturesAreTheInput:
    """A stand-in evaluator whose features are the images' pixels, so that the judge's sets are known."""

    info = None

    def features_and_logits(self, images):
        flat = images.flatten(1).float()
        return flat, torch.zeros(len(flat), 2)


@pytest.mark.parametrize("judge_kind", ["points", "images"])
def test_precision_and_recall_compare_sets_of_equal_size_when_there_are_more_samples_than_data(judge_kind):
    """With more samples than real examples, from the same distribution as the data, precision and recall agree
    (the k-NN radii of each set depend on its size: the sets must be equally large)."""
    from ganforge.data import DataSpec, TensorData

    gaps = []
    for seed in range(5):
        generator = torch.Generator().manual_seed(seed)
        if judge_kind == "points":
            real = torch.randn(200, 128, generator=generator)
            fake = torch.randn(2000, 128, generator=generator)
            judge = judges.PointJudge(TensorData(real, DataSpec((128,), is_image=False)))
        else:
            real = (127.5 + 30 * torch.randn(200, 2, 8, 8, generator=generator)).round().clamp(0, 255).to(torch.uint8)
            fake = (127.5 + 30 * torch.randn(2000, 2, 8, 8, generator=generator)).round().clamp(0, 255).div(127.5).sub(1)
            judge = judges.ImageJudge(TensorData(real, DataSpec((2, 8, 8))), _FeaturesAreTheInput())
        scores = judge.score(fake, seed).scores
        gaps.append(scores["precision"] - scores["recall"])
    assert abs(sum(gaps) / len(gaps)) < 0.05, gaps

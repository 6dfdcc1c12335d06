"""The core's services for variants beyond vanilla's shape: the moving average of every generator network,
evaluation on independent draws of exactly the count asked for, of the outputs comparable to the data (a staged
GAN's last stage, an image-to-image GAN's translations of held-out images), and D's BatchNorm statistics."""

from __future__ import annotations

import json

import pytest
import torch

import ganforge
from ganforge import api, testing
from ganforge.checkpoint import read_checkpoint
from ganforge.device import Precision
from ganforge.errors import GanforgeError
from ganforge.evaluation import evaluator as evaluator_module
from ganforge.evaluation import judges
from ganforge.registry import get_registry

from conftest import TINY
from variant_helpers import CYCLEGAN_TINY as CYCLE, STACKGAN_TINY as STACK, build, labelled_folder, unpaired_folder

RUN = {"train.batch_size": 4, "train.sample_count": 2, "train.device": "cpu"}


def ema_keys(checkpoint, network: str) -> set[str]:
    keys = {key for key in read_checkpoint(checkpoint).tensors if key.startswith(f"ema.{network}.")}
    assert keys, f"no averaged weights of '{network}' in {checkpoint}"
    return keys


def test_cyclegan_averages_both_generators(tmp_path):
    """Issue 14, finding 3: ema.decay on cyclegan failed with "has no network 'generator' to average"."""
    root = unpaired_folder(tmp_path / "data", count=4, size=16)
    settings = {**CYCLE, **RUN, "data.root": str(root), "data.size": 16, "data.channels": "grey", "train.max_steps": 2, "ema.decay": 0.5}
    result = ganforge.train("cyclegan", "unpaired-folders", settings=settings, out=tmp_path / "run")
    for network in ("generator_ab", "generator_ba"):
        live = {key.removeprefix("network."): value for key, value in read_checkpoint(result.checkpoint).tensors.items() if key.startswith(f"network.{network}.")}
        averaged = {key.removeprefix("ema."): value for key, value in read_checkpoint(result.checkpoint).tensors.items() if key in ema_keys(result.checkpoint, network)}
        assert live.keys() == averaged.keys()
        assert any(not torch.equal(live[key], averaged[key]) for key in live if live[key].is_floating_point()), network


def test_stackgan_samples_and_evaluates_with_both_stages_averaged(tmp_path):
    """Issue 14, finding 3: on stackgan the average covered stage I only, so stage II samples mixed an averaged stage
    I with a live refiner."""
    root = labelled_folder(tmp_path / "data", classes=2, per_class=4, size=16)
    settings = {**STACK, **RUN, "data.root": str(root), "train.epochs": 2, "ema.decay": 0.5}
    result = ganforge.train("stackgan", "image-folder", settings=settings, out=tmp_path / "run")
    saved = read_checkpoint(result.checkpoint).tensors
    loaded = ganforge.load(result.checkpoint, device="cpu")
    for network in ("generator", "refiner"):
        keys = ema_keys(result.checkpoint, network)
        state = loaded.networks[network].state_dict()
        assert all(torch.equal(state[key.removeprefix(f"ema.{network}.")], saved[key]) for key in keys), network
    live = ganforge.load(result.checkpoint, device="cpu", ema=False)
    refiner = [key for key in live.networks["refiner"].state_dict() if key.endswith("weight")]
    assert refiner and any(
        not torch.equal(live.networks["refiner"].state_dict()[key], loaded.networks["refiner"].state_dict()[key]) for key in refiner
    )


def points_run(tmp_path, variant: str, **settings) -> object:
    extra = {"generator.name": "conditional-mlp", "discriminator.name": "conditional-mlp"} if variant == "cgan" else {}
    return ganforge.train(variant, "ring8", settings={**TINY, **extra, "data.size": 64, "train.max_steps": 2, **settings}, out=tmp_path / variant)


@pytest.mark.parametrize("count", [234, 1001])
def test_eval_scores_exactly_the_count_asked_for(tmp_path, count):
    """Issue 14, finding 4: cgan drew evaluation samples from the sample-grid inputs, so -n 234 scored 240."""
    result = points_run(tmp_path, "cgan")
    report = ganforge.evaluate(result.run_dir.path, count=count, device="cpu")
    assert report.samples == count


def test_conditional_evaluation_draws_are_independent(tmp_path):
    """Issue 14, finding 4: 1,000 evaluation samples of cgan carried only 100 distinct z (the grid's columns)."""
    result = points_run(tmp_path, "cgan")
    variant = ganforge.load(result.checkpoint, device="cpu")
    data = api.load_dataset(variant.config)
    inputs = variant.evaluation_inputs(1000, torch.Generator().manual_seed(0), data)
    assert len(inputs.noise) == 1000 and len(torch.unique(inputs.noise, dim=0)) == 1000
    counts = torch.bincount(inputs.labels, minlength=8)  # ring8's 8 classes, drawn in the data's proportions
    expected = torch.bincount(data.labels, minlength=8) / len(data) * 1000
    assert (counts - expected).abs().max() < 50, (counts, expected)


def test_stackgan_evaluates_its_full_resolution_output_in_stage_one():
    """Issue 14, finding 5: during stage I, evaluation scored 8x8 samples against 16x16 data without complaint."""
    data = testing.tiny_data((1, 16, 16), count=16, num_classes=2)
    variant = build("stackgan", data, {**STACK, **RUN})
    assert variant.position == 0.0 and variant.stage == 1
    samples = judges.generate(variant, 7, data)
    assert samples.shape == (7, 1, 16, 16)
    grid = variant.generate(variant.sample_inputs(4, torch.Generator().manual_seed(0), data))
    assert grid.shape[-1] == 8  # the sample grid still shows the stage that trains


def test_evaluation_that_does_not_match_the_data_is_an_error():
    data = testing.tiny_data((1, 16, 16), count=16, num_classes=2)
    variant = build("stackgan", data, {**STACK, **RUN})
    variant.evaluation_outputs = variant.generate  # a variant that scores its stage-I images
    with pytest.raises(GanforgeError, match=r"evaluation outputs of shape \(3, 1, 8, 8\).*\(1, 16, 16\)"):
        judges.generate(variant, 3, data)


def test_best_checkpoint_of_stackgan_compares_full_resolution_figures(tmp_path, monkeypatch):
    """Issue 14, finding 5: with --eval-every, best.safetensors was chosen across 8x8 and 16x16 figures."""
    monkeypatch.setattr(evaluator_module, "TRAIN_STEPS", 4)
    monkeypatch.setattr(judges, "IMAGE_SAMPLES", 32)
    seen = []
    real_score = judges.ImageJudge.score
    monkeypatch.setattr(judges.ImageJudge, "score", lambda self, samples, seed: seen.append(tuple(samples.shape[1:])) or real_score(self, samples, seed))
    root = labelled_folder(tmp_path / "data", classes=2, per_class=8, size=16)
    settings = {**STACK, **RUN, "data.root": str(root), "train.epochs": 2, "eval.every": 2, "eval.samples": 16}
    result = ganforge.train("stackgan", "image-folder", settings=settings, out=tmp_path / "run")
    evaluations = [json.loads(line) for line in result.run_dir.metrics_path.read_text().splitlines() if '"eval": true' in line]
    assert len(evaluations) == 4 and seen == [(1, 16, 16)] * 4  # two in stage I, two in stage II, all at 16x16
    assert (result.run_dir.checkpoints_dir / "best.safetensors").exists()


def fake_evaluator():
    class Flat:
        """Features: the pixels themselves; logits: two made-up classes."""

        info = None

        def features_and_logits(self, images):
            flat = images.flatten(1).float()
            return flat, flat[:, :2]

    return Flat()


def test_cyclegan_is_judged_on_translations_of_held_out_images_against_domain_b(tmp_path):
    """Issue 14, finding 6: the sample grid (real A and B images and reconstructions included) was scored against
    domain A, instead of translations of held-out source images against the target domain."""
    root = unpaired_folder(tmp_path / "data", count=4, size=16)
    config = ganforge.configure("cyclegan", "unpaired-folders", {**CYCLE, **RUN, "data.root": str(root), "data.size": 16, "data.channels": "grey"})
    train = api.load_dataset(config)
    test = get_registry().get("dataset", "unpaired-folders").build({**config.data.params, "split": "test"})
    held = judges.held_out(train, "unpaired-folders", config.data.params, get_registry())
    assert torch.equal(held.data, test.data) and torch.equal(held.other, test.other) and not torch.equal(held.data, train.data)

    judge = judges.ImageJudge(held, fake_evaluator())
    assert sorted(judge.real.sum(1).tolist()) == pytest.approx(sorted(test.other.float().div(127.5).sub(1).flatten(1).sum(1).tolist()))

    variant = api.build_variant(config, train.spec, torch.device("cpu"))
    drawn = []
    real_inputs = variant.evaluation_inputs
    variant.evaluation_inputs = lambda count, generator, data: drawn.append(data) or real_inputs(count, generator, data)
    samples = judges.generate(variant, 6, held)
    assert samples.shape == (6, 1, 16, 16) and drawn[0] is held
    sources = real_inputs(6, torch.Generator().manual_seed(0), held)
    with torch.no_grad():
        expected = variant.networks["generator_ab"].eval()(sources)
    assert torch.allclose(samples, expected)  # G(a) alone, for held-out a


def test_two_unlabelled_domains_ask_for_the_inception_evaluator(tmp_path):
    root = unpaired_folder(tmp_path / "data", count=4, size=16)
    settings = {**CYCLE, **RUN, "data.root": str(root), "data.size": 16, "data.channels": "grey", "train.max_steps": 1}
    result = ganforge.train("cyclegan", "unpaired-folders", settings=settings, out=tmp_path / "run")
    with pytest.raises(GanforgeError, match="no labelled dataset for its domain B.*--evaluator inception"):
        ganforge.evaluate(result.run_dir.path, count=4, device="cpu")


def test_digits2fashion_translations_are_scored_by_a_fashion_mnist_evaluator(tmp_path, fashion_root, mnist_root, monkeypatch):
    monkeypatch.setattr(evaluator_module, "TRAIN_STEPS", 4)
    monkeypatch.setattr(judges, "IMAGE_SAMPLES", 64)
    data = tmp_path / "data"
    data.mkdir()
    (data / "mnist").symlink_to(mnist_root)
    (data / "fashion-mnist").symlink_to(fashion_root)
    settings = {**CYCLE, **RUN, "data.root": str(data), "data.split": "test", "train.max_steps": 1}
    result = ganforge.train("cyclegan", "digits2fashion", settings=settings, out=tmp_path / "run")
    report = ganforge.evaluate(result.run_dir.path, count=20, device="cpu")
    assert report.samples == 20 and report.main == "fid" and report.evaluator.dataset == "fashion-mnist"


def test_d_batchnorm_statistics_move_only_in_d_steps():
    """Issue 14, finding 10: D's running statistics were also updated by G's step and by the penalty's forward."""
    data = testing.tiny_data((1, 16, 16), count=32)
    model = build("dcgan", data, {"generator.width": 4, "discriminator.width": 4, "noise.dim": 8, "loss.r1_gamma": 1.0, "train.batch_size": 8})
    layers = [m for m in model.networks["discriminator"].modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert layers
    model.train_step(data.batch(torch.arange(8)), Precision(torch.device("cpu")))
    assert [int(layer.num_batches_tracked) for layer in layers] == [2] * len(layers)  # D(x) and D(G(z)) of D's step

"""Issue 15's levers as a user meets them: the generator's EMA on by default (``--no-ema`` for the live weights),
differentiable augmentation with ADA's adaptive probability, and ``data.fraction``. Spectral normalisation and
augmentation of every registered variant are cells of tests/test_matrix.py."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import ganforge
from ganforge.augment import Augmentation, augment
from ganforge.checkpoint import read_checkpoint, unprefixed
from ganforge.cli import app
from ganforge.config import AugmentConfig
from ganforge.data import Batch, DataSpec
from ganforge.evaluation.ema import GeneratorAverage

from conftest import TINY
from variant_helpers import labelled_folder

runner = CliRunner()
RING = {**TINY, "data.size": 256, "train.epochs": 1, "train.device": "cpu"}  # 8 steps
IMAGES = torch.rand(6, 1, 16, 16) * 2 - 1


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def run_args(out, *extra):
    settings = [f"--set={key}={value}" for key, value in RING.items()]
    return ["run", "vanilla", "--data", "ring8", "--out", out, *settings, *extra]


# -- the generator's moving average ------------------------------------------------------------------------------


def test_ema_is_on_by_default_and_samples_come_from_the_averaged_weights(tmp_path):
    assert invoke(*run_args(tmp_path / "run")).exit_code == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["ema"]["decay"] == 0.999
    checkpoint = read_checkpoint(sorted((tmp_path / "run" / "checkpoints").glob("step_*.safetensors"))[-1])
    averaged = unprefixed("ema.generator", checkpoint.tensors)
    assert averaged

    expected = {}
    for ema in (True, False):
        model = ganforge.load(tmp_path / "run", device="cpu", ema=False)  # the live weights, then the average put in
        if ema:
            model.networks["generator"].load_state_dict(averaged)
        with torch.no_grad():
            expected[ema] = model.generate(model.sample_inputs(16, torch.Generator().manual_seed(0), None))
    assert not torch.equal(expected[True], expected[False])
    assert torch.equal(ganforge.sample(tmp_path / "run", count=16, device="cpu").values, expected[True])
    assert torch.equal(ganforge.sample(tmp_path / "run", count=16, device="cpu", ema=False).values, expected[False])


def test_run_no_ema_keeps_no_average_and_samples_the_live_weights(tmp_path):
    result = invoke(*run_args(tmp_path / "run", "--no-ema"))
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "run" / "config.json").read_text())["ema"]["decay"] is None
    checkpoint = sorted((tmp_path / "run" / "checkpoints").glob("step_*.safetensors"))[-1]
    assert not [key for key in read_checkpoint(checkpoint).tensors if key.startswith("ema.")]
    assert torch.equal(
        ganforge.sample(tmp_path / "run", count=8, device="cpu").values,
        ganforge.sample(tmp_path / "run", count=8, device="cpu", ema=False).values,
    )


def test_no_ema_beside_an_ema_decay_is_one_clear_error(tmp_path):
    result = invoke(*run_args(tmp_path / "run", "--no-ema", "--set", "ema.decay=0.99"))
    assert result.exit_code == 2
    assert "--no-ema and --set ema.decay=0.99 disagree" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_the_ramp_up_keeps_a_short_average_away_from_the_initial_weights():
    config = ganforge.configure("vanilla", "ring8", {**TINY, "data.size": 64})
    variant = ganforge.api.build_variant(config, ganforge.api.load_dataset(config).spec, torch.device("cpu"))
    average = GeneratorAverage(variant, decay=0.999, rampup=0.05)
    generator = variant.networks["generator"]
    initial = {key: value.clone() for key, value in generator.state_dict().items()}
    with torch.no_grad():
        for parameter in generator.parameters():
            parameter.add_(1.0)
    average.update()  # the first update's half-life is 0.05 steps: the average is the live weights, nearly
    assert all(torch.allclose(average.average["generator"][key], initial[key] + 1.0, atol=1e-5) for key in initial if key.endswith("weight"))
    # the ramp-up bounds the half-life by 5% of the steps so far; past 13,863 steps it is the plain 0.999
    average.updates["generator"] = 99
    assert average.step_decay("generator") == pytest.approx(0.5 ** (1 / 5))
    average.updates["generator"] = 20_000
    assert average.step_decay("generator") == 0.999
    assert GeneratorAverage(variant, decay=0.999).step_decay("generator") == 0.999  # no ramp-up


# -- differentiable augmentation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["color", "translation", "cutout"])
def test_each_operation_is_differentiable_and_draws_per_example(policy):
    x = IMAGES[:1].repeat(6, 1, 1, 1).requires_grad_(True)  # six copies of one image
    torch.manual_seed(3)
    out = augment(x, [policy])
    assert out.shape == x.shape
    (out * torch.randn_like(out)).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0  # gradients reach the input
    assert len(torch.unique(out.detach().flatten(1), dim=0)) > 1  # the copies got their own random parameters


def test_two_calls_draw_their_own_parameters_as_in_the_paper():
    """DiffAugment's D(T(x)) and D(T(G(z))) are two calls with independent parameters; so are ours."""
    torch.manual_seed(0)
    first = augment(IMAGES, ["color", "translation", "cutout"])
    second = augment(IMAGES, ["color", "translation", "cutout"])
    assert not torch.equal(first, second)


class ConstantD(nn.Module):
    """A discriminator whose logits are a constant the test sets: a constructed overfitting signal."""

    def __init__(self):
        super().__init__()
        self.logit = 1.0
        self.weight = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((len(x),), self.logit) + self.weight


def test_the_adaptive_probability_moves_toward_its_target_on_a_constructed_signal():
    config = AugmentConfig(policy="color,translation,cutout", adaptive=True, target=0.6, interval=4, speed=640)
    d = ConstantD()
    pipe = Augmentation(config, [d], DataSpec((1, 16, 16)), images_per_step=16, device=torch.device("cpu"))
    reals, fake = IMAGES.clone(), IMAGES.clone()  # equal values, but only the first is the step's minibatch

    def steps(count: int, first: int) -> list[float]:
        seen = []
        for step in range(first, first + count):
            pipe.step_begins(Batch(reals, None))
            d(reals[:3])  # D's outputs on (a view of) the real minibatch: the heuristic's input
            d(fake)  # on other images: ignored by the heuristic, whatever they score
            seen.append(float(pipe.step_ended(step)["augment_p"]))
        return seen

    d.logit = 1.0  # sign(D(x)) = 1 > 0.6 on the reals: D overfits, p rises by 16 * 4 / 640 = 0.1 every 4 steps
    rising = steps(40, 1)
    assert rising[3] == pytest.approx(0.1) and rising[2] == 0.0 and rising[-1] == pytest.approx(1.0)
    assert max(rising) <= 1.0
    d.logit = -1.0  # below the target: p falls back, and stays at 0
    falling = steps(48, 41)
    assert falling[3] == pytest.approx(0.9) and falling[-1] == 0.0 and min(falling) >= 0.0


def test_the_adaptive_probability_is_saved_and_restored_on_resume(tmp_path):
    settings = {
        **TINY, "data.root": str(labelled_folder(tmp_path / "images", per_class=32)), "data.fraction": 0.5,
        "train.max_steps": 8, "train.device": "cpu", "train.checkpoint_every": 4, "train.batch_size": 4,
        "augment.policy": "translation,cutout", "augment.adaptive": True, "augment.target": 0.0, "augment.interval": 2,
        "augment.speed": 80,
    }  # fmt: skip
    whole = ganforge.train("vanilla", "image-folder", settings=settings, out=tmp_path / "whole")
    shutil.copytree(tmp_path / "whole", tmp_path / "cut")
    last = sorted((tmp_path / "cut" / "checkpoints").glob("step_*.safetensors"))
    for path in last[1:]:  # as after a kill right after step 4's checkpoint
        path.unlink()
    assert float(read_checkpoint(last[0]).tensors["augment.p"]) > 0  # p had moved by step 4 and was saved
    resumed = ganforge.resume(tmp_path / "cut", settings={"train.max_steps": 8})  # the cut is not kept by itself
    ours, theirs = read_checkpoint(resumed.checkpoint).tensors, read_checkpoint(whole.checkpoint).tensors
    assert resumed.steps == whole.steps == 8
    assert {"augment.p", "augment.sign_sum", "augment.sign_count"} <= ours.keys() == theirs.keys()
    assert [key for key in ours if key != "metrics.sums" and not torch.equal(ours[key], theirs[key])] == []


def test_bad_augment_settings_are_one_clear_line(tmp_path):
    result = invoke(*run_args(tmp_path / "a", "--set", "augment.policy=color,blur"))
    assert result.exit_code == 2 and "unknown operation 'blur'; choose from color, translation, cutout" in result.output
    result = invoke(*run_args(tmp_path / "b", "--set", "augment.policy=color"))
    assert result.exit_code == 2 and "augment.policy augments images; this dataset holds points" in result.output
    result = invoke(*run_args(tmp_path / "c", "--set", "augment.adaptive=true"))
    assert result.exit_code == 2 and "augment.adaptive needs operations to apply" in result.output
    assert "Traceback" not in result.output


# -- data.fraction ------------------------------------------------------------------------------------------------


def test_data_fraction_trains_on_a_subset_chosen_by_the_seed():
    def subset(seed: int, fraction: float = 0.25):
        config = ganforge.configure("vanilla", "ring8", {"data.size": 400, "data.fraction": fraction, "train.seed": seed})
        return ganforge.api.training_data(config)

    full = ganforge.api.load_dataset(ganforge.configure("vanilla", "ring8", {"data.size": 400, "data.fraction": 0.25}))
    assert len(full) == 400 and len(subset(1)) == 100
    assert torch.equal(subset(1).data, subset(1).data)
    assert not torch.equal(subset(1).data, subset(2).data)
    rows = {tuple(row.tolist()) for row in full.data}
    assert all(tuple(row.tolist()) in rows for row in subset(1).data)  # examples of the dataset, not new ones


def test_a_data_fraction_leaving_nothing_is_one_clear_line(tmp_path):
    result = invoke(*run_args(tmp_path / "run", "--set", "data.fraction=0.001"))
    assert result.exit_code == 2
    assert "data.fraction 0.001 of 256 examples leaves none; raise data.fraction" in result.output


# -- the class histogram in `ganforge eval`'s image scores ---------------------------------------------------------


def test_the_class_histogram_scores_spread_and_collapse():
    from ganforge.evaluation.features import class_histogram

    spread = torch.eye(10).repeat(50, 1)  # 50 confident samples of each of 10 classes
    assert class_histogram(spread) == (pytest.approx(0.0), pytest.approx(0.1))
    collapsed = torch.eye(10)[[3] * 500]
    assert class_histogram(collapsed) == (pytest.approx(torch.log(torch.tensor(10.0)).item()), 0.0)
    half = torch.eye(10)[[0] * 250 + [1] * 250]  # two classes: KL log 5, eight classes missing
    assert class_histogram(half)[0] == pytest.approx(torch.log(torch.tensor(5.0)).item())


def test_translation_and_cutout_are_the_papers_operations():
    """Against DiffAugment's reference code (Zhao et al. 2020, DiffAugment_pytorch.py), on the same random draws."""
    from ganforge.augment import cutout, translation

    x = torch.randn(16, 3, 28, 28)
    count, _, height, width = x.shape
    batch, rows, columns = torch.meshgrid(torch.arange(count), torch.arange(height), torch.arange(width), indexing="ij")
    torch.manual_seed(5)
    ours = translation(x)
    torch.manual_seed(5)
    dy, dx = torch.randint(-4, 5, (count, 1)), torch.randint(-4, 5, (count, 1))
    rows_from = torch.clamp(rows + dy[:, :, None] + 1, 0, height + 1)
    columns_from = torch.clamp(columns + dx[:, :, None] + 1, 0, width + 1)
    padded = nn.functional.pad(x, [1, 1, 1, 1])
    assert torch.equal(ours, padded.permute(0, 2, 3, 1)[batch, rows_from, columns_from].permute(0, 3, 1, 2))

    torch.manual_seed(7)
    ours = cutout(x)
    torch.manual_seed(7)
    top, left = torch.randint(0, height + 1, (count, 1, 1)), torch.randint(0, width + 1, (count, 1, 1))
    batch, rows, columns = torch.meshgrid(torch.arange(count), torch.arange(14), torch.arange(14), indexing="ij")
    mask = torch.ones(count, height, width)
    mask[batch, torch.clamp(rows + top - 7, 0, height - 1), torch.clamp(columns + left - 7, 0, width - 1)] = 0
    assert torch.equal(ours, x * mask.unsqueeze(1))


@pytest.mark.slow
def test_bench_quality_quick_prints_the_issues_table_with_the_evaluator_on_every_measured_row(mnist_root):
    """``benchmarks/bench_quality.py --quick`` (a smoke run: 2 steps a run, 200 samples)."""
    import subprocess
    import sys
    from pathlib import Path

    from ganforge.evaluation.evaluator import SHIPPED

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_quality.py"
    done = subprocess.run(
        [sys.executable, str(script), "--quick", "--rows", "quickstart,evaluator", "--data-root", str(mnist_root.parent)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    evaluator = f"evaluator ganforge-cnn/2:mnist@{SHIPPED['mnist'][:12]}"
    rows = [line for line in lines if line.startswith("   vanilla, MNIST test split") and "not measured" not in line]  # the table's
    per_seed = [line for line in lines if line.startswith("vanilla, MNIST test split") and ": seed 0 FID" in line]  # as each seed ends
    assert len(rows) == 2 and len(per_seed) == 2 and all(evaluator in line for line in rows + per_seed)
    assert f"hashes {SHIPPED['mnist'][:12]}, {SHIPPED['mnist'][:12]} (threads 1, 2)" in done.stdout
    assert "today: smallest class 0.0-0.01%, recall 0.0 (collapsed)" in done.stdout
    assert "PacDCGAN2 1,000 modes, KL 0.06" in done.stdout and "R3GAN (Huang et al. 2024)" in done.stdout


def test_another_generator_or_discriminator_drops_the_variants_settings_for_its_default_one():
    """vanilla's defaults set the mlp networks' widths (the paper's); choosing another network must not carry them."""
    config = ganforge.configure("vanilla", "ring8", {"generator.name": "dcgan", "discriminator.name": "dcgan", "data.name": "mnist"})
    assert config.generator.name == "dcgan" and "hidden" not in config.generator.params
    assert ganforge.configure("vanilla", "ring8", {"generator.hidden": 1200}).generator.params["hidden"] == 1200


def test_the_papers_networks_are_a_settings_file_and_vanilla_keeps_networks_that_learn_the_2d_mixtures():
    """Goodfellow et al.'s MNIST networks fail on ring8 in a short run, so vanilla's defaults stay the MLPs that learn
    both, and the paper's networks are one documented file away."""
    import json

    from typer.testing import CliRunner

    from ganforge.cli import app

    default = ganforge.configure("vanilla", "ring8")
    assert default.generator.params.get("hidden", 256) == 256 and default.discriminator.params.get("maxout", 1) == 1
    shown = CliRunner().invoke(app, ["config", "--config", "examples/configs/goodfellow-mnist.toml", "--json"])
    assert shown.exit_code == 0, shown.output
    values = {row["key"]: row["value"] for row in json.loads(shown.stdout)["settings"]}
    assert values["generator.hidden"] == 1200 and values["generator.depth"] == 2 and values["generator.slope"] == 0.0
    assert values["discriminator.maxout"] == 5 and values["discriminator.dropout"] == 0.5


def test_stackgan_averages_each_stage_from_when_it_starts_training_and_stage_one_hands_over_its_average(tmp_path):
    """An average of the refiner over the whole run was mostly its untrained initial weights well into stage II
    (a 44-epoch captioned-MNIST run sampled blank squares): each stage's ramp-up now counts from its own start."""
    from ganforge import testing

    from variant_helpers import STACKGAN_TINY

    data = testing.tiny_data((1, 16, 16), count=16, num_classes=4)
    variant = ganforge.api.build_variant(ganforge.configure("stackgan", None, STACKGAN_TINY), data.spec, torch.device("cpu"))
    average = GeneratorAverage(variant, decay=0.999, rampup=0.05)
    stage_one, refiner = variant.networks["generator"], variant.networks["refiner"]
    variant.position = 0.0  # stage I: 200 steps of the stage I generator
    for _ in range(200):
        average.settle()
        with torch.no_grad():
            stage_one.project[0].weight.add_(0.01)
        average.update()
    assert not torch.equal(stage_one.project[0].weight, average.average["generator"]["project.0.weight"])  # it lags
    variant.position = 0.9  # stage II: stage I hands over its average, and the refiner's starts from its weights
    average.settle()
    assert all(torch.equal(value, average.average["generator"][key]) for key, value in stage_one.state_dict().items())
    with torch.no_grad():
        for parameter in refiner.parameters():
            parameter.add_(1.0)
    average.update()
    trained = [key for key in average.average["refiner"] if key.endswith("weight")]
    assert trained and all(torch.allclose(average.average["refiner"][key], refiner.state_dict()[key], atol=1e-4) for key in trained)


def test_a_stackgan_run_samples_stage_two_from_the_stage_one_it_was_trained_on(tmp_path):
    from ganforge import testing

    from variant_helpers import STACKGAN_TINY, tiny_run

    data = testing.tiny_data((1, 16, 16), count=16, num_classes=4)
    result = tiny_run("stackgan", data, {**STACKGAN_TINY, "train.batch_size": 4, "train.epochs": 2}, tmp_path / "run")
    tensors = read_checkpoint(result.run_dir.checkpoints()[-1]).tensors
    live, average = unprefixed("network.generator", tensors), unprefixed("ema.generator", tensors)
    assert live and all(torch.equal(value, average[key]) for key, value in live.items())


def test_bench_quality_prints_one_table_of_the_seeds_that_separate_processes_measured(tmp_path):
    """``--seed S --save FILE`` in each process, then ``--load`` of every file: one row, each seed once."""
    import importlib.util
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_quality.py"
    spec = importlib.util.spec_from_file_location("bench_quality", script)
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_quality"] = bench  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(bench)
    finally:
        del sys.modules["bench_quality"]
    label = "vanilla, MNIST test split, its defaults"
    evaluator = {"name": "ganforge-cnn/2:mnist@0123456789ab"}
    for seed, recall in ((1, 0.2), (2, 0.3), (3, 0.4)):
        figures = {"fid": 40.0 + seed, "recall": recall, "smallest_class": 0.06, "seed": seed, "train_s": 100.0}
        saved = {"quickstart": {label: bench.summary([figures], 2340, evaluator)}}
        (tmp_path / f"s{seed}.json").write_text(json.dumps(saved))
    files = [arg for seed in (1, 2, 3, 2) for arg in ("--load", str(tmp_path / f"s{seed}.json"))]  # seed 2 twice: counted once
    done = subprocess.run([sys.executable, str(script), *files], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(line for line in done.stdout.splitlines() if line.strip().startswith(label + ":"))
    assert "FID 42," in line and "R 0.3," in line and "(3 seed(s), 2,340 steps" in line and evaluator["name"] in line
    assert "target NOT met" in done.stdout.split("## `ganforge run vanilla")[1].split("##")[0]  # recall 0.2 < 0.3 for seed 1


def test_data_fraction_keeps_each_examples_captions():
    from ganforge.data import Captions, DataSpec, TensorData

    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 1, 2, 2).contiguous()
    texts = [f"image {i} caption {j}" for i in range(10) for j in range(1 + i % 2)]
    offsets = torch.tensor([0, *torch.tensor([1 + i % 2 for i in range(10)]).cumsum(0).tolist()])
    levels = torch.arange(len(texts), dtype=torch.float32)
    data = TensorData(images, DataSpec((1, 2, 2), 2, captioned=True), torch.arange(10) % 2, captions=Captions(texts, offsets, {"size": levels}))
    part = data.fraction(0.5, seed=3)
    assert len(part) == 5 and part.spec.captioned
    for row in range(5):
        example = int(part.data[row, 0, 0, 0])
        assert part.captions.of(row) == data.captions.of(example) and int(part.labels[row]) == example % 2
        first, last = int(part.captions.offsets[row]), int(part.captions.offsets[row + 1])
        assert [float(level) for level in part.captions.attributes["size"][first:last]] == [texts.index(t) for t in data.captions.of(example)]


def test_data_fraction_on_captioned_data_trains(tmp_path, fashion_root):
    tiny_stackgan = {"generator.width": 4, "generator.condition_dim": 4, "refiner.width": 4, "refiner.condition_dim": 4,
                     "refiner.residual_blocks": 1, "discriminator.width": 4, "discriminator.compressed_dim": 4,
                     "noise.dim": 8, "train.batch_size": 16, "train.sample_count": 10}  # fmt: skip
    settings = {**tiny_stackgan, "data.root": str(fashion_root), "data.split": "test", "data.fraction": 0.05, "train.max_steps": 2}
    config = ganforge.configure("stackgan", "captioned-fashion-mnist", settings)
    part = ganforge.api.training_data(config)
    assert len(part) == 500 and part.captions is not None and len(part.captions) == 500
    result = ganforge.train("stackgan", "captioned-fashion-mnist", settings=settings, out=tmp_path / "run")
    assert result.steps == 2


# -- ADA's overfitting signal, loss by loss ------------------------------------------------------------------------

BALANCE = {"bce": 0.0, "hinge": 0.0, "lsgan": 0.5}  # D's output on real data when it tells nothing apart
OVERFIT = {"bce": 3.0, "hinge": 2.0, "lsgan": 1.0}  # D sure the reals are real
REFUSED = ("ragan", "rpgan", "wgan-gp")  # D's offset is free: its outputs on reals alone say nothing


def _loss(name: str):
    from ganforge.loss import complete
    from ganforge.registry import get_registry

    return complete(get_registry().load("loss", name)())


def _adjustments(name: str, logit: float, count: int) -> float:
    config = AugmentConfig(policy="translation", adaptive=True, target=0.6, interval=1, speed=160)
    d = ConstantD()
    d.logit = logit
    pipe = Augmentation(config, [d], DataSpec((1, 16, 16)), images_per_step=16, device=torch.device("cpu"), loss=_loss(name), loss_name=name)
    p = 0.0
    for step in range(1, count + 1):
        pipe.step_begins(Batch(IMAGES, None))
        d(IMAGES)
        p = float(pipe.step_ended(step)["augment_p"])
    return p


def test_every_registered_loss_is_covered_by_the_ada_tests():
    from ganforge.registry import get_registry

    ours = {c.name for c in get_registry().components("loss") if c.plugin == "ganforge"}
    assert ours and ours == set(BALANCE) | set(REFUSED)  # a third party's loss without a sign of its own gets bce's


@pytest.mark.parametrize("name", sorted(BALANCE))
def test_ada_leaves_p_at_zero_for_a_discriminator_at_balance_and_raises_it_for_one_that_overfits(name):
    """A D that has learned nothing (each loss's own balance: 0 for logits, 0.5 for lsgan) is no sign of
    overfitting: after 100 adjustments p is still 0. A D sure of the reals drives p up."""
    assert _adjustments(name, BALANCE[name], 100) == 0.0
    assert _adjustments(name, OVERFIT[name], 100) == pytest.approx(1.0)


@pytest.mark.parametrize("name", REFUSED)
def test_ada_with_a_loss_that_gives_no_overfitting_signal_is_one_clear_line(name, tmp_path):
    from ganforge.errors import GanforgeError

    with pytest.raises(GanforgeError, match=f"augment.adaptive .* loss '{name}'"):
        _adjustments(name, 0.0, 1)
    root = labelled_folder(tmp_path / "images", per_class=16)  # wgan-gp's 5 D steps take 20 images a step
    result = invoke("run", "vanilla", "--data", "image-folder", "--data-root", root, "--out", tmp_path / "run", "--max-steps", 1,
                    *[f"--set={k}={v}" for k, v in {**TINY, "train.batch_size": 4, "loss.name": name, "augment.policy": "translation", "augment.adaptive": True}.items()])  # fmt: skip
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.output
    assert f"loss '{name}'" in result.stderr and not (tmp_path / "run").exists()

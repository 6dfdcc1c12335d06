"""The feature matrix: every registered variant against every service the core promises (issue 14).

Parametrized over the registry (built-in variants, installed plugins' and the test-only third-party ``twin`` of
tests/plugin_packages/gf_twin, which has two generators), so a variant meets every promise the moment it is
installed. Each cell is a few steps on tiny data, with tiny networks:

=================  ===============================================================================================
train              every network that an optimizer updates changes (``ganforge.testing.check_variant``)
ema                ``ema.decay``: every network in ``Variant.generators`` is averaged; loading and sampling use it
evaluate           ``ganforge eval -n 37`` scores exactly 37 samples, all different
best               ``--eval-every``: ``best.safetensors`` is the state of the best evaluation
resume             checkpoints after step 3 lost, as after a kill; resumed, the run ends bit for bit as one never cut
extend             a finished run extended with ``--epochs`` follows the documented schedule; stages never go back
precision          bf16 autocast, and fp16 with its loss scalers, train on the CPU with finite metrics
sample             ``ganforge sample`` (``--input-dir`` translation for image-to-image variants) from the checkpoint
tools              ``interpolate`` (a walk per class row), ``sample --truncation`` and ``export`` (TorchScript, and
                   ONNX where onnxruntime is installed) through the variant's own sampling path, EMA weights
sigkill (slow)     a real SIGKILL mid-run, then ``ganforge resume``: bit for bit as an uninterrupted run
compile (slow)     ``--compile`` learns what eager learns
gloo (slow)        two data-parallel gloo processes hold identical weights
=================  ===============================================================================================

A variant that cannot offer a service must refuse it with a clear error; the matrix checks that error instead
(image-to-image variants on unlabelled domains: evaluation asks for ``--evaluator inception``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import ganforge
from ganforge import api, registry as registry_module, testing
from ganforge.checkpoint import read_checkpoint
from ganforge.config import factory_options
from ganforge.device import Precision
from ganforge.errors import GanforgeError
from ganforge.evaluation import evaluator as evaluator_module
from ganforge.evaluation import judges
from ganforge.registry import build_registry

from plugin_packages import install
from variant_helpers import labelled_folder, unpaired_folder

TWIN = EntryPoint("twin", "plugin_packages.gf_twin.plugin", registry_module.ENTRY_POINT_GROUP)
REGISTRY = build_registry([*entry_points(group=registry_module.ENTRY_POINT_GROUP), TWIN])
VARIANTS = [pytest.param(component.qualified_name, id=component.name) for component in REGISTRY.components("variant")]
assert len({param.id for param in VARIANTS}) == len(VARIANTS) >= 7  # the six built-in variants and twin, by name

# Tiny settings per component, applied where the chosen component has the setting.
TINY_COMPONENTS = {
    "width": 4, "hidden": 16, "depth": 2, "blocks": 1, "layers": 2, "condition_dim": 4, "residual_blocks": 1,
    "compressed_dim": 4, "embed_dim": 4,
}  # fmt: skip
RUN = {"train.batch_size": 4, "train.log_every": 1, "train.sample_count": 4, "train.device": "cpu", "train.keep_checkpoints": 50}


@pytest.fixture(autouse=True)
def matrix_registry(monkeypatch):
    """Every installed plugin and gf-twin, for the library calls (train, resume, load, evaluate) alike."""
    monkeypatch.setattr(registry_module, "_registry", REGISTRY)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("matrix-data")
    labelled_folder(root / "labelled", classes=2, per_class=8, size=16)
    unpaired_folder(root / "unpaired", count=16, size=16)
    return root


def tiny(variant: str, data_root: Path, **settings) -> tuple[str, dict]:
    """The dataset and settings of a tiny run of ``variant``: 2-D points where its recipe is made for them,
    unpaired image folders for image-to-image variants, else a labelled image folder; 16 examples, 4 steps an epoch."""
    variant_cls = REGISTRY.get("variant", variant).load()
    default = REGISTRY.get("dataset", variant_cls.defaults.get("data.name", "mnist"))
    options = factory_options(default.load())
    if variant_cls.domains == 2:
        data, base = "unpaired-folders", {"data.root": str(data_root / "unpaired"), "data.size": 16, "data.channels": "grey"}
    elif "size" in options and "root" not in options:
        data, base = default.name, {"data.size": 16}  # generated points (ring8, grid25)
    else:
        data, base = "image-folder", {"data.root": str(data_root / "labelled")}
    config = ganforge.configure(variant, data, base, REGISTRY)
    for section, choice in config.sections.items():
        if section == "data" or not hasattr(choice, "params"):
            continue
        for key, value in TINY_COMPONENTS.items():
            if key in choice.params and choice.params[key] is not None:
                base[f"{section}.{key}"] = value
    if "noise" in config.sections:
        base["noise.dim"] = 8
    return data, {**base, **RUN, **settings}


def train(variant: str, data_root: Path, out: Path, **settings):
    data, values = tiny(variant, data_root, **settings)
    return ganforge.train(variant, data, settings=values, out=out, registry=REGISTRY)


def tensors(checkpoint: Path) -> dict[str, torch.Tensor]:
    return {name: t for name, t in load_file(checkpoint).items() if name != "metrics.sums"}


def assert_same_tensors(ours: dict, theirs: dict) -> None:
    networks = {name for name in ours if name.startswith("network.")}
    assert networks, "no network tensors to compare"
    assert ours.keys() == theirs.keys()
    assert [name for name in ours if not torch.equal(ours[name], theirs[name])] == []


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def two_domain(variant: str) -> bool:
    return REGISTRY.get("variant", variant).load().domains == 2


@pytest.mark.parametrize("variant", VARIANTS)
def test_train(variant, data_root):
    data, values = tiny(variant, data_root)
    dataset = REGISTRY.get("dataset", data).build({key[5:]: value for key, value in values.items() if key.startswith("data.") and key != "data.name"})
    settings = {key: value for key, value in values.items() if not key.startswith("data.")}
    metrics = testing.check_variant(variant, data=dataset, settings=settings, registry=REGISTRY, steps=2)
    assert metrics["step"] == 2


@pytest.mark.parametrize("variant", VARIANTS)
def test_ema(variant, data_root, tmp_path):
    result = train(variant, data_root, tmp_path / "run", **{"train.epochs": 1, "ema.decay": 0.5})  # a staged variant reaches each stage
    saved = read_checkpoint(result.checkpoint).tensors
    averaged = ganforge.load(result.checkpoint, device="cpu")
    live = ganforge.load(result.checkpoint, device="cpu", ema=False)
    assert averaged.generators
    live.position = 1.0 - 1e-9  # the last step's: a network that had stopped training took its average as its weights
    for network in averaged.generators:
        keys = [key for key in saved if key.startswith(f"ema.{network}.")]
        assert keys, f"{variant}: no averaged weights of '{network}'"
        state = averaged.networks[network].state_dict()
        assert all(torch.equal(state[key.removeprefix(f"ema.{network}.")], saved[key]) for key in keys), network
        moved = [key for key in live.networks[network].state_dict() if key.endswith("weight")]
        differs = [not torch.equal(live.networks[network].state_dict()[key], state[key]) for key in moved]
        if network in live.training_generators:
            assert moved and any(differs), network  # the average lags the live weights
        else:
            assert moved and not any(differs), network  # stackgan's stage I in stage II: its average is its weights
    averaged_keys = {key.split(".")[1] for key in saved if key.startswith("ema.")}
    assert averaged_keys == set(averaged.generators)


@pytest.fixture
def quick_evaluator(monkeypatch):
    monkeypatch.setattr(evaluator_module, "TRAIN_STEPS", 4)
    monkeypatch.setattr(judges, "IMAGE_SAMPLES", 32)


@pytest.mark.parametrize("variant", VARIANTS)
def test_evaluate(variant, data_root, tmp_path, quick_evaluator):
    result = train(variant, data_root, tmp_path / "run", **{"train.max_steps": 2})
    if two_domain(variant):
        with pytest.raises(GanforgeError, match="no labelled dataset for its domain B.*--evaluator inception"):
            ganforge.evaluate(result.run_dir.path, count=37, device="cpu")
        return
    report = ganforge.evaluate(result.run_dir.path, count=37, device="cpu")
    assert report.samples == 37
    model = ganforge.load(result.checkpoint, device="cpu")
    samples = judges.generate(model, 37, api.load_dataset(model.config, REGISTRY), seed=0)
    assert len(samples) == 37 and len(torch.unique(samples.flatten(1), dim=0)) == 37  # independent draws


@pytest.mark.parametrize("variant", VARIANTS)
def test_best(variant, data_root, tmp_path, quick_evaluator):
    settings = {"train.epochs": 2, "eval.every": 2, "eval.samples": 16}
    if two_domain(variant):
        with pytest.raises(GanforgeError, match="--evaluator inception"):
            train(variant, data_root, tmp_path / "run", **settings)
        return
    result = train(variant, data_root, tmp_path / "run", **settings)
    evaluations = [record for record in records(result.run_dir.path) if record.get("eval")]
    assert [record["step"] for record in evaluations] == [2, 4, 6, 8]
    best = [record for record in evaluations if record["best"]][-1]
    meta = read_checkpoint(result.run_dir.checkpoints_dir / "best.safetensors").meta
    assert meta["progress"]["step"] == best["step"]


def kept_until(run: Path, step: int) -> None:
    """What a kill right after step ``step``'s checkpoint leaves: no later checkpoint (the log and samples stay)."""
    for path in (run / "checkpoints").glob("step_*.safetensors"):
        if int(path.stem.split("_")[1]) > step:
            path.unlink()


@pytest.mark.parametrize("variant", VARIANTS)
def test_resume(variant, data_root, tmp_path):
    settings = {"train.epochs": 2, "train.checkpoint_every": 3, "train.seed": 5}
    whole = train(variant, data_root, tmp_path / "whole", **settings)
    shutil.copytree(tmp_path / "whole", tmp_path / "cut")
    kept_until(tmp_path / "cut", 3)
    resumed = ganforge.resume(tmp_path / "cut", registry=REGISTRY)
    assert resumed.steps == whole.steps == 8
    assert_same_tensors(tensors(resumed.checkpoint), tensors(whole.checkpoint))
    assert [r["step"] for r in records(tmp_path / "cut")] == [r["step"] for r in records(tmp_path / "whole")]


@pytest.mark.parametrize("variant", VARIANTS)
def test_extend(variant, data_root, tmp_path):
    """The documented schedule (docs/reliability.md): 2 epochs (8 steps) at rates falling linearly from the start
    to 20%, extended to 4 epochs (16 steps): step s of the first run at position s/8; after the extension,
    linearly from step 7's position 7/8 to 1 at step 16. Stages only go forward."""
    settings = {"train.epochs": 2, "schedule.hold": 0.0, "schedule.final": 0.2, "schedule.d_final": None, "schedule.shape": "linear"}
    result = train(variant, data_root, tmp_path / "run", **settings)
    ganforge.resume(result.run_dir.path, settings={"train.epochs": 4}, registry=REGISTRY)
    logged = [record for record in records(result.run_dir.path) if not record.get("eval")]
    assert [record["step"] for record in logged] == list(range(1, 17))

    def position(done: int) -> float:
        return done / 8 if done < 8 else 7 / 8 + (1 / 8) * (done - 7) / (16 - 7)

    initial = logged[0]["lr"]
    assert initial
    for record in logged:
        expected = 1 - 0.8 * position(record["step"] - 1)
        for optimizer, rate in record["lr"].items():
            assert rate == pytest.approx(initial[optimizer] * expected), (optimizer, record["step"])
    stages = [record["stage"] for record in logged if "stage" in record]
    assert stages == sorted(stages)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_precision(variant, dtype, data_root):
    data, values = tiny(variant, data_root)
    config = ganforge.configure(variant, data, values, REGISTRY)
    dataset = api.load_dataset(config, REGISTRY)
    model = api.prepare_training(config, dataset.spec, torch.device("cpu"), registry=REGISTRY)
    precision = Precision(torch.device("cpu"), dtype)
    per_step = config.train.batch_size * model.batches_per_step
    for step in range(2):
        model.position = step / 2  # a staged variant trains each of its stages
        metrics = model.train_step(dataset.batch(torch.arange(per_step)), precision)
        assert metrics and all(torch.isfinite(value).all() for value in metrics.values()), metrics
    if dtype is torch.float16:  # each optimizer that stepped has its own loss scaler
        assert precision.scalers and set(precision.scalers) <= {id(optimizer) for optimizer in model.optimizers.values()}


@pytest.mark.parametrize("variant", VARIANTS)
def test_statistics(variant, data_root):
    """Every declared discriminator's running statistics (BatchNorm) move in D's own passes only: never in a call
    whose inputs carry gradients (G's step through a frozen D, the R1 penalty's input gradient)."""
    data, values = tiny(variant, data_root, **{"loss.r1_gamma": 0.1})
    config = ganforge.configure(variant, data, values, REGISTRY)
    dataset = api.load_dataset(config, REGISTRY)
    model = api.prepare_training(config, dataset.spec, torch.device("cpu"), registry=REGISTRY)
    counters = {id(d): [m.num_batches_tracked for m in d.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)] for d in model.discriminator_networks()}
    if not any(counters.values()):
        pytest.skip(f"{variant}'s discriminators keep no running statistics")
    calls: list[tuple[bool, bool]] = []  # (inputs carry gradients, the statistics moved)
    before: list[list[int]] = []
    hooks = []
    for network in model.discriminator_networks():
        hooks.append(network.register_forward_pre_hook(lambda module, args: before.append([int(c) for c in counters[id(module)]])))
        hooks.append(network.register_forward_hook(lambda module, args, output: calls.append((
            any(isinstance(a, torch.Tensor) and a.requires_grad for a in args), before.pop() != [int(c) for c in counters[id(module)]]
        ))))  # fmt: skip
    per_step = config.train.batch_size * model.batches_per_step
    for step in range(2):
        model.position = step / 2  # a staged variant trains each of its stages
        model.train_step(dataset.batch(torch.arange(per_step)), Precision(torch.device("cpu")))
    for hook in hooks:
        hook.remove()
    with_gradients = [moved for graded, moved in calls if graded]
    in_d_steps = [moved for graded, moved in calls if not graded]
    assert with_gradients and not any(with_gradients)
    assert in_d_steps and any(in_d_steps)


@pytest.mark.parametrize("variant", VARIANTS)
def test_sample(variant, data_root, tmp_path):
    result = train(variant, data_root, tmp_path / "run", **{"train.max_steps": 2, "ema.decay": 0.9})
    model = ganforge.load(result.checkpoint, device="cpu")
    if two_domain(variant):
        written = ganforge.translate(result.run_dir.path, data_root / "unpaired" / "testA", tmp_path / "translated", device="cpu")
        assert len(written) == 16 and all(path.stat().st_size > 0 for path in written)
        return
    samples = ganforge.sample(result.run_dir.path, count=5, device="cpu")
    assert len(samples.values) >= 5 and torch.isfinite(samples.values).all()
    assert samples.values.shape[1] == model.spec.shape[0]
    assert samples.save(tmp_path / "grid.png").stat().st_size > 0


@pytest.mark.parametrize("variant", VARIANTS)
def test_tools(variant, data_root, tmp_path):
    result = train(variant, data_root, tmp_path / "run", **{"train.max_steps": 2, "ema.decay": 0.9})
    run, model = result.run_dir.path, ganforge.load(result.checkpoint, device="cpu")
    formats = ["torchscript"] + (["onnx"] if all(importlib.util.find_spec(p) for p in ("onnx", "onnxruntime")) else [])
    if model.prior is None:  # no latent space: walks and truncation are refused in one line naming why
        for refused in (lambda: api.interpolate(run, tmp_path / "w.gif", device="cpu"), lambda: api.sample(run, 4, "cpu", truncation=0.5)):
            with pytest.raises(GanforgeError, match="translates images and draws no noise|does not declare the noise"):
                refused()
        for format in formats:
            if model.translates:  # the generator A -> B, images in
                exported = api.export(run, format, tmp_path / f"g.{format}")
                assert list(exported.inputs) == ["images"] and exported.difference <= 1e-4
            else:
                with pytest.raises(GanforgeError, match="does not declare the noise"):
                    api.export(run, format, tmp_path / f"g.{format}")
        return
    rows = model.spec.num_classes if model.conditional else 1
    _, walk = api.interpolate(run, tmp_path / "walk.gif", frames=2, points=2, count=3, device="cpu")
    assert len(walk.frames) == 4 and all(len(frame) == 3 * rows for frame in walk.frames)
    assert not torch.equal(walk.frames[0], walk.frames[1])
    if model.conditional:  # one row per class, the same walks in each: rows differ by the label alone
        assert walk.columns == 3 and not torch.equal(walk.frames[0][:3], walk.frames[0][3:6])
        _, one = api.interpolate(run, tmp_path / "one.gif", frames=2, points=2, count=3, label=1, device="cpu")
        assert all(len(frame) == 3 for frame in one.frames)
    plain = api.sample(run, 6, "cpu", seed=1)
    cut = api.sample(run, 6, "cpu", seed=1, truncation=0.2)
    assert cut.values.shape == plain.values.shape and not torch.equal(cut.values, plain.values)
    assert torch.equal(cut.values, api.sample(run, 6, "cpu", seed=1, truncation=0.2).values)
    for format in formats:
        exported = api.export(run, format, tmp_path / f"g.{format}")
        assert list(exported.inputs) == (["z", "labels"] if model.conditional else ["z"]) and exported.difference <= 1e-4


# --- slow cells: processes of their own ---------------------------------------------------------------------------

KILLER = '''"""Kills its own process with SIGKILL right after the checkpoint of step GANFORGE_TEST_KILL_AT is written."""
import os
import signal

from ganforge import hookimpl


@hookimpl
def on_checkpoint_save(step):
    if step >= int(os.environ["GANFORGE_TEST_KILL_AT"]):
        os.kill(os.getpid(), signal.SIGKILL)
'''


def site_with_killer(root: Path) -> Path:
    site = install(root, "gf-twin")
    (site / "gf_killer.py").write_text(KILLER)
    info = site / "gf_killer-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gf-killer\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ganforge]\nkiller = gf_killer\n")
    return site


def child_env(site: Path, **extra: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GANFORGE_")}
    environment.update(PYTHONPATH=os.pathsep.join([str(site), *sys.path]), OMP_NUM_THREADS="1", **extra)
    return environment


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_sigkill(variant, data_root, tmp_path):
    settings = {"train.epochs": 2, "train.checkpoint_every": 3, "train.seed": 7}
    data, values = tiny(variant, data_root, **settings)
    whole = ganforge.train(variant, data, settings=values, out=tmp_path / "whole", registry=REGISTRY)
    site = site_with_killer(tmp_path / "site")
    name = variant.rpartition(":")[2]
    sets = [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]
    command = [sys.executable, "-m", "ganforge", "run", name, "--data", data, *sets, "--out", str(tmp_path / "cut")]
    killed = subprocess.run(command, capture_output=True, text=True, timeout=240, env=child_env(site, GANFORGE_TEST_KILL_AT="3"))
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert [path.name for path in sorted((tmp_path / "cut" / "checkpoints").glob("step_*"))] == ["step_00000003.safetensors"]
    resumed = subprocess.run(
        [sys.executable, "-m", "ganforge", "resume", str(tmp_path / "cut")],
        capture_output=True, text=True, timeout=240, env=child_env(site, GANFORGE_TEST_KILL_AT="1000000"),
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert_same_tensors(tensors(tmp_path / "cut" / "checkpoints" / "step_00000008.safetensors"), tensors(whole.checkpoint))


# D's outputs on real images alone carry no overfitting signal where its offset is free (relativistic losses, a critic)
NO_ADA_SIGNAL = {"rpgan", "ragan", "wgan-gp"}


def loss_of(variant: str) -> tuple[str, dict]:
    config = ganforge.configure(variant, registry=REGISTRY)
    return config.loss.name, config.loss.params


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_compile(variant, data_root, tmp_path):
    import torch._inductor.config

    name, params = loss_of(variant)
    if name == "wgan-gp" or params.get("r1_gamma") or params.get("r2_gamma"):  # penalties on D's gradient
        with pytest.raises(GanforgeError, match="torch.compile does not support double backward; pass --set train.compile=off"):
            train(variant, data_root, tmp_path / "compiled", **{"train.max_steps": 2, "train.compile": "default"})
        return
    eager = train(variant, data_root, tmp_path / "eager", **{"train.max_steps": 2})
    with torch._inductor.config.patch(fallback_random=True):  # inductor's own random draws differ from eager's
        compiled = train(variant, data_root, tmp_path / "compiled", **{"train.max_steps": 2, "train.compile": "default"})
    ours, theirs = tensors(compiled.checkpoint), tensors(eager.checkpoint)
    assert ours.keys() == theirs.keys() and not any("_orig_mod" in name for name in ours)
    # A bias that feeds a normalisation layer has no gradient in exact arithmetic, and Adam turns its rounding noise
    # into full-size steps in either direction: biases are compared through what the networks compute instead.
    weights = [name for name in theirs if name.startswith("network.") and not name.endswith(".bias")]
    assert weights
    # cyclegan's networks for small images put instance norm over maps of a few pixels, where the odd weight element
    # has a gradient all but zero and Adam steps it a full lr either way on rounding noise alone: there, at most 0.5%
    # of a weight's elements may differ, each by at most the two steps' 2 lr, and its outputs agree to 5e-3
    noisy = variant == "ganforge:cyclegan"
    rates = [group["lr"] for state in read_checkpoint(eager.checkpoint).meta["optimizers"].values() for group in state["param_groups"]]
    for name in weights:
        if not noisy:
            torch.testing.assert_close(ours[name], theirs[name], atol=1e-4, rtol=1e-3, msg=name)
            continue
        apart = (ours[name] - theirs[name]).abs() > 1e-4 + 1e-3 * theirs[name].abs()
        assert apart.float().mean() < 0.005, (name, int(apart.sum()), ours[name].numel())
        assert ((ours[name] - theirs[name]).abs()[apart] <= 4 * max(rates) * 1.01).all(), name
    models = [ganforge.load(run.checkpoint, device="cpu", ema=False) for run in (eager, compiled)]
    data = api.load_dataset(models[0].config, REGISTRY)
    outputs = [judges.generate(model, 8, judges.held_out(data, models[0].config.data.name, models[0].config.data.params, REGISTRY)) for model in models]
    torch.testing.assert_close(outputs[1], outputs[0], atol=5e-3 if noisy else 1e-3, rtol=1e-3)


GLOO_WORKER = r"""
import hashlib, json, os, sys
sys.path[:0] = json.loads(sys.argv[4])
import ganforge
from ganforge import registry as registry_module
from importlib.metadata import EntryPoint, entry_points
registry_module._registry = registry_module.build_registry(
    [*entry_points(group=registry_module.ENTRY_POINT_GROUP), EntryPoint("twin", "plugin_packages.gf_twin.plugin", registry_module.ENTRY_POINT_GROUP)]
)
from ganforge.trainer import Trainer

trained = {}
fit = Trainer.fit


def keep_variant(self):
    result = fit(self)
    trained["variant"] = self.variant
    return result


Trainer.fit = keep_variant
variant, data, settings, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[5]
result = ganforge.train(variant, data, settings=settings, out=out)
digest = hashlib.sha256()
for name, network in sorted(trained["variant"].networks.items()):  # this process's own weights, not rank 0's file
    for key, tensor in network.state_dict().items():
        digest.update(f"{name}.{key}".encode() + tensor.detach().cpu().numpy().tobytes())
with open(os.path.join(out + "-report", f"rank{os.environ['RANK']}.json"), "w") as file:
    json.dump({"digest": digest.hexdigest(), "steps": result.steps}, file)
"""


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_gloo(variant, data_root, tmp_path):
    """Each process digests its own networks after the run (rank 0 alone writes checkpoints, so those prove nothing)."""
    data, values = tiny(variant, data_root, **{"train.epochs": 1})
    worker = tmp_path / "worker.py"
    worker.write_text(GLOO_WORKER)
    (tmp_path / "run-report").mkdir()
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    tests = str(Path(__file__).parent)
    done = subprocess.run(
        [*launcher, str(worker), variant, data, json.dumps(values), json.dumps([tests]), str(tmp_path / "run")],
        capture_output=True, text=True, timeout=240, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    reports = [json.loads((tmp_path / "run-report" / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert reports[0]["steps"] == reports[1]["steps"] > 0
    assert reports[0]["digest"] == reports[1]["digest"]


@pytest.mark.parametrize("loss", ["ragan", "rpgan"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_relativistic_losses(variant, loss, data_root):
    """A loss that needs D's real logits in G's step (R3GAN's objective, RpGAN + R1 + R2, included) trains with every
    variant."""
    data, values = tiny(variant, data_root, **{"loss.name": loss, "loss.r1_gamma": 0.1, "loss.r2_gamma": 0.1})
    dataset = REGISTRY.get("dataset", data).build({key[5:]: value for key, value in values.items() if key.startswith("data.") and key != "data.name"})
    settings = {key: value for key, value in values.items() if not key.startswith("data.")}
    metrics = testing.check_variant(variant, data=dataset, settings=settings, registry=REGISTRY, steps=2)
    assert metrics["step"] == 2 and metrics["penalty"] > 0  # R1 and R2 asked for: every variant applies and logs them


# --- issue 15: spectral normalisation and augmentation of D's inputs -----------------------------------------------

# A variant that trains each built-in discriminator (its own default, or one it accepts)
DISCRIMINATOR_HOSTS = {
    "mlp": "vanilla", "dcgan": "dcgan", "conditional-mlp": "cgan", "conditional-dcgan": "cgan", "patchgan": "cyclegan",
    "stackgan": "stackgan",
}  # fmt: skip


def default_host(discriminator: str) -> str | None:
    """A variant whose defaults choose ``discriminator`` for one of its discriminator sections (a plugin's own)."""
    for component in REGISTRY.components("variant"):
        variant_cls = component.load()
        sections = [section for section, kind in variant_cls.components.items() if kind == "discriminator"]
        if any(variant_cls.defaults.get(f"{section}.name") == discriminator for section in sections):
            return component.qualified_name
    return None


HOSTS = {component.name: DISCRIMINATOR_HOSTS.get(component.name) or default_host(component.name) for component in REGISTRY.components("discriminator")}
DISCRIMINATORS = [pytest.param(name, id=name) for name in HOSTS]
assert DISCRIMINATORS and all(HOSTS.values()), HOSTS  # a discriminator no variant chooses by default needs a host here


def largest_singular_value(weight: torch.Tensor) -> float:
    """Of the weight as spectral normalisation sees it: (out, everything else); an embedding's as it is."""
    return float(torch.linalg.matrix_norm(weight.detach().flatten(1), ord=2))


@pytest.mark.parametrize("discriminator", DISCRIMINATORS)
def test_spectral_norm(discriminator, data_root, tmp_path):
    """``discriminator.spectral_norm=true``: after training steps, every layer's weight has a largest singular value
    near 1, the networks' own and in the saved checkpoint alike."""
    variant = HOSTS[discriminator]
    data, values = tiny(variant, data_root, **{"discriminator.spectral_norm": True, "train.max_steps": 3})
    accepted = factory_options(REGISTRY.get("discriminator", discriminator).load())
    values = {key: value for key, value in values.items() if not key.startswith("discriminator.") or key[14:] in accepted}
    values["discriminator.name"] = discriminator
    result = ganforge.train(variant, data, settings=values, out=tmp_path / "run", registry=REGISTRY)
    model = ganforge.load(result.checkpoint, device="cpu")
    networks = model.discriminator_networks()
    assert networks and all(any(hasattr(layer, "parametrizations") for layer in network.modules()) for network in networks)
    normalised = [(name, layer) for network in networks for name, layer in network.named_modules() if hasattr(layer, "parametrizations")]
    assert len(normalised) >= 2
    for name, layer in normalised:
        assert 0.9 < largest_singular_value(layer.weight) < 1.1, name
        raw = layer.parametrizations.weight.original
        assert largest_singular_value(raw) > 0 and not torch.equal(raw, layer.weight)  # the division happens


@pytest.mark.parametrize("variant", VARIANTS)
def test_augment(variant, data_root, tmp_path, monkeypatch):
    """``augment.policy``: every call of every discriminator in training sees augmented images, whatever the variant
    (cutout leaves exact zeros, which neither the data's [-1, 1] levels nor tanh's outputs hit)."""
    from ganforge import trainer as trainer_module

    seen: dict[int, list[torch.Tensor]] = {}

    class Spied(trainer_module.Augmentation):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen.update({id(d): [] for d in args[1]})
            self.handles += [d.register_forward_hook(lambda module, inputs, output: seen[id(module)].append(inputs[0])) for d in args[1]]

    monkeypatch.setattr(trainer_module, "Augmentation", Spied)
    from ganforge import augment as augment_module

    applied: list[int] = []  # one entry per augmentation of a minibatch
    original = augment_module.augment
    monkeypatch.setattr(augment_module, "augment", lambda x, *args, **kwargs: applied.append(len(x)) or original(x, *args, **kwargs))
    data, values = tiny(variant, data_root, **{"augment.policy": "color,translation,cutout", "train.epochs": 1})
    if data not in ("image-folder", "unpaired-folders"):  # a recipe made for points: the same on images
        data, values = "image-folder", {**values, "data.name": "image-folder", "data.root": str(data_root / "labelled")}
        values = {key: value for key, value in values.items() if key != "data.size"}
    ganforge.train(variant, data, settings=values, out=tmp_path / "run", registry=REGISTRY)
    assert seen and all(seen.values())  # every discriminator was called
    for calls in seen.values():
        for images in calls:
            assert (images.detach().flatten(1) == 0).any(1).all()
    # each call of D augments its images once: not twice, not never
    assert sorted(applied) == sorted(len(images) for calls in seen.values() for images in calls)


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_augment_adaptive_resume(variant, data_root, tmp_path):
    """``augment.adaptive``: ADA's probability is logged, saved, and a resumed run ends bit for bit as one never cut
    (and refused in one line where the variant's loss gives ADA no signal)."""
    data, values = tiny(variant, data_root)
    if data not in ("image-folder", "unpaired-folders"):
        data, values = "image-folder", {**{k: v for k, v in values.items() if k != "data.size"}, "data.root": str(data_root / "labelled")}
    settings = {**values, "augment.policy": "translation,cutout", "augment.adaptive": True, "augment.interval": 1, "augment.speed": 40}
    settings.update({"train.epochs": 2, "train.checkpoint_every": 3, "train.seed": 5})
    if loss_of(variant)[0] in NO_ADA_SIGNAL:
        with pytest.raises(GanforgeError, match="augment.adaptive reads ADA's overfitting signal"):
            ganforge.train(variant, data, settings=settings, out=tmp_path / "whole", registry=REGISTRY)
        assert not (tmp_path / "whole").exists()
        return
    whole = ganforge.train(variant, data, settings=settings, out=tmp_path / "whole", registry=REGISTRY)
    shutil.copytree(tmp_path / "whole", tmp_path / "cut")
    kept_until(tmp_path / "cut", 3)
    resumed = ganforge.resume(tmp_path / "cut", registry=REGISTRY)
    assert resumed.steps == whole.steps == 8
    assert_same_tensors(tensors(resumed.checkpoint), tensors(whole.checkpoint))
    assert "augment.p" in tensors(whole.checkpoint)
    assert all("augment_p" in record for record in records(tmp_path / "whole") if not record.get("eval"))

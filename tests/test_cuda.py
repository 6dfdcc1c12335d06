"""The CUDA path (issue 17): what the CPU tests cannot cover. Marked ``cuda`` and skipped without a GPU.

    python -m pytest -m cuda tests/test_cuda.py            # on a machine with a GPU (benchmarks/device_check.sh runs it)
    GANFORGE_TEST_DEVICE=cpu python -m pytest -m cuda tests/test_cuda.py   # rehearsal on the CPU, CUDA-only cells skipped

Every cell is tiny (a few steps of small networks on small data), so the module takes seconds on a GPU once torch
has started. The rehearsal runs the same checks on the CPU (bf16 and fp16 autocast and the loss scaler work there
too), so the tests themselves are tested where no GPU is: ``device_check.sh --cpu`` does that in CI.

Stated tolerance of the mixed-precision cells: from the same weights, data and noise, every metric a variant logs
(losses, D(x), D(G(z)), ...) at each of the first COMPARED_STEPS steps under bf16 or fp16 lies within
METRIC_ATOL + METRIC_RTOL * |fp32's value| of fp32's (0.05 + 5%); over two epochs every trained network moves and stays
finite. fp16's first updates may be skipped while its loss scaler settles (fp32 has no such skips), so under fp16 the
comparison ends at the first step whose update was skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import TINY

import ganforge
from ganforge import api, testing
from ganforge.checkpoint import read_checkpoint
from ganforge.device import Precision
from ganforge.errors import GanforgeError
from ganforge.registry import get_registry
from ganforge.rundir import RunDir
from ganforge.trainer import Trainer

DEVICE = torch.device(os.environ.get("GANFORGE_TEST_DEVICE", "cuda"))
ON_GPU = DEVICE.type == "cuda"

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(ON_GPU and not torch.cuda.is_available(), reason="needs a CUDA GPU (or GANFORGE_TEST_DEVICE=cpu to rehearse)"),
]
gpu_only = pytest.mark.skipif(not ON_GPU, reason="CUDA only: not rehearsed on the CPU")

EPOCHS = 2  # of 128 examples at batch 8: 32 steps for most variants, enough for StackGAN's stage II and fp16's warm-up
COMPARED_STEPS = 5  # a GAN's trajectory is chaotic: later steps amplify any rounding, in fp32 on another GPU too
METRIC_ATOL, METRIC_RTOL = 0.05, 0.05
SAME_LEARNING = 0.02  # compiled against eager: the same arithmetic reordered, far closer than a precision change

# Tiny networks per built-in variant; another (a third party's) trains with its defaults at batch 8.
SMALL = {
    "vanilla": {"generator.hidden": 16, "generator.depth": 2, "discriminator.hidden": 16, "discriminator.depth": 2, "noise.dim": 8},
    "pacgan": {"noise.dim": 8},
    "dcgan": {"generator.width": 4, "discriminator.width": 4, "noise.dim": 8},
    "cgan": {"generator.width": 4, "discriminator.width": 4, "noise.dim": 8},
    "cyclegan": {"generator.width": 4, "generator.blocks": 1, "discriminator.width": 4, "discriminator.layers": 2},
    "stackgan": {"generator.width": 4, "refiner.width": 4, "discriminator.width": 4, "generator.condition_dim": 4,
                 "refiner.condition_dim": 4, "discriminator.compressed_dim": 4, "noise.dim": 8, "refiner.residual_blocks": 1},
}  # fmt: skip
VARIANTS = sorted(get_registry().names("variant"))


def tiny_problem(variant: str):
    """The fixed problem: 128 16x16 images in 10 classes (two domains where the variant translates), seed 0."""
    domains = get_registry().get("variant", variant).load().domains
    return testing.tiny_data((1, 16, 16), count=128, num_classes=10, domains=domains, seed=0)


def run(variant: str, data, settings: dict, out: Path, dtype: str | None):
    """``EPOCHS`` epochs through the core's trainer on ``DEVICE``; ``dtype`` None is fp32. Returns the variant and
    its logged metrics, one dict per step."""
    precision = {"train.amp": False} if dtype is None else {"train.amp": True, "train.amp_dtype": dtype}
    settings = {"train.batch_size": 8, "train.epochs": EPOCHS, "train.log_every": 1, "train.sample_count": 4,
                "train.device": str(DEVICE), **settings, **precision}  # fmt: skip
    config = ganforge.configure(variant, None, settings)
    model = api.prepare_training(config, data.spec, DEVICE)
    run_dir = RunDir.create(out)
    run_dir.write_config(config.to_json())
    chosen = Precision.for_device(DEVICE, config.train.amp, dtype=config.train.amp_dtype)
    assert chosen.name == (dtype or "fp32")
    skipped = watch_scalers(model, chosen)
    Trainer(model, data.to(DEVICE), config, run_dir, chosen).fit()
    records = [json.loads(line) for line in run_dir.metrics_path.read_text().splitlines()]
    metrics = [{k: v for k, v in r.items() if k not in UNCOMPARED and isinstance(v, float)} for r in records if "eval" not in r]
    return model, metrics, skipped


def watch_scalers(model, precision: Precision) -> list[int]:
    """The steps at which a loss scaler skipped an update, filled in as the run goes. fp16 scalers start at 2**10
    rather than 2**16 here: the comparison needs updates, and the warm-up from 2**16 is tested on its own."""
    for optimizer in model.optimizers.values():
        if precision.dtype is torch.float16:
            precision.scalers[id(optimizer)] = torch.amp.GradScaler(DEVICE.type, init_scale=2.0**10)
    steps, skipped = [0], []
    train_step, step = model.train_step, precision.step

    def counted_train_step(batch, precision):
        steps[0] += 1
        return train_step(batch, precision)

    def watched_step(loss, optimizer):
        scaler = precision.scaler(optimizer)
        before = scaler.get_scale() if scaler is not None else None
        step(loss, optimizer)
        if scaler is not None and scaler.get_scale() < before:  # it halves exactly when it skips
            skipped.append(steps[0])

    model.train_step, precision.step = counted_train_step, watched_step
    return skipped


UNCOMPARED = {"images_per_s", "lr_g", "lr_d", "epoch", "step"}


def trained_weights(model) -> dict[str, torch.Tensor]:
    """Every parameter of a network that has an optimizer, on the CPU in fp32."""
    trained = {id(p) for optimizer in model.optimizers.values() for group in optimizer.param_groups for p in group["params"]}
    return {f"{name}.{key}": p.detach().float().cpu().clone() for name, network in model.networks.items()
            for key, p in network.named_parameters() if id(p) in trained}  # fmt: skip


def initial_weights(variant: str, data, settings: dict, dataset: str | None = None) -> dict[str, torch.Tensor]:
    config = ganforge.configure(variant, dataset, {**settings, "train.device": "cpu"})
    return trained_weights(api.prepare_training(config, data.spec, torch.device("cpu")))


def deviation(got: dict, expected: dict, start: dict) -> dict[str, float]:
    """Per network: |got - expected| / |expected - start| over its trained parameters."""
    networks = sorted({key.split(".")[0] for key in expected})
    out = {}
    for network in networks:
        keys = [key for key in expected if key.split(".")[0] == network]
        moved = torch.cat([(expected[k] - start[k]).flatten() for k in keys]).norm()
        apart = torch.cat([(got[k] - expected[k]).flatten() for k in keys]).norm()
        out[network] = float(apart / moved.clamp(min=1e-12))
    return out


@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_trains_under_mixed_precision_as_under_fp32(tmp_path, variant, dtype):
    data = tiny_problem(variant)
    settings = SMALL.get(variant, {})
    start = initial_weights(variant, data, settings)
    _, expected, _ = run(variant, data, settings, tmp_path / "fp32", None)
    model, got, skipped = run(variant, data, settings, tmp_path / dtype, dtype)
    weights = trained_weights(model)
    assert all(torch.isfinite(t).all() for t in weights.values())
    moved = [key.split(".")[0] for key in weights if not torch.equal(weights[key], start[key])]
    assert set(moved) == {key.split(".")[0] for key in weights}, f"networks that did not train under {dtype}"
    assert len(got) == len(expected) >= COMPARED_STEPS
    # compared up to the last step before the first update a loss scaler skipped (fp32 skips none)
    compared = min([COMPARED_STEPS, *(step - 1 for step in skipped)])
    assert compared >= 1, f"{dtype}'s loss scaler skipped an update of the first step"
    worst = max((abs(got[i][k] - expected[i][k]) / (METRIC_ATOL + METRIC_RTOL * abs(expected[i][k])), i + 1, k) for i in range(compared) for k in expected[i])
    print(variant, dtype, f"steps compared {compared}, worst metric deviation (1 = the tolerance):", worst)
    assert worst[0] <= 1, worst


def test_a_nonfinite_fp16_step_is_skipped_and_counted(tmp_path, monkeypatch):
    from ganforge_losses.bce import BCELoss
    from test_precision import InfiniteGradient

    original, seen = BCELoss.discriminator_loss, [0]

    def discriminator_loss(self, real_logits, fake_logits):
        seen[0] += 1
        loss = original(self, real_logits, fake_logits)
        return InfiniteGradient.apply(loss) if seen[0] in (5, 9) or seen[0] >= 23 else loss  # finite loss, overflowing gradients

    monkeypatch.setattr(BCELoss, "discriminator_loss", discriminator_loss)
    settings = {**TINY, "data.size": 640, "train.epochs": 2, "train.log_every": 5, "train.device": str(DEVICE),
                "train.amp_dtype": "fp16", "train.max_nonfinite_steps": 4}  # fmt: skip
    with pytest.raises(GanforgeError, match=r"training stopped at step 26: 4 updates in a row of optimizer 'discriminator'"):
        ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    counts = {r["step"]: r["skipped_updates"] for r in records if r.get("skipped_updates")}
    # the isolated ones were skipped and counted, and the streak that ended the run (read when it next logs, at 30)
    assert counts.get(5) == 1 and counts.get(10) == 1 and counts.get(25) == 3 and set(counts) <= {5, 10, 25, 30}, counts


def checkpoint_weights(result) -> dict[str, torch.Tensor]:
    return {k: v.float() for k, v in read_checkpoint(result.checkpoint).tensors.items() if k.startswith("network.")}


RING = {**TINY, "data.size": 512, "train.max_steps": 12, "train.log_every": 4, "train.checkpoint_every": 4}


@gpu_only
@pytest.mark.parametrize("mode", ["default", "reduce-overhead"], ids=["compile", "cuda-graphs"])
def test_compile_and_cuda_graphs_learn_what_eager_learns(tmp_path, mode):
    settings = {**RING, "train.device": str(DEVICE), "train.amp": False}
    start = initial_weights("vanilla", api.load_dataset(ganforge.configure("vanilla", "ring8", RING)), RING, "ring8")
    eager = checkpoint_weights(ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path / "eager"))
    compiled = checkpoint_weights(ganforge.train("vanilla", "ring8", settings={**settings, "train.compile": mode}, out=tmp_path / mode))
    assert eager.keys() == compiled.keys() and not any("_orig_mod" in key for key in compiled)
    rename = {f"network.{key}": key for key in start}
    apart = deviation({rename[k]: v for k, v in compiled.items() if k in rename}, {rename[k]: v for k, v in eager.items() if k in rename}, start)
    assert max(apart.values()) <= SAME_LEARNING, apart


def test_evaluation_leaves_trainings_noise_unchanged(tmp_path):
    settings = {**RING, "train.device": str(DEVICE), "eval.samples": 200}
    plain = checkpoint_weights(ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path / "plain"))
    evaluated = checkpoint_weights(ganforge.train("vanilla", "ring8", settings={**settings, "eval.every": 3}, out=tmp_path / "eval"))
    assert plain.keys() == evaluated.keys()
    for key in plain:  # changed noise moves weights by about the learning rate; kernels' own nondeterminism far less
        torch.testing.assert_close(evaluated[key], plain[key], atol=1e-6, rtol=1e-5, msg=key)


@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_resume_continues_where_it_stopped(tmp_path, dtype):
    """Exact on CUDA for these MLPs (deterministic kernels), the RNGs, the scaler and the streaks being restored; see
    docs/reliability.md for where a resumed GPU run is not bit for bit (nondeterministic kernels, another GPU)."""
    settings = {**RING, "train.device": str(DEVICE), "train.amp_dtype": dtype}
    whole = checkpoint_weights(ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path / "whole"))
    ganforge.train("vanilla", "ring8", settings={**settings, "train.max_steps": 6}, out=tmp_path / "cut")  # mid-interval
    resumed = checkpoint_weights(ganforge.resume(tmp_path / "cut", settings={"train.max_steps": 12}))
    assert whole.keys() == resumed.keys()
    for key in whole:
        torch.testing.assert_close(resumed[key], whole[key], atol=1e-6, rtol=1e-5, msg=key)


NCCL_PROBE = """
import runpy, sys
import torch, torch.distributed as dist
from ganforge import distributed

# One GPU: --nproc 1 alone opens no process group (a job of one has nothing to average). Open an NCCL group of one
# and treat the job as distributed, so that every collective ganforge calls (gradient all_reduce, broadcast of the
# starting weights, the metric means, BatchNorm buffer averaging, barriers) goes through NCCL.
torch.cuda.set_device(0)
dist.init_process_group("nccl")
print("backend", dist.get_backend(), dist.get_world_size(), flush=True)
distributed.Distributed.enabled = property(lambda self: True)
sys.argv = ["ganforge", *sys.argv[1:]]
try:
    runpy.run_module("ganforge", run_name="__main__")
finally:
    dist.destroy_process_group()
"""


@gpu_only
def test_nproc_1_trains_with_nccl(tmp_path):
    sets = [arg for key, value in {**TINY, "data.size": 256}.items() for arg in ("--set", f"{key}={value}")]
    args = ["run", "vanilla", "--data", "ring8", "--device", "cuda", "--max-steps", "4", *sets]
    plain = subprocess.run([sys.executable, "-m", "ganforge", *args, "--nproc", "1", "--out", str(tmp_path / "nproc1")], capture_output=True, text=True, timeout=300)
    assert plain.returncode == 0, plain.stderr[-3000:]
    probe = tmp_path / "nccl_probe.py"
    probe.write_text(NCCL_PROBE)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1"]
    nccl = subprocess.run([*launcher, str(probe), *args, "--out", str(tmp_path / "nccl")], capture_output=True, text=True, timeout=300)
    assert nccl.returncode == 0 and "backend nccl 1" in nccl.stdout, nccl.stdout[-1500:] + nccl.stderr[-3000:]
    # averaging over one rank changes nothing: the NCCL run learns what the plain one learns
    ours, theirs = (checkpoint_weights(_Result(tmp_path / name)) for name in ("nccl", "nproc1"))
    assert ours.keys() == theirs.keys() and ours
    for key in ours:
        torch.testing.assert_close(ours[key], theirs[key], atol=1e-6, rtol=1e-5, msg=key)


class _Result:
    """The newest checkpoint of a run directory, as checkpoint_weights reads it from a RunResult."""

    def __init__(self, run: Path):
        self.checkpoint = sorted((run / "checkpoints").glob("step_*.safetensors"))[-1]

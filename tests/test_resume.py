"""Resume: a run killed at a random step, or stopped with Ctrl-C, goes on to the very same weights.

The acceptance tests run the real command line in a child process and kill it with SIGKILL (no chance to clean
up) or interrupt it with SIGINT, then resume it in a fresh process and compare every tensor of the final
checkpoint, bit for bit, with a run that was never interrupted.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

import ganforge
import stateful_plugin
from ganforge.checkpoint import read_checkpoint
from ganforge.cli import app
from ganforge.errors import GanforgeError, GanforgeWarning

from conftest import TINY

runner = CliRunner()

# 12 epochs of 40 steps, a checkpoint every 7 steps: long enough to be caught mid-run (the signal comes up to 0.4 s
# after the first checkpoint, and a quiet CPU takes about 1.5 ms a step), short enough for CI.
SETTINGS = {**TINY, "data.size": 1280, "train.epochs": 12, "train.checkpoint_every": 7, "train.seed": 11, "train.device": "cpu"}
TOTAL_STEPS = 12 * 1280 // 32


# One thread in the children and in this process alike: bit-identity is only promised for the same thread count,
# and several threads on a busy two-core CI machine mostly wait for each other.
CHILD_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def command_line(out: Path) -> list[str]:
    sets = [arg for key, value in SETTINGS.items() for arg in ("--set", f"{key}={value}")]
    return [sys.executable, "-m", "ganforge", "run", "vanilla", "--data", "ring8", *sets, "--out", str(out)]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    """The run as it goes when nothing stops it."""
    out = tmp_path_factory.mktemp("uninterrupted") / "run"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ganforge.train("vanilla", "ring8", settings=SETTINGS, out=out)
    finally:
        torch.set_num_threads(threads)
    return out


def final_state(run: Path) -> dict[str, torch.Tensor]:
    return load_file(run / "checkpoints" / f"step_{TOTAL_STEPS:08d}.safetensors")


def assert_bit_identical(run: Path, reference: Path) -> None:
    ours, theirs = final_state(run), final_state(reference)
    assert sorted(ours) == sorted(theirs)
    different = [name for name in ours if not torch.equal(ours[name], theirs[name])]
    assert not different, f"tensors differ from the uninterrupted run: {different[:5]}"
    assert any(name.startswith("optimizer.") for name in ours) and "rng.torch" in ours


def metrics_history(run: Path) -> list[dict]:
    """metrics.jsonl without the timings, which no two runs share."""
    return [{k: v for k, v in json.loads(line).items() if k != "images_per_s"} for line in (run / "metrics.jsonl").read_text().splitlines()]


def start_and_stop(out: Path, how: signal.Signals) -> tuple[subprocess.CompletedProcess, int]:
    """Start the CLI, wait for its first checkpoint, send ``how`` after a random pause; returns the exit and the delay."""
    child = subprocess.Popen(command_line(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=CHILD_ENV)
    deadline = time.monotonic() + 120
    while not list((out / "checkpoints").glob("step_*.safetensors")):
        assert child.poll() is None, f"the run ended before its first checkpoint: {child.communicate()}"
        assert time.monotonic() < deadline, "no checkpoint within two minutes"
        time.sleep(0.005)
    delay = random.uniform(0.0, 0.4)
    time.sleep(delay)
    child.send_signal(how)
    stdout, stderr = child.communicate(timeout=120)
    return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr), delay


def resume_in_a_fresh_process(out: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "ganforge", "resume", str(out)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=CHILD_ENV)


@pytest.mark.slow  # starts processes of its own
def test_killed_at_a_random_step_then_resumed_ends_bit_identical(tmp_path, uninterrupted):
    out = tmp_path / "run"
    killed, delay = start_and_stop(out, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL, f"the run finished before the kill {delay:.3f}s in; make it longer"
    saved = [int(p.stem.split("_")[1]) for p in (out / "checkpoints").glob("step_*.safetensors")]
    assert max(saved) < TOTAL_STEPS, f"killed {delay:.3f}s after the first checkpoint, when it had saved {saved}"

    resumed = resume_in_a_fresh_process(out)
    assert resumed.returncode == 0, resumed.stderr
    assert_bit_identical(out, uninterrupted)
    assert metrics_history(out) == metrics_history(uninterrupted)  # nothing lost, nothing logged twice
    assert not list((out / "checkpoints").glob(".*.tmp"))  # a checkpoint half-written at the kill is gone


@pytest.mark.slow  # starts processes of its own
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda how: how.name)
def test_ctrl_c_saves_a_checkpoint_and_resume_continues_bit_identical(tmp_path, uninterrupted, how):
    """Ctrl-C, SIGTERM and SIGHUP (the terminal closed, the SSH connection dropped) alike: a checkpoint, status
    "interrupted", and a resume that ends as the uninterrupted run."""
    out = tmp_path / "run"
    stopped, delay = start_and_stop(out, how)
    assert stopped.returncode == 128 + how, (delay, stopped.stderr)
    assert json.loads((out / "status.json").read_text())["state"] == "interrupted"
    assert "Traceback" not in stopped.stderr
    assert f"Continue with: ganforge resume {out}" in stopped.stderr.replace("\n", "")
    step = int(stopped.stderr.split("Interrupted at step ")[1].split(";")[0].replace(",", ""))
    assert (out / "checkpoints" / f"step_{step:08d}.safetensors").exists() and step < TOTAL_STEPS

    resumed = resume_in_a_fresh_process(out)
    assert resumed.returncode == 0, resumed.stderr
    assert f"now at generator step {TOTAL_STEPS}" in resumed.stdout
    assert_bit_identical(out, uninterrupted)
    assert metrics_history(out) == metrics_history(uninterrupted)


# --- in one process: every kind of state, damaged checkpoints, what a resume may change ---------------------------


SMALL = {**TINY, "data.size": 320, "train.epochs": 3, "train.log_every": 3, "train.checkpoint_every": 4}  # 10 steps/epoch


@pytest.fixture
def stateful(monkeypatch):
    stateful_plugin.install(monkeypatch)


def tensors_of(path: Path) -> dict[str, torch.Tensor]:
    return {name: t for name, t in load_file(path).items() if name != "metrics.sums"}


def test_learning_rates_extra_state_and_python_and_numpy_rngs_are_restored(tmp_path, stateful):
    """A run cut mid-epoch, with other training in between, resumes to the uninterrupted run's state."""
    cut = ganforge.train("stateful", "ring8", settings={**SMALL, "train.max_steps": 13}, out=tmp_path / "cut")
    assert cut.steps == 13
    whole = ganforge.train("stateful", "ring8", settings=SMALL, out=tmp_path / "whole")
    resumed = ganforge.resume(tmp_path / "cut", settings={"train.max_steps": None})
    assert resumed.steps == whole.steps == 30
    ours, theirs = tensors_of(resumed.checkpoint), tensors_of(whole.checkpoint)
    assert {"variant.pool", "variant.steps", "rng.numpy", "rng.data"} <= ours.keys()
    assert [name for name in ours if not torch.equal(ours[name], theirs[name])] == []
    meta = read_checkpoint(resumed.checkpoint).meta
    rate = meta["optimizers"]["generator"]["param_groups"][0]["lr"]
    # the last of 30 steps ran at 1 - 0.7 * 29/30 of the initial 2e-4; the 13-step cut did not shorten the schedule
    assert rate == pytest.approx(2e-4 * (1 - 0.7 * 29 / 30)) and meta["progress"]["position"] == 10


@pytest.mark.parametrize("cut_at", [13, 10, 12])  # mid-epoch between logs, at an epoch's end, at a logging step
def test_a_run_cut_by_max_steps_resumes_to_its_end_as_if_never_cut(tmp_path, cut_at):
    """`ganforge resume RUN` (no --max-steps) of a run cut with --max-steps trains on to the run's end: the cut is
    not the run's length. Weights and metrics.jsonl (but for timings) are those of the uncut run."""
    whole = ganforge.train("vanilla", "ring8", settings=SMALL, out=tmp_path / "whole")
    cut = ganforge.train("vanilla", "ring8", settings={**SMALL, "train.max_steps": cut_at}, out=tmp_path / "cut")
    assert cut.steps == cut_at
    result = runner.invoke(app, ["resume", str(tmp_path / "cut")])
    assert result.exit_code == 0, result.output
    ours = tensors_of(sorted((tmp_path / "cut" / "checkpoints").glob("step_*.safetensors"))[-1])
    assert sorted((tmp_path / "cut" / "checkpoints").glob("step_*.safetensors"))[-1].name == whole.checkpoint.name
    theirs = tensors_of(whole.checkpoint)
    assert ours.keys() == theirs.keys() and [name for name in ours if not torch.equal(ours[name], theirs[name])] == []
    assert metrics_history(tmp_path / "cut") == metrics_history(tmp_path / "whole")


def test_a_damaged_newest_checkpoint_is_set_aside_and_the_previous_used(tmp_path):
    settings = {**SMALL, "train.epochs": 2}
    whole = ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path / "whole")
    run = ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path / "run").run_dir
    newest, previous, kept = reversed(run.checkpoints())
    body = bytearray(newest.read_bytes())
    body[-100] ^= 0xFF  # one flipped bit pattern deep in the tensors: safetensors alone would not notice
    newest.write_bytes(bytes(body))
    previous.write_bytes(previous.read_bytes()[:-50])  # truncated

    with pytest.warns(GanforgeWarning) as caught:
        result = ganforge.resume(run.path)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2 and str(newest) in messages[0] and "digest" in messages[0] and str(previous) in messages[1]
    assert newest.with_name(newest.name + ".corrupt").exists() and previous.with_name(previous.name + ".corrupt").exists()
    assert result.steps == 20
    assert [n for n, t in tensors_of(result.checkpoint).items() if not torch.equal(t, tensors_of(whole.checkpoint)[n])] == []
    assert metrics_history(run.path) == metrics_history(whole.run_dir.path)
    assert kept.exists()


def test_no_intact_checkpoint_is_an_error_naming_them(tmp_path):
    run = ganforge.train("vanilla", "ring8", settings={**SMALL, "train.epochs": 1}, out=tmp_path).run_dir
    for path in run.checkpoints():
        path.write_bytes(b"garbage")
    with pytest.raises(GanforgeError, match="no intact checkpoint in .*checkpoints"):
        ganforge.resume(tmp_path)


def test_a_resume_may_lengthen_the_run_but_not_change_it(tmp_path):
    ganforge.train("vanilla", "ring8", settings={**SMALL, "train.epochs": 1}, out=tmp_path)
    with pytest.raises(GanforgeError, match=r"has done all its steps \(10\); pass a larger --epochs or --max-steps"):
        ganforge.resume(tmp_path)
    with pytest.raises(GanforgeError, match=r"optim.lr=0.1 differs from the run being resumed \(optim.lr=0.0002\)"):
        ganforge.resume(tmp_path, settings={"optim.lr": 0.1, "train.epochs": 2})
    with pytest.raises(GanforgeError, match=r"data.name='ganforge:grid25' differs"):
        ganforge.resume(tmp_path, settings={"data.name": "grid25", "train.epochs": 2})
    assert ganforge.resume(tmp_path, settings={"train.epochs": 2, "train.log_every": 5}).steps == 20
    assert json.loads((tmp_path / "config.json").read_text())["train"]["epochs"] == 2


def test_changed_data_is_refused(tmp_path):
    """Same config, other pixels (an image replaced in the folder): a resume would not be the same run."""
    from PIL import Image

    images = tmp_path / "images"
    images.mkdir()
    for index in range(16):
        Image.new("L", (4, 4), color=index * 16).save(images / f"{index:02d}.png")
    settings = {**TINY, "data.root": str(images), "train.batch_size": 8, "train.epochs": 1}
    ganforge.train("vanilla", "image-folder", settings=settings, out=tmp_path / "run")
    Image.new("L", (4, 4), color=255).save(images / "03.png")
    with pytest.raises(GanforgeError, match="the dataset is not the one .* was trained on .*resume needs the same data"):
        ganforge.resume(tmp_path / "run", settings={"train.epochs": 2})


# Runs in each process of a two-process torchrun job; reports where it stopped.
DDP_WORKER = r"""
import json, os, sys
import ganforge
from ganforge.interrupt import TrainingInterrupted

out, settings, report = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
with open(os.path.join(report, f"rank{os.environ['RANK']}.pid"), "w") as file:
    file.write(str(os.getpid()))
try:
    ganforge.train("vanilla", "ring8", settings=settings, out=out)
    stopped = None
except TrainingInterrupted as stop:
    stopped = stop.step
with open(os.path.join(report, f"rank{os.environ['RANK']}.json"), "w") as file:
    json.dump({"stopped": stopped}, file)
"""


def _signal_rank1_of_a_job(tmp_path: Path, settings: dict) -> tuple[subprocess.CompletedProcess, list, Path]:
    """Start a two-process job, SIGTERM rank 1 once rank 0 has saved a checkpoint; the job's exit, each rank's
    step of stopping (None where a rank wrote no report) and the run directory."""
    worker, out, report = tmp_path / "worker.py", tmp_path / "run", tmp_path / "report"
    report.mkdir(parents=True)
    worker.write_text(DDP_WORKER)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    job = subprocess.Popen([*launcher, str(worker), str(out), json.dumps(settings), str(report)], env=CHILD_ENV,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 180
    while not list((out / "checkpoints").glob("step_*.safetensors")):
        assert job.poll() is None, job.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "no checkpoint within three minutes"
        time.sleep(0.01)
    os.kill(int((report / "rank1.pid").read_text()), signal.SIGTERM)
    stdout, stderr = job.communicate(timeout=180)
    reports = [report / f"rank{rank}.json" for rank in (0, 1)]
    stopped = [json.loads(path.read_text())["stopped"] if path.exists() else None for path in reports]
    return subprocess.CompletedProcess(job.args, job.returncode, stdout, stderr), stopped, out


@pytest.mark.slow  # starts processes of its own
def test_a_data_parallel_job_signalled_in_one_process_stops_together(tmp_path):
    """Only rank 1 gets SIGTERM; both ranks stop at the same logging step and rank 0 saves that checkpoint."""
    settings = {**TINY, "data.size": 2560, "train.epochs": 5, "train.log_every": 5, "train.checkpoint_every": 10, "train.device": "cpu"}
    job, stopped, out = _signal_rank1_of_a_job(tmp_path, settings)
    assert job.returncode == 0, job.stderr[-3000:]
    assert stopped[0] == stopped[1] and stopped[0] is not None and stopped[0] % 5 == 0, stopped
    assert (out / "checkpoints" / f"step_{stopped[0]:08d}.safetensors").exists()


# --- every built-in variant, including its own state (CycleGAN's image pools, StackGAN's stage) --------------------


def _variant_run(variant: str, data, settings: dict, out: Path, checkpoint: Path | None = None):
    """A tiny run through the trainer, from scratch or resumed from ``checkpoint`` as ``ganforge resume`` does."""
    from ganforge.device import Precision
    from ganforge.rundir import RunDir
    from ganforge.state import restore
    from ganforge.trainer import Trainer

    config = ganforge.configure(variant, None, settings)
    model = ganforge.api.build_variant(config, data.spec, torch.device("cpu"))
    model.configure_optimizers()
    precision = Precision(torch.device("cpu"))
    progress = None if checkpoint is None else restore(read_checkpoint(checkpoint), model, precision)
    run_dir = RunDir(out) if checkpoint is not None else RunDir.create(out)
    trainer = Trainer(model, data, config, run_dir, precision, progress=progress)
    if checkpoint is not None:
        trainer.restore(read_checkpoint(checkpoint).tensors)  # the generator's average (on by default) and the rest
    return trainer.fit()


@pytest.mark.parametrize("case", ["dcgan", "cgan", "cyclegan", "stackgan"])
def test_every_variant_resumes_bit_identical(tmp_path, case):
    from test_variants_common import CASES

    make_data, settings = CASES[case]
    data = make_data()  # 32 examples: 4 steps an epoch at batch 8
    settings = {**settings, "train.batch_size": 8, "train.epochs": 4, "train.log_every": 2, "train.sample_count": 4}
    whole = _variant_run(case, data, settings, tmp_path / "whole")
    cut = _variant_run(case, data, {**settings, "train.max_steps": 6}, tmp_path / "cut")  # mid epoch 2 (of stage I)
    resumed = _variant_run(case, data, settings, tmp_path / "cut", checkpoint=cut.checkpoint)
    assert resumed.steps == whole.steps == 16
    ours, theirs = tensors_of(resumed.checkpoint), tensors_of(whole.checkpoint)
    assert sorted(ours) == sorted(theirs)
    assert [name for name in ours if not torch.equal(ours[name], theirs[name])] == []


def test_the_generator_average_and_the_best_evaluation_survive_a_resume(tmp_path):
    """With ema.decay an EMA of G, and with eval.every a best checkpoint: both go on as if never stopped."""
    settings = {**SMALL, "eval.every": 5, "eval.samples": 200, "ema.decay": 0.99}
    whole = ganforge.train("pacgan", "ring8", settings=settings, out=tmp_path / "whole")
    # cut at an evaluation step: a run also scores its last step, which elsewhere could rightly set a new best
    ganforge.train("pacgan", "ring8", settings={**settings, "train.max_steps": 15}, out=tmp_path / "cut")
    resumed = ganforge.resume(tmp_path / "cut", settings={"train.max_steps": None})
    ours, theirs = tensors_of(resumed.checkpoint), tensors_of(whole.checkpoint)
    assert any(name.startswith("ema.") for name in ours)
    assert [name for name in ours if not torch.equal(ours[name], theirs[name])] == []

    def evaluations(run: Path) -> list[tuple]:
        return [(r["step"], r["best"]) for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if r.get("eval")]

    assert evaluations(tmp_path / "cut") == evaluations(tmp_path / "whole")


def test_one_thing_chooses_the_best_checkpoint():
    with pytest.raises(GanforgeError, match="train.best_metric and eval.every both choose checkpoints/best.safetensors"):
        ganforge.configure("vanilla", "ring8", {"train.best_metric": "d_real", "eval.every": 10})


def test_best_metric_keeps_the_checkpoint_of_the_best_logged_value(tmp_path):
    settings = {**SMALL, "train.epochs": 2, "train.best_metric": "d_real", "train.best_mode": "max"}
    result = ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path)
    records = [json.loads(line) for line in result.run_dir.metrics_path.read_text().splitlines()]
    top = max(records, key=lambda r: r["d_real"])
    best = read_checkpoint(result.run_dir.best_path)
    assert best.meta["progress"]["best"] == {"metric": "d_real", "value": top["d_real"], "step": top["step"]}
    assert best.meta["progress"]["step"] == top["step"] and result.run_dir.best_path not in result.run_dir.checkpoints()
    with pytest.warns(GanforgeWarning, match="train.best_metric 'fid' was never logged"):
        ganforge.train("vanilla", "ring8", settings={**settings, "train.best_metric": "fid"}, out=tmp_path / "other")

"""Data-parallel training with torchrun: two gloo processes on the CPU stay in lockstep and write one run."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from conftest import TINY

# Runs in each torchrun process: records a digest of every network's weights after each training step.
WORKER = r"""
import hashlib, json, os, sys
import ganforge
from ganforge_vanilla.recipe import Vanilla

digests = []
step = Vanilla.train_step

def recorded(self, batch, precision):
    metrics = step(self, batch, precision)
    digest = hashlib.sha256()
    for name, network in sorted(self.networks.items()):
        for tensor in network.state_dict().values():
            digest.update(tensor.detach().cpu().numpy().tobytes())
    digests.append(digest.hexdigest())
    return metrics

Vanilla.train_step = recorded
out, settings, report = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
result = ganforge.train("vanilla", "ring8", settings=settings, out=out)
with open(os.path.join(report, f"rank{os.environ['RANK']}.json"), "w") as file:
    json.dump({"digests": digests, "steps": result.steps, "batch": len(digests)}, file)
"""


def torchrun_command(nproc: int = 2) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]


def torchrun(*args: str, nproc: int = 2, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([*torchrun_command(nproc), *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow  # starts processes of its own
def test_two_processes_hold_identical_weights_after_every_step(tmp_path):
    settings = {**TINY, "data.size": 640, "train.epochs": 2, "train.log_every": 5, "train.device": "cpu",
                # no batch norm: its running statistics follow each rank's shard until the epoch's end averages them
                # (test_distributed.py's buffer test), while this checks that every step keeps the weights identical
                "generator.norm": "none"}
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    out, report = tmp_path / "run", tmp_path / "report"
    report.mkdir()
    done = torchrun(str(worker), str(out), json.dumps(settings), str(report))
    assert done.returncode == 0, done.stderr[-3000:]

    ranks = [json.loads((report / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    # each rank trains on its half of every epoch: 320 examples, 32 per batch, 10 steps an epoch
    assert ranks[0]["steps"] == ranks[1]["steps"] == 20
    assert len(ranks[0]["digests"]) == 20
    assert ranks[0]["digests"] == ranks[1]["digests"], "the two processes' weights drifted apart"
    assert len(set(ranks[0]["digests"])) == 20, "training did not change the weights"

    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [5, 10, 15, 20], "metrics written more than once, or missing"
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png"]
    assert [p.name for p in sorted((out / "checkpoints").glob("step_*"))] == ["step_00000010.safetensors", "step_00000020.safetensors"]


@pytest.mark.slow  # starts processes of its own
def test_nproc_launches_torchrun_from_the_cli(tmp_path):
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "ganforge", "run", "vanilla", "--data", "ring8", "--nproc", "2", "--device", "cpu",
        "--max-steps", "4", "--batch-size", "32", "--out", str(out), "--set", "data.size=640",
        "--set", "generator.hidden=8", "--set", "discriminator.hidden=8", "--set", "train.log_every=2",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("Trained 4 generator steps") == 1, done.stdout  # rank 0 alone reports
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [2, 4]


# Runs in each torchrun process: BatchNorm running statistics that differ by rank, then averaged.
BUFFERS = r"""
import json, os, sys
import torch
from torch import nn
from ganforge.distributed import from_environment

job = from_environment("cpu")
norm = nn.BatchNorm1d(3)
norm.running_mean.fill_(float(job.rank))  # rank 0: 0, rank 1: 1
norm.running_var.fill_(1.0 + 2 * job.rank)  # rank 0: 1, rank 1: 3
norm.num_batches_tracked.fill_(7)
job.average_buffers([norm])
with open(os.path.join(sys.argv[1], f"rank{job.rank}.json"), "w") as file:
    json.dump({k: v.tolist() for k, v in norm.state_dict().items()}, file)
"""


def test_epoch_end_averages_batchnorm_statistics_over_the_ranks(tmp_path):
    worker = tmp_path / "worker.py"
    worker.write_text(BUFFERS)
    done = torchrun(str(worker), str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert ranks[0] == ranks[1]
    assert ranks[0]["running_mean"] == [0.5] * 3 and ranks[0]["running_var"] == [2.0] * 3
    assert ranks[0]["num_batches_tracked"] == 7


# Each process joins the job, makes some collective calls and exits as soon as the last returns.
EXIT_WORKER = r"""
import torch
from ganforge import distributed

job = distributed.from_environment("cpu", 60)
group = torch.distributed.group.WORLD  # a script may hold the group: it then outlives destroy_process_group
job.gather({"rank": job.rank})
job.broadcast_parameters([torch.nn.BatchNorm1d(4), torch.nn.Linear(3, 4)])
"""


@pytest.mark.slow  # starts 12 jobs of two processes
def test_every_rank_of_a_finished_job_exits_cleanly(tmp_path):
    """A rank that ends right after a collective call exits 0, every time.

    Without a pause at exit, gloo's threads could still be dropping that call's tensors when the interpreter
    finalized, and the process aborted ("terminate called without an active exception"). The abort needs a busy
    machine, so each job starts while the one before is still running.
    """
    worker = tmp_path / "worker.py"
    worker.write_text(EXIT_WORKER)
    launch = [*torchrun_command(), str(worker)]
    failed: list[tuple[int, list[str]]] = []
    running: list[tuple[int, subprocess.Popen]] = []
    for attempt in range(12):
        running.append((attempt, subprocess.Popen(launch, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)))
        time.sleep(1.0)
        while len(running) > 1 or (attempt == 11 and running):
            number, job = running.pop(0)
            _, stderr = job.communicate(timeout=120)
            if job.returncode != 0:
                failed.append((number, [line for line in stderr.splitlines() if "terminate" in line or "exitcode" in line]))
    assert not failed, failed


@pytest.mark.slow  # starts a job of two processes
def test_a_script_that_leaves_the_group_itself_exits_without_an_error(tmp_path):
    """ganforge leaves the group at exit only if it is still there: a script may have destroyed it already."""
    worker = tmp_path / "worker.py"
    worker.write_text(EXIT_WORKER + "torch.distributed.destroy_process_group()\n")
    job = torchrun(str(worker), timeout=120)
    assert job.returncode == 0, job.stderr[-3000:]
    assert "Exception ignored" not in job.stderr, job.stderr[-3000:]

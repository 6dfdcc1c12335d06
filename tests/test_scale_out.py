"""Data-parallel jobs under faults, through the real command line (slow: each test starts torchrun jobs).

- a two-process job SIGKILLed at a random step and resumed with two processes ends bit-identical to one never stopped;
- a run goes on with another number of processes (1 -> 2 -> 1) as docs/scaling.md says;
- ``--max-restarts``: a job one of whose processes is killed restarts by itself and ends as one never stopped;
- a process stopped with SIGSTOP stops the others within ``dist.timeout_s``, with one line naming it and the step;
- two torchrun "machines" on 127.0.0.1 join one job over a c10d rendezvous and agree on the weights at every step.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import ganforge
from ganforge.checkpoint import read_checkpoint

from conftest import TINY
from test_distributed import WORKER

pytestmark = pytest.mark.slow

# 2 processes, 640 examples each: 20 steps an epoch, 800 in all (a few seconds); long enough to be caught mid-run
SETTINGS = {**TINY, "data.size": 1280, "train.epochs": 40, "train.checkpoint_every": 45, "train.seed": 3, "train.device": "cpu"}
TOTAL_STEPS = 40 * 1280 // 2 // 32


def child_env() -> dict[str, str]:
    """One thread per process (bit-identity is promised for one thread count), and a tag to find the job's processes."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "GANFORGE_TEST_JOB": uuid.uuid4().hex}


def run_command(out: Path, *extra: str, settings: dict = SETTINGS, nproc: int = 2) -> list[str]:
    sets = [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]
    return [sys.executable, "-m", "ganforge", "run", "vanilla", "--data", "ring8", "--nproc", str(nproc), *sets, "--out", str(out), *extra]


def job_pids(env: dict[str, str], *variables: str) -> list[int]:
    """The processes of the job started with ``env`` (found by its tag) that have ``variables`` set so."""
    wanted = {f"GANFORGE_TEST_JOB={env['GANFORGE_TEST_JOB']}".encode(), *(v.encode() for v in variables)}
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and wanted <= set((entry / "environ").read_bytes().split(b"\0")):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def rank_pid(env: dict[str, str], rank: int, deadline_s: float = 60) -> int:
    """The pid of the job's process of ``rank``."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if found := job_pids(env, f"RANK={rank}"):
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no process of rank {rank} found")


def wait_for(condition, job: subprocess.Popen, what: str, deadline_s: float = 180) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert job.poll() is None, f"the job ended before {what}: {job.communicate()}"
        assert time.monotonic() < deadline, f"no {what} within {deadline_s} s"
        time.sleep(0.005)


def first_checkpoint(out: Path):
    return lambda: any((out / "checkpoints").glob("step_*.safetensors"))


def final_tensors(out: Path) -> dict[str, torch.Tensor]:
    return load_file(out / "checkpoints" / f"step_{TOTAL_STEPS:08d}.safetensors")


def assert_bit_identical(out: Path, reference: Path) -> None:
    ours, theirs = final_tensors(out), final_tensors(reference)
    assert sorted(ours) == sorted(theirs)
    different = [name for name in ours if not torch.equal(ours[name], theirs[name])]
    assert not different, f"tensors differ from the uninterrupted run: {different[:6]}"
    assert "rank.1.rng.torch" in ours, "rank 1's random state is not in the checkpoint"


def metrics(out: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "images_per_s"} for line in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("uninterrupted") / "run"
    done = subprocess.run(run_command(out), capture_output=True, text=True, timeout=300, env=child_env())
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_a_two_process_job_killed_at_a_random_step_resumes_bit_identical(tmp_path, uninterrupted):
    out, env = tmp_path / "run", child_env()
    job = subprocess.Popen(run_command(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    wait_for(first_checkpoint(out), job, "checkpoint")
    time.sleep(random.uniform(0.0, 0.3))
    for pid in job_pids(env):  # the launcher, torchrun's agent and both processes: nothing cleans up
        os.kill(pid, signal.SIGKILL)
    job.communicate(timeout=60)
    saved = sorted(int(p.stem.split("_")[1]) for p in (out / "checkpoints").glob("step_*.safetensors"))
    assert saved and saved[-1] < TOTAL_STEPS, f"the job had saved {saved} when killed; make it longer"

    resumed = subprocess.run(
        [sys.executable, "-m", "ganforge", "resume", str(out), "--nproc", "2"],
        capture_output=True, text=True, timeout=300, env=child_env(),
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_bit_identical(out, uninterrupted)
    assert metrics(out) == metrics(uninterrupted)


def test_a_run_goes_on_with_another_number_of_processes(tmp_path):
    """1 process to step 11 (mid-epoch), 2 processes to step 20, 1 process to the end: the steps docs/scaling.md
    describes. One process takes 20 steps an epoch, two take 10 each (half the data each)."""
    out, env = tmp_path / "run", child_env()
    settings = {**TINY, "data.size": 640, "train.epochs": 2, "train.log_every": 3, "train.device": "cpu"}
    ganforge.train("vanilla", "ring8", settings={**settings, "train.max_steps": 11}, out=out)
    one = out / "checkpoints" / "step_00000011.safetensors"
    before = one.read_bytes()

    two = subprocess.run(
        [sys.executable, "-m", "ganforge", "run", "vanilla", "--resume", str(out), "--nproc", "2", "--max-steps", "20"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert two.returncode == 0 and "Traceback" not in two.stderr, two.stderr[-3000:]
    assert one.read_bytes() == before, "the resumed checkpoint was rewritten"
    # 11 one-process steps used 11 of the epoch's 20 minibatches; two processes go on from their 5th step each
    # (the 11th minibatch used again), finish epoch 1 in 5 steps and take 4 of epoch 2's 10
    at_20 = read_checkpoint(out / "checkpoints" / "step_00000020.safetensors")
    assert {k: at_20.meta["progress"][k] for k in ("step", "epoch", "position", "world_size")} == {"step": 20, "epoch": 2, "position": 4, "world_size": 2}
    assert "rank.1.rng.torch" in at_20.tensors and len(at_20.meta["ranks"]) == 1

    back = subprocess.run(
        [sys.executable, "-m", "ganforge", "resume", str(out), "--max-steps", "1000"], capture_output=True, text=True, timeout=300, env=env
    )
    assert back.returncode == 0, back.stderr[-3000:]
    # 4 two-process steps of epoch 2 are its first 8 minibatches: one process takes the other 12
    final = read_checkpoint(out / "checkpoints" / "step_00000032.safetensors")
    assert {k: final.meta["progress"][k] for k in ("step", "epoch", "position", "world_size")} == {"step": 32, "epoch": 2, "position": 20, "world_size": 1}
    assert not any(name.startswith("rank.") for name in final.tensors)
    steps = [record["step"] for record in metrics(out)]
    assert steps == sorted(set(steps)) and steps[-1] == 32, steps


def test_max_restarts_restarts_a_job_whose_process_died_from_its_latest_checkpoint(tmp_path, uninterrupted):
    out, env = tmp_path / "run", child_env()
    job = subprocess.Popen(run_command(out, "--max-restarts", "1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    victim = rank_pid(env, 1)
    wait_for(first_checkpoint(out), job, "checkpoint")
    time.sleep(random.uniform(0.0, 0.3))
    os.kill(victim, signal.SIGKILL)
    stdout, stderr = job.communicate(timeout=300)
    assert job.returncode == 0, stderr[-3000:]
    assert "the job was restarted (restart 1) and goes on from the latest checkpoint" in stderr, stderr[-3000:]
    assert stderr.count("the job was restarted") == 1 and "Traceback" not in stderr, stderr[-3000:]
    assert_bit_identical(out, uninterrupted)


def test_a_stopped_process_stops_the_others_within_the_timeout_naming_it(tmp_path):
    out, env = tmp_path / "run", child_env()
    settings = {**SETTINGS, "train.epochs": 1000, "train.checkpoint_every": 50, "dist.timeout_s": 4}
    job = subprocess.Popen(run_command(out, settings=settings), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[tuple[float, str]] = []  # each line of the job's stderr and when it came
    reader = threading.Thread(target=lambda: lines.extend((time.monotonic(), line) for line in job.stderr), daemon=True)
    reader.start()
    stalled, survivor = rank_pid(env, 1), rank_pid(env, 0)
    wait_for(first_checkpoint(out), job, "checkpoint")
    os.kill(stalled, signal.SIGSTOP)
    stopped_at = time.monotonic()
    try:
        while Path(f"/proc/{survivor}").exists() and time.monotonic() - stopped_at < 90:
            time.sleep(0.05)
        exited = time.monotonic() - stopped_at
    finally:
        os.kill(stalled, signal.SIGKILL)  # torchrun would, after its own --shutdown-timeout
    job.wait(timeout=120)
    reader.join(timeout=10)
    errors = [(when - stopped_at, line) for when, line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and "rank 1 of 2 stopped answering after step " in errors[0][1], "".join(line for _, line in lines)[-3000:]
    assert "dist.timeout_s=4" in errors[0][1] and not any("Traceback" in line for _, line in lines)
    # the line within the timeout, the roll call (3 s) and a margin for a busy machine; the process soon after
    assert errors[0][0] < 4 + 3 + 10, f"rank 0 went on waiting {errors[0][0]:.0f} s for a stopped rank 1"
    assert exited < 90, "rank 0 said it stops but did not end"
    assert job.returncode == 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_machines_join_over_a_c10d_rendezvous_and_agree_at_every_step(tmp_path):
    """Two torchrun launches, as two machines would run them (docs/scaling.md), each in its own directory."""
    worker, report = tmp_path / "worker.py", tmp_path / "report"
    worker.write_text(WORKER)
    report.mkdir()
    settings = {**TINY, "data.size": 640, "train.epochs": 2, "train.log_every": 5, "train.device": "cpu",
                # no batch norm: its running statistics follow each rank's shard until the epoch's end averages them
                # (test_distributed.py's buffer test), while this checks that every step keeps the weights identical
                "generator.norm": "none"}
    endpoint = f"127.0.0.1:{free_port()}"
    machines = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        launch = [
            sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc_per_node=1", "--rdzv_backend=c10d",
            f"--rdzv_endpoint={endpoint}", "--rdzv_id=ganforge-two-machines", str(worker), "run", json.dumps(settings), str(report),
        ]  # fmt: skip
        machines.append(subprocess.Popen(launch, cwd=tmp_path / name, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env()))
    for machine in machines:
        _, stderr = machine.communicate(timeout=300)
        assert machine.returncode == 0, stderr[-3000:]

    ranks = [json.loads((report / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert ranks[0]["steps"] == ranks[1]["steps"] == 20 and len(ranks[0]["digests"]) == 20
    assert ranks[0]["digests"] == ranks[1]["digests"], "the machines' weights drifted apart"
    written = [name for name in ("a", "b") if (tmp_path / name / "run").exists()]
    assert len(written) == 1, f"run directories written on {written}: only global rank 0 writes"
    assert len(list((tmp_path / written[0] / "run" / "checkpoints").glob("step_*"))) == 2



def _ada_rank(rank: int, store_path: str, results: str) -> None:
    """One rank of a two-process gloo group: D says "real" to every real image on rank 0 and "generated" on rank 1."""
    import torch.distributed as dist

    from ganforge.augment import Augmentation
    from ganforge.config import AugmentConfig
    from ganforge.data import Batch, DataSpec

    dist.init_process_group("gloo", store=dist.FileStore(store_path, 2), rank=rank, world_size=2)
    config = AugmentConfig(policy="translation", adaptive=True, target=0.0, interval=1, speed=160)
    discriminator = _ConstantD(1.0 if rank == 0 else -1.0)
    pipe = Augmentation(config, [discriminator], DataSpec((1, 4, 4)), images_per_step=16, device=torch.device("cpu"))
    images = torch.zeros(4, 1, 4, 4)
    for step in range(1, 21):
        pipe.step_begins(Batch(images, None))
        discriminator(images)
        pipe.step_ended(step)
    Path(results, f"rank{rank}").write_text(str(float(pipe.p)))
    dist.destroy_process_group()


class _ConstantD(torch.nn.Module):
    def __init__(self, logit: float):
        super().__init__()
        self.logit = logit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((len(x),), self.logit)


def test_ada_sums_the_signal_over_ranks_so_p_is_the_same_on_every_rank(tmp_path):
    """Rank 0's D overfits (sign +1), rank 1's does not (sign -1): averaged, r = 0 = the target, and p stays at 0 on
    both. Adjusted per rank, p would climb on rank 0 and stay at 0 on rank 1."""
    import torch.multiprocessing as mp

    mp.spawn(_ada_rank, args=(str(tmp_path / "store"), str(tmp_path)), nprocs=2, join=True)
    assert (tmp_path / "rank0").read_text() == (tmp_path / "rank1").read_text() == "0.0"



def test_sigkill_of_the_launcher_takes_the_whole_job_down_and_resume_works(tmp_path):
    """`ganforge run --nproc 2` killed with SIGKILL (the OOM killer, `kill -9`): the elastic agent and both workers
    die with it within seconds, leaving no one holding the run, and `ganforge resume` goes on."""
    out, env = tmp_path / "run", child_env()
    launcher = subprocess.Popen(run_command(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wait_for(first_checkpoint(out), launcher, "a first checkpoint")
    assert job_pids(env, "RANK=1")  # the job is running
    launcher.kill()
    launcher.wait()
    deadline = time.monotonic() + 20
    while job_pids(env) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not job_pids(env), f"processes of the job outlived its launcher: {job_pids(env)}"
    resumed = subprocess.run([sys.executable, "-m", "ganforge", "resume", str(out), "--max-steps", "60"],
                             capture_output=True, text=True, timeout=300, env=child_env())  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]

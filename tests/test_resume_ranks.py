"""Resume validates what it resumes before it writes anything, and carries a run's progress to another number of
processes as docs/scaling.md describes. (The multi-process runs themselves are in test_scale_out.py, marked slow.)"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ganforge
from ganforge.checkpoint import read_checkpoint, write_checkpoint
from ganforge.cli import app
from ganforge.runlock import LOCK_NAME
from ganforge.errors import GanforgeError
from ganforge.ranks import carried_over
from ganforge.state import Progress

from conftest import TINY


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    ganforge.train("vanilla", "ring8", settings={**TINY, "data.size": 64, "train.epochs": 1, "train.device": "cpu"}, out=out)
    return out


def snapshot(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` and a digest of its bytes; not the lock file, which names its last holder
    (the resume that takes the lock to validate what it resumes) and is no part of the run."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != LOCK_NAME
    }


@pytest.mark.parametrize(
    "progress, problem",
    [
        ({"position": 10**12}, "position 1000000000000"),
        ({"step": 10**12}, "step 1000000000000"),
        ({"epoch": 10**6}, "epoch 1000000"),
        ({"world_size": 0}, "lacks part of the training state"),
    ],
    ids=["position", "step", "epoch", "world_size"],
)
def test_a_crafted_progress_is_refused_before_anything_is_written(finished_run, tmp_path, progress, problem):
    run = tmp_path / "run"
    run.mkdir()
    for path in finished_run.rglob("*"):
        if path.is_file():
            (run / path.relative_to(finished_run)).parent.mkdir(parents=True, exist_ok=True)
            (run / path.relative_to(finished_run)).write_bytes(path.read_bytes())
    (checkpoint_path,) = (run / "checkpoints").glob("step_*")
    checkpoint = read_checkpoint(checkpoint_path)
    meta = {**checkpoint.meta, "progress": {**checkpoint.meta["progress"], **progress}}
    write_checkpoint(checkpoint_path, checkpoint.tensors, meta)  # digest-valid: only its values are wrong
    before = snapshot(run)

    result = CliRunner().invoke(app, ["resume", str(run), "--epochs", "3"])

    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and problem in lines[0], result.stderr
    assert "Traceback" not in result.output
    assert snapshot(run) == before, "resume wrote before it had validated the checkpoint"


def steps_per_epoch(examples: int, per_step: int):
    return lambda ranks: examples // ranks // per_step


@pytest.mark.parametrize(
    "saved, now, position, expected",
    [
        (1, 2, 10, 5),  # the first 10 minibatches of the order are used: 2 ranks go on from their 5th step each
        (1, 2, 11, 5),  # an odd position: the 11th minibatch is used a second time rather than any skipped
        (2, 1, 5, 10),
        (2, 2, 7, 7),
        (1, 2, 20, 10),  # an epoch that was done (with its samples and checkpoint) stays done
        (2, 1, 10, 20),
        (2, 3, 6, 4),
    ],
)
def test_the_position_in_the_epoch_carries_over_to_another_number_of_processes(saved, now, position, expected):
    at = Progress(step=20 + position, epoch=2, position=position, world_size=saved)
    spe = steps_per_epoch(640, 32)
    carried = carried_over(at, Path("c"), now, spe)
    assert (carried.position, carried.world_size, carried.step, carried.epoch) == (expected, now, at.step, 2)


def test_a_checkpoint_from_before_ranks_were_recorded_counts_in_the_processes_resuming_it():
    at = Progress(step=25, epoch=2, position=5, world_size=None)
    assert carried_over(at, Path("c"), 2, steps_per_epoch(640, 32)).position == 5
    with pytest.raises(GanforgeError, match="position 15, which no run of 10 steps per epoch reaches"):
        carried_over(Progress(step=35, epoch=2, position=15), Path("c"), 2, steps_per_epoch(640, 32))

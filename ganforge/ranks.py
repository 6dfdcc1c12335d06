"""What each rank of a data-parallel job keeps for itself, saved in the one checkpoint; and a run's progress
carried over to another number of ranks.

Ranks share their weights and optimizer states (every update is averaged), but not everything: each draws its
own noise and dropout masks (its RNG states), keeps its own BatchNorm running statistics between epoch ends (and
so its own EMA of them), its own metric sums of the logging interval in progress, and a variant's extra state
(CycleGAN's image pools hold that rank's fakes). Rather than list these, which a new variant could extend, a
checkpoint compares every rank's state with rank 0's: rank 0's whole state is saved as a single process's would
be, and for each other rank r the tensors that differ from rank 0's go under ``rank.<r>.<name>``, its RNG
metadata in ``ranks[r-1]``, and ``progress.world_size`` says how many ranks there were. Resumed with as many
ranks, every rank takes back exactly its own state.

With another number of ranks (see docs/scaling.md), ranks the checkpoint knows take back their own state; a new
rank starts from rank 0's, with its random streams seeded from (``train.seed``, rank, step). Each epoch's order
is drawn the same on every rank and rank r trains on every world_size-th example of it, so the examples an epoch
has used so far are always its first ``position * world_size`` minibatches: the epoch goes on from the last position
of the new world size whose minibatches were all used, so that none is skipped and at most world_size - 1 are
used a second time.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import numpy
import torch

from ganforge.checkpoint import Checkpoint, prefixed, unprefixed
from ganforge.distributed import Distributed
from ganforge.errors import GanforgeError
from ganforge.state import Progress, seed_everything


def _digest(tensor: torch.Tensor) -> str:
    return hashlib.blake2b(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy(), digest_size=16).hexdigest()


def gather_local_state(job: Distributed, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Add every other rank's own state to rank 0's checkpoint ``tensors`` and ``meta`` (collective: every rank
    calls it; only rank 0's arguments change)."""
    if not job.enabled:
        return
    reference = job.broadcast({name: _digest(tensor) for name, tensor in tensors.items()} if job.is_main else None)
    own = {} if job.is_main else {n: t.detach().cpu() for n, t in tensors.items() if reference.get(n) != _digest(t)}
    gathered = job.gather({"tensors": own, "rng": meta["rng"]})
    if gathered is None:
        return
    meta["ranks"] = [{"rng": other["rng"]} for other in gathered[1:]]
    for rank, other in enumerate(gathered[1:], start=1):
        tensors.update(prefixed(f"rank.{rank}", other["tensors"]))


def own_state(checkpoint: Checkpoint, rank: int) -> Checkpoint | None:
    """The checkpoint as rank ``rank`` alone would have saved it; None if the run it holds had no such rank."""
    if rank == 0:
        return checkpoint
    saved = checkpoint.meta["progress"].get("world_size")
    ranks = checkpoint.meta.get("ranks")
    if not isinstance(saved, int) or rank >= saved:
        return None
    if not (isinstance(ranks, list) and len(ranks) == saved - 1 and isinstance(ranks[rank - 1], dict) and "rng" in ranks[rank - 1]):
        raise GanforgeError(
            f"checkpoint {checkpoint.path} records {saved} ranks but lacks the state of rank {rank}; "
            "it was not written by this ganforge, use another checkpoint"
        )
    tensors = {**checkpoint.tensors, **unprefixed(f"rank.{rank}", checkpoint.tensors)}
    return Checkpoint(checkpoint.path, tensors, {**checkpoint.meta, "rng": ranks[rank - 1]["rng"]})


def seed_new_rank(seed: int, rank: int, step: int) -> None:
    """Random streams for a rank the checkpoint did not have: its own, and the same on every resume from ``step``."""
    seed_everything(int(numpy.random.SeedSequence([seed, rank, step]).generate_state(2, numpy.uint32).view(numpy.uint64)[0] >> 1))


def carried_over(progress: Progress, source: Path, world_size: int, steps_per_epoch: Callable[[int], int]) -> Progress:
    """``progress`` checked against the run's size and expressed in ``world_size`` ranks.

    ``steps_per_epoch(n)`` is the run's steps per epoch with n ranks. A progress that no run of this size could
    reach (a damaged or edited checkpoint) is refused before anything is written.
    """
    saved = progress.world_size or world_size  # checkpoints from before ranks were recorded: as many as now
    known = steps_per_epoch(saved)
    most = steps_per_epoch(1)  # no epoch is longer than with one rank
    at = progress
    if not (known >= 1 and 0 <= at.position <= known and at.epoch - 1 + at.position <= at.step <= (at.epoch - 1) * most + at.position):
        raise GanforgeError(
            f"checkpoint {source} records step {at.step}, epoch {at.epoch}, position {at.position}, which no run of "
            f"{known} steps per epoch reaches; it is damaged or was edited, use another checkpoint"
        )
    if saved == world_size:
        return replace(at, world_size=world_size)
    now = steps_per_epoch(world_size)
    if at.position == known:  # the epoch and its end (samples, checkpoint) are done
        position = now
    else:  # the first position * saved minibatches of the order are used: skip none of the rest
        position = min(at.position * saved // world_size, now - 1)
    return replace(at, position=position, world_size=world_size)

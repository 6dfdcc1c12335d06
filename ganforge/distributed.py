"""Data-parallel training across processes with torch.distributed, launched by ``torchrun``.

Every process (rank) holds a full copy of every network and trains on its own shard of each epoch. After each
backward pass the gradients of the optimizer about to step are averaged across ranks with one flattened
``all_reduce``, so every rank takes the same step and the copies stay identical. This is the data parallelism of
``DistributedDataParallel`` without its module wrapper: GAN updates freeze one network while the other steps,
differentiate D twice for gradient penalties and switch networks between stages, none of which DDP's reducer
(which expects every wrapped parameter to get a gradient in every backward) allows. StyleGAN2-ADA's trainer
synchronises its gradients the same way for the same reasons. Synchronisation per optimizer step also means
variants need no changes to run on many processes.

No collective call waits forever: each gives up after ``dist.timeout_s`` and raises :class:`PeerLost`, and the
trainer names the rank that stopped answering (:meth:`Distributed.silent_ranks`).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Iterable, Iterator

import torch
import torch.distributed as dist
from torch import nn

from ganforge.errors import GanforgeError


class PeerLost(GanforgeError):
    """A collective call failed: another rank died, or stalled past ``dist.timeout_s``."""

    def __init__(self, reason: str):
        super().__init__(f"lost contact with the other processes of the job ({reason})")
        self.reason = reason


@contextlib.contextmanager
def _collective() -> Iterator[None]:
    # gloo and NCCL report a peer that died or a wait that timed out as a RuntimeError (DistError included)
    try:
        yield
    except RuntimeError as exc:
        lines = str(exc).strip().splitlines()
        raise PeerLost(lines[0] if lines else type(exc).__name__) from exc


@dataclass(frozen=True)
class Distributed:
    """Where this process stands among the ranks of one training job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    timeout_s: float = 1800.0  # how long a collective waits for the other ranks before the job stops

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes the run directory and prints progress."""
        return self.rank == 0

    def shard(self, order: torch.Tensor) -> torch.Tensor:
        """This rank's share of an epoch's order: every world_size-th example, all shards the same length."""
        usable = len(order) - len(order) % self.world_size
        return order[self.rank : usable : self.world_size]

    def average_gradients(self, optimizer: torch.optim.Optimizer) -> None:
        """Replace each gradient of ``optimizer``'s parameters by its mean over the ranks, in one collective call."""
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if not self.enabled or not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        with _collective():
            dist.all_reduce(flat)
        flat /= self.world_size
        for grad, averaged in zip(grads, flat.split([g.numel() for g in grads])):
            grad.copy_(averaged.view_as(grad))

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The mean of ``values`` over the ranks (every rank gets it)."""
        if self.enabled:
            values = values.clone()
            with _collective():
                dist.all_reduce(values)
            values /= self.world_size
        return values

    def broadcast_parameters(self, modules: list[nn.Module]) -> None:
        """Give every rank rank 0's weights and buffers, so that all start from the same point."""
        if self.enabled:
            with _collective():
                for module in modules:
                    for tensor in [*module.parameters(), *module.buffers()]:
                        dist.broadcast(tensor.data, src=0)

    def average_buffers(self, modules: Iterable[nn.Module]) -> None:
        """Replace every floating-point buffer (BatchNorm's running statistics) by its mean over the ranks.

        Each rank's running statistics follow its own shard; their mean estimates the whole data's, and after it
        every rank holds the same buffers (timm's ``distribute_bn`` does the same at epoch ends).
        """
        if self.enabled:
            with _collective():
                for module in modules:
                    for buffer in module.buffers():
                        if buffer.is_floating_point():
                            dist.all_reduce(buffer.data)
                            buffer.data /= self.world_size

    def barrier(self) -> None:
        if self.enabled:
            with _collective():
                dist.barrier()

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` (any picklable object) on every rank: a decision only rank 0 could take."""
        if not self.enabled:
            return value
        box = [value]
        with _collective():
            dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, value: Any) -> list[Any] | None:
        """Every rank's ``value`` (picklable, on the CPU) in rank order, on rank 0; None on the other ranks."""
        if not self.enabled:
            return [value]
        gathered: list[Any] | None = [None] * self.world_size if self.is_main else None
        with _collective():
            dist.gather_object(value, gathered, dst=0)
        return gathered

    def silent_ranks(self, step: int, grace_s: float = 3.0) -> list[int]:
        """After a failed collective: the ranks that do not answer a roll call within ``grace_s`` seconds.

        Every rank that is still running signs in to the job's key-value store (torchrun's agent holds it, so it
        outlives any one worker); a rank that never signs in has died or stalled. Empty when it cannot be told.
        """
        try:
            store = dist.distributed_c10d._get_default_store()
            call = f"ganforge/roll/{step}"
            store.set(f"{call}/{self.rank}", "here")
            deadline = time.monotonic() + grace_s
            while True:
                silent = [rank for rank in range(self.world_size) if not store.check([f"{call}/{rank}"])]
                if not silent or time.monotonic() > deadline:
                    return silent
                time.sleep(0.1)
        except (RuntimeError, ValueError, AttributeError):  # the store itself is gone (it lived in a dead rank)
            return []


def from_environment(device: str, timeout_s: float = 1800.0) -> Distributed:
    """The job ``torchrun`` described in this process's environment, its process group started.

    NCCL between GPUs, gloo on CPUs. Without torchrun's variables this is a single-process job. Every collective
    call (and joining the group) waits at most ``timeout_s`` seconds for the other ranks.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Distributed()
    job = Distributed(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")), timeout_s)
    if not dist.is_initialized():
        use_cuda = device != "cpu" and torch.cuda.is_available()
        if use_cuda:
            torch.cuda.set_device(job.local_rank)
        try:
            timeout = timedelta(seconds=timeout_s)
            store, _, _ = next(dist.rendezvous("env://", timeout=timeout))
            # torchrun's agent keeps its store across restarts (--max-restarts): keys of each attempt apart, or a
            # restarted rank could read the address of a process of the attempt before
            store = dist.PrefixStore(f"ganforge/attempt_{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}", store)
            backend = "nccl" if use_cuda else "gloo"
            dist.init_process_group(backend, store=store, rank=job.rank, world_size=world_size, timeout=timeout)
        except (RuntimeError, ValueError) as exc:
            raise GanforgeError(f"could not join the torchrun job as rank {job.rank} of {world_size}: {exc}") from None
        atexit.register(_leave_group)
    return job


# How long a process waits at exit for gloo's worker threads to let go of the last collective's tensors
RELEASE_WAIT_S = 0.25


def _leave_group() -> None:
    """At exit, while the interpreter is still whole: let the backend's threads finish, then leave the group.

    A backend thread drops a finished collective's tensors a moment after the caller's wait returns, and dropping
    a tensor that Python has seen takes the GIL. A thread that takes the GIL while the interpreter finalizes is
    ended from inside C++, which aborts the process ("terminate called without an active exception", SIGABRT), so
    torchrun reports a failed job although every rank had finished. ``destroy_process_group`` alone does not join
    those threads: the group outlives it while other references to it remain. The pause (the GIL released) lets
    the threads drop what they hold first. It comes even where the script destroyed the group itself: the threads
    live on as long as the group does.
    """
    time.sleep(RELEASE_WAIT_S)
    if dist.is_initialized():
        dist.destroy_process_group()


def local_device(job: Distributed, device: torch.device) -> torch.device:
    """On CUDA each process of a node drives its own GPU, the one numbered by its local rank."""
    if job.enabled and device.type == "cuda":
        return torch.device("cuda", job.local_rank)
    return device

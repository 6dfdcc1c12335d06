"""Data-parallel training across processes with torch.distributed, launched by ``torchrun``.

Every process (rank) holds a full copy of every network and trains on its own shard of each epoch. After each
backward pass the gradients of the optimizer about to step are averaged across ranks with one flattened
``all_reduce``, so every rank takes the same step and the copies stay identical. This is the data parallelism of
``DistributedDataParallel`` without its module wrapper: GAN updates freeze one network while the other steps,
differentiate D twice for gradient penalties and switch networks between stages, none of which DDP's reducer
(which expects every wrapped parameter to get a gradient in every backward) allows. StyleGAN2-ADA's trainer
synchronises its gradients the same way for the same reasons. Synchronisation per optimizer step also means
variants need no changes to run on many processes.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from typing import Iterable

import torch
import torch.distributed as dist
from torch import nn

from ganforge.errors import GanforgeError


@dataclass(frozen=True)
class Distributed:
    """Where this process stands among the ranks of one training job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

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
        dist.all_reduce(flat)
        flat /= self.world_size
        for grad, averaged in zip(grads, flat.split([g.numel() for g in grads])):
            grad.copy_(averaged.view_as(grad))

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The mean of ``values`` over the ranks (every rank gets it)."""
        if self.enabled:
            values = values.clone()
            dist.all_reduce(values)
            values /= self.world_size
        return values

    def broadcast_parameters(self, modules: list[nn.Module]) -> None:
        """Give every rank rank 0's weights and buffers, so that all start from the same point."""
        if self.enabled:
            for module in modules:
                for tensor in [*module.parameters(), *module.buffers()]:
                    dist.broadcast(tensor.data, src=0)

    def average_buffers(self, modules: Iterable[nn.Module]) -> None:
        """Replace every floating-point buffer (BatchNorm's running statistics) by its mean over the ranks.

        Each rank's running statistics follow its own shard; their mean estimates the whole data's, and after it
        every rank holds the same buffers (timm's ``distribute_bn`` does the same at epoch ends).
        """
        if self.enabled:
            for module in modules:
                for buffer in module.buffers():
                    if buffer.is_floating_point():
                        dist.all_reduce(buffer.data)
                        buffer.data /= self.world_size

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


def from_environment(device: str) -> Distributed:
    """The job ``torchrun`` described in this process's environment, its process group started.

    NCCL between GPUs, gloo on CPUs. Without torchrun's variables this is a single-process job.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Distributed()
    job = Distributed(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        use_cuda = device != "cpu" and torch.cuda.is_available()
        if use_cuda:
            torch.cuda.set_device(job.local_rank)
        try:
            dist.init_process_group("nccl" if use_cuda else "gloo")
        except (RuntimeError, ValueError) as exc:
            raise GanforgeError(f"could not join the torchrun job as rank {job.rank} of {world_size}: {exc}") from None
        atexit.register(dist.destroy_process_group)
    return job


def local_device(job: Distributed, device: torch.device) -> torch.device:
    """On CUDA each process of a node drives its own GPU, the one numbered by its local rank."""
    if job.enabled and device.type == "cuda":
        return torch.device("cuda", job.local_rank)
    return device

"""Speed settings applied to a variant's networks before it trains: memory layout, SyncBatchNorm, torch.compile.

None of them changes what is computed, only how fast (``train.compile`` and ``train.channels_last`` may change
results in the last bits, as any change of kernel does):

* ``train.channels_last``: convolutional networks keep their weights, and so their activations, in the NHWC
  layout, in which cuDNN runs convolutions on tensor cores without transposing (on by default on CUDA; on the CPU
  oneDNN's gain or loss depends on the network, so it is off unless asked for).
* ``train.sync_batchnorm``: with several processes, every BatchNorm layer normalises with the statistics of the
  whole global batch rather than its own process's share (``nn.SyncBatchNorm``; one all-reduce per layer per
  forward pass, CUDA only).
* ``train.compile``: ``torch.compile`` on every network, in place, so checkpoints keep their plain key names.
  ``reduce-overhead`` also captures each compiled graph as a CUDA graph, replayed with a single launch, which is
  where small networks gain most: their steps are bound by kernel launches, not arithmetic.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.config import TrainConfig
from ganforge.distributed import Distributed
from ganforge.errors import GanforgeError
from ganforge.variant import Variant


def accelerate(variant: Variant, train: TrainConfig, job: Distributed) -> None:
    """Apply ``train``'s speed settings to ``variant``'s networks, which are on their device; before its optimizers exist."""
    cuda = variant.device.type == "cuda"
    if train.sync_batchnorm and job.enabled:
        if not cuda:
            raise GanforgeError(
                "train.sync_batchnorm needs CUDA GPUs (PyTorch's SyncBatchNorm does not run on CPUs); "
                "leave it off with --device cpu: each process then normalises with its own minibatch"
            )
        for name, network in variant.networks.items():
            variant.networks[name] = nn.SyncBatchNorm.convert_sync_batchnorm(network)
    if cuda if train.channels_last is None else train.channels_last:
        for network in variant.networks.values():
            if any(parameter.dim() == 4 for parameter in network.parameters()):
                network.to(memory_format=torch.channels_last)
    if train.compile != "off":
        for network in variant.networks.values():
            network.compile(mode=train.compile)


def step_begins(train: TrainConfig) -> None:
    """Tell CUDA-graph replay that a new training step starts, so the last step's outputs may be overwritten."""
    if train.compile == "reduce-overhead":
        torch.compiler.cudagraph_mark_step_begin()

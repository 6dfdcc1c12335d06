"""The dataset contract: every dataset plugin returns a :class:`TensorData`.

A dataset is held whole as one tensor and moved to the training device once, so that drawing a minibatch is an
index into device memory rather than a trip through a DataLoader. Images stay uint8 there and are scaled to
[-1, 1] per minibatch; point data (such as the 2-D mixtures) is float32 and used as is.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DataSpec:
    """What a model needs to know about one example."""

    shape: tuple[int, ...]  # (C, H, W) for images, (D,) for points
    num_classes: int = 0  # 0 when the dataset has no labels
    is_image: bool = True  # images live in [-1, 1]; points are unbounded

    @property
    def size(self) -> int:
        """Number of values in one example."""
        return int(torch.Size(self.shape).numel())


@dataclass(frozen=True)
class Protocol:
    """What ``ganforge eval`` needs to know about a dataset beyond its examples and labels."""

    mode_std: float | None = None  # Gaussian mixtures: each component's std around its centre in ``reference``
    channels_of: str | None = None  # each channel is one example of this labelled dataset (stacked MNIST: "mnist")


@dataclass
class Batch:
    """One minibatch on the training device."""

    data: torch.Tensor  # float, images in [-1, 1]
    labels: torch.Tensor | None  # int64 class indices, or None


class TensorData:
    """A whole dataset as one tensor (uint8 images or float points) plus optional int64 labels."""

    def __init__(
        self,
        data: torch.Tensor,
        spec: DataSpec,
        labels: torch.Tensor | None = None,
        reference: torch.Tensor | None = None,
        protocol: Protocol = Protocol(),
    ):
        if spec.is_image and data.dtype != torch.uint8:
            raise TypeError(f"image data must be uint8, got {data.dtype}")
        if tuple(data.shape[1:]) != tuple(spec.shape):
            raise ValueError(f"data has examples of shape {tuple(data.shape[1:])}, spec says {spec.shape}")
        if labels is not None and len(labels) != len(data):
            raise ValueError(f"{len(labels)} labels for {len(data)} examples")
        self.data = data
        self.spec = spec
        self.labels = labels
        self.reference = reference  # e.g. the true mixture centres, drawn under sample plots
        self.protocol = protocol

    def __len__(self) -> int:
        return len(self.data)

    def to(self, device: torch.device) -> "TensorData":
        """The same dataset with its tensors on ``device``."""
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return TensorData(move(self.data), self.spec, move(self.labels), move(self.reference), self.protocol)

    def batch(self, indices: torch.Tensor) -> Batch:
        """The examples at ``indices`` (a tensor on the data's device), images scaled to [-1, 1]."""
        data = self.data[indices]
        data = data.float().div_(127.5).sub_(1.0) if self.spec.is_image else data.float()
        return Batch(data, None if self.labels is None else self.labels[indices])

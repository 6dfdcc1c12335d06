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
    domains: int = 1  # 2 for unpaired image-to-image data: TensorData.other holds the second domain
    scale: float = 1.0  # points: the data's std per coordinate, the unit point networks work in; images: 1

    @property
    def size(self) -> int:
        """Number of values in one example."""
        return int(torch.Size(self.shape).numel())


@dataclass(frozen=True)
class Protocol:
    """What ``ganforge eval`` needs to know about a dataset beyond its examples and labels."""

    mode_std: float | None = None  # Gaussian mixtures: each component's std around its centre in ``reference``
    channels_of: str | None = None  # each channel is one example of this labelled dataset (stacked MNIST: "mnist")
    target: str | None = None  # two-domain data: the labelled dataset domain B comes from, whose evaluator scores translations


@dataclass
class Batch:
    """One minibatch on the training device."""

    data: torch.Tensor  # float, images in [-1, 1]
    labels: torch.Tensor | None  # int64 class indices, or None
    other: torch.Tensor | None = None  # as many examples of the second domain, drawn at random, or None


class TensorData:
    """A whole dataset as one tensor (uint8 images or float points) plus optional int64 labels.

    Unpaired two-domain data (CycleGAN's A and B) keeps domain A in ``data`` and domain B in ``other``; the
    two may differ in size. An epoch is a pass over domain A, and each minibatch comes with as many examples of
    domain B drawn uniformly at random, as the original CycleGAN data loader draws them.
    """

    def __init__(
        self,
        data: torch.Tensor,
        spec: DataSpec,
        labels: torch.Tensor | None = None,
        reference: torch.Tensor | None = None,
        other: torch.Tensor | None = None,
        protocol: Protocol = Protocol(),
    ):
        if spec.is_image and data.dtype != torch.uint8:
            raise TypeError(f"image data must be uint8, got {data.dtype}")
        if tuple(data.shape[1:]) != tuple(spec.shape):
            raise ValueError(f"data has examples of shape {tuple(data.shape[1:])}, spec says {spec.shape}")
        if labels is not None and len(labels) != len(data):
            raise ValueError(f"{len(labels)} labels for {len(data)} examples")
        if (other is not None) != (spec.domains == 2):
            raise ValueError(f"spec says {spec.domains} domain(s) but a second domain was {'' if other is not None else 'not '}given")
        if other is not None and (other.dtype != data.dtype or tuple(other.shape[1:]) != tuple(spec.shape) or not len(other)):
            raise ValueError(f"the second domain must hold {data.dtype} examples of shape {spec.shape}")
        self.data = data
        self.spec = spec
        self.labels = labels
        self.reference = reference  # e.g. the true mixture centres, drawn under sample plots
        self.other = other
        self.protocol = protocol

    def __len__(self) -> int:
        return len(self.data)

    def fraction(self, fraction: float, seed: int) -> "TensorData":
        """A random ``fraction`` of the examples (of domain A, for two-domain data), the same for the same ``seed``;
        labels follow their examples, and the proportions of the classes are the sample's. Kept in the data's order."""
        count = round(len(self) * fraction)
        if count < 1:
            raise ValueError(f"data.fraction {fraction} of {len(self)} examples leaves none; raise data.fraction")
        if count == len(self):
            return self
        chosen = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:count].sort().values
        chosen = chosen.to(self.data.device)
        labels = None if self.labels is None else self.labels[chosen]
        return TensorData(self.data[chosen], self.spec, labels, self.reference, self.other, self.protocol)

    def to(self, device: torch.device) -> "TensorData":
        """The same dataset with its tensors on ``device``."""
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return TensorData(move(self.data), self.spec, move(self.labels), move(self.reference), move(self.other), self.protocol)

    def scaled(self, stored: torch.Tensor) -> torch.Tensor:
        """Stored examples as float: uint8 images scaled to [-1, 1], points as they are."""
        return stored.float().div_(127.5).sub_(1.0) if self.spec.is_image else stored.float()

    def batch(self, indices: torch.Tensor) -> Batch:
        """The examples at ``indices`` (a tensor on the data's device), and as many random ones of a second domain."""
        other = None
        if self.other is not None:
            picks = torch.randint(len(self.other), (len(indices),), device=self.other.device)
            other = self.scaled(self.other[picks])
        return Batch(self.scaled(self.data[indices]), None if self.labels is None else self.labels[indices], other)

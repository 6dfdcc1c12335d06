"""The dataset contract: every dataset plugin returns a :class:`TensorData`.

A dataset is held whole as one tensor and moved to the training device once, so that drawing a minibatch is an
index into device memory rather than a trip through a DataLoader. Images stay uint8 there and are scaled to
[-1, 1] per minibatch; point data (such as the 2-D mixtures) is float32 and used as is.

Captioned images (text-to-image data) also carry :class:`Captions`: one or more strings per example. Strings
cannot live on the device, so a minibatch carries caption *indices* (:class:`CaptionBatch`), and an embedding
turns them into vectors through its tokenizer: the whole caption table is tokenized once per tokenizer and kept
on the device beside the images, so that a training step never goes back to the host for text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True)
class DataSpec:
    """What a model needs to know about one example."""

    shape: tuple[int, ...]  # (C, H, W) for images, (D,) for points
    num_classes: int = 0  # 0 when the dataset has no labels
    is_image: bool = True  # images live in [-1, 1]; points are unbounded
    domains: int = 1  # 2 for unpaired image-to-image data: TensorData.other holds the second domain
    scale: float = 1.0  # points: the data's std per coordinate, the unit point networks work in; images: 1
    captioned: bool = False  # every example has one or more captions (TensorData.captions)

    @property
    def size(self) -> int:
        """Number of values in one example."""
        return int(torch.Size(self.shape).numel())


@dataclass(frozen=True)
class Protocol:
    """What ``ganforge eval`` needs to know about a dataset beyond its examples and labels."""

    mode_std: float | None = None  # Gaussian mixtures: each component's std around its centre in ``reference``
    channels_of: str | None = None  # each channel is one example of this labelled dataset (stacked MNIST: "mnist")
    # the labelled dataset whose evaluator scores this data: for two-domain data the one domain B comes from (it scores
    # translations), for captioned data the uncaptioned one its images come from (so FIDs stay comparable)
    target: str | None = None
    # captioned data: measures on images in [-1, 1] (N, C, H, W) -> {attribute: (N,) float}, the attributes whose asked
    # level Captions.attributes records, so that evaluation can correlate what a caption asks with what was drawn
    measure: Callable[[torch.Tensor], dict[str, torch.Tensor]] | None = None


class Captions:
    """The captions of a dataset: ``texts`` example by example, example i's being ``texts[offsets[i]:offsets[i + 1]]``.

    ``attributes`` (optional) gives, per caption, the level of each named attribute the caption asks for (a float
    tensor of ``len(texts)``, NaN where the caption does not say), which evaluation correlates with the attribute
    measured on images drawn from that caption (see :attr:`Protocol.measure`).
    """

    def __init__(self, texts: list[str], offsets: torch.Tensor, attributes: dict[str, torch.Tensor] | None = None):
        offsets = offsets.long()
        if offsets.dim() != 1 or len(offsets) < 1 or int(offsets[0]) != 0 or int(offsets[-1]) != len(texts):
            raise ValueError(f"caption offsets must run from 0 to the {len(texts)} captions")
        if len(offsets) > 1 and bool((offsets[1:] <= offsets[:-1]).any()):
            raise ValueError("every example needs at least one caption")
        for name, levels in (attributes or {}).items():
            if len(levels) != len(texts):
                raise ValueError(f"attribute '{name}' has {len(levels)} levels for {len(texts)} captions")
        self.texts = texts
        self.offsets = offsets
        self.attributes = dict(attributes or {})
        self._tokens: dict[str, torch.Tensor] = {}  # tokenizer key -> every caption tokenized, on the offsets' device

    def __len__(self) -> int:
        """The number of examples (not of captions)."""
        return len(self.offsets) - 1

    def to(self, device: torch.device) -> "Captions":
        moved = Captions(self.texts, self.offsets.to(device), {k: v.to(device) for k, v in self.attributes.items()})
        moved._tokens = {key: tokens.to(device) for key, tokens in self._tokens.items()}
        return moved

    def head(self, count: int) -> "Captions":
        """The captions of the first ``count`` examples."""
        end = int(self.offsets[count])
        return Captions(self.texts[:end], self.offsets[: count + 1], {k: v[:end] for k, v in self.attributes.items()})

    def select(self, examples: torch.Tensor) -> "Captions":
        """The captions of the examples at ``examples`` (int64 indices), in that order."""
        offsets = self.offsets.cpu()
        chosen = [(int(offsets[i]), int(offsets[i + 1])) for i in examples.cpu().tolist()]
        captions = torch.cat([torch.arange(first, last) for first, last in chosen]) if chosen else torch.zeros(0, dtype=torch.long)
        counts = torch.tensor([last - first for first, last in chosen], dtype=torch.long)
        new_offsets = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)]).to(self.offsets.device)
        attributes = {k: v[captions.to(v.device)] for k, v in self.attributes.items()}
        return Captions([self.texts[i] for i in captions.tolist()], new_offsets, attributes)

    def of(self, example: int) -> list[str]:
        """Example ``example``'s captions."""
        return self.texts[int(self.offsets[example]) : int(self.offsets[example + 1])]

    def pick(self, indices: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One caption of each example at ``indices``, drawn uniformly among its captions (StackGAN draws one of an
        image's captions each time it sees the image): caption indices on ``indices``' device."""
        offsets = self.offsets.to(indices.device)
        first, count = offsets[indices], offsets[indices + 1] - offsets[indices]
        if generator is None:
            draw = torch.rand(len(indices), device=indices.device)
        else:
            draw = torch.rand(len(indices), generator=generator).to(indices.device)
        return first + (draw * count).long().clamp_(max=count - 1)

    def tokens(self, ids: torch.Tensor, key: str, tokenize: Callable[[list[str]], torch.Tensor]) -> torch.Tensor:
        """The captions ``ids`` as ``tokenize`` encodes them: the whole table is tokenized on first use (per tokenizer
        ``key``) and kept on the device, so later calls are an index into device memory."""
        table = self._tokens.get(key)
        if table is None:
            table = self._tokens[key] = tokenize(self.texts).to(self.offsets.device)
        return table[ids.to(table.device)]


@dataclass
class CaptionBatch:
    """The captions of a minibatch: one caption index per example into ``table``, on the training device."""

    ids: torch.Tensor  # (N,) int64 indices into table.texts
    table: Captions

    def tokens(self, key: str, tokenize: Callable[[list[str]], torch.Tensor]) -> torch.Tensor:
        return self.table.tokens(self.ids, key, tokenize)


@dataclass
class Batch:
    """One minibatch on the training device."""

    data: torch.Tensor  # float, images in [-1, 1]
    labels: torch.Tensor | None  # int64 class indices, or None
    other: torch.Tensor | None = None  # as many examples of the second domain, drawn at random, or None
    captions: CaptionBatch | None = None  # captioned data: one caption of each example, drawn at random


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
        captions: Captions | None = None,
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
        if (captions is not None) != spec.captioned:
            raise ValueError(f"spec says captioned={spec.captioned} but captions were {'' if captions is not None else 'not '}given")
        if captions is not None and len(captions) != len(data):
            raise ValueError(f"captions for {len(captions)} examples, but the data has {len(data)}")
        self.data = data
        self.spec = spec
        self.labels = labels
        self.reference = reference  # e.g. the true mixture centres, drawn under sample plots
        self.other = other
        self.protocol = protocol
        self.captions = captions

    def __len__(self) -> int:
        return len(self.data)

    def fraction(self, fraction: float, seed: int) -> "TensorData":
        """A random ``fraction`` of the examples (of domain A, for two-domain data), the same for the same ``seed``;
        labels and captions follow their examples, and the proportions of the classes are the sample's. Kept in the
        data's order."""
        count = round(len(self) * fraction)
        if count < 1:
            raise ValueError(f"data.fraction {fraction} of {len(self)} examples leaves none; raise data.fraction")
        if count == len(self):
            return self
        return self._examples(self._order(seed)[:count].sort().values)

    def rest(self, fraction: float, seed: int) -> "TensorData":
        """The examples :meth:`fraction` leaves out (none when it keeps all): real data a run on that part never sees."""
        return self._examples(self._order(seed)[round(len(self) * fraction) :].sort().values)

    def _order(self, seed: int) -> torch.Tensor:
        return torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))

    def _examples(self, chosen: torch.Tensor) -> "TensorData":
        chosen = chosen.to(self.data.device)
        labels = None if self.labels is None else self.labels[chosen]
        captions = None if self.captions is None else self.captions.select(chosen)
        return TensorData(self.data[chosen], self.spec, labels, self.reference, self.other, self.protocol, captions)

    def to(self, device: torch.device) -> "TensorData":
        """The same dataset with its tensors on ``device``."""
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        captions = None if self.captions is None else self.captions.to(device)
        return TensorData(move(self.data), self.spec, move(self.labels), move(self.reference), move(self.other), self.protocol, captions)

    def head(self, count: int) -> "TensorData":
        """The first ``count`` examples (all of a second domain), with their labels and captions."""
        labels = None if self.labels is None else self.labels[:count]
        captions = None if self.captions is None else self.captions.head(count)
        return TensorData(self.data[:count], self.spec, labels, self.reference, self.other, self.protocol, captions)

    def scaled(self, stored: torch.Tensor) -> torch.Tensor:
        """Stored examples as float: uint8 images scaled to [-1, 1], points as they are."""
        return stored.float().div_(127.5).sub_(1.0) if self.spec.is_image else stored.float()

    def batch(self, indices: torch.Tensor) -> Batch:
        """The examples at ``indices`` (a tensor on the data's device), and as many random ones of a second domain."""
        other = None
        if self.other is not None:
            picks = torch.randint(len(self.other), (len(indices),), device=self.other.device)
            other = self.scaled(self.other[picks])
        captions = None if self.captions is None else CaptionBatch(self.captions.pick(indices), self.captions)
        return Batch(self.scaled(self.data[indices]), None if self.labels is None else self.labels[indices], other, captions)

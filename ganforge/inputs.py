"""What a network takes: the declared inputs that let the core call any generator, discriminator or encoder
without knowing the variant that built it.

A network whose ``forward`` takes more than its one data input (cgan's D(x, y), StackGAN's D(x, φ), BiGAN's
D(x, z), pix2pix's D(x, y)) or whose one input is not what its kind takes by default (an encoder's image) says so
with an ``inputs`` attribute, one :class:`Input` per positional argument of ``forward``, in order::

    self.inputs = (Input.data("x", spec), Input.vector("z", noise_dim))

The contract suite (:mod:`ganforge.testing`) then draws examples of every input, ``ganforge export --network``
gives the exported file one named input each, and augmentation knows the first is the image it augments (the
others are passed through untouched). Without the attribute a discriminator takes ``(x,)`` and a generator
``(z,)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ganforge.data import DataSpec


@dataclass(frozen=True)
class Input:
    """One positional input of a network's ``forward``: its name and what one example of it is."""

    name: str  # the forward() parameter it fills; the exported file's input name
    shape: tuple[int, ...]  # of one example: () for a class label
    classes: int = 0  # > 0: int64 class labels in range(classes)
    image: bool = False  # an image in [-1, 1] (the data's, or a second one); else float values

    @classmethod
    def data(cls, name: str, spec: DataSpec) -> "Input":
        """An example of the data: an image in [-1, 1] or a point, of ``spec.shape``."""
        return cls(name, tuple(spec.shape), image=spec.is_image)

    @classmethod
    def vector(cls, name: str, dim: int) -> "Input":
        """A float vector of ``dim`` values: noise z, a code, an embedding."""
        return cls(name, (dim,))

    @classmethod
    def labels(cls, name: str, classes: int) -> "Input":
        """One int64 class label in ``range(classes)`` per example."""
        return cls(name, (), classes=classes)

    def example(self, count: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``count`` random examples of this input, on the CPU: labels uniform over the classes, images uniform in
        [-1, 1], other values standard normal."""
        if self.classes:
            return torch.randint(self.classes, (count,), generator=generator)
        if self.image:
            return torch.rand(count, *self.shape, generator=generator).mul_(2).sub_(1)
        return torch.randn(count, *self.shape, generator=generator)


def declared_inputs(network: nn.Module) -> tuple[Input, ...] | None:
    """The network's declared :class:`Input` s, or None where it declares none."""
    inputs = getattr(network, "inputs", None)
    if inputs is None:
        return None
    inputs = tuple(inputs)
    if not inputs or not all(isinstance(one, Input) for one in inputs):
        raise TypeError(f"{type(network).__name__}.inputs must be a tuple of ganforge.inputs.Input, got {inputs!r}")
    return inputs

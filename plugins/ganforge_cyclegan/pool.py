"""The image pool of Shrivastava et al. (2017), which CycleGAN uses to update its discriminators.

D is shown a mix of G's newest outputs and ones it produced earlier, which damps the oscillation of the two
players chasing each other. Until the pool is full every new image is stored and shown; after that each new
image is, with probability 1/2, shown as it is, or else stored in place of a random older one, which is shown
instead. The draws are made for the whole minibatch at once on the device; two images that pick the same slot in
one minibatch both see its old content, and one of them is stored.
"""

from __future__ import annotations

import torch


class ImagePool:
    """Up to ``size`` earlier generated images (size 0: no pool, D sees only the newest images)."""

    def __init__(self, size: int):
        self.size = size
        self.images: torch.Tensor | None = None  # (size, C, H, W), allocated on first use
        self.count = 0  # slots filled so far

    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        """The images to show D in place of ``fakes``, updating the pool."""
        fakes = fakes.detach().float()
        if self.size == 0:
            return fakes
        if self.images is None:
            self.images = torch.zeros((self.size, *fakes.shape[1:]), device=fakes.device)
        stored = min(self.size - self.count, len(fakes))
        self.images[self.count : self.count + stored] = fakes[:stored]
        self.count += stored
        rest = fakes[stored:]
        if not len(rest):
            return fakes
        swap = (torch.rand(len(rest), device=fakes.device) < 0.5).view(-1, *[1] * (fakes.dim() - 1))
        slots = torch.randint(self.size, (len(rest),), device=fakes.device)
        older = self.images[slots]
        self.images[slots] = torch.where(swap, rest, older)
        return torch.cat([fakes[:stored], torch.where(swap, older, rest)])

    def state(self) -> dict[str, torch.Tensor]:
        """The pool's contents as tensors, for checkpoints."""
        if self.images is None:
            return {}
        return {"images": self.images[: self.count], "count": torch.tensor([self.count])}

    def load_state(self, tensors: dict[str, torch.Tensor], device: torch.device) -> None:
        """Restore what :meth:`state` returned."""
        if "images" not in tensors:
            return
        images = tensors["images"][: self.size].to(device)
        self.count = len(images)
        self.images = torch.zeros((self.size, *images.shape[1:]), device=device)
        self.images[: self.count] = images

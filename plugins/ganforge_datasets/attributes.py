"""Attributes measured on grey images, the facts captioned MNIST and Fashion-MNIST put into words.

Every measure takes images in [-1, 1], shape (N, 1, H, W), works on the ink intensity I = (x + 1) / 2 in [0, 1],
and returns one float per image. Coordinates are in pixels: column c grows to the right, row r downwards.

* **thickness**: the mean stroke width, 2A / P, where A is the number of ink pixels (I > 0.5) and P the number of
  edges between an ink pixel and a 4-neighbour that is not ink (the image border counts as no ink). A stroke of
  width w and length L >> w has A = wL and P ~ 2L, so 2A / P ~ w.
* **slant**: the horizontal shear of the ink, -cov(c, r) / var(r), with the moments weighted by I (the quantity
  moment-based deskewing removes). Positive: the top lies to the right of the bottom, the image leans right;
  an upright bar gives 0, a bar leaning 45° to the right 1.
* **width**: sqrt(12 var(c) + 1), var(c) the I-weighted variance of the column: exactly w for a uniform block w
  pixels wide (the variance of w consecutive columns is (w² − 1) / 12), so the width of the block spread the same
  way, in pixels.
* **brightness**: the mean of I over the item's pixels (I > 0.2): how light the ink is, from 0 to 1, whatever its
  extent.

An image without ink measures 0 for all four. :func:`levels` turns measurements into word levels by data
quantiles: per class, the lower third is -1, the middle third 0 and the upper third +1, so that a "thick one" is
thick for a one, and the words carry what the class does not.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

INK = 0.5  # intensity above which a pixel is part of a stroke, for thickness
ITEM = 0.2  # intensity above which a pixel belongs to the item, for brightness


def _intensity(images: torch.Tensor) -> torch.Tensor:
    return ((images.float() + 1) / 2).clamp(0, 1)[:, 0]


def thickness(images: torch.Tensor) -> torch.Tensor:
    """Mean stroke width 2A / P in pixels (see the module docstring)."""
    ink = F.pad((_intensity(images) > INK).float(), (1, 1, 1, 1))
    area = ink.sum((1, 2))
    edges = (ink[:, :, 1:] - ink[:, :, :-1]).abs().sum((1, 2)) + (ink[:, 1:] - ink[:, :-1]).abs().sum((1, 2))
    return torch.where(edges > 0, 2 * area / edges.clamp(min=1), torch.zeros_like(area))


def _moments(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Total ink, var(c), var(r) and cov(c, r), weighted by intensity."""
    weight = _intensity(images)
    height, width = weight.shape[1:]
    rows = torch.arange(height, dtype=torch.float32, device=weight.device)[:, None].expand(height, width)
    cols = torch.arange(width, dtype=torch.float32, device=weight.device)[None, :].expand(height, width)
    total = weight.sum((1, 2))
    safe = total.clamp(min=1e-6)
    mean_r = (weight * rows).sum((1, 2)) / safe
    mean_c = (weight * cols).sum((1, 2)) / safe
    dr, dc = rows - mean_r[:, None, None], cols - mean_c[:, None, None]
    return total, (weight * dc * dc).sum((1, 2)) / safe, (weight * dr * dr).sum((1, 2)) / safe, (weight * dc * dr).sum((1, 2)) / safe


def slant(images: torch.Tensor) -> torch.Tensor:
    """Horizontal shear -cov(c, r) / var(r): positive when the image leans right."""
    total, _, var_r, cov = _moments(images)
    return torch.where((total > 1e-6) & (var_r > 1e-6), -cov / var_r.clamp(min=1e-6), torch.zeros_like(total))


def width(images: torch.Tensor) -> torch.Tensor:
    """sqrt(12 var(c) + 1): the width in pixels of the uniform block whose columns spread as the ink's do."""
    total, var_c, _, _ = _moments(images)
    return torch.where(total > 1e-6, (12 * var_c + 1).sqrt(), torch.zeros_like(total))


def brightness(images: torch.Tensor) -> torch.Tensor:
    """Mean intensity over the item's pixels (I > 0.2), in [0, 1]."""
    intensity = _intensity(images)
    item = (intensity > ITEM).float()
    count = item.sum((1, 2))
    return torch.where(count > 0, (intensity * item).sum((1, 2)) / count.clamp(min=1), torch.zeros_like(count))


MEASURES = {"thickness": thickness, "slant": slant, "width": width, "brightness": brightness}


def measure(images: torch.Tensor, names: tuple[str, ...], batch: int = 2000) -> dict[str, torch.Tensor]:
    """The attributes ``names`` of every image, on the CPU, in batches."""
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in names}
    for chunk in images.split(batch):
        for name in names:
            parts[name].append(MEASURES[name](chunk).cpu())
    return {name: torch.cat(values) if values else torch.zeros(0) for name, values in parts.items()}


def levels(values: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """-1, 0 or +1 per value: its class's lower, middle or upper third (thresholds at the class's 1/3 and 2/3
    quantiles; ties go to the middle)."""
    out = torch.zeros(len(values))
    for label in labels.unique():
        chosen = labels == label
        low, high = torch.quantile(values[chosen].double(), torch.tensor([1 / 3, 2 / 3], dtype=torch.float64)).float()
        out[chosen & (values < low)] = -1.0
        out[chosen & (values > high)] = 1.0
    return out

"""Mode coverage: how many of a dataset's modes a generator reaches, and how evenly.

Gaussian mixtures follow the protocol of PacGAN (Lin et al. 2018, Table 1) and VEEGAN (Srivastava et al. 2017):
each sample is assigned to its nearest centre; it is *high quality* when it lies within 3 standard deviations of
that centre; a mode is *captured* when at least one high-quality sample is assigned to it. The *reverse KL* is
KL(p || u) = sum_i p_i log(p_i / u_i), where p is the histogram of high-quality samples over the modes (normalised
to sum to 1) and u is the uniform distribution over the K modes, so it is sum_i p_i log(K p_i), with 0 log 0 = 0.
It is 0 when every mode gets the same share and log K when all samples sit in one mode. This is the quantity the
PacGAN authors' code computes (their ``MetricLogger``): the histogram counts only samples within 3 std.

Stacked MNIST uses the same histogram over its 1,000 classes (as labelled by the evaluator) without a quality
threshold: every sample counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

HIGH_QUALITY_STDS = 3.0


@dataclass(frozen=True)
class ModeReport:
    """Mode coverage of one set of samples."""

    modes: int  # modes captured
    total_modes: int
    high_quality: float  # fraction of samples within 3 std of their nearest centre (1.0 where no threshold)
    reverse_kl: float  # KL(mode histogram || uniform), in nats
    samples: int


def histogram_kl(counts: torch.Tensor) -> float:
    """KL(p || uniform) in nats for the histogram ``counts`` over K modes (empty bins add 0; no samples: log K)."""
    counts = counts.double()
    total = counts.sum()
    if total == 0:
        return math.log(len(counts))
    p = counts[counts > 0] / total
    return float((p * (p * len(counts)).log()).sum())


def mixture_modes(samples: torch.Tensor, centres: torch.Tensor, std: float) -> ModeReport:
    """The PacGAN/VEEGAN mode metrics of 2-D (or any-D) ``samples`` against an isotropic mixture's ``centres``."""
    samples, centres = samples.detach().double().cpu(), centres.detach().double().cpu()
    distances = torch.cdist(samples, centres)
    nearest_distance, nearest = distances.min(dim=1)
    good = nearest_distance <= HIGH_QUALITY_STDS * std
    counts = torch.bincount(nearest[good], minlength=len(centres))
    return ModeReport(
        modes=int((counts > 0).sum()),
        total_modes=len(centres),
        high_quality=float(good.double().mean()) if len(samples) else 0.0,
        reverse_kl=histogram_kl(counts),
        samples=len(samples),
    )


def label_modes(labels: torch.Tensor, total_modes: int) -> ModeReport:
    """Mode metrics from class labels (stacked MNIST: the evaluator's 1,000 digit triples), every sample counted."""
    counts = torch.bincount(labels.detach().long().cpu(), minlength=total_modes)
    return ModeReport(int((counts > 0).sum()), total_modes, 1.0, histogram_kl(counts), len(labels))

"""Scores that compare generated and real examples through features: FID, KID, precision/recall, classifier score.

FID (Heusel et al. 2017), KID (Binkowski et al. 2018) and the Inception-Score form (Salimans et al. 2016) come from
torchmetrics, fed with features computed once here (torchmetrics accepts any feature extractor; it is handed an
identity, so the evaluator runs once per image for all the scores). torchmetrics has no generative precision and
recall, so :func:`precision_recall` implements Kynkaanniemi et al. (2019) directly, and :func:`density_coverage`
Naeem et al. (2020).
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

KNN = 3  # Kynkaanniemi et al.'s k for the radius of each feature's hypersphere
KID_SUBSET = 1000  # examples per KID subset (as in Binkowski et al.), fewer when fewer are given
KID_SUBSETS = 100
SCORE_SPLITS = 10  # the Inception Score's customary 10 splits


class _Given(nn.Module):
    """The identity as a torchmetrics feature extractor: updates pass features, not images."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)) of Gaussians fitted to two (N, D) feature sets."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    metric = FrechetInceptionDistance(feature=_Given(real.shape[1])).to(real.device)
    metric.update(real, real=True)
    metric.update(fake.to(real.device), real=False)
    return max(float(metric.compute()), 0.0)  # the sum of square roots can overshoot 0 by rounding


def kernel_distance(real: torch.Tensor, fake: torch.Tensor, seed: int = 0) -> tuple[float, float]:
    """KID: the unbiased MMD^2 with the cubic polynomial kernel, mean and std over random subsets."""
    from torchmetrics.image.kid import KernelInceptionDistance

    subset = min(KID_SUBSET, len(real), len(fake))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
        metric = KernelInceptionDistance(feature=_Given(real.shape[1]), subsets=KID_SUBSETS, subset_size=subset).to(real.device)
    metric.update(real, real=True)
    metric.update(fake.to(real.device), real=False)
    with torch.random.fork_rng(devices=[]):  # the subsets are drawn from the global RNG
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


def classifier_score(logits: torch.Tensor, seed: int = 0) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) with the evaluator's class probabilities: mean and std over 10 splits.

    Between 1 (every sample looks alike to the classifier, or it is unsure of all) and the number of classes
    (confident, and spread evenly over the classes).
    """
    from torchmetrics.image.inception import InceptionScore

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
        metric = InceptionScore(feature=_Given(logits.shape[1]), splits=SCORE_SPLITS).to(logits.device)
    metric.update(logits)
    with torch.random.fork_rng(devices=[]):  # the splits are drawn from the global RNG
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


def class_histogram(logits: torch.Tensor) -> tuple[float, float]:
    """(KL of the histogram of the evaluator's predicted classes against uniform, the smallest class's share).

    0 and 1/classes for samples spread evenly over the classes; log(classes) and 0 for samples all of one class,
    the signature of a collapsed generator.
    """
    classes = logits.shape[1]
    share = torch.bincount(logits.argmax(1).cpu(), minlength=classes).double() / len(logits)
    present = share[share > 0]
    return float((present * (present * classes).log()).sum()), float(share.min())


def _knn_radii(features: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """Distance from each feature to its k-th nearest neighbour among the others."""
    radii = []
    for part in features.split(chunk):
        distances = torch.cdist(part, features)
        radii.append(distances.kthvalue(k + 1, dim=1).values)  # the nearest (k=0) is the feature itself
    return torch.cat(radii)


def _covered(queries: torch.Tensor, support: torch.Tensor, radii: torch.Tensor, chunk: int) -> torch.Tensor:
    """Whether each query lies within the radius of at least one support feature."""
    covered = []
    for part in queries.split(chunk):
        covered.append((torch.cdist(part, support) <= radii.unsqueeze(0)).any(dim=1))
    return torch.cat(covered)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = KNN, chunk: int = 1024) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of ``fake`` against ``real`` features.

    Each feature set approximates its manifold by the union of balls centred on its features, each with the
    radius to that feature's k-th nearest neighbour. Precision is the share of fake features inside the real
    manifold (are the samples realistic?); recall is the share of real features inside the fake manifold (is
    all of the data's variety generated?). The radii depend on how densely each set is sampled, so pass sets of
    the same size (the judges do: :func:`ganforge.evaluation.judges.equal_sets`).
    """
    fake = fake.to(real.device)
    precision = _covered(fake, real, _knn_radii(real, k, chunk), chunk).double().mean()
    recall = _covered(real, fake, _knn_radii(fake, k, chunk), chunk).double().mean()
    return float(precision), float(recall)


DENSITY_KNN = 5  # Naeem et al.'s k for density and coverage


def density_coverage(real: torch.Tensor, fake: torch.Tensor, k: int = DENSITY_KNN, chunk: int = 1024) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative Models").

    Both use only the real features' k-NN balls B(x_i, r_i), r_i the distance from x_i to its k-th nearest other
    real feature, which makes them robust to the outliers among the fake features that inflate recall:

    - density = 1/(kM) sum_j sum_i 1[y_j in B(x_i, r_i)]: how many real balls each of the M samples lies in,
      over k. About 1 when samples follow the data; above 1 when they crowd where the data is densest.
    - coverage = 1/N sum_i 1[some y_j in B(x_i, r_i)]: the share of the N real features with a sample nearby. For
      samples from the data's own distribution and M = N, about 1 - 1/2^k (0.97 for k = 5).
    """
    fake = fake.to(real.device)
    radii = _knn_radii(real, k, chunk)
    inside_count = torch.zeros(len(real), dtype=torch.float64, device=real.device)  # samples per real ball
    for part in fake.split(chunk):
        inside_count += (torch.cdist(part, real) <= radii.unsqueeze(0)).sum(dim=0).double()
    density = float(inside_count.sum() / (k * len(fake)))
    coverage = float((inside_count > 0).double().mean())
    return density, coverage

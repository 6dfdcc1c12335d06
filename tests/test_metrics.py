"""Metric maths on inputs small enough to work out by hand."""

import math

import pytest
import torch

from ganforge.evaluation.features import classifier_score, frechet_distance, kernel_distance, precision_recall
from ganforge.evaluation.modes import histogram_kl, label_modes, mixture_modes
from ganforge_datasets.mixtures import RING8_STD, grid25, ring8, ring8_centres


def test_histogram_kl_against_uniform():
    assert histogram_kl(torch.tensor([5, 5, 5, 5])) == pytest.approx(0.0)
    assert histogram_kl(torch.tensor([9, 0, 0, 0])) == pytest.approx(math.log(4))
    # p = (1/2, 1/4, 1/4, 0): 1/2 log(4/2) + 2 * 1/4 log(4/4) = log(2) / 2
    assert histogram_kl(torch.tensor([2, 1, 1, 0])) == pytest.approx(math.log(2) / 2)


def test_mixture_modes_on_constructed_samples():
    centres = ring8_centres()
    samples = torch.stack([
        centres[0], centres[0], centres[0],              # three exactly on mode 0
        centres[1] + torch.tensor([0.02, 0.0]),          # 2 std from mode 1: high quality
        centres[2] + torch.tensor([0.0, 0.05]),          # 5 std from mode 2: assigned to it, but not high quality
    ])  # fmt: skip
    report = mixture_modes(samples, centres, RING8_STD)
    assert (report.modes, report.total_modes, report.samples) == (2, 8, 5)
    assert report.high_quality == pytest.approx(4 / 5)
    # the histogram counts high-quality samples only: p = (3/4, 1/4) over K = 8 modes
    assert report.reverse_kl == pytest.approx(0.75 * math.log(8 * 0.75) + 0.25 * math.log(8 * 0.25))


@pytest.mark.parametrize("dataset, modes", [(ring8, 8), (grid25, 25)])
def test_real_mixture_data_scores_as_perfect(dataset, modes):
    """Samples of the true distribution: every mode, about 98.9% within 3 std (a 2-D Gaussian), KL near 0."""
    data = dataset(size=2500, seed=1)
    report = mixture_modes(data.data, data.reference, data.protocol.mode_std)
    assert report.modes == modes
    assert report.high_quality == pytest.approx(1 - math.exp(-4.5), abs=0.006)
    assert report.reverse_kl < 0.03


def test_label_modes_counts_every_sample():
    report = label_modes(torch.arange(1000).repeat(3), 1000)
    assert (report.modes, report.reverse_kl, report.high_quality) == (1000, pytest.approx(0.0), 1.0)
    assert label_modes(torch.zeros(26, dtype=torch.long), 1000).reverse_kl == pytest.approx(math.log(1000))


def test_frechet_distance_identical_sets_is_zero_and_shift_is_its_square():
    real = torch.randn(2000, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert frechet_distance(real, real.clone()) == pytest.approx(0.0, abs=1e-6)
    shift = torch.tensor([1.0, -2.0, 0.5, 0.0, 0.0, 3.0], dtype=torch.float64)
    # same covariance, means apart by `shift`: the trace term vanishes and FID = ||shift||^2
    assert frechet_distance(real, real + shift) == pytest.approx(float(shift.square().sum()), rel=1e-5)


def test_frechet_distance_of_scaled_gaussians_has_the_closed_form():
    """N(0, S) against N(0, 4S): Tr(S + 4S - 2 (4 S^2)^(1/2)) = Tr(S)."""
    real = torch.randn(4000, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    covariance = torch.cov(real.T)
    assert frechet_distance(real, 2 * real) == pytest.approx(float(covariance.trace()), rel=1e-3)


def test_kernel_distance_is_near_zero_for_the_same_distribution_and_grows_with_a_shift():
    generator = torch.Generator().manual_seed(2)
    real, fake = torch.randn(500, 8, generator=generator), torch.randn(500, 8, generator=generator)
    same, _ = kernel_distance(real, fake)
    shifted, _ = kernel_distance(real, fake + 1.0)
    assert abs(same) < 0.05 and shifted > 10 * max(abs(same), 1e-3)


def test_precision_recall_by_hand():
    real = torch.tensor([[0.0], [1.0], [2.0], [10.0]])
    fake = torch.tensor([[0.5], [5.0], [20.0]])
    # k = 1: real radii (1, 1, 1, 8); 0.5 and 5 fall inside real balls, 20 does not -> precision 2/3.
    # fake radii (4.5, 4.5, 15): every real point lies inside some fake ball -> recall 1.
    assert precision_recall(real, fake, k=1) == (pytest.approx(2 / 3), pytest.approx(1.0))
    assert precision_recall(real, real, k=1) == (1.0, 1.0)
    assert precision_recall(real, real + 100, k=1) == (0.0, 0.0)


def test_classifier_score_bounds():
    """Confident and spread evenly over 10 classes: about 10 (each split of 1,000 is only nearly even); one class: 1."""
    confident = torch.full((10_000, 10), -20.0)
    confident[torch.arange(10_000), torch.arange(10_000) % 10] = 20.0
    assert classifier_score(confident)[0] == pytest.approx(10.0, rel=0.01)
    one_class = torch.zeros(1000, 10)
    one_class[:, 3] = 20.0
    assert classifier_score(one_class)[0] == pytest.approx(1.0, abs=1e-3)

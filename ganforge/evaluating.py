"""``ganforge.evaluate``: a saved generator scored against its run's data by the judges of
:mod:`ganforge.evaluation`, at one truncation or several."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Literal

from ganforge.assembly import load_dataset
from ganforge.evaluation.judges import Report, check_eval_count, judge_for
from ganforge.loading import load_with_checkpoint
from ganforge.noise import TruncationMode, truncated
from ganforge.registry import get_registry
from ganforge.sampling import chosen_truncation


def evaluate(
    path: str | Path,
    count: int | None = None,
    device: str = "auto",
    seed: int = 0,
    ema: bool = True,
    say: Callable[[str], None] = lambda message: None,
    evaluator: Literal["cnn", "inception"] = "cnn",
    inception_weights: str | Path | None = None,
    truncation: float | None = None,
    truncation_mode: TruncationMode | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Score the generator saved at ``path`` against its run's data, with the metrics that fit the data.

    ``count`` samples (default: the protocol's, 2,500 for the 2-D mixtures), drawn with ``seed``; the EMA weights
    unless ``ema`` is False. ``say`` hears about slow first-time work such as training the evaluator, and
    ``progress(done, total)`` how far that training is.
    ``evaluator`` "inception" computes image scores on Inception-v3, whose weights must be on disk (see
    :mod:`ganforge.evaluation.inception`). ``truncation`` scores samples of the truncated p_z, as in :func:`sample`.
    """
    return evaluate_truncations(path, [truncation], truncation_mode, count, device, seed, ema, say, evaluator, inception_weights, progress)[0]


def evaluate_truncations(
    path: str | Path,
    truncations: list[float | None],
    truncation_mode: TruncationMode | None = None,
    count: int | None = None,
    device: str = "auto",
    seed: int = 0,
    ema: bool = True,
    say: Callable[[str], None] = lambda message: None,
    evaluator: Literal["cnn", "inception"] = "cnn",
    inception_weights: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Report]:
    """One :func:`evaluate` report per truncation (None: untruncated), all with the same noise seed and the same
    prepared evaluator: what fidelity (precision) truncation buys at what cost in variety (recall)."""
    variant, _ = load_with_checkpoint(path, device, ema=ema)
    check_eval_count(count)  # before the data and the evaluator are loaded
    chosen = [chosen_truncation(variant, psi, truncation_mode if psi is not None else None) for psi in truncations]
    data = load_dataset(variant.config).to(variant.device)
    config = variant.config
    weights = None if inception_weights is None else Path(inception_weights)
    judge = judge_for(data, config.data.name, config.data.params, get_registry(), variant.device, say, evaluator, weights, progress)
    reports = []
    for truncation in chosen:
        with truncated(truncation, f"variant '{config.variant.name}'"):
            reports.append(judge(variant, count, seed))
    return reports

"""What a pair of scores means when it looks odd: one sentence each, printed under ``ganforge eval``'s table and
kept with the recorded scores, so that "precision 100%, recall 0%" is read as mode collapse, not as a good model.

Precision and density measure fidelity (are the samples where real data is?), recall and coverage variety (is all
of the data generated?). Naeem et al. (2020) show precision and recall misled by outliers, which density and
coverage resist; a disagreement between the two pairs is worth a sentence too.
"""

from __future__ import annotations

from typing import Any

HIGH, LOW = 0.8, 0.1  # shares read as "nearly all" and "nearly none"


def _share(scores: dict[str, Any], key: str) -> float | None:
    value = scores.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def explain(scores: dict[str, Any]) -> list[str]:
    """Sentences on the degenerate patterns among precision, recall, density and coverage; none for ordinary scores."""
    precision, recall = _share(scores, "precision"), _share(scores, "recall")
    density, coverage = _share(scores, "density"), _share(scores, "coverage")
    notes = []
    if precision is not None and recall is not None:
        if precision >= HIGH and recall <= LOW:
            covered = "" if coverage is None else f"; coverage {coverage:.0%} of the real data has a sample near it"
            notes.append(
                f"precision {precision:.0%} with recall {recall:.0%}: the samples look real but show almost none of the "
                f"data's variety: they sit on a few real modes (mode collapse){covered}. For more variety try a packed "
                "discriminator (pacgan) or a class condition (cgan)"
            )
        elif precision <= LOW and recall <= LOW:
            notes.append(
                f"precision {precision:.0%} and recall {recall:.0%}: the samples lie away from the real data altogether, "
                "as an untrained or diverged generator's do; look at the sample grids and the curves (ganforge plot)"
            )
        elif precision <= 2 * LOW and recall >= 0.5:
            notes.append(
                f"precision {precision:.0%} with recall {recall:.0%}: the samples spread over the data and beyond it: "
                "varied, but few look real (blurred or noisy); train longer, or lower the truncation PSI for fidelity"
            )
    if precision is not None and density is not None and precision >= 0.5 and density < 0.5 * precision:
        notes.append(
            f"precision {precision:.0%} but density {density:.2f}: the samples lie inside the real data's outskirts "
            "(the balls around real outliers), rarely where real examples are dense; density is the safer reading"
        )
    if density is not None and coverage is not None and density >= 1.5 and coverage < 0.5:
        notes.append(
            f"density {density:.2f} with coverage {coverage:.0%}: the samples crowd the densest real regions and leave "
            "most of the data without a sample nearby (mode dropping)"
        )
    return notes

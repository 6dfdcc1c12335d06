"""Training curves as a picture: ``curves.png`` in the run directory, drawn from ``metrics.jsonl``.

Panels, all against generator steps: the two losses; D(x) and D(G(z)) with the 0.5 they meet at in equilibrium;
the variant's own logged terms (cyclegan's cycle and identity losses, stackgan's matching loss and KL), where it
logs any; when the run trained on part of its data, D's overfitting (ADA's r_t on training and on held-out reals,
and the gap between them, :mod:`ganforge.evaluation.overfit`); and, when the run was evaluated (``--eval-every``),
its main metric (with the reverse KL beside mode counts). A run that logged one point shows it as a dot.
matplotlib is imported here only, with the Agg backend, so nothing else pays for it and no display is needed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ganforge.checkpoint import write_atomic
from ganforge.errors import GanforgeError
from ganforge.outputs import output_file, writing

CURVES_NAME = "curves.png"
FLOAT32_MAX = 3.4028234663852886e38
LABELS = {"modes": "modes captured", "fid": "FID", "frechet_distance": "Frechet distance", "reverse_kl": "reverse KL"}


def read_metrics(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Training records and evaluation records (those marked ``"eval": true``) of a ``metrics.jsonl``."""
    if not path.is_file():
        raise GanforgeError(f"{path} does not exist; pass a run directory written by 'ganforge run'")
    from ganforge.files import describe, read_regular

    training, evaluations = [], []
    try:
        data = read_regular(path, limit=None)  # a regular file: a FIFO named metrics.jsonl would wait forever
    except OSError as exc:
        raise GanforgeError(f"{path} cannot be read ({describe(exc)})") from None
    lines = data.splitlines()
    if lines and not data.endswith(b"\n"):  # being written right now, or cut short by a kill: not a record yet
        lines.pop()
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise GanforgeError(f"{path} line {number} is not JSON; the file is corrupt") from None
        problem = _problem(record)
        if problem:
            raise GanforgeError(f"{path} line {number} {problem}; the file is corrupt or was not written by ganforge")
        (evaluations if record.get("eval") else training).append(record)
    return training, evaluations


def _problem(record: Any) -> str | None:
    """What keeps a metrics record from being drawn, or None."""
    if not isinstance(record, dict):
        return f"is not a JSON object but {type(record).__name__}"
    if not _is_number(record.get("step")):
        return "has no numeric 'step'"
    if record.get("eval") and not isinstance(record.get("main"), str):
        return "is an evaluation record without 'main', the name of its main score"
    return None


def _is_number(value: Any) -> bool:
    """A value a curve can hold: finite, and within float32's range, which every logged metric is computed in
    (matplotlib cannot lay out an axis out to 1e308)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and abs(value) <= FLOAT32_MAX


def _series(records: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    points = [(r["step"], r[key]) for r in records if _is_number(r.get(key))]
    return [p[0] for p in points], [p[1] for p in points]


# Training metrics that are not a variant's own loss terms: the shared panels' and bookkeeping.
NOT_OWN_TERMS = {
    "step", "epoch", "loss_d", "loss_g", "d_real", "d_fake", "images_per_s", "lr", "skipped_updates", "augment_p", "stage",
    "rt_train", "rt_held_out", "rt_gap",  # D's overfitting: a panel of their own
}  # fmt: skip


def own_terms(records: list[dict[str, Any]]) -> list[str]:
    """The variant's own logged terms (cyclegan's ``cycle`` and ``identity``, stackgan's ``loss_match``, ``kl``,
    penalties), in the order first logged."""
    keys: dict[str, None] = {}
    for record in records:
        keys.update({key: None for key, value in record.items() if key not in NOT_OWN_TERMS and _is_number(value)})
    return list(keys)


def _plot(axis: Any, records: list[dict[str, Any]], key: str, **style: Any) -> None:
    """One curve; a run with a single logged point shows that point (a line of one point draws nothing)."""
    steps, values = _series(records, key)
    if len(steps) == 1 and "marker" not in style:
        style["marker"] = "o"
    axis.plot(steps, values, **style)


def plot_curves(run_path: str | Path, out: str | Path | None = None) -> Path:
    """Draw the curves of the run at ``run_path`` into ``out`` (default ``<run>/curves.png``; a directory: its
    ``curves.png``); returns the file written."""
    training, evaluations = read_metrics(Path(run_path) / "metrics.jsonl")
    if not training:
        raise GanforgeError(f"{run_path}/metrics.jsonl holds no training records yet; nothing to plot")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    out = output_file(None if out is None else Path(out), Path(run_path) / CURVES_NAME, _picture_suffixes())
    terms = own_terms(training)
    overfitting = any(_is_number(r.get("rt_train")) for r in training)
    panels = 2 + bool(terms) + overfitting + bool(evaluations)
    figure, axes = pyplot.subplots(panels, 1, figsize=(8, 3 * panels), sharex=True, squeeze=False)
    axes = axes[:, 0]

    for key, colour in (("loss_d", "tab:blue"), ("loss_g", "tab:orange")):
        _plot(axes[0], training, key, label=key, color=colour)
    axes[0].set_ylabel("loss")
    axes[0].legend(loc="upper right")
    axes[0].set_title(Path(run_path).name)

    _plot(axes[1], training, "d_real", label="D(x)", color="tab:green")
    _plot(axes[1], training, "d_fake", label="D(G(z))", color="tab:red")
    axes[1].axhline(0.5, color="grey", linestyle="--", linewidth=1, label="equilibrium 0.5")
    axes[1].set_ylim(0, 1)
    axes[1].set_ylabel("mean probability 'real'")
    axes[1].legend(loc="upper right")

    panel = 2
    if terms:
        for key in terms:
            _plot(axes[panel], training, key, label=key)
        axes[panel].set_ylabel("the variant's own terms")
        axes[panel].legend(loc="upper right", fontsize=8)
        panel += 1
    if overfitting:
        axes[panel].plot(*_series(training, "rt_train"), label="r_t, training reals", color="tab:green")
        axes[panel].plot(*_series(training, "rt_held_out"), label="r_t, held-out reals", color="tab:olive")
        axes[panel].plot(*_series(training, "rt_gap"), label="gap (training - held-out)", color="tab:red", linestyle="--")
        axes[panel].axhline(0.0, color="grey", linewidth=1)
        axes[panel].set_ylim(-1.05, 2.05)
        axes[panel].set_ylabel("E[sign D(x)]")
        axes[panel].set_title("D's overfitting: ADA's r_t", fontsize=9)
        axes[panel].legend(loc="upper left")

    if evaluations:
        scores = axes[-1]
        main = evaluations[-1]["main"]
        scores.plot(*_series(evaluations, main), marker="o", color="tab:purple", label=LABELS.get(main, main))
        scores.set_ylabel(LABELS.get(main, main))
        handles = scores.get_lines()
        if main == "modes" and any("reverse_kl" in r for r in evaluations):
            twin = scores.twinx()
            twin.plot(*_series(evaluations, "reverse_kl"), marker="s", color="tab:brown", label="reverse KL")
            twin.set_ylabel("reverse KL (nats)")
            handles = handles + twin.get_lines()
        scores.legend(handles=handles, labels=[h.get_label() for h in handles], loc="center right")
        evaluator = evaluations[-1].get("evaluator")
        if evaluator:
            scores.set_title(f"evaluator {evaluator}", fontsize=9)
    axes[-1].set_xlabel("generator step")
    figure.tight_layout()
    try:  # written whole or not at all, like every file of a run
        writing(out, lambda: write_atomic(out, lambda temporary: figure.savefig(temporary, dpi=100, format=out.suffix[1:].lower() or "png")))
    finally:
        pyplot.close(figure)
    return out


def _picture_suffixes() -> list[str]:
    """The formats matplotlib can write here (.png, .pdf, .svg, ...)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return [f".{name}" for name in FigureCanvasAgg.get_supported_filetypes()]

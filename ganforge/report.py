"""A run's page, ``report.html``: one self-contained HTML file (pictures inlined as data URIs) that shows what the
run did: the sample grid of every epoch (a slider and a strip), the loss, D(x) and D(G(z)) curves, the evaluation
scores (in training, and those ``ganforge eval`` recorded), the config and the command that trains the same run
again. Written at the end of every run, by ``ganforge eval`` and by ``ganforge report RUN``; it opens in any browser, offline, and can be mailed or archived as one file.
"""

from __future__ import annotations

import base64
import html
import json
import shlex
import tempfile
import time
from pathlib import Path
from typing import Any

from ganforge.errors import GanforgeError
from ganforge.evaluation.curves import CURVES_NAME, plot_curves, read_metrics
from ganforge.evaluation.recorded import read_recorded
from ganforge.files import describe, parse_json, read_regular, read_text
from ganforge.rundir import RunDir, check_output_file

MAX_PICTURE_BYTES = 64 << 20  # a grid ganforge writes is a few hundred kilobytes

STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; max-width: 1100px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
.meta { color: #555; } code, pre { background: #f4f4f4; padding: 2px 4px; } pre { padding: 10px; white-space: pre-wrap; overflow-wrap: anywhere; }
#grid { image-rendering: pixelated; max-width: 100%; border: 1px solid #ccc; }
.strip { display: flex; gap: 6px; overflow-x: auto; padding: 6px 0; }
.strip figure { margin: 0; text-align: center; font-size: 11px; color: #555; cursor: pointer; }
.strip img { height: 72px; image-rendering: pixelated; border: 1px solid #ccc; }
table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
.best { font-weight: bold; }
"""

SLIDER = """
const figures = document.querySelectorAll(".strip figure");  // each grid is in the page once, in the strip
const slider = document.getElementById("epoch"), grid = document.getElementById("grid"), label = document.getElementById("label");
function show(i) { slider.value = i; grid.src = figures[i].querySelector("img").src; label.textContent = figures[i].textContent; }
slider.addEventListener("input", () => show(Number(slider.value)));
figures.forEach((f, i) => f.addEventListener("click", () => show(i)));
"""


def data_uri(path: Path, run: Path | None = None) -> str:
    """``path`` inlined; ``run``: the file must be a regular file inside it, links resolved (an OSError if not)."""
    return "data:image/png;base64," + base64.b64encode(read_regular(path, MAX_PICTURE_BYTES, inside=run)).decode("ascii")


def _grids(run: RunDir) -> list[tuple[str, str]]:
    """(name, data URI) of each epoch's grid that is a picture of this run: a link out of the run, a FIFO, a
    directory or a device named like a grid is left out."""
    found = []
    for path in sorted(run.samples_dir.glob("epoch_*.png")):
        try:
            found.append((path.stem.replace("_", " "), data_uri(path, run.path)))
        except OSError:
            continue
    return found


def reproduce_command(config: dict[str, Any], registry: Any = None) -> str:
    """``ganforge run VARIANT --data DATA --set key=value ...``: every key whose value differs from what those two
    alone give, so the command trains this run again (bit for bit on the CPU, the seed being a key too)."""
    from ganforge.config import RunConfig, resolve_config
    from ganforge.registry import get_registry

    variant, flat = RunConfig.flatten(config)
    registry = registry or get_registry()
    data = config["data"]["name"]
    defaults = RunConfig.flatten(resolve_config(registry, variant, {"data.name": data}).to_dict())[1]
    words = ["ganforge", "run", config["variant"], "--data", data]
    for key, value in flat.items():
        if key in ("data.name", "train.device") or defaults.get(key) == value:
            continue  # the device is where it ran, not what it is; auto picks it again
        if key == "data.root":
            words += ["--data-root", str(value)]
            continue
        text = value.removeprefix("ganforge:") if key.endswith(".name") and isinstance(value, str) else value
        words += ["--set", f"{key}={'none' if text is None else str(text).lower() if isinstance(text, bool) else text}"]
    return shlex.join(words)


def _status(run: RunDir) -> str:
    """The run's state as status.json records it; "unknown" when the file is missing or damaged."""
    try:
        state = parse_json(read_text(run.status_path))
    except (OSError, ValueError):
        return "unknown"
    if not isinstance(state, dict) or not isinstance(state.get("state", "unknown"), str):
        return "unknown"
    error = state.get("error")
    return state.get("state", "unknown") + (f": {error}" if error else "")


def _scores_table(evaluations: list[dict[str, Any]]) -> str:
    if not evaluations:
        return "<p>Not evaluated during training (<code>--eval-every N</code>); <code>ganforge eval RUN</code> scores it.</p>"
    keys = [key for key in evaluations[-1] if key not in ("step", "epoch", "eval", "main", "best", "evaluator")]
    keys = [key for key in keys if isinstance(evaluations[-1][key], (int, float))]
    head = "".join(f"<th>{html.escape(key)}</th>" for key in ["step", *keys])
    rows = []
    for record in evaluations:
        cells = "".join(f"<td>{_number(record.get(key))}</td>" for key in ["step", *keys])
        rows.append(f"<tr{' class=best' if record.get('best') else ''}>{cells}</tr>")
    main = evaluations[-1].get("main", "")
    return f"<p>Main metric: <code>{html.escape(str(main))}</code>; the best evaluation so far in bold.</p><table><tr>{head}</tr>{''.join(rows)}</table>"


def _recorded_table(entries: list[dict[str, Any]]) -> str:
    """The scores ``ganforge eval`` recorded in the run (scores.jsonl), newest last, with what was noted on them."""
    keys: list[str] = []
    for entry in entries:
        keys += [key for key, value in entry["scores"].items() if key not in keys and isinstance(value, (int, float)) and not key.endswith("_std")]
    head = "".join(f"<th>{html.escape(key)}</th>" for key in ["when", "checkpoint", "samples", "evaluator", *keys])
    rows, notes = [], []
    for entry in entries:
        evaluator = entry.get("evaluator")
        name = evaluator.get("name", "") if isinstance(evaluator, dict) else ""
        psi = entry.get("truncation")
        checkpoint = f"{entry.get('checkpoint', '')}" + ("" if psi is None else f", truncation {psi}")
        cells = [_number(entry.get("time")), _number(checkpoint), _number(entry.get("samples")), _number(name)]
        cells += [_number(entry["scores"].get(key)) for key in keys]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
        notes += [note for note in entry.get("notes") or [] if isinstance(note, str) and note not in notes]
    said = "".join(f"<li>{html.escape(note)}.</li>" for note in notes)
    main = html.escape(str(entries[-1]["main"]))
    return (
        f"<h3>Scored with <code>ganforge eval</code></h3><p>Main metric: <code>{main}</code>.</p>"
        f"<table id=recorded><tr>{head}</tr>{''.join(rows)}</table>" + (f"<ul class=notes>{said}</ul>" if said else "")
    )


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return html.escape("" if value is None else str(value))
    return f"{value:,}" if isinstance(value, int) else f"{value:.4g}"


def _config(run: RunDir) -> dict[str, Any]:
    """The run's config.json, or one line saying why it is not a run config."""
    if not run.config_path.is_file():
        raise GanforgeError(f"{run.path} holds no config.json; pass a run directory written by 'ganforge run'")
    try:
        config = parse_json(read_text(run.config_path))
    except (OSError, ValueError) as exc:
        raise GanforgeError(f"{run.config_path} cannot be read as a run config ({describe(exc)}); the run directory is damaged") from None
    if not isinstance(config, dict) or not isinstance(config.get("variant"), str) or not isinstance(config.get("data"), dict) or not isinstance(config["data"].get("name"), str):
        raise GanforgeError(f"{run.config_path} is not a run config (no variant or data name); the run directory is damaged")
    return config


def _command(config: dict[str, Any], registry: Any) -> str:
    """:func:`reproduce_command`, or why a damaged config gives none."""
    try:
        return reproduce_command(config, registry)
    except (GanforgeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        return f"(no command: the run's config.json does not resolve: {exc})"


def render(run_path: Path, registry: Any = None, curves_into_run: bool = True) -> str:
    """The HTML page of the run directory ``run_path``. ``curves_into_run``: a missing curves.png is drawn into the
    run (else into a temporary file, so that a page written elsewhere leaves the run as it was)."""
    run = RunDir(run_path)
    config = _config(run)
    variant, data = config["variant"], config["data"]["name"]
    damage = None
    try:
        training, evaluations = read_metrics(run.metrics_path) if run.metrics_path.is_file() else ([], [])
    except GanforgeError as exc:
        training, evaluations, damage = [], [], str(exc)
    grids = _grids(run)
    curves_uri = _curves(run, curves_into_run) if training else None
    last = training[-1] if training else {}
    title = html.escape(run.path.resolve().name)
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{STYLE}</style></head><body>",
        f"<h1>{title}</h1>",
        f"<p class=meta><b>{html.escape(str(variant))}</b> on <b>{html.escape(str(data))}</b> · {html.escape(_status(run))} · "
        f"step {_number(last.get('step', 0))}, epoch {_number(last.get('epoch', 0))} · page written {time.strftime('%Y-%m-%d %H:%M')}</p>",
        "<h2>Train it again</h2>",
        f"<pre id=command>{html.escape(_command(config, registry))}</pre>",
        f"<p>or, from this run's own settings: <code id=from-config>{html.escape(shlex.join(['ganforge', 'run', '--config', str(run.config_path)]))}</code> "
        "(add <code>--out DIR</code> for a directory of its own)</p>",
        "<h2>Samples, epoch by epoch</h2>",
    ]
    if grids:
        # every value below is text from the run's files: escaped, quotes too (attributes are in quotes)
        sources = [{"name": html.escape(name, quote=True), "src": src} for name, src in grids]
        parts += [
            f"<p><input type=range id=epoch min=0 max={len(grids) - 1} value={len(grids) - 1} style='width:60%'> "
            f"<span id=label>{sources[-1]['name']}</span></p>",
            f"<img id=grid alt='samples' src='{sources[-1]['src']}'>",
            "<div class=strip>"
            + "".join(f"<figure><img alt='{s['name']}' src='{s['src']}'><figcaption>{s['name']}</figcaption></figure>" for s in sources)
            + "</div>",
            f"<script>{SLIDER}</script>",
        ]
    else:
        parts.append("<p>No sample grids yet (they are written at the end of every epoch).</p>")
    parts.append("<h2>Curves</h2>")
    if damage is not None:
        parts.append(f"<p>{html.escape(damage)}</p>")
    elif curves_uri is not None:
        parts.append(f"<img id=curves alt='curves' src='{curves_uri}' style='max-width:100%'>")
    else:
        parts.append("<p>Nothing logged yet.</p>" if not training else "<p>The curves could not be drawn.</p>")
    recorded = read_recorded(run.path)
    parts.append("<h2>Evaluation</h2>")
    if evaluations or not recorded:
        parts.append(_scores_table(evaluations))
    if recorded:
        parts.append(_recorded_table(recorded))
    parts += ["<h2>Config</h2>", f"<pre>{html.escape(json.dumps(config, indent=2))}</pre>", "</body></html>"]
    return "\n".join(parts)


def _curves(run: RunDir, into_run: bool) -> str | None:
    """The curves' picture as a data URI: the run's curves.png, else drawn anew; None when neither works."""
    try:
        return data_uri(run.path / CURVES_NAME, run.path)
    except OSError:
        pass
    try:
        if into_run:
            return data_uri(plot_curves(run.path))
        with tempfile.TemporaryDirectory(prefix="ganforge-report-") as scratch:
            return data_uri(plot_curves(run.path, Path(scratch) / CURVES_NAME))
    except (GanforgeError, OSError):
        return None


def write_report(run_path: Path, out: Path | None = None, registry: Any = None) -> Path:
    """Write the page of the run at ``run_path`` to ``out`` (default ``RUN/report.html``)."""
    from ganforge.checkpoint import write_atomic

    target = Path(out) if out is not None else RunDir(run_path).report_path
    page = render(Path(run_path), registry, curves_into_run=out is None)
    check_output_file(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, lambda temporary: temporary.write_text(page))
    except OSError as exc:
        where = "choose another --out" if out is not None else "pass --out FILE to write the page elsewhere"
        raise GanforgeError(f"cannot write {target} ({exc.strerror or exc}); {where}") from None
    return target

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
import time
from pathlib import Path
from typing import Any

from ganforge.errors import GanforgeError
from ganforge.evaluation.curves import CURVES_NAME, plot_curves, read_metrics
from ganforge.evaluation.recorded import read_recorded
from ganforge.rundir import RunDir, check_output_file

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


def data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


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
    try:
        state = json.loads(run.status_path.read_text())
    except (OSError, ValueError):
        return "unknown"
    return str(state.get("state", "unknown")) + (f": {state['error']}" if state.get("error") else "")


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


def render(run_path: Path, registry: Any = None) -> str:
    """The HTML page of the run directory ``run_path``."""
    run = RunDir(run_path)
    if not run.config_path.is_file():
        raise GanforgeError(f"{run_path} holds no config.json; pass a run directory written by 'ganforge run'")
    try:
        config = json.loads(run.config_path.read_text())
        variant, data = config["variant"], config["data"]["name"]
    except (ValueError, KeyError, TypeError) as exc:
        raise GanforgeError(f"{run.config_path} is not a run config ({exc}); the run directory is damaged") from None
    training, evaluations = read_metrics(run.metrics_path) if run.metrics_path.is_file() else ([], [])
    grids = sorted(run.samples_dir.glob("epoch_*.png"))
    curves = run.path / CURVES_NAME
    if training and not curves.is_file():
        curves = plot_curves(run.path)
    last = training[-1] if training else {}
    title = html.escape(run.path.resolve().name)
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{STYLE}</style></head><body>",
        f"<h1>{title}</h1>",
        f"<p class=meta><b>{html.escape(str(variant))}</b> on <b>{html.escape(str(data))}</b> · {html.escape(_status(run))} · "
        f"step {_number(last.get('step', 0))}, epoch {_number(last.get('epoch', 0))} · page written {time.strftime('%Y-%m-%d %H:%M')}</p>",
        "<h2>Train it again</h2>",
        f"<pre id=command>{html.escape(reproduce_command(config, registry))}</pre>",
        f"<p>or, from this run's own settings: <code id=from-config>{html.escape(shlex.join(['ganforge', 'run', '--config', str(run.config_path)]))}</code> "
        "(add <code>--out DIR</code> for a directory of its own)</p>",
        "<h2>Samples, epoch by epoch</h2>",
    ]
    if grids:
        # every value below is text from the run's files: escaped, quotes too (attributes are in quotes)
        sources = [{"name": html.escape(path.stem.replace("_", " ")), "src": data_uri(path)} for path in grids]
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
    parts.append(f"<img id=curves alt='curves' src='{data_uri(curves)}' style='max-width:100%'>" if training else "<p>Nothing logged yet.</p>")
    recorded = read_recorded(run.path)
    parts.append("<h2>Evaluation</h2>")
    if evaluations or not recorded:
        parts.append(_scores_table(evaluations))
    if recorded:
        parts.append(_recorded_table(recorded))
    parts += ["<h2>Config</h2>", f"<pre>{html.escape(json.dumps(config, indent=2))}</pre>", "</body></html>"]
    return "\n".join(parts)


def write_report(run_path: Path, out: Path | None = None, registry: Any = None) -> Path:
    """Write the page of the run at ``run_path`` to ``out`` (default ``RUN/report.html``)."""
    from ganforge.checkpoint import write_atomic

    target = Path(out) if out is not None else RunDir(run_path).report_path
    page = render(Path(run_path), registry)
    check_output_file(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, lambda temporary: temporary.write_text(page))
    except OSError as exc:
        raise GanforgeError(f"cannot write {target} ({exc.strerror or exc}); choose another --out") from None
    return target

"""The commands that work on finished runs beyond sampling: latent walks, export, a run's page and the list of runs.

:data:`COMMANDS` names them; :mod:`ganforge.cli` adds them to its ``app``, so the command line is assembled in one
direction: ``cli`` imports this module, never the other way round.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from ganforge.cli_output import console, reports_errors
from ganforge.errors import GanforgeError


def _seeds(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(word) for word in text.split(",")]
    except ValueError:
        raise GanforgeError(f"--seeds {text!r} is not a list of whole numbers such as 0,1,2") from None


@reports_errors
def interpolate(
    path: Path = typer.Argument(..., help="A run directory (its newest checkpoint) or a checkpoint file."),
    out: Path = typer.Option(Path("walk.gif"), "--out", help="walk.gif, or an .mp4 where ffmpeg (or imageio-ffmpeg) is available."),
    frames: int = typer.Option(16, "--frames", help="Frames from each point to the next."),
    points: int = typer.Option(4, "--points", help="Random points of the walk (it returns to the first)."),
    seeds: Optional[str] = typer.Option(None, "--seeds", help="Chosen points instead: one seed per point, e.g. 3,7,11."),
    count: int = typer.Option(8, "-n", "--count", help="Walks side by side in each frame (per class row for conditional variants)."),
    fps: float = typer.Option(12.0, "--fps", help="Frames per second."),
    label: Optional[int] = typer.Option(None, "--class", help="Walk in this class only (class-conditional variants)."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**63 - 1, help="Seed of the random points (torch takes a signed 64-bit one)."),
    truncation: Optional[float] = typer.Option(None, "--truncation", help="Truncate the points' p_z, as in 'sample --truncation'."),
    truncation_mode: Optional[str] = typer.Option(None, "--truncation-mode", help="resample or mean (default: by the noise)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    ema: bool = typer.Option(True, "--ema/--no-ema", help="Use the generator's EMA weights where the run kept them."),
) -> None:
    """A latent walk as a GIF or MP4: the generator's outputs along a closed path through p_z (slerp for normal
    noise, lerp for uniform), one row per class for class-conditional variants."""
    from ganforge import api

    written, walk = api.interpolate(
        path, out, frames=frames, points=points, seeds=_seeds(seeds), count=count, fps=fps, label=label, seed=seed,
        truncation=truncation, truncation_mode=truncation_mode, device=device, ema=ema,
    )  # fmt: skip
    console.print(escape(f"Wrote {len(walk.frames)} frames ({walk.path}) to {written}"), highlight=False, soft_wrap=True)


@reports_errors
def export(
    path: Path = typer.Argument(..., help="A run directory (its newest checkpoint) or a checkpoint file."),
    format: str = typer.Option(..., "--format", help="onnx or torchscript."),
    out: Path = typer.Option(..., "--out", help="The file to write, e.g. generator.onnx or generator.pt."),
    batch: Optional[int] = typer.Option(None, "--batch", help="A fixed batch size (default: the batch dimension is free)."),
    ema: bool = typer.Option(True, "--ema/--no-ema", help="Export the EMA weights where the run kept them."),
    network: Optional[str] = typer.Option(
        None, "--network", help="Export this network of the variant alone (e.g. encoder), on the inputs it declares."
    ),
) -> None:
    """Write the generator (or one network) alone as ONNX or TorchScript, checked against PyTorch's outputs, to run
    without ganforge."""
    from ganforge import api

    exported = api.export(path, format, out, batch, ema, network=network)
    shapes = ", ".join(f"{name} {tuple(shape)}" for name, shape in exported.inputs.items())
    lines = [
        f"Wrote {exported.path}: {shapes} -> output {tuple(exported.output)}",
        f"Checked against PyTorch on a batch of {exported.checked_batch}: largest difference {exported.difference:.2g}",
    ]
    console.print(escape("\n".join(lines)), highlight=False, soft_wrap=True)


@reports_errors
def report(
    run_dir: Path = typer.Argument(..., help="A run directory."),
    out: Optional[Path] = typer.Option(None, "--out", help="HTML file to write (default: RUN_DIR/report.html)."),
) -> None:
    """Write the run's page: one self-contained HTML file with every epoch's samples, the curves, the scores, the
    config and the command that trains it again (written at the end of every run too)."""
    from ganforge.report import write_report

    console.print(escape(f"Wrote {write_report(run_dir, out)}"), highlight=False, soft_wrap=True)


@reports_errors
def list_runs(
    root: Path = typer.Argument(Path("runs"), help="The folder that holds the run directories."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """What did I train? The runs under a folder: variant, data, steps, last losses, best score, age and status."""
    from ganforge.runs import age, list_runs as find

    found = find(root)
    if as_json:
        typer.echo(json.dumps([summary.to_dict() for summary in found], indent=2))
        return
    if not found:
        console.print(escape(f"No runs in {root}."))
        return
    table = Table(title=escape(f"runs in {root}"))
    for column, justify in (("run", "left"), ("variant", "left"), ("data", "left"), ("steps", "right"), ("loss_d", "right"),
                            ("loss_g", "right"), ("best", "right"), ("age", "right"), ("status", "left")):  # fmt: skip
        table.add_column(column, justify=justify)
    for s in found:
        losses = [f"{s.last[key]:.3f}" if key in s.last else "-" for key in ("loss_d", "loss_g")]
        best = "-" if s.best is None else f"{s.best['metric']} {s.best['value']:.4g}"  # values from the run's files: shown as they are
        status = s.status + ("*" if s.problem else "")
        steps = "-" if s.steps is None else f"{s.steps:,}"
        cells = [Path(s.path).name, s.variant or "-", s.data or "-", steps, *losses, best, age(s.modified), status]
        table.add_row(*(escape(cell) for cell in cells))
    console.print(table)
    for s in found:
        if s.problem:
            console.print(escape(f"* {Path(s.path).name}: {s.problem}"), highlight=False, soft_wrap=True)


# name -> command, in the order 'ganforge --help' lists them
COMMANDS = {"interpolate": interpolate, "export": export, "report": report, "runs": list_runs}

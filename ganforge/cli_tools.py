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
    start: Optional[Path] = typer.Option(None, "--from", help="Walk from this z (projected_z.npy from 'ganforge project') to --to's."),
    end: Optional[Path] = typer.Option(None, "--to", help="The z the --from walk ends at (.npy)."),
) -> None:
    """A latent walk as a GIF or MP4: the generator's outputs along a closed path through p_z (slerp for normal
    noise, lerp for uniform), one row per class for class-conditional variants; or, with --from and --to, from one
    projected image to another."""
    from ganforge import api

    if start is not None or end is not None:
        if start is None or end is None:
            raise GanforgeError("--from and --to go together: the walk runs from one projected z to the other")
        if seeds is not None or truncation is not None:
            raise GanforgeError("--from/--to walk between two given z; drop --seeds and --truncation")
        from ganforge.projection import walk_between

        written, count_frames = walk_between(path, start, end, out, frames, fps, label, device, ema)
        console.print(escape(f"Wrote {count_frames} frames ({start} -> {end}) to {written}"), highlight=False, soft_wrap=True)
        return
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
    """What did I train? The runs under a folder: variant, data, steps, last losses, score (the latest 'ganforge eval',
    else the best in training), age and status."""
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
                            ("loss_g", "right"), ("score", "right"), ("age", "right"), ("status", "left")):  # fmt: skip
        table.add_column(column, justify=justify)
    for s in found:
        losses = [f"{s.last[key]:.3f}" if key in s.last else "-" for key in ("loss_d", "loss_g")]
        # the latest 'ganforge eval' (deliberate, many samples), else the best in-training evaluation, marked
        shown = s.scored or s.best
        score = "-" if shown is None else f"{shown['metric']} {shown['value']:.4g}" + ("" if s.scored else "†")
        status = s.status + ("*" if s.problem else "")
        steps = "-" if s.steps is None else f"{s.steps:,}"
        cells = [Path(s.path).name, s.variant or "-", s.data or "-", steps, *losses, score, age(s.modified), status]
        table.add_row(*(escape(cell) for cell in cells))  # values from the run's files: shown as they are
    console.print(table)
    if any(s.best and not s.scored for s in found):
        console.print("† the best in-training evaluation (--eval-every); other scores are the latest 'ganforge eval'", highlight=False)
    for s in found:
        if s.problem:
            console.print(escape(f"* {Path(s.path).name}: {s.problem}"), highlight=False, soft_wrap=True)


# name -> command, in the order 'ganforge --help' lists them
@reports_errors
def project(
    path: Path = typer.Argument(..., help="A run directory (its newest checkpoint) or a checkpoint file."),
    target: Path = typer.Option(..., "--target", help="The image to find in the generator (resized to the model's size)."),
    out: Path = typer.Option(..., "--out", help="Directory for projected.png, target.png, projected_z.npy and projection.json."),
    steps: int = typer.Option(300, "--steps", help="Optimisation steps (per class tried, a quarter each, for conditional runs)."),
    label: Optional[int] = typer.Option(None, "--class", help="Search this class only (class-conditional runs; default: try each)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the starting draws of z."),
    perceptual: bool = typer.Option(True, "--perceptual/--pixels-only", help="Add the evaluator's feature distance to the pixel MSE."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    ema: bool = typer.Option(True, "--ema/--no-ema", help="Use the generator's EMA weights where the run kept them."),
) -> None:
    """Invert the generator: find the z (and class) whose image is closest to --target (StyleGAN2's projector:
    evaluator-feature distance plus pixel MSE, z kept on p_z); writes the reconstruction, z as .npy and the distance."""
    from ganforge.cli_output import err_console
    from ganforge.console import StepProgress
    from ganforge.projection import project as find

    with StepProgress(err_console, "Projecting") as progress:
        found = find(path, target, out, steps, label, seed, device, ema, perceptual, say=err_console.print, progress=progress)
    chosen = "" if found.label is None else f", class {found.label}"
    lines = [
        f"Projected {target}{chosen}: distance {found.distance:.4f} (pixel MSE {found.pixel:.4f}"
        + ("" if found.perceptual is None else f", features {found.perceptual:.4f}") + f"); a random z: {found.random_distance:.4f}",
        f"Wrote {found.files['projected']}, {found.files['target']}, {found.files['z']} and {found.files['record']}",
    ]
    console.print(escape("\n".join(lines)), highlight=False, soft_wrap=True)


COMMANDS = {"project": project, "interpolate": interpolate, "export": export, "report": report, "runs": list_runs}

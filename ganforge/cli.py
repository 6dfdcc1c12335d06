"""The ``ganforge`` command line. Heavy imports (torch) happen inside the commands that train or sample."""

from __future__ import annotations

import functools
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from ganforge.errors import GanforgeError

app = typer.Typer(
    help="ganforge: train and sample GANs assembled from plugins.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)
_debug = {"on": bool(os.environ.get("GANFORGE_DEBUG"))}
PERCENTAGES = {"high_quality", "precision", "recall"}  # scores that are shares, shown as percentages


def reports_errors(command: Callable) -> Callable:
    """Turn a GanforgeError into one line on stderr and exit code 2 (a traceback only with --debug)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except GanforgeError as exc:
            if _debug["on"]:
                raise
            err_console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        from ganforge import __version__

        console.print(f"ganforge {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks instead of one-line errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    _debug["on"] = bool(os.environ.get("GANFORGE_DEBUG")) or debug  # per invocation: --debug does not stick


@app.command("list")
@reports_errors
def list_components(
    kind: Optional[str] = typer.Argument(None, help="variant, generator, discriminator, loss or dataset."),
    pattern: Optional[str] = typer.Argument(None, help="Shell-style wildcard on names, e.g. '*gan*'."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """List every registered component: kind, name, the plugin that provides it, and what it is."""
    from ganforge.registry import get_registry

    components = get_registry().components(kind, pattern)
    if as_json:
        rows = [
            {"kind": c.kind, "name": c.name, "plugin": c.plugin, "version": c.version, "description": c.description}
            for c in components
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="ganforge components")
    for column in ("Kind", "Name", "Provided by", "Description"):
        table.add_column(column)
    for c in components:
        table.add_row(c.kind, c.name, f"{c.plugin} {c.version}", c.description)
    console.print(table)
    if not components:
        console.print("No components match." + (f" Try 'ganforge list {kind}'." if pattern else ""))


@app.command()
@reports_errors
def run(
    variant: str = typer.Argument(..., help="The GAN recipe, e.g. vanilla (see 'ganforge list variant')."),
    data: Optional[str] = typer.Option(None, "--data", help="Dataset name (default: the variant's)."),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="Directory holding the dataset's files."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Passes over the data."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Stop after this many generator steps."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Examples per minibatch."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate (optim.lr)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed for weights, noise and data order."),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N."),
    amp: Optional[bool] = typer.Option(None, "--amp/--no-amp", help="Mixed precision on CUDA (default on)."),
    eval_every: Optional[int] = typer.Option(None, "--eval-every", help="Score the generator every N steps (eval.every); keeps checkpoints/best.safetensors."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run directory (default runs/<variant>-<data>-<time>)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run already in --out."),
    assignments: list[str] = typer.Option([], "--set", help="key=value into the run config, e.g. loss.mode=minimax; repeatable."),
) -> None:
    """Train a GAN: VARIANT's networks on --data, with samples and checkpoints in a run directory."""
    from ganforge.config import parse_assignments

    settings: dict[str, Any] = parse_assignments(assignments)
    flags = {
        "data.root": None if data_root is None else str(data_root),
        "train.epochs": epochs,
        "train.max_steps": max_steps,
        "train.batch_size": batch_size,
        "optim.lr": lr,
        "train.seed": seed,
        "train.device": device,
        "train.amp": amp,
        "eval.every": eval_every,
    }
    settings.update({key: value for key, value in flags.items() if value is not None})
    _train(variant, data, settings, out, overwrite)


def _train(variant: str, data: str | None, settings: dict[str, Any], out: Path | None, overwrite: bool) -> None:
    from ganforge import api
    from ganforge.console import ProgressReporter
    from ganforge.device import Precision, resolve_device

    config = api.configure(variant, data, settings)
    device = resolve_device(config.train.device)
    precision = Precision.for_device(device, config.train.amp).name
    console.print(f"[bold]{config.variant.name}[/] on [bold]{config.data.name}[/] · device {device} · {precision}")
    started = time.perf_counter()
    with ProgressReporter(console) as reporter:
        result = api.train(variant, data, settings=settings, out=out, overwrite=overwrite, reporter=reporter)
    minutes, seconds = divmod(time.perf_counter() - started, 60)
    run_path = result.run_dir.path
    console.print(f"Trained {result.steps:,} generator steps over {result.epochs} epoch(s) in {int(minutes)}m{seconds:04.1f}s.")
    console.print(f"  samples     {result.run_dir.samples_dir}/ (latest: {result.samples[-1].name})")
    console.print(f"  checkpoint  {result.checkpoint}")
    console.print(f"  metrics     {result.run_dir.metrics_path}")
    console.print(f"  curves      {result.curves}")
    console.print(f"More samples: ganforge sample {run_path} -n 64 --out grid.png")


@app.command()
@reports_errors
def sample(
    path: Path = typer.Argument(..., help="A run directory (its newest checkpoint) or a checkpoint file."),
    count: int = typer.Option(64, "-n", "--count", help="How many samples."),
    out: Path = typer.Option(Path("samples.png"), "--out", help="PNG file to write."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    seed: int = typer.Option(0, "--seed", help="Seed for the noise."),
    ema: bool = typer.Option(True, "--ema/--no-ema", help="Use the generator's EMA weights where the run kept them."),
) -> None:
    """Draw samples from a saved generator into a PNG grid (a scatter plot for 2-D data)."""
    from ganforge import api

    written = api.sample(path, count, device, seed, ema).save(out)
    console.print(f"Wrote {count} samples to {written}")


@app.command("eval")
@reports_errors
def evaluate(
    path: Path = typer.Argument(..., help="A run directory (its newest checkpoint) or a checkpoint file."),
    count: Optional[int] = typer.Option(None, "-n", "--samples", help="Samples to score (default: the protocol's, e.g. 2,500 for ring8)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    seed: int = typer.Option(0, "--seed", help="Seed for the noise."),
    ema: bool = typer.Option(True, "--ema/--no-ema", help="Use the generator's EMA weights where the run kept them."),
    evaluator: str = typer.Option("cnn", "--evaluator", help="cnn (ganforge's, trained on the run's dataset) or inception (needs local weights)."),
    inception_weights: Optional[Path] = typer.Option(None, "--inception-weights", help="Inception-v3 weights as safetensors."),
) -> None:
    """Score a saved generator with the metrics that fit its data (mode coverage, FID/KID, precision/recall)."""
    from ganforge import api

    if evaluator not in ("cnn", "inception"):
        raise GanforgeError(f"--evaluator {evaluator!r} is not one of: cnn, inception")
    say = (lambda message: err_console.print(message)) if as_json else console.print
    report = api.evaluate(path, count, device, seed, ema, say=say, evaluator=evaluator, inception_weights=inception_weights)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    console.print(f"{path}: {report.samples:,} samples, {report.protocol}", soft_wrap=True, highlight=False)
    table = Table()
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, label in report.labels.items():
        value = report.scores[key]
        text = f"{value:,}" if isinstance(value, int) else f"{value:.1%}" if key in PERCENTAGES else f"{value:.4f}"
        if f"{key}_std" in report.scores:
            text += f" ± {report.scores[key + '_std']:.4f}"
        table.add_row(label + (" (main)" if key == report.main else ""), text)
    console.print(table)
    if report.evaluator is not None:
        info = report.evaluator
        accuracy = "" if info.accuracy is None else f"; accuracy {info.accuracy:.2%} on its {info.tested_on}"
        console.print(f"evaluator {info.name}: trained on {info.dataset} {info.trained_on}{accuracy}", soft_wrap=True, highlight=False)
        console.print(f"  weights sha256 {info.weights_sha256}", soft_wrap=True, highlight=False)


@app.command()
@reports_errors
def plot(
    run_dir: Path = typer.Argument(..., help="A run directory."),
    out: Optional[Path] = typer.Option(None, "--out", help="PNG file to write (default: RUN_DIR/curves.png)."),
) -> None:
    """Draw a run's curves: loss_d and loss_g, D(x) and D(G(z)) against 0.5, and its evaluation scores."""
    from ganforge import api

    console.print(f"Wrote {api.plot(run_dir, out)}")


def main() -> None:
    app()

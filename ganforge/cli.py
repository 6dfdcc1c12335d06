"""The ``ganforge`` command line. Heavy imports (torch) happen inside the commands that train or sample."""

from __future__ import annotations

import json
import os
import signal
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Optional

import typer
import typer.core
from rich.markup import escape
from rich.table import Table

from ganforge import cli_output, cli_tools
from ganforge.cli_output import console, err_console, reports_errors
from ganforge.command_group import GanforgeGroup
from ganforge.errors import GanforgeError, GanforgeWarning


class Ganforge(GanforgeGroup):
    """The ``ganforge`` group: its commands, and the commands plugins add (see :func:`command_with_plugins`)."""

    def add_plugin_commands(self, registry: Any = None) -> None:
        super().add_plugin_commands(registry)
        _add_plugin_commands(self, registry)


app = typer.Typer(
    cls=Ganforge,
    name="ganforge",  # what messages call the program in-process too (typer's CliRunner would say 'root')
    help="ganforge: train and sample GANs assembled from plugins.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

def _flags_show_no_type(self: typer.core.TyperOption, ctx: Any) -> str | None:
    """--help's type column: nothing for an on/off flag (typer shows '<bool>', as if it took a value)."""
    return None if self.is_flag else _typer_type_column(self, ctx)


_typer_type_column = typer.core.TyperOption.display_type_rich
typer.core.TyperOption.display_type_rich = _flags_show_no_type  # type: ignore[method-assign]
SEED_MAX = 2**63 - 1  # torch's generators take a signed 64-bit seed
PERCENTAGES = {"high_quality", "precision", "recall", "coverage", "class_agreement", "class_agreement_mismatched"}  # shares, shown as %


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
    cli_output.debug["on"] = debug or bool(os.environ.get("GANFORGE_DEBUG"))


PLURALS = {
    "variants": "variant",
    "generators": "generator",
    "discriminators": "discriminator",
    "losses": "loss",
    "embeddings": "embedding",
    "datasets": "dataset",
}


@app.command("list")
@reports_errors
def list_components(
    kind: Optional[str] = typer.Argument(None, help="variant, generator, discriminator, loss, embedding or dataset (may be left out before a wildcard PATTERN)."),
    pattern: Optional[str] = typer.Argument(None, help="Wildcard on names, e.g. '*gan*'; a plain word matches names containing it."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """List every registered component: kind, name, the plugin that provides it, and what it is."""
    from ganforge.registry import KINDS, get_registry

    if kind is not None and kind not in KINDS:
        if kind in PLURALS:
            kind = PLURALS[kind]
        elif pattern is None and any(char in kind for char in "*?["):
            kind, pattern = None, kind
    if pattern is not None and not any(char in pattern for char in "*?["):
        pattern = f"*{pattern}*"
    components = get_registry().components(kind, pattern)
    if as_json:
        rows = [
            {
                "kind": c.kind,
                "name": c.name,
                "qualified_name": c.qualified_name,
                "ambiguous": c.ambiguous,
                "plugin": c.plugin,
                "version": c.version,
                "description": c.description,
            }
            for c in components
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="ganforge components")
    for column in ("Kind", "Name", "Provided by", "Description"):
        table.add_column(column)
    for c in components:
        table.add_row(c.kind, c.unique_name, f"{c.plugin} {c.version}", c.description)
    console.print(table)
    if any(c.ambiguous for c in components):
        console.print("Names shown as plugin:name are registered by several plugins: use the qualified name to choose one.")
    if not components:
        console.print("No components match." + (" Try 'ganforge list' without a pattern." if pattern else ""))


@app.command("plugins")
@reports_errors
def list_plugins(as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """List installed plugins: distribution, version, the hooks each implements, and whether it loaded, failed or is blocked."""
    from ganforge.registry import get_registry

    registry = get_registry()
    if as_json:
        rows = [
            {
                "entry_point": p.name,
                "module": p.module,
                "distribution": p.distribution,
                "version": p.version,
                "status": p.status,
                "error": p.error,
                "hooks": p.hooks,
                "components": sum(1 for c in registry.components() if c.plugin == p.distribution and p.status == "loaded"),
            }
            for p in registry.plugins
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="ganforge plugins")
    for column in ("Plugin", "Distribution", "Status", "Hooks"):
        table.add_column(column)
    styles = {"loaded": "green", "failed": "bold red", "blocked": "yellow"}
    for p in registry.plugins:
        status = f"[{styles[p.status]}]{p.status}[/]" + (f": {escape(p.error)}" if p.error else "")
        table.add_row(f"{p.name}\n[dim]{p.module}[/]", f"{p.distribution} {p.version}", status, ", ".join(p.hooks) or "-")
    console.print(table)
    console.print(
        "Load only some third-party plugins with GANFORGE_PLUGINS=a,b; skip some with GANFORGE_BLOCK_PLUGINS=a,b; "
        "make failures errors with GANFORGE_STRICT_PLUGINS=1 (see docs/plugins.md)."
    )


@app.command("new-plugin")
@reports_errors
def new_plugin(
    name: str = typer.Argument(..., help="The component's name, e.g. my-loss; the package is ganforge-NAME."),
    kind: str = typer.Option("loss", "--kind", help="loss, generator, discriminator, dataset or variant."),
    out: Path = typer.Option(Path("."), "--out", help="Directory to create the package in."),
) -> None:
    """Write a ready-to-install plugin package: pyproject with the entry point, a working component, a passing test."""
    from ganforge.scaffold import write_plugin

    package = write_plugin(name, kind, out)
    steps = [f"Wrote {package}/ with a {kind} called '{name}'. Next:", f"  pip install -e {package}", f"  ganforge list {kind} {name}", f"  pytest {package}/tests"]
    console.print("\n".join(steps), soft_wrap=True, highlight=False)


def _shown(value: Any) -> str:
    """A setting's value as TOML and JSON write it (true, null), so that it can be copied into a config file."""
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)


def _default(key: str) -> str:
    """``--help``'s [default: ...] for a flag that sets a core config key: the key and its value in the core."""
    from ganforge.config import CORE_SECTIONS

    section, _, name = key.partition(".")
    return f"{key}={_shown(getattr(CORE_SECTIONS[section], name))}"


@app.command()
@reports_errors
def run(
    variant: Optional[str] = typer.Argument(None, help="The GAN recipe, e.g. vanilla (see 'ganforge list variant'); optional with --config FILE naming one, or --resume."),
    data: Optional[str] = typer.Option(None, "--data", help="Dataset name.", show_default="the variant's (data.name)"),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="Directory holding the dataset's files.", show_default="looked for, then downloaded"),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Passes over the data.", show_default=_default("train.epochs")),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Stop after this many generator steps.", show_default="every epoch"),
    minutes: Optional[float] = typer.Option(None, "--minutes", help="Train for about M minutes: the first steps are timed and the run's length fixed in steps (train.steps in config.json).", show_default="--epochs"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Examples per minibatch.", show_default=_default("train.batch_size")),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate.", show_default="the variant's optim.lr"),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed for weights, noise and data order.", show_default=_default("train.seed")),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N.", show_default=_default("train.device")),
    amp: Optional[bool] = typer.Option(None, "--amp/--no-amp", help="Mixed precision on CUDA.", show_default=_default("train.amp")),
    compile: bool = typer.Option(False, "--compile", help="torch.compile the networks (train.compile=default)."),
    cuda_graphs: bool = typer.Option(False, "--cuda-graphs", help="torch.compile with CUDA graphs, for small networks on CUDA (train.compile=reduce-overhead)."),
    checkpoint_every: Optional[int] = typer.Option(None, "--checkpoint-every", help="Also checkpoint every N steps.", show_default="epoch ends only"),
    keep: Optional[int] = typer.Option(None, "--keep", help="Newest checkpoints to keep.", show_default=_default("train.keep_checkpoints")),
    eval_every: Optional[int] = typer.Option(None, "--eval-every", help="Score the generator every N steps (eval.every); keeps checkpoints/best.safetensors.", show_default="never"),
    ema: bool = typer.Option(True, "--ema/--no-ema", help="Keep a moving average of the generator's weights and sample from it; --no-ema: none, the live weights (ema.decay=none)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run directory.", show_default="runs/<variant>-<data>-<time>"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run already in --out."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue the run in this directory (as 'ganforge resume')."),
    config_file: Optional[Path] = typer.Option(None, "--config", help="Settings from a .toml or .json file shaped like a run's config.json (which reproduces that run); --set and the flags go on top."),
    assignments: list[str] = typer.Option([], "--set", help="key=value into the run config, e.g. loss.mode=minimax; repeatable ('ganforge config VARIANT' lists every key).", show_default=False),
    nproc: int = typer.Option(1, "--nproc", min=1, help="Train with N processes on this machine (launches torchrun)."),
    max_restarts: int = typer.Option(0, "--max-restarts", min=0, help="Restart the job from its latest checkpoint up to K times when a process fails (torchrun's --max-restarts)."),
) -> None:
    """Train a GAN: VARIANT's networks on --data, with samples and checkpoints in a run directory."""
    if compile and cuda_graphs:
        raise GanforgeError("--compile and --cuda-graphs choose two compile modes; pass one (--cuda-graphs compiles too, with CUDA graphs)")
    _check_minutes(minutes, epochs, assignments)
    launching = (nproc > 1 or max_restarts > 0) and "WORLD_SIZE" not in os.environ
    if launching:
        _check_nproc(nproc)
    flags = {
        "data.name": data,
        "data.root": None if data_root is None else str(data_root),
        "train.epochs": epochs,
        "train.max_steps": max_steps,
        "train.minutes": minutes,
        "train.batch_size": batch_size,
        "optim.lr": lr,
        "train.seed": seed,
        "train.device": device,
        "train.amp": amp,
        "train.compile": "reduce-overhead" if cuda_graphs else "default" if compile else None,
        "train.checkpoint_every": checkpoint_every,
        "train.keep_checkpoints": keep,
        "eval.every": eval_every,
    }
    if resume is not None:
        if out is not None or overwrite or config_file is not None:
            raise GanforgeError("--resume continues the run in its own directory, with its own config; leave out --out, --overwrite and --config")
        settings = _command_line_settings(assignments, flags)
        settings = settings if ema else _no_average(settings, assignments)
        if launching:  # every process would meet the same bad setting, and --max-restarts would relaunch them all
            _check_resume(resume, settings)
            raise typer.Exit(_launch_torchrun("run", nproc, max_restarts))
        _resume(resume, settings, variant)
        return
    variant, settings = _settings(variant, config_file, assignments, flags)
    settings = settings if ema else _no_average(settings, assignments)
    if launching:
        _check_start(variant, settings, out, overwrite)
        raise typer.Exit(_launch_torchrun("run", nproc, max_restarts))
    _train(variant, settings, out, overwrite)


def _check_nproc(nproc: int) -> None:
    """Refuse more processes than the machine has GPUs (or, without one, CPU cores): they would only share them."""
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    cores = os.cpu_count() or 1
    available, what = (gpus, f"{gpus} GPU(s)") if gpus else (cores, f"{cores} CPU core(s) and no GPU")
    if nproc > available:
        raise GanforgeError(f"--nproc {nproc} is more processes than this machine has ({what}); pass --nproc {available} or fewer")


def _check_start(variant: str, settings: dict[str, Any], out: Path | None, overwrite: bool) -> None:
    """Everything a start checks before training, checked once, before any process is launched."""
    from ganforge import api
    from ganforge.rundir import RunDir

    api.configure(variant, None, settings)
    if out is not None:
        RunDir.check_writable(out, overwrite)


def _check_resume(run_dir: Path, settings: dict[str, Any]) -> None:
    """A resume's run directory and settings, checked once before any process is launched."""
    from ganforge.resuming import _resume_config
    from ganforge.registry import get_registry
    from ganforge.rundir import RunDir

    checkpoint = RunDir.existing(run_dir).latest_good_checkpoint(set_aside=False)
    _resume_config(checkpoint, settings, get_registry())


def _check_minutes(minutes: float | None, epochs: int | None, assignments: list[str]) -> None:
    """--minutes sets the run's length; so do --epochs and train.steps: one of them, and a positive time."""
    from ganforge.config import parse_assignments

    given = parse_assignments(assignments)
    minutes = given.get("train.minutes") if minutes is None else minutes
    if minutes is None:
        return
    try:
        positive = float(minutes) > 0
    except ValueError:
        positive = False
    if not positive:
        raise GanforgeError(f"--minutes must be a positive number of minutes, got {minutes}; e.g. --minutes 20")
    if epochs is not None or "train.epochs" in given or "train.steps" in given:
        raise GanforgeError("--minutes sets the run's length, as --epochs and train.steps do; pass one of them (--max-steps may still stop it early)")


def _command_line_settings(assignments: list[str], flags: dict[str, Any]) -> dict[str, Any]:
    """``--set`` key=value pairs, then the flags that were given, on top."""
    from ganforge.config import parse_assignments

    settings: dict[str, Any] = parse_assignments(assignments)
    settings.update({key: value for key, value in flags.items() if value is not None})
    return settings


def _no_average(settings: dict[str, Any], assignments: list[str]) -> dict[str, Any]:
    """``--no-ema``: ``ema.decay`` none, over a config file's, which a ``--set ema.decay=X`` contradicts."""
    from ganforge.config import parse_assignments

    given = parse_assignments(assignments).get("ema.decay")
    if given is not None and given.lower() not in ("none", "null"):
        raise GanforgeError(f"--no-ema and --set ema.decay={given} disagree; pass one of them")
    return {**settings, "ema.decay": None}


def _settings(variant: str | None, config_file: Path | None, assignments: list[str], flags: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The variant and settings of a new run: the config file's, then ``--set``, then the flags."""
    from ganforge.config_file import layered, read_config_file

    settings = _command_line_settings(assignments, flags)
    if config_file is None:
        if variant is None:
            raise GanforgeError("name the VARIANT to train (ganforge run vanilla; 'ganforge list variant' shows them), or pass --config FILE or --resume DIR")
        return variant, settings
    named, from_file = read_config_file(config_file)
    if variant is None and named is None:
        raise GanforgeError(f'config file {config_file} names no variant; add variant = "NAME" to it or pass VARIANT')
    return variant or named, layered(from_file, settings)


@app.command("config")
@reports_errors
def show_config(
    variant: Optional[str] = typer.Argument(None, help="The GAN recipe, e.g. vanilla; optional with --config FILE naming one."),
    data: Optional[str] = typer.Option(None, "--data", help="Dataset name.", show_default="the variant's (data.name)"),
    config_file: Optional[Path] = typer.Option(None, "--config", help="Start from a .toml or .json file, as 'run --config' does."),
    assignments: list[str] = typer.Option([], "--set", help="key=value on top, as 'run --set' takes it; repeatable.", show_default=False),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Every setting a run would use: key, type, value (the default, or what --set gave) and what it means."""
    from ganforge import api
    from ganforge.describe import describe
    from ganforge.registry import get_registry

    variant, settings = _settings(variant, config_file, assignments, {"data.name": data})
    registry = get_registry()
    config = api.configure(variant, None, settings, registry=registry)
    described = describe(config, registry)
    if as_json:
        typer.echo(json.dumps({"variant": config.variant.name, "settings": [s.to_dict() for s in described]}, indent=2))
        return
    table = Table(title=f"{escape(config.variant.name)} on {escape(config.data.name)}: every key, for --set or a --config file")
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("value", max_width=24)
    table.add_column("type · meaning", ratio=1)
    section = None
    for setting in described:
        if section is not None and setting.key.partition(".")[0] != section:
            table.add_section()
        section = setting.key.partition(".")[0]
        value = _shown(setting.value)
        if setting.value != setting.default:
            value = f"[bold yellow]{escape(value)}[/] (default {escape(_shown(setting.default))})"
        else:
            value = escape(value)
        table.add_row(setting.key, value, f"[dim]{escape(setting.type)}[/] · {escape(setting.meaning)}")
    console.print(table)


@app.command("resume")
@reports_errors
def resume_run(
    run_dir: Path = typer.Argument(..., help="The directory of the run to continue."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Train to this many epochs in all.", show_default="the run's"),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Train to this many generator steps in all.", show_default="the end of its epochs"),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N.", show_default="the run's"),
    amp: Optional[bool] = typer.Option(None, "--amp/--no-amp", help="Mixed precision on CUDA.", show_default="the run's"),
    checkpoint_every: Optional[int] = typer.Option(None, "--checkpoint-every", help="Also checkpoint every N steps.", show_default="the run's"),
    keep: Optional[int] = typer.Option(None, "--keep", help="Newest checkpoints to keep.", show_default="the run's"),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="Where the run's dataset files are now.", show_default="the run's"),
    assignments: list[str] = typer.Option([], "--set", help="key=value among the keys a resume may change; repeatable.", show_default=False),
    nproc: int = typer.Option(1, "--nproc", min=1, help="Go on with N processes on this machine (launches torchrun; see docs/scaling.md)."),
    max_restarts: int = typer.Option(0, "--max-restarts", min=0, help="Restart the job from its latest checkpoint up to K times when a process fails."),
) -> None:
    """Continue a run from its newest intact checkpoint, exactly where it stopped (crash, Ctrl-C or its end)."""
    launching = (nproc > 1 or max_restarts > 0) and "WORLD_SIZE" not in os.environ
    if launching:
        _check_nproc(nproc)
    flags = {
        "train.epochs": epochs,
        "train.max_steps": max_steps,
        "train.device": device,
        "train.amp": amp,
        "train.checkpoint_every": checkpoint_every,
        "train.keep_checkpoints": keep,
        "data.root": None if data_root is None else str(data_root),
    }
    settings = _command_line_settings(assignments, flags)
    if launching:
        _check_resume(run_dir, settings)
        raise typer.Exit(_launch_torchrun("resume", nproc, max_restarts))
    _resume(run_dir, settings, None)


def _launch_torchrun(command: str, nproc: int, max_restarts: int) -> int:
    """Run this very command again under ``torchrun --standalone --nproc_per_node=N --max-restarts=K``
    (:mod:`ganforge.launch`); its exit code.

    Every process prints the errors and warnings they all meet: each distinct line is shown once.
    """
    import subprocess
    import sys

    argv = sys.argv[sys.argv.index(command) :]
    for option in ("--nproc", "--max-restarts"):
        for index, arg in enumerate(argv):
            if arg == option:
                del argv[index : index + 2]
                break
            if arg.startswith(option + "="):
                del argv[index]
                break
    launcher = [sys.executable, "-m", "ganforge.launch", "--standalone", f"--nproc_per_node={nproc}", f"--max-restarts={max_restarts}"]
    from ganforge.parent_death import child_environment

    # the agent, and through it every worker, dies with this process even if it is SIGKILLed (ganforge.parent_death)
    with subprocess.Popen([*launcher, "-m", "ganforge", *argv], stderr=subprocess.PIPE, text=True, bufsize=1, env=child_environment()) as job:
        # Ctrl-C reaches every process of the job from the terminal: they stop and save, this one reads on
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
        # SIGTERM and SIGHUP go on to the job's agent, which passes them to every process: they stop and save
        forwarded = [number for number in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if number is not None]
        previous = {number: signal.signal(number, lambda number, frame: job.send_signal(number)) for number in forwarded}
        try:
            shown: set[str] = set()
            assert job.stderr is not None
            for line in job.stderr:
                if line not in shown or not line.strip():
                    shown.add(line)
                    sys.stderr.write(line)
            return job.wait()
        finally:
            signal.signal(signal.SIGINT, interrupt)
            for number, handler in previous.items():
                signal.signal(number, handler)


def _quiet_unless_rank_zero() -> None:
    """Under torchrun every process runs this command; only rank 0 prints progress and the summary."""
    if os.environ.get("RANK", "0") != "0":
        console.quiet = True


def _train(variant: str, settings: dict[str, Any], out: Path | None, overwrite: bool) -> None:
    from ganforge import api
    from ganforge.device import Precision, resolve_device

    _quiet_unless_rank_zero()
    config = api.configure(variant, None, settings)
    device = resolve_device(config.train.device)
    precision = Precision.for_device(device, config.train.amp, dtype=config.train.amp_dtype).name
    compiled = "" if config.train.compile == "off" else f" · torch.compile {config.train.compile}"
    console.print(f"[bold]{config.variant.name}[/] on [bold]{config.data.name}[/] · device {device} · {precision}{compiled}")
    _watch(lambda reporter: api.train(variant, settings=settings, out=out, overwrite=overwrite, reporter=reporter), resumed=False)


def _resume(run_dir: Path, settings: dict[str, Any], variant: str | None) -> None:
    from ganforge import api

    _quiet_unless_rank_zero()
    console.print(f"Resuming [bold]{escape(str(run_dir))}[/]")
    _watch(lambda reporter: api.resume(run_dir, settings=settings, variant=variant, reporter=reporter), resumed=True)


def _stopping() -> None:
    """The command is ending on a stop signal, its run saved: another Ctrl-C (or SIGTERM, SIGHUP) while it says so
    is ignored, not a KeyboardInterrupt that would kill the process halfway through its last lines."""
    from ganforge.interrupt import SIGNALS

    for number in SIGNALS:
        signal.signal(number, signal.SIG_IGN)


def _watch(training: Callable, resumed: bool) -> None:
    """Run ``training(reporter)`` under progress bars and report where its run ended (or was interrupted)."""
    from ganforge.console import ProgressReporter
    from ganforge.errors import is_out_of_memory, out_of_memory_error
    from ganforge.interrupt import TrainingInterrupted

    started = time.perf_counter()
    try:
        with ProgressReporter(console) as reporter:
            result = training(reporter)
    except TrainingInterrupted as stop:
        _stopping()
        for line in (f"Interrupted at step {stop.step:,}; checkpoint saved to {stop.checkpoint}", f"Continue with: ganforge resume {stop.run_path}"):
            err_console.print(escape(line), highlight=False, soft_wrap=True)
        raise typer.Exit(128 + stop.signal_number) from None
    except KeyboardInterrupt as stop:  # a second Ctrl-C before the first one's checkpoint, or one before training began
        from ganforge.interrupt import StoppedAtOnce

        _stopping()

        if isinstance(stop, StoppedAtOnce):
            said = "stopped at once by a second interrupt, without saving the step under way; 'ganforge resume RUN' goes on from the run's last checkpoint"
        else:
            said = "interrupted before training began; nothing of this session was saved"
        err_console.print(said, highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(128 + getattr(stop, "signal_number", signal.SIGINT)) from None
    except Exception as exc:  # the sizes asked for, not a bug: one line (the checkpoints written so far stay)
        if not is_out_of_memory(exc):
            raise
        raise out_of_memory_error("training", exc) from None
    minutes, seconds = divmod(time.perf_counter() - started, 60)
    run_path = result.run_dir.path
    took = f"{int(minutes)}m{seconds:04.1f}s"
    if resumed:
        console.print(f"The run is now at generator step {result.steps:,} (epoch {result.epochs}); this session took {took}.")
    else:
        console.print(f"Trained {result.steps:,} generator steps over {result.epochs} epoch(s) in {took}.")
    if result.stopped_early is not None:
        console.print(escape(_early_stop_line(result.stopped_early)), soft_wrap=True, highlight=False)
    # paths whole, on lines of their own: a terminal narrower than a path lets it run on rather than break it
    if result.samples:
        console.print(f"  samples     {result.run_dir.samples_dir}/ (latest: {result.samples[-1].name})", soft_wrap=True, highlight=False, markup=False)
    console.print(f"  checkpoint  {result.checkpoint}", soft_wrap=True, highlight=False, markup=False)
    console.print(f"  metrics     {result.run_dir.metrics_path}", soft_wrap=True, highlight=False, markup=False)
    if result.curves is not None:
        console.print(f"  curves      {result.curves}", soft_wrap=True, highlight=False, markup=False)
    if _translates(run_path):
        console.print(f"Translate images: ganforge sample {run_path} --input-dir DIR --out translated/", soft_wrap=True, highlight=False, markup=False)
    else:
        console.print(f"More samples: ganforge sample {run_path} -n 64 --out grid.png", soft_wrap=True, highlight=False, markup=False)


def _early_stop_line(early: dict[str, Any]) -> str:
    """``eval.patience`` ran out: one line saying when, and where the best generator is."""
    value = early.get("value")
    best = f"{early['metric']} {value:.4g}, " if isinstance(value, (int, float)) else ""
    where = f"step {early['best_step']:,}" if isinstance(early.get("best_step"), int) else "an earlier step"
    return (
        f"Stopped early at step {early['step']:,}: {early['patience']} evaluation(s) in a row did not beat the best "
        f"({best}{where}), kept in {early['best_checkpoint']}"
    )


def _translates(run_path: Path) -> bool:
    """Whether the run's variant is image-to-image (it implements ``Variant.translate``)."""
    from ganforge.registry import get_registry
    from ganforge.variant import Variant

    name = json.loads((run_path / "config.json").read_text())["variant"]
    return get_registry().get("variant", name).load().translate is not Variant.translate


@app.command()
@reports_errors
def sample(
    path: Path = typer.Argument(..., help="A run directory (its newest checkpoint) or a checkpoint file."),
    count: int = typer.Option(64, "-n", "--count", help="How many samples (at most 10,000)."),
    out: Optional[Path] = typer.Option(None, "--out", help="PNG file to write, or a directory to write samples.png in (default samples.png); with --input-dir, a directory."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    seed: int = typer.Option(0, "--seed", min=0, max=SEED_MAX, help="Seed for the noise."),
    label: Optional[int] = typer.Option(None, "--class", help="Draw only this class (class-conditional variants)."),
    input_dir: Optional[Path] = typer.Option(
        None, "--input-dir", help="Translate every image in this directory into --out (image-to-image variants)."
    ),
    ema: bool = typer.Option(True, "--ema/--no-ema", help="Use the generator's EMA weights where the run kept them."),
    caption: list[str] = typer.Option([], "--caption", help="Draw -n samples of this caption, in a row with it written under (text-conditioned runs); repeatable."),
    captions_file: Optional[Path] = typer.Option(None, "--captions", help="A text file of captions, one per line: -n samples of each, a row each."),
    truncation: Optional[float] = typer.Option(None, "--truncation", help="Truncation trick: resample |z| > PSI (normal noise), or z scaled towards the mean by PSI (uniform; --truncation-mode mean)."),
    truncation_mode: Optional[str] = typer.Option(None, "--truncation-mode", help="resample (Brock et al. 2019; default for normal noise) or mean (default for uniform)."),
    seeds: Optional[str] = typer.Option(None, "--seeds", help="One PNG per seed into the --out directory (seed0000.png, ...): ranges and lists, e.g. 0-35 or 0-3,7; a seed always gives the same image."),
) -> None:
    """Draw samples from a saved generator into a PNG grid (a scatter plot for 2-D data), or translate images."""
    from ganforge import api

    if seeds is not None:
        _sample_seeds(path, seeds, out, device, label, ema, caption, captions_file, truncation, truncation_mode, input_dir)
        return
    captions = list(caption) + ([] if captions_file is None else _read_captions(captions_file))
    if input_dir is not None:
        if out is None:
            raise GanforgeError("--input-dir needs --out DIR, the directory that receives the translated images")
        if truncation is not None:
            raise GanforgeError("--truncation truncates noise, and translating images draws none; drop one of them")
        written = api.translate(path, input_dir, out, device, ema=ema)
        console.print(f"Translated {len(written)} images from {input_dir} into {out}; side by side in {out / 'index.html'}")
        return
    from ganforge.images import IMAGE_SUFFIXES
    from ganforge.outputs import output_file

    target = output_file(out, Path(api.SAMPLES_NAME), IMAGE_SUFFIXES)  # checked before the model is loaded
    api.check_sample_count(count)
    if captions and count * len(captions) > api.MAX_SAMPLES:
        raise GanforgeError(
            f"{len(captions):,} caption(s) x -n {count:,} is {count * len(captions):,} samples: at most {api.MAX_SAMPLES:,} in one "
            "picture; pass fewer captions or a smaller -n"
        )
    samples = api.sample(
        path, count, device, seed, label, ema=ema, truncation=truncation, truncation_mode=truncation_mode, captions=captions or None
    )
    written = samples.save(target)
    console.print(escape(f"Wrote {len(samples.values)} samples to {written}"), soft_wrap=True, highlight=False)


def _sample_seeds(
    path: Path, text: str, out: Path | None, device: str, label: int | None, ema: bool, captions: list[str],
    captions_file: Path | None, truncation: float | None, truncation_mode: Optional[str], input_dir: Path | None,
) -> None:  # fmt: skip
    """``sample --seeds``: one image per seed into the directory ``out``."""
    from ganforge.per_seed import parse_seeds, sample_seeds

    seeds = parse_seeds(text)  # checked before the model is loaded
    if out is None:
        raise GanforgeError("--seeds needs --out DIR, the directory that receives seed0000.png, ...")
    if input_dir is not None:
        raise GanforgeError("--seeds draws from noise and --input-dir translates images; pass one of them")
    if captions_file is not None or len(captions) > 1:
        raise GanforgeError("--seeds draws one caption's images; pass a single --caption TEXT (and no --captions file)")
    caption = captions[0] if captions else None
    written = sample_seeds(path, seeds, out, device, label, caption, ema, truncation, truncation_mode)  # type: ignore[arg-type]
    shown = f"seeds {seeds[0]}-{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else f"{len(seeds)} seeds"
    console.print(escape(f"Wrote {len(written)} images ({shown}) to {out}/: {written[0].name} ... {written[-1].name}"), soft_wrap=True, highlight=False)


def _read_captions(path: Path) -> list[str]:
    """The non-blank lines of ``path``, each a caption."""
    from ganforge.files import describe, read_text

    try:
        lines = read_text(path).splitlines()  # a regular file of at most 1 MB: never a FIFO's wait or /dev/zero
    except (OSError, UnicodeDecodeError) as exc:
        raise GanforgeError(f"cannot read captions from {path} ({describe(exc)}); pass a UTF-8 text file with one caption per line") from None
    captions = [line.strip() for line in lines if line.strip()]
    if not captions:
        raise GanforgeError(f"{path} holds no caption; write one caption per line")
    return captions


def command_with_plugins(registry: Any = None) -> typer.core.TyperGroup:
    """The ``ganforge`` command: the built-in commands plus those plugins add through the ``add_commands`` hook.

    A plugin command may not take a name already in use; a plugin whose ``add_commands`` raises loses its
    commands, not the others' (``GANFORGE_STRICT_PLUGINS=1``: an error). :func:`main` adds them only when needed.
    """
    group = typer.main.get_group(app)
    group.add_plugin_commands(registry)
    return group


def _add_plugin_commands(group: typer.core.TyperGroup, registry: Any = None) -> None:
    from ganforge.discovery import one_line, warn
    from ganforge.plugin_guard import guarded, timeout_seconds
    from ganforge.registry import call, get_registry

    registry = registry or get_registry()
    for impl in registry.implementations("add_commands"):
        plugin = registry.plugin_of(impl)
        staging = typer.Typer()
        try:
            guarded(lambda: call(impl, app=staging), timeout_seconds())
            commands = typer.main.get_group(staging).commands if staging.registered_commands or staging.registered_groups else {}
        except Exception as exc:
            message = f"plugin {plugin.label}: add_commands raised {one_line(exc)}"
            if registry.strict:
                raise GanforgeError(message) from exc
            warn(f"{message}; its commands are not available")
            continue
        for name, command in commands.items():
            if name in group.commands:
                warn(f"plugin {plugin.label} adds a command '{name}', a name already taken; it is skipped")
                continue
            _report_errors_in(command)
            command.rich_help_panel = "Commands from plugins"
            group.add_command(command, name)


def _report_errors_in(command: Any) -> None:
    if command.callback is not None:
        command.callback = reports_errors(command.callback)
    for sub_command in getattr(command, "commands", {}).values():
        _report_errors_in(sub_command)


@app.command("eval")
@reports_errors
def evaluate(
    path: Path = typer.Argument(..., help="A run directory (its newest checkpoint) or a checkpoint file."),
    count: Optional[int] = typer.Option(None, "-n", "--count", help="How many samples to score, 2 to 50,000 (default: the protocol's, e.g. 2,500 for ring8)."),
    old_count: Optional[int] = typer.Option(None, "--samples", hidden=True, help="Deprecated spelling of --count."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    seed: int = typer.Option(0, "--seed", min=0, max=SEED_MAX, help="Seed for the noise."),
    ema: bool = typer.Option(True, "--ema/--no-ema", help="Use the generator's EMA weights where the run kept them."),
    evaluator: str = typer.Option("cnn", "--evaluator", help="cnn (ganforge's, trained on the run's dataset) or inception (needs local weights)."),
    inception_weights: Optional[Path] = typer.Option(None, "--inception-weights", help="Inception-v3 weights as safetensors."),
    truncation: Optional[str] = typer.Option(None, "--truncation", help="Score truncated samples, a row per PSI: e.g. 0.5,1,2,none (none: untruncated); see 'sample --truncation'."),
    truncation_mode: Optional[str] = typer.Option(None, "--truncation-mode", help="resample or mean (default: by the noise, as in 'sample')."),
) -> None:
    """Score a saved generator with the metrics that fit its data (mode coverage, FID/KID, precision/recall)."""
    from ganforge import api

    if evaluator not in ("cnn", "inception"):
        raise GanforgeError(f"--evaluator {evaluator!r} is not one of: cnn, inception")
    if old_count is not None:
        if count is not None:
            raise GanforgeError("--samples and --count both say how many samples; pass only --count (-n)")
        warnings.warn("--samples is deprecated; use --count (-n)", GanforgeWarning, stacklevel=2)
        count = old_count
    from ganforge.console import StepProgress
    from ganforge.evaluation.diagnosis import explain
    from ganforge.rundir import find_checkpoint

    shown_on = err_console if as_json else console  # --json keeps stdout for the JSON
    checkpoint = find_checkpoint(path)  # the file scored, and recorded with the scores
    with StepProgress(shown_on, "Training the evaluator") as progress:
        if truncation is not None or truncation_mode is not None:
            psis = _truncations(truncation, truncation_mode)
            reports = api.evaluate_truncations(checkpoint, psis, truncation_mode, count, device, seed, ema, shown_on.print, evaluator, inception_weights, progress)
            _truncation_table(path, psis, reports, as_json)
            _record_scores(checkpoint, list(zip(psis, reports)), seed, ema, shown_on)
            return
        report = api.evaluate(
            checkpoint, count, device, seed, ema, say=shown_on.print, evaluator=evaluator, inception_weights=inception_weights, progress=progress
        )
    notes = explain(report.scores)
    if as_json:
        typer.echo(json.dumps({**report.to_dict(), "notes": notes}, indent=2))
        _record_scores(checkpoint, [(None, report)], seed, ema, shown_on)
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
    for note in notes:
        console.print(escape(f"note: {note}."), soft_wrap=True, highlight=False)
    _record_scores(checkpoint, [(None, report)], seed, ema, console)


def _record_scores(checkpoint: Path, reports: list[tuple[float | None, Any]], seed: int, ema: bool, shown_on: Console) -> None:
    """Append each report to its run's scores.jsonl and redraw the run's page; a checkpoint outside a run, or a
    run that cannot be written, keeps its scores on the screen only (a warning says why)."""
    from ganforge.evaluation.diagnosis import explain
    from ganforge.evaluation.recorded import entry_for, record, run_of
    from ganforge.report import write_report

    run = run_of(checkpoint)
    if run is None:
        return
    try:
        for psi, report in reports:
            written = record(run, entry_for(report, checkpoint, seed, ema, psi, explain(report.scores)))
    except GanforgeError as exc:
        warnings.warn(f"the scores are not kept with the run: {exc}", GanforgeWarning, stacklevel=2)
        return
    try:
        page = f"{write_report(run)} show"
    except GanforgeError as exc:
        page = f"the run's page (not redrawn now: {exc}) will show"
    shown_on.print(escape(f"Recorded in {written}; 'ganforge runs' and {page} them"), soft_wrap=True, highlight=False)


def _truncations(text: str | None, mode: str | None) -> list[float | None]:
    """``--truncation 0.5,1,none`` as [0.5, 1.0, None]."""
    if text is None:
        raise GanforgeError("--truncation-mode needs --truncation PSI[,PSI...]")
    psis: list[float | None] = []
    for word in text.split(","):
        word = word.strip().lower()
        try:
            psis.append(None if word == "none" else float(word))
        except ValueError:
            raise GanforgeError(f"--truncation {text!r}: {word!r} is not a number; pass values such as 0.5,1,2,none") from None
    return psis


def _truncation_table(path: Path, psis: list[float | None], reports: list[Any], as_json: bool) -> None:
    """One row per truncation: what it buys in precision (fidelity) and costs in recall (variety)."""
    if as_json:
        typer.echo(json.dumps([{"truncation": psi, **report.to_dict()} for psi, report in zip(psis, reports)], indent=2))
        return
    first = reports[0]
    console.print(f"{path}: {first.samples:,} samples per row, {first.protocol}", soft_wrap=True, highlight=False)
    table = Table()
    table.add_column("truncation")
    for key, label in first.labels.items():
        table.add_column(label + (" (main)" if key == first.main else ""), justify="right")
    for psi, report in zip(psis, reports):
        cells = []
        for key in first.labels:
            value = report.scores[key]
            cells.append(f"{value:,}" if isinstance(value, int) else f"{value:.1%}" if key in PERCENTAGES else f"{value:.4f}")
        table.add_row("none" if psi is None else f"{psi:g}", *cells)
    console.print(table)


@app.command()
@reports_errors
def plot(
    run_dir: Path = typer.Argument(..., help="A run directory."),
    out: Optional[Path] = typer.Option(None, "--out", help="Picture to write (.png, .pdf, .svg, ...), or a directory to write curves.png in (default: RUN_DIR/curves.png)."),
) -> None:
    """Draw a run's curves: loss_d and loss_g, D(x) and D(G(z)) against 0.5, and its evaluation scores."""
    from ganforge.evaluation.curves import plot_curves  # as ganforge.plot does, without importing torch

    console.print(escape(f"Wrote {plot_curves(run_dir, out)}"), soft_wrap=True, highlight=False)


for _name, _command in cli_tools.COMMANDS.items():  # after the commands above: 'ganforge --help' lists them last
    app.command(_name)(_command)


def main() -> None:
    typer.main.get_group(app)(prog_name="ganforge")

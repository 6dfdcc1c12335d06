"""The CLI attack: random command lines, ``--set`` values, checkpoints, config files and metrics lines, each run
in-process through typer's CliRunner in a sandbox directory, with three invariants checked per case:

* the exit code is 0 or 2 (bad input), never 1 or anything else;
* the output holds no Python traceback (CliRunner catches what would have been one: ``result.exception``);
* nothing in the sandbox changed outside the places the command line names for writing (its ``--out`` values, the
  run directory of ``run``/``resume``/``plot``, the working directory for default outputs).

A case is made from a ``random.Random``, so hypothesis can drive it (tests/test_attack.py, ``st.randoms()``) and so
can a seed and a count (benchmarks/attack.py, the figures in docs/reliability.md). A case that runs longer than
``CASE_SECONDS`` is stopped and counted as hung.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import struct
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import typer
from typer.testing import CliRunner

from ganforge.alarm import time_limit
from ganforge.cli import app

CASE_SECONDS = 60.0
# --nproc and --max-restarts start torchrun on this process's own argv, which in-process is pytest's or the
# benchmark's: they are tested through real processes in test_distributed.py
LAUNCHER_OPTIONS = ("nproc", "max_restarts")
# torch.compile on a CPU takes minutes, past a case's time limit; test_acceleration.py compiles for real
LEFT_OUT_OPTIONS = (*LAUNCHER_OPTIONS, "compile", "cuda_graphs")
TINY_SETTINGS = ["generator.hidden=16", "generator.depth=2", "discriminator.hidden=16", "discriminator.depth=2", "noise.dim=8", "data.size=64"]
VARIANTS = ["vanilla", "pacgan", "dcgan", "cgan", "gf-twin", "vanila", "", "ganforge:vanilla", "nope:vanilla"]
POINT_DATA = ["ring8", "grid25", "ring", "mnist-but-not", ""]
# values that have broken parsers before: numbers at and past every edge, JSON of every type, markup, format strings
HOSTILE = [
    "", " ", "-", "--", "-1", "0", "1", "2", "3", "7", "1.5", "0.999999", "1e999", "-1e999", "nan", "inf", "-inf",
    "1e-45", str(2**63), str(2**64), "9" * 30, "-" + "9" * 30, "0x10", "1_000", "abc", "null", "true", "false",
    "[]", "{}", "[1, 2]", '{"a": 1}', '"quoted"', "a=b", "=", "..", "[red]markup[/]", "%s%n", "{0}", "é💥",
    "a b", "\t", "line\nbreak", "--help", "-n",
]
GARBAGE_KEYS = ["", ".", "a.b.c", "train", "train.", ".epochs", "train.epochs.more", "generator.nope", "nosection.key", "é.ü", "train..epochs"]


@dataclass
class World:
    """The sandbox of one case: a copy of a trained run, user files that must survive, and paths to pass."""

    root: Path
    run: Path  # a finished tiny run, attacked in place by some cases
    cwd: Path  # the working directory: default outputs (samples.png, runs/...) land here
    precious: Path  # a user's files, never named on a command line
    inputs: list[Path] = field(default_factory=list)  # odd things to pass where a path is read

    @classmethod
    def make(cls, root: Path, trained: Path) -> "World":
        run = root / "run"
        shutil.copytree(trained, run)
        cwd, precious = root / "cwd", root / "precious"
        cwd.mkdir()
        precious.mkdir()
        (precious / "thesis.tex").write_text("months of work\n")
        (precious / "checkpoints").mkdir()
        (precious / "checkpoints" / "mine.safetensors").write_bytes(b"not ganforge's")
        empty = root / "empty"
        empty.mkdir()
        junk = root / "junk.safetensors"
        junk.write_bytes(b"\x00garbage")
        text = root / "notes.txt"
        text.write_text("hello")
        inputs = [run, empty, junk, text, root / "missing", *sorted((run / "checkpoints").iterdir()), Path("/dev/null"), Path("/proc/version")]
        return cls(root, run, cwd, precious, inputs)

    def output_path(self, rng: random.Random) -> Path:
        """Somewhere a command may be told to write (never the precious files)."""
        base = rng.choice([self.root / "out", self.cwd, self.root / "empty", self.root / "new" / "deeper", self.root / "notes.txt", self.run])
        return base if rng.random() < 0.3 else base / rng.choice(["a.png", "b.txt", "c", "d.pdf", "e.svg", "f.jpg", "g.xyz", "h.png.png"])


@dataclass
class Case:
    """One attack: how it was made, its command line, and what it may change."""

    kind: str
    argv: list[str]
    writable: list[Path]
    signals: list[tuple[float, int]] = field(default_factory=list)  # (seconds after the previous, signal) sent to the process


# --- making cases -------------------------------------------------------------------------------------------------


def hostile(rng: random.Random) -> str:
    return rng.choice(HOSTILE) if rng.random() < 0.8 else str(rng.randint(-10, 10**6))


def option_value(rng: random.Random, option: Any, world: World) -> list[str]:
    """A value (or none, for a flag) for one click option of a ganforge command."""
    name = rng.choice(option.opts + list(option.secondary_opts))
    if option.is_flag:
        return [name]
    if name == "--out":
        return [name, str(world.output_path(rng))]
    if "root" in name or "dir" in name or "weights" in name:
        return [name, str(rng.choice(world.inputs))]
    if name == "--set":
        return [name, assignment(rng)]
    if name == "--config":
        return [name, str(config_file(rng, world))]
    return [name, hostile(rng)]


def config_file(rng: random.Random, world: World) -> Path:
    """A settings file for ``--config``: the run's own config.json with a hostile value inside, as JSON or TOML,
    or random bytes."""
    path = world.root / rng.choice(["settings.json", "settings.toml", "settings.toml", "settings.yaml", "settings"])
    if rng.random() < 0.25:
        path.write_bytes(rng.randbytes(rng.randint(0, 120)))
        return path
    config = mutated_meta(rng, json.loads((world.run / "config.json").read_text()))
    if path.suffix != ".toml" or not isinstance(config, dict):
        path.write_text(json.dumps(config))
        return path
    lines = [f"variant = {json.dumps(config.get('variant'))}"]  # JSON's scalars and lists are TOML's too, mostly
    for section, values in config.items():
        if isinstance(values, dict):
            lines += [f"[{section}]", *(f"{key} = {json.dumps(value)}" for key, value in values.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


def assignment(rng: random.Random) -> str:
    keys = [*GARBAGE_KEYS, *RUN_KEYS] if rng.random() < 0.2 else RUN_KEYS
    key = rng.choice(keys)
    return rng.choice([f"{key}={hostile(rng)}", f"{key}=", key, f"{key}={hostile(rng)}={hostile(rng)}"]) if rng.random() < 0.97 else hostile(rng)


# every key of a vanilla run's config (filled in by attack_world from the trained run)
RUN_KEYS: list[str] = []


def random_argv(rng: random.Random, world: World) -> Case:
    """Any command with random options and arguments."""
    group = typer.main.get_group(app)
    name = rng.choice([*group.commands, "trian", "", "--version", "--help", "lst"])
    argv = [name] if name else []
    command = group.commands.get(name)
    writable = [world.cwd, world.root / "out", world.root / "new"]
    if command is not None:
        for param in command.params:
            if isinstance(param, typer.core.TyperArgument) or param.param_type_name == "argument":
                if rng.random() < 0.9:
                    argv.append(positional(rng, name, world))
        options = [p for p in command.params if p.param_type_name == "option" and p.name not in LEFT_OUT_OPTIONS]
        for option in rng.sample(options, k=min(len(options), rng.randint(0, 4))):
            argv += option_value(rng, option, world)
        if name in ("run", "resume"):  # short and small, so that a case that trains ends in a second
            argv += ["--max-steps", "2" if name == "run" else "6", *sum((["--set", s] for s in TINY_SETTINGS), [])]
            if name == "run" and "--data" not in argv:
                argv += ["--data", rng.choice(POINT_DATA)]
    for index, arg in enumerate(argv):
        if arg == "--out" and index + 1 < len(argv):
            writable.append(Path(argv[index + 1]))
    if name in ("resume", "plot", "run", "report", "eval") or "--resume" in argv:  # report: RUN/report.html; eval records its scores in the run
        writable += [world.run]
    return Case("argv", argv, writable)


def positional(rng: random.Random, command: str, world: World) -> str:
    if command == "run":
        return rng.choice(VARIANTS)
    if command == "list":
        return rng.choice(["variant", "loss", "losses", "*gan*", "[", "?", hostile(rng)])
    if command == "new-plugin":
        return rng.choice(["my-loss", "", "a/b", "..", hostile(rng)])
    return str(rng.choice(world.inputs)) if rng.random() < 0.9 else hostile(rng)


def random_set(rng: random.Random, world: World) -> Case:
    """``run`` or ``resume`` with random ``--set`` assignments."""
    sets = sum((["--set", assignment(rng)] for _ in range(rng.randint(1, 3))), [])
    tiny = sum((["--set", s] for s in TINY_SETTINGS), [])
    if rng.random() < 0.6:
        out = world.root / "out" / "fresh"
        argv = ["run", rng.choice(VARIANTS[:4]), "--data", "ring8", *tiny, *sets, "--max-steps", "2", "--out", str(out)]
        return Case("set", argv, [out, world.cwd])
    return Case("set", ["resume", str(world.run), *sets, "--max-steps", "6"], [world.run, world.cwd])


def crafted_safetensors(rng: random.Random) -> bytes:
    """A safetensors file with a random, often lying, header."""
    header: dict[str, Any] = {}
    for index in range(rng.randint(0, 3)):
        header[rng.choice([f"t{index}", "network.generator.net.0.weight", "__metadata__", ""])] = {
            "dtype": rng.choice(["F32", "F64", "I64", "BOOL", "U8", "XX", 7]),
            "shape": rng.choice([[2], [0], [-1], [2**40], [], [3, 3], "x"]),
            "data_offsets": rng.choice([[0, 8], [0, 0], [8, 0], [0, 2**40], [-1, 4], "x"]),
        }
    if rng.random() < 0.6:
        header["__metadata__"] = rng.choice([{"format": "ganforge.checkpoint/1"}, {"format": "ganforge.checkpoint/9"}, {"format": 1}, [], {"format": "ganforge.checkpoint/1", "spec": "{"}])
    text = json.dumps(header).encode()
    length = rng.choice([len(text), len(text) + 3, 2**62, 0, max(len(text) - 1, 0)])
    return struct.pack("<Q", length) + text + rng.randbytes(rng.randint(0, 64))


def mutated_meta(rng: random.Random, meta: Any, depth: int = 0) -> Any:
    """``meta`` with one value somewhere inside replaced by a hostile one."""
    if isinstance(meta, dict) and meta and depth < 6:
        key = rng.choice(sorted(meta))  # sorted: safetensors returns metadata in a random order
        return {**meta, key: mutated_meta(rng, meta[key], depth + 1)}
    if isinstance(meta, list) and meta and depth < 6:
        index = rng.randrange(len(meta))
        return [*meta[:index], mutated_meta(rng, meta[index], depth + 1), *meta[index + 1 :]]
    return rng.choice([None, -1, 0, 10**12, 2**70, 1e308, "x", "", [], {}, True, 0.5, [1, "a"], {"a": None}])


def damaged_checkpoint(rng: random.Random, world: World) -> Case:
    """A run whose newest checkpoint is random bytes, a lying safetensors header, or a digest-valid checkpoint with a
    hostile value in its metadata; then a command that reads it."""
    from ganforge.checkpoint import read_file, write_checkpoint

    checkpoints = sorted((world.run / "checkpoints").glob("*.safetensors"))
    target = world.run / "checkpoints" / rng.choice([checkpoints[-1].name, "step_99999999.safetensors"])
    how = rng.choice(["bytes", "header", "meta", "meta", "truncated"])
    if how == "bytes":
        target.write_bytes(rng.randbytes(rng.randint(0, 200)))
    elif how == "header":
        target.write_bytes(crafted_safetensors(rng))
    elif how == "truncated":
        data = checkpoints[-1].read_bytes()
        target.write_bytes(data[: rng.randrange(len(data))])
    else:
        saved = read_file(checkpoints[-1])
        write_checkpoint(target, saved.tensors, mutated_meta(rng, saved.meta))
    reader = rng.choice(["sample", "eval", "resume", "run-resume", "file"])
    out = world.root / "out" / "s.png"
    argv = {
        "sample": ["sample", str(world.run), "-n", "4", "--out", str(out), "--device", "cpu"],
        "eval": ["eval", str(world.run), "-n", "64", "--device", "cpu"],
        "resume": ["resume", str(world.run), "--max-steps", "6", "--device", "cpu"],
        "run-resume": ["run", "vanilla", "--resume", str(world.run), "--max-steps", "6", "--device", "cpu"],
        "file": ["sample", str(target), "-n", "4", "--out", str(out), "--device", "cpu"],
    }[reader]
    return Case(f"checkpoint-{how}", argv, [world.run, out.parent, world.cwd])


def damaged_config(rng: random.Random, world: World) -> Case:
    """A hostile settings file for ``run --config``, or the run's config.json replaced by random bytes or hostile
    JSON, then a command on the run."""
    if rng.random() < 0.4:
        out = world.root / "out" / "fresh"
        tiny = sum((["--set", s] for s in TINY_SETTINGS), [])
        argv = ["run", *(["vanilla"] if rng.random() < 0.5 else []), "--config", str(config_file(rng, world)), *tiny, "--max-steps", "2", "--out", str(out)]
        return Case("config", argv, [out, world.cwd])
    config = world.run / "config.json"
    if rng.random() < 0.4:
        config.write_bytes(rng.randbytes(rng.randint(0, 100)))
    else:
        config.write_text(json.dumps(mutated_meta(rng, json.loads(config.read_text()))))
    command = rng.choice([["sample", str(world.run), "-n", "4", "--out", str(world.root / "out" / "s.png")], ["resume", str(world.run), "--max-steps", "6"], ["plot", str(world.run)], ["eval", str(world.run), "-n", "64"]])
    return Case("config", [*command, "--device", "cpu"] if command[0] != "plot" else command, [world.run, world.root / "out", world.cwd])


def damaged_metrics(rng: random.Random, world: World) -> Case:
    """metrics.jsonl with random lines appended or swapped in, then ``plot`` (or a resume, which rewinds the log)."""
    metrics = world.run / "metrics.jsonl"
    lines = metrics.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    makers = [
        lambda: json.dumps(mutated_meta(rng, rng.choice(records))),
        lambda: json.dumps(mutated_meta(rng, {"step": 1, "eval": True, "main": "modes", "modes": 3})),
        lambda: rng.randbytes(rng.randint(0, 40)).decode("latin-1"),
        lambda: "[" * 5000,
        lambda: hostile(rng),
    ]
    for _ in range(rng.randint(1, 3)):
        lines.insert(rng.randint(0, len(lines)), rng.choice(makers)())
    metrics.write_text("\n".join(lines) + "\n")
    if rng.random() < 0.8:
        out = world.output_path(rng) if rng.random() < 0.5 else None
        return Case("metrics", ["plot", str(world.run), *([] if out is None else ["--out", str(out)])], [world.run, world.cwd, *([out] if out else [])])
    return Case("metrics", ["resume", str(world.run), "--max-steps", "6", "--device", "cpu"], [world.run, world.cwd])


def good_argv(world: World) -> list[list[str]]:
    """Command lines that succeed as they are: the starting points of :func:`mutated_argv`."""
    tiny = sum((["--set", s] for s in TINY_SETTINGS), [])
    out = world.root / "out"
    return [
        ["run", "vanilla", "--data", "ring8", *tiny, "--max-steps", "2", "--out", str(out / "run")],
        ["resume", str(world.run), "--max-steps", "6", "--device", "cpu"],
        ["sample", str(world.run), "-n", "4", "--out", str(out / "s.png"), "--device", "cpu"],
        ["eval", str(world.run), "-n", "64", "--device", "cpu", "--json"],
        ["plot", str(world.run), "--out", str(out / "c.png")],
        ["list", "loss", "--json"],
        ["plugins", "--json"],
        ["new-plugin", "my-loss", "--out", str(out)],
    ]


def mutated_argv(rng: random.Random, world: World) -> Case:
    """A command line that works, with one value replaced, one argument dropped or one hostile option added."""
    argv = list(rng.choice(good_argv(world)))
    how = rng.choice(["value", "drop", "add", "add"])
    if how == "value" and len(argv) > 1:
        argv[rng.randrange(1, len(argv))] = hostile(rng) if rng.random() < 0.7 else str(rng.choice(world.inputs))
    elif how == "drop" and len(argv) > 1:
        del argv[rng.randrange(1, len(argv))]
    else:
        command = typer.main.get_group(app).commands[argv[0]]
        options = [p for p in command.params if p.param_type_name == "option" and p.name not in LEFT_OUT_OPTIONS]
        argv[1:1] = option_value(rng, rng.choice(options), world) if options else [hostile(rng)]
    writable = [world.cwd, world.root / "out", world.root / "new"]
    writable += [Path(argv[i + 1]) for i, arg in enumerate(argv[:-1]) if arg == "--out"]
    if argv[0] in ("run", "resume", "plot", "report", "eval"):
        writable.append(world.run)
    return Case("mutated", argv, writable)


# --- the newer surface: hostile files in and around the run, sizes, walks, exports, captions, the lock, signals,
# --nproc ------------------------------------------------------------------------------------------------------------

DEEP_JSON = "[" * 100_000 + "]" * 100_000


def hostile_thing(rng: random.Random, path: Path, world: World) -> None:
    """Put something hostile at ``path`` (removing what is there): a link to a user's file or out of the sandbox,
    a FIFO, /dev/zero, a directory, deep JSON, non-UTF-8 bytes, hostile JSON, markup."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    how = rng.choice(["link-precious", "link-dangling", "fifo", "zero", "dir", "deep", "bytes", "json", "markup", "huge"])
    if how == "link-precious":
        path.symlink_to(world.precious / "thesis.tex")
    elif how == "link-dangling":
        path.symlink_to(world.precious / "created-through-a-link")  # a file appearing there is a write outside
    elif how == "fifo" and hasattr(os, "mkfifo"):
        os.mkfifo(path)
    elif how == "zero":
        path.symlink_to("/dev/zero")
    elif how == "dir":
        path.mkdir()
    elif how == "deep":
        path.write_text(DEEP_JSON)
    elif how == "bytes":
        path.write_bytes(rng.randbytes(rng.randint(0, 200)) + b"\xff\xfe")
    elif how == "markup":
        path.write_text(json.dumps({"variant": "[/]", "data": {"name": "[bold red]x[/]"}, "state": "failed", "error": "<script>x</script> [/]", "step": 1, "epoch": "<b>"}))
    elif how == "huge":
        path.write_text(json.dumps({"pad": "x" * (3 << 20)}))
    else:
        path.write_text(json.dumps(mutated_meta(rng, rng.choice([[1, 2], {"state": "running", "pid": 10**30, "host": os.uname().nodename}, {"main": ["modes"], "step": 1, "eval": True, "best": True}, 7]))))


def hostile_run_files(rng: random.Random, world: World) -> Case:
    """One of the run's own files (config.json, status.json, metrics.jsonl, a sample grid, curves.png, the lock)
    replaced by something hostile, then a command that reads the run: report, runs, plot, resume, sample, eval."""
    names = ["config.json", "status.json", "metrics.jsonl", "samples/epoch_001.png", "samples/epoch_999.png", "curves.png", ".ganforge.lock", "report.html"]
    for name in rng.sample(names, k=rng.randint(1, 2)):
        hostile_thing(rng, world.run / name, world)
    out = world.root / "out" / "page.html"
    argv = rng.choice([
        ["report", str(world.run)], ["report", str(world.run), "--out", str(out)], ["runs", str(world.root)], ["runs", str(world.root), "--json"],
        ["runs", str(world.run), "--json"], ["plot", str(world.run), "--out", str(world.root / "out" / "c.png")],
        ["resume", str(world.run), "--epochs", "3", "--device", "cpu"], ["sample", str(world.run), "-n", "4", "--out", str(world.root / "out" / "s.png"), "--device", "cpu"],
    ])  # fmt: skip
    writable = [world.root / "out", world.cwd]
    if argv[0] == "resume" or argv == ["report", str(world.run)]:
        writable.append(world.run)
    return Case("run-files", argv, writable)


def hostile_settings_file(rng: random.Random, world: World) -> Case:
    """``--config`` (run or config) or ``--captions`` given a FIFO, /dev/zero, a directory, deep or huge JSON/TOML."""
    path = world.root / rng.choice(["settings.json", "settings.toml", "captions.txt"])
    hostile_thing(rng, path, world)
    if path.suffix == ".toml" and rng.random() < 0.5 and path.is_file() and not path.is_symlink():
        path.write_text("a = " + "[" * 50_000 + "]" * 50_000)
    if path.name == "captions.txt":
        argv = ["sample", str(world.run), "--captions", str(path), "-n", "2", "--out", str(world.root / "out" / "s.png"), "--device", "cpu"]
    elif rng.random() < 0.5:
        argv = ["config", "vanilla", "--config", str(path)]
    else:
        argv = ["run", "vanilla", "--config", str(path), *sum((["--set", s] for s in TINY_SETTINGS), []), "--max-steps", "2", "--out", str(world.root / "out" / "fresh")]
    return Case("settings-file", argv, [world.root / "out", world.cwd])


BIG = ["0", "-1", "1e9", str(10**9), str(10**12), str(2**63), "1e23", "0.001", "1e-9", "1e-300", "nan", "inf", "-inf", "5e-324"]


def sizes(rng: random.Random, world: World) -> Case:
    """sample, interpolate, eval and export with sizes at and past every bound: counts, frames, points, batches,
    frame rates, seeds and truncations; or a captions file of thousands of lines, or one enormous caption."""
    out = world.root / "out"
    run = str(world.run)
    pick = lambda: rng.choice(BIG) if rng.random() < 0.8 else hostile(rng)  # noqa: E731
    command = rng.choice(["sample", "interpolate", "interpolate", "eval", "export", "captions"])
    if command == "sample":
        argv = ["sample", run, "--device", "cpu", "--out", str(out / "s.png"), *rng.choice([["-n", pick()], ["--truncation", pick()], ["--seed", pick()], ["-n", "4", "--truncation", pick(), "--truncation-mode", rng.choice(["resample", "mean", "x"])]])]
    elif command == "interpolate":
        options = [["--frames", pick()], ["--points", pick()], ["-n", pick()], ["--fps", pick()], ["--seed", pick()], ["--truncation", pick()], ["--seeds", ",".join(pick() for _ in range(rng.randint(1, 3)))]]
        chosen = sum(rng.sample(options, k=rng.randint(1, 2)), [])
        argv = ["interpolate", run, "--device", "cpu", "--frames", "2", "--points", "2", "-n", "2", *chosen, "--out", str(out / rng.choice(["w.gif", "w.mp4", "w.png", "w"]))]
    elif command == "eval":
        argv = ["eval", run, "--device", "cpu", "-n", rng.choice(["64", pick()]), *rng.choice([[], ["--truncation", ",".join(pick() for _ in range(rng.randint(1, 2)))]])]
    elif command == "export":
        argv = ["export", run, "--format", rng.choice(["torchscript", "onnx", "x"]), "--out", str(out / rng.choice(["g.pt", "g.onnx", "g"])), "--batch", pick()]
    else:
        captions = out.parent / "captions.txt"
        lines = [rng.choice(["a thin one", "[/]", "é💥", "x" * 100_000, ""]) for _ in range(rng.choice([1, 3, 5000]))]
        captions.write_text("\n".join(lines))
        argv = ["sample", run, "--device", "cpu", "--out", str(out / "s.png"), "--captions", str(captions), "-n", pick()]
    return Case("sizes", argv, [out, world.cwd, *([world.run] if argv[0] == "eval" else [])])  # eval records its scores in the run


def lock_attack(rng: random.Random, world: World) -> Case:
    """The run lock (or a fresh --out's) made a link to a user's file, a dangling link, a FIFO or a directory, then
    run, resume or report."""
    target = world.run if rng.random() < 0.7 else world.root / "out" / "fresh"
    target.mkdir(parents=True, exist_ok=True)
    lock = target / ".ganforge.lock"
    lock.unlink(missing_ok=True)
    how = rng.choice(["precious", "dangling", "fifo", "dir", "zero"])
    if how == "precious":
        lock.symlink_to(world.precious / "thesis.tex")
    elif how == "dangling":
        lock.symlink_to(world.precious / "created-through-the-lock")
    elif how == "fifo" and hasattr(os, "mkfifo"):
        os.mkfifo(lock)
    elif how == "dir":
        lock.mkdir()
    else:
        lock.symlink_to("/dev/zero")
    tiny = sum((["--set", s] for s in TINY_SETTINGS), [])
    if target == world.run:
        argv = rng.choice([["resume", str(world.run), "--epochs", "3", "--device", "cpu"], ["run", "vanilla", "--data", "ring8", *tiny, "--max-steps", "2", "--out", str(world.run), "--overwrite"]])
    else:
        argv = ["run", "vanilla", "--data", "ring8", *tiny, "--max-steps", "2", "--out", str(target)]
    return Case(f"lock-{how}", argv, [target, world.cwd])


def signals(rng: random.Random, world: World) -> Case:
    """resume (or a fresh run) interrupted by SIGINT or SIGTERM, once or twice in quick succession: an exit code of
    128 + the signal is expected, with a line saying so."""
    tiny = sum((["--set", s] for s in TINY_SETTINGS), [])
    if rng.random() < 0.5:
        argv = ["resume", str(world.run), "--epochs", "100", "--device", "cpu"]
        writable = [world.run, world.cwd]
    else:
        out = world.root / "out" / "fresh"
        argv = ["run", "vanilla", "--data", "ring8", *tiny, "--epochs", "100", "--out", str(out)]
        writable = [out, world.cwd]
    number = rng.choice([signal.SIGINT, signal.SIGTERM])
    case = Case("signal", argv, writable)
    case.signals = [(rng.uniform(0.3, 1.5), number)] + ([(rng.uniform(0.01, 0.2), number)] if rng.random() < 0.4 else [])
    return case


def distributed(rng: random.Random, world: World) -> Case:
    """--nproc and --max-restarts with hostile values, or with a bad setting elsewhere on the command line: refused
    before any process is launched (real launches of good commands are tests/test_distributed.py's)."""
    tiny = sum((["--set", s] for s in TINY_SETTINGS), [])
    bad = rng.choice([["--set", "optim.lr=" + rng.choice(["abc", "-1", "nan", "[]"])], ["--set", "optim.lr=abc"], ["--set", "dist.timeout_s=1e15"], ["--set", "dist.timeout_s=" + rng.choice(["0", "-1", "nan", "inf", "1e999", "x"])], ["--batch-size", rng.choice(["0", "-1", "abc"])], ["--data", "nope"], ["--config", str(world.root / "missing.toml")]])
    nproc = rng.choice(["2", "1000", "0", "-1", "99999999999", "abc"])
    restarts = rng.choice([[], ["--max-restarts", rng.choice(["1", "3", "-1", hostile(rng)])]])
    out = world.root / "out" / "fresh"
    if rng.random() < 0.6:
        argv = ["run", "vanilla", "--data", "ring8", *tiny, "--max-steps", "2", "--out", str(out), "--nproc", nproc, *restarts, *bad]
    else:
        argv = ["resume", str(world.run), "--max-steps", "6", "--nproc", nproc, *restarts, *bad]
    return Case("nproc", argv, [out, world.run, world.cwd])


MAKERS = {
    "mutated": mutated_argv, "argv": random_argv, "set": random_set, "checkpoint": damaged_checkpoint, "config": damaged_config, "metrics": damaged_metrics,
    "run-files": hostile_run_files, "settings-file": hostile_settings_file, "sizes": sizes, "lock": lock_attack, "signal": signals, "nproc": distributed,
}  # fmt: skip


def make_case(rng: random.Random, world: World) -> Case:
    kind = rng.choice([*MAKERS, "argv"])  # command lines twice as often: they are the widest surface
    return MAKERS[kind](rng, world)


# --- running a case -----------------------------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` and a digest of what it holds."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            found[str(path)] = "dir" if path.is_dir() else "other"
        else:
            found[str(path)] = hashlib.sha1(path.read_bytes()).hexdigest()
    return found


def changed_outside(before: dict[str, str], after: dict[str, str], writable: list[Path]) -> list[str]:
    allowed = [Path(os.path.abspath(p)) for p in writable]
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}

    def permitted(path: Path) -> bool:
        inside = any(path == a or a in path.parents for a in allowed)
        holds_one = after.get(str(path)) == "dir" and any(path in a.parents for a in allowed)  # made to hold an output
        return inside or holds_one

    return sorted(p for p in changed if not permitted(Path(p)))


class Hung(BaseException):
    pass


@dataclass
class Outcome:
    case: Case
    exit_code: int | None
    traceback: str  # empty when there was none
    outside: list[str]
    hung: bool
    output: str

    stderr: str = ""

    @property
    def messy(self) -> bool:
        """Refused with more or less than one ``error:`` line on stderr (warnings aside); bare ``ganforge`` shows help."""
        if self.exit_code != 2 or not self.case.argv:
            return False
        lines = [line for line in self.stderr.splitlines() if line.strip() and not line.startswith(("warning:", "ganforge: warning:"))]
        return len(lines) != 1 or not lines[0].startswith("error: ")

    @property
    def expected_exit(self) -> bool:
        """0 or 2; for a case that sends signals also 128 + the signal, with a line on stderr saying what happened."""
        if self.exit_code in (0, 2):
            return True
        return any(self.exit_code == 128 + number for _, number in self.case.signals) and bool(self.stderr.strip())

    @property
    def clean(self) -> bool:
        return self.expected_exit and not self.traceback and not self.outside and not self.hung and not self.messy

    def describe(self) -> str:
        if self.hung:
            problem = "hung"
        elif self.traceback:
            problem = self.traceback.strip().splitlines()[-1]
        elif self.outside:
            problem = f"changed outside: {self.outside[:3]}"
        elif self.messy:
            problem = f"not one error line: {self.stderr.strip()[:300]!r}"
        else:
            problem = f"exit {self.exit_code}: {self.output.strip()[-300:]}"
        return f"[{self.case.kind}] ganforge {' '.join(repr(a) if (' ' in a or not a) else a for a in self.case.argv)}\n    -> {problem}"


@contextlib.contextmanager
def sending(plan: list[tuple[float, int]]) -> Iterator[None]:
    """Send this process the signals of ``plan`` while the block runs (as a user's Ctrl-C or a scheduler's
    SIGTERM would); a signal that arrives after the block, or before ganforge handles it (while the run loads), is
    ignored, and the case trains to its end (100 epochs of 2 steps: seconds)."""
    import threading

    if not plan:
        yield
        return
    numbers = {number for _, number in plan}
    previous = {number: signal.signal(number, lambda *_: None) for number in numbers}
    done = threading.Event()

    def send() -> None:
        for delay, number in plan:
            if done.wait(delay):
                return
            os.kill(os.getpid(), number)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        yield
    finally:
        done.set()
        sender.join()
        for number, handler in previous.items():
            signal.signal(number, handler)


def run_case(case: Case, world: World, seconds: float = CASE_SECONDS) -> Outcome:
    import sys

    before = snapshot(world.root)
    here, argv = os.getcwd(), sys.argv
    os.chdir(world.cwd)
    sys.argv = ["ganforge", *case.argv]  # what --nproc relaunches under torchrun, as from a shell
    hung = False
    try:
        with time_limit(seconds, Hung), sending(case.signals):
            result = CliRunner().invoke(app, case.argv, prog_name="ganforge")
        exit_code, output, stderr = result.exit_code, result.output, result.stderr
        error = result.exception
        trace = "" if error is None or isinstance(error, SystemExit) else "".join(traceback.format_exception(error))
        if "Traceback (most recent call last)" in output:
            trace = trace or output
    except Hung:
        exit_code, output, stderr, trace, hung = None, "", "", "", True
    finally:
        os.chdir(here)
        sys.argv = argv
    return Outcome(case, exit_code, trace, changed_outside(before, snapshot(world.root), case.writable), hung, output, stderr)


def attack_world(trained: Path, root: Path) -> World:
    if not RUN_KEYS:
        config = json.loads((trained / "config.json").read_text())
        RUN_KEYS.extend(
            f"{section}.{key}" for section, values in config.items() if isinstance(values, dict) and section not in ("plugins", "plugin_sections") for key in values
        )
    return World.make(root, trained)


def train_tiny_run(out: Path) -> Path:
    """The run every case starts from: vanilla on ring8, 2 epochs of 2 steps, tiny networks."""
    import ganforge

    settings = {key: int(value) for key, value in (s.split("=") for s in TINY_SETTINGS)}
    ganforge.train("vanilla", "ring8", settings={**settings, "train.batch_size": 32, "train.epochs": 2, "train.sample_count": 16}, out=out)
    return out

"""What README.md and the pages under docs/ promise, run as they show it."""

from __future__ import annotations

import itertools
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ganforge
from ganforge import hookimpl, testing
from ganforge.cli import app

from conftest import TINY
from plugin_packages import install, run_ganforge

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PLUGINS_GUIDE = (ROOT / "docs" / "plugins.md").read_text()
COMMANDS_PAGE = (ROOT / "docs" / "commands.md").read_text()
DATASETS_PAGE = (ROOT / "docs" / "datasets.md").read_text()
EVALUATION_PAGE = (ROOT / "docs" / "evaluation.md").read_text()
PYTHON_API_PAGE = (ROOT / "docs" / "python-api.md").read_text()
TEXT_TO_IMAGE_PAGE = (ROOT / "docs" / "text-to-image.md").read_text()
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
runner = CliRunner()


def small_ring(size: int = 64, seed: int = 0):
    """ring8 under another name, which only the registry below knows."""
    from ganforge_datasets.mixtures import ring8

    return ring8(size=size, seed=seed)


class OnlyHere:
    """A plugin known to one registry only: a dataset, and a hook that counts run starts."""

    def __init__(self):
        self.starts = 0

    @hookimpl
    def register_datasets(self, register):
        register("only-here-ring", small_ring)

    @hookimpl
    def on_run_start(self):
        self.starts += 1


def test_resume_takes_the_registry_like_train(tmp_path):
    """docs/python-api.md: each library function takes ``registry=``; resume must use it for the config, data and hooks."""
    plugin = OnlyHere()
    registry = testing.registry_with(plugin, builtins=True)
    settings = {**TINY, "train.max_steps": 2}
    ganforge.train("vanilla", "only-here-ring", settings=settings, out=tmp_path / "run", registry=registry)
    result = ganforge.resume(tmp_path / "run", settings={"train.max_steps": 4}, registry=registry)
    assert result.steps == 4 and plugin.starts == 2


# --- the error messages the docs show ------------------------------------------------------------------------------


def shown_errors():
    """Every ``$ ganforge ...`` line in the docs with the ``error:``/``warning:`` lines shown under it."""
    for path in DOCS:
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines, 1):
            if line.startswith("$ ganforge "):
                shown = list(itertools.takewhile(lambda l: l.startswith(("error:", "warning:")), lines[number:]))
                yield pytest.param(line[2:], shown, id=f"{path.name}:{number}")


def test_the_docs_show_an_error_example():
    assert len(list(shown_errors())) >= 1


@pytest.mark.parametrize("command, shown", list(shown_errors()))
def test_each_error_the_docs_show_is_what_the_command_prints(command, shown):
    result = runner.invoke(app, shlex.split(command)[1:])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == shown


def test_the_readme_suggestion_for_a_misspelled_name():
    shown = "unknown variant 'vanila'. Did you mean 'vanilla'?"
    assert f"`{shown}`" in README
    result = runner.invoke(app, ["run", "vanila"])
    assert result.exit_code == 2 and shown in result.stderr


def test_the_plugin_guides_broken_plugin_messages_are_what_ganforge_prints(tmp_path):
    site = install(tmp_path / "site", "gf-misspelled", "gf-bad-factory")
    warning = next(line.strip() for line in PLUGINS_GUIDE.splitlines() if "gf-misspelled 0.1" in line)
    error = next(line.strip() for line in PLUGINS_GUIDE.splitlines() if line.strip().startswith("error: loss 'explodes'"))
    listed = run_ganforge(site, "list", "loss")
    assert warning in listed.stderr.splitlines()
    run = run_ganforge(site, "run", "vanilla", "--data", "ring8", "--set", "loss.name=explodes", "--out", str(tmp_path / "run"))
    assert run.returncode == 2 and error in run.stderr.splitlines()


def test_every_setting_of_a_built_in_recipe_is_described_beside_it():
    """docs/variants.md: each setting of a recipe's own sections is described by the comment beside it in its dataclass."""
    import dataclasses
    import inspect

    from ganforge.registry import get_registry

    for component in get_registry().components("variant"):
        if component.plugin != "ganforge":
            continue
        for section, settings in component.load().sections.items():
            lines = inspect.getsource(settings).splitlines()
            for field in dataclasses.fields(settings):
                (line,) = [line for line in lines if line.strip().startswith(f"{field.name}:")]
                assert "#" in line and line.split("#", 1)[1].strip(), f"{component.name}: {section}.{field.name} has no comment"


# --- docs/plugins.md: the variant API, as documented, is the code's ------------------------------------------------


def variants_section() -> str:
    return PLUGINS_GUIDE[PLUGINS_GUIDE.index("### Variants\n") : PLUGINS_GUIDE.index("## Hook reference\n")]


def parameters(function) -> str:
    """``name, name=default`` as the docs write a signature (no annotations, no self)."""
    import inspect

    shown = []
    for p in inspect.signature(function).parameters.values():
        if p.name == "self":
            continue
        prefix = "**" if p.kind is p.VAR_KEYWORD else "*" if p.kind is p.VAR_POSITIONAL else ""
        default = "" if p.default is p.empty else "=" + repr(p.default).replace("'", '"')
        shown.append(prefix + p.name + default)
    return ", ".join(shown)


def test_the_variant_api_a_plugin_author_needs_is_documented_with_the_codes_signatures():
    import re

    from ganforge import config, noise, variant

    section = variants_section()
    attributes = ["config", "spec", "device", "registry", "networks", "optimizers", "position", "discriminators", "generators", "domains", "batches_per_step",
                  "prior", "conditional", "translates"]  # fmt: skip
    for name in attributes:
        assert re.search(rf"`(self\.)?{name}[`: ]", section), name
        assert hasattr(variant.Variant, name) or name in vars(variant.Variant(None, None, None)), name
    methods = ["make", "build", "configure_optimizers", "train_step", "sample_inputs", "generate", "evaluation_inputs",
               "evaluation_outputs", "extra_state", "load_extra_state", "grid_columns", "class_inputs", "translate",
               "noise_inputs", "require_prior", "caption_inputs", "row_captions", "evaluation_captions", "discriminator_networks"]  # fmt: skip
    for name in methods:
        assert f"`{name}({parameters(getattr(variant.Variant, name))})" in section or (
            f"`self.{name}({parameters(getattr(variant.Variant, name))})" in section
        ), (name, parameters(getattr(variant.Variant, name)))
    for qualified, function in [("ganforge.config.at_least", config.at_least), ("ganforge.config.between", config.between),
                                ("ganforge.config.below", config.below), ("ganforge.noise.sample_noise", noise.sample_noise)]:  # fmt: skip
        assert f"`{qualified}({parameters(function)})" in section, (qualified, parameters(function))
    for gone in ("schedulers", "epoch_ended"):
        assert not hasattr(variant.Variant, gone) and f"`Variant.{gone}`" in section  # documented as gone


class Recorder:
    """A lifecycle plugin that notes what the docs say a hook sees."""

    def __init__(self):
        self.seen = {}

    @hookimpl
    def on_run_start(self, config, variant):
        self.seen["r1_gamma"] = config.loss.params["r1_gamma"]  # component settings are under .params
        self.seen["lr"] = config.optim.lr  # a dataclass section's are attributes
        self.seen["scale"] = variant.spec.scale


def test_component_settings_in_lifecycle_hooks_are_under_params_and_scale_is_one_float(tmp_path):
    recorder = Recorder()
    registry = testing.registry_with(recorder, builtins=True)
    settings = {**TINY, "data.size": 64, "train.max_steps": 1, "loss.r1_gamma": "0.5", "optim.lr": "1e-3"}
    ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path, registry=registry)
    assert recorder.seen["r1_gamma"] == 0.5 and recorder.seen["lr"] == 1e-3
    assert type(recorder.seen["scale"]) is float


def test_a_step_of_k_minibatches_is_them_stacked_along_dim_0(tmp_path):
    """docs/plugins.md: ``batch.data`` holds k = batches_per_step minibatches of train.batch_size, ``chunk(k)``."""
    from ganforge_vanilla.recipe import Vanilla

    seen = []

    class Watching(Vanilla):
        def train_step(self, batch, precision):
            seen.append((batch.data.shape, batch.labels.shape, [len(c) for c in batch.data.chunk(self.batches_per_step)]))
            return super().train_step(batch, precision)

    class Plugin:
        @hookimpl
        def register_variants(self, register):
            register("watching", Watching)

    registry = testing.registry_with(Plugin(), builtins=True)
    settings = {**TINY, "data.name": "ring8", "data.size": 400, "optim.d_steps": 3, "train.max_steps": 2}
    ganforge.train("watching", settings=settings, out=tmp_path, registry=registry)
    assert seen == [((96, 2), (96,), [32, 32, 32])] * 2


# --- the commands and code the docs show, run as shown (shortened with --max-steps and tiny networks) --------------

TINY_FLAGS = [f"--set={key}={value}" for key, value in TINY.items()]


def python_block(text: str, after: str) -> str:
    """The first fenced Python block after the line ``after``."""
    start = text.index("```python\n", text.index(after)) + len("```python\n")
    return text[start : text.index("```\n", start)]


@pytest.fixture
def short_runs(monkeypatch):
    """``ganforge.train`` as the docs call it, but stopping after 3 steps on a small ring8."""
    from ganforge import api

    train = api.train

    def short(variant, data=None, settings=None, **kwargs):
        return train(variant, data, settings={**(settings or {}), "data.size": 512, "train.max_steps": 3}, **kwargs)

    monkeypatch.setattr(api, "train", short)


def test_the_python_api_example_runs_as_shown(tmp_path, monkeypatch, short_runs, capsys):
    monkeypatch.chdir(tmp_path)
    code = python_block(PYTHON_API_PAGE, "## Train, sample, load")
    assert 'out="runs/ring8-demo"' in code and "ganforge.load(" in code
    exec(compile(code, "docs/python-api.md", "exec"), {})
    assert (tmp_path / "ring8.png").stat().st_size > 0
    assert (tmp_path / "runs" / "ring8-demo" / "config.json").exists()


def test_the_evaluation_pages_command_runs(tmp_path):
    shown = "ganforge run vanilla --data ring8 --eval-every 500 --set ema.decay=0.999"
    assert shown in EVALUATION_PAGE
    args = shlex.split(shown)[1:] + ["--max-steps", "4", "--out", str(tmp_path / "run"), "--set=data.size=256", *TINY_FLAGS]
    result = runner.invoke(app, [*[a if a != "500" else "2" for a in args]])
    assert result.exit_code == 0, result.output
    import json

    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r.get("eval")] == [2, 4]
    assert (tmp_path / "run" / "checkpoints" / "best.safetensors").exists()


def test_the_plugin_guides_csv_logger_works_as_shown(tmp_path, monkeypatch):
    import sys
    import types

    code = python_block(PLUGINS_GUIDE, "A complete logger, writing each metrics line to a CSV file")
    module = types.ModuleType("csv_logger")
    monkeypatch.setitem(sys.modules, "csv_logger", module)  # as if imported: its dataclass needs its module
    exec(compile(code, "docs/plugins.md", "exec"), module.__dict__)
    registry = testing.registry_with(module, builtins=True)
    settings = {**TINY, "data.size": 64, "train.max_steps": 4, "train.log_every": 2, "my_csv.enabled": "true"}
    ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path, registry=registry)
    lines = (tmp_path / "my_metrics.csv").read_text().splitlines()
    assert lines[0].startswith("step,epoch,") and len(lines) >= 3
    assert module._files == {}  # closed at the run's end


def test_the_fgan_commands_and_code_run_as_shown(tmp_path, monkeypatch, short_runs):
    pytest.importorskip("ganforge_fgan", reason="the example plugin is not installed: pip install -e examples/ganforge-fgan")
    for shown in ("ganforge run vanilla --data ring8 --set loss.name=fgan --set loss.divergence=reverse-kl --batch-size 64",
                  "ganforge run vanilla --data ring8 --set loss.name=fgan --set loss.divergence=reverse-kl --batch-size 64 --set generator.name=mlp-residual"):  # fmt: skip
        assert shown in README + PLUGINS_GUIDE
        out = tmp_path / f"run{len(shown)}"
        tiny = [flag for flag in TINY_FLAGS if "mlp-residual" not in shown or "generator.depth" not in flag]  # it has blocks
        result = runner.invoke(app, [*shlex.split(shown)[1:], "--max-steps", "2", "--set=data.size=256", "--out", str(out), *tiny])
        assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["list", "loss"])
    assert "fgan" in listed.stdout and "ganforge-fgan 0.1.0" in listed.stdout
    assert "mlp-residual" in runner.invoke(app, ["list", "*residual*"]).stdout
    monkeypatch.chdir(tmp_path)
    exec(compile(python_block(PLUGINS_GUIDE, "or from Python, with the same code path:"), "docs/plugins.md", "exec"), {})
    assert (tmp_path / "fgan.png").stat().st_size > 0


def test_the_plugin_guides_add_commands_example_adds_a_command(capsys):
    pytest.importorskip("ganforge_fgan", reason="the example plugin is not installed")
    import types

    from ganforge.cli import command_with_plugins

    module = types.ModuleType("table_command")
    exec(compile("from ganforge import hookimpl\n" + python_block(PLUGINS_GUIDE, "#### `add_commands(app)`"), "docs/plugins.md", "exec"), module.__dict__)
    group = command_with_plugins(testing.registry_with(module, builtins=True))
    assert "fgan-table" in group.commands
    group.main(["fgan-table"], prog_name="ganforge", standalone_mode=False)
    assert "reverse-kl" in capsys.readouterr().out.split()


def test_the_plugin_guides_checks_before_publishing_pass_for_the_example(tmp_path):
    import subprocess
    import sys

    pytest.importorskip("ganforge_fgan", reason="the example plugin is not installed")
    check = "import sys, your_package.plugin; assert 'torch' not in sys.modules"
    assert check in PLUGINS_GUIDE
    subprocess.run([sys.executable, "-c", check.replace("your_package", "ganforge_fgan")], check=True)
    result = run_ganforge(tmp_path, "plugins", "--json", GANFORGE_STRICT_PLUGINS="1")
    assert result.returncode == 0, result.stderr
    import json

    assert {"fgan": "loaded"}.items() <= {row["entry_point"]: row["status"] for row in json.loads(result.stdout)}.items()


@pytest.mark.slow
def test_the_text_to_image_commands_run_as_shown(tmp_path, mnist_root, monkeypatch):
    """docs/text-to-image.md: train on captioned MNIST, sample from a caption and from docs/captions-mnist.txt, eval
    (shortened: tiny networks, a few steps, few samples; MNIST's test split, the one the shared data holds)."""
    from ganforge.evaluation import evaluator as evaluator_module

    monkeypatch.setattr(evaluator_module, "TRAIN_STEPS", 4)
    block = TEXT_TO_IMAGE_PAGE[TEXT_TO_IMAGE_PAGE.index("# Text to image") :]
    block = block[block.index("```bash\n") + 8 : block.index("```\n", block.index("```bash\n"))]
    commands = [shlex.split(line.split("#")[0]) for line in block.splitlines() if line.strip()]
    assert [command[1] for command in commands] == ["run", "sample", "sample", "eval"]
    monkeypatch.chdir(ROOT)
    run = tmp_path / "run"
    tiny = {"generator.width": 4, "refiner.width": 4, "discriminator.width": 4, "generator.condition_dim": 4,
            "refiner.condition_dim": 4, "refiner.residual_blocks": 1, "discriminator.compressed_dim": 4, "noise.dim": 8,
            "embedding.dim": 8, "embedding.hidden": 8, "data.root": str(mnist_root), "data.split": "test"}  # fmt: skip
    extra = {"run": ["--max-steps", "2", "--out", str(run), *[f"--set={k}={v}" for k, v in tiny.items()]], "sample": ["--device", "cpu"], "eval": ["-n", "32", "--device", "cpu"]}
    for command in commands:
        args = [str(run) if arg == "runs/<run>" else str(tmp_path / arg) if arg.endswith(".png") else arg for arg in command[1:]]
        result = runner.invoke(app, [*args, *extra[command[1]]])
        assert result.exit_code == 0, (command, result.output)
    assert (tmp_path / "ones.png").stat().st_size > 0 and (tmp_path / "captions.png").stat().st_size > 0
@pytest.mark.slow  # 1,000 steps, 25 s
def test_the_fgan_reverse_kl_command_trains_with_sensible_losses(tmp_path):
    """The README's plugin example, at its own settings for 1,000 steps (G's loss used to reach 1e14 by then, inf by 2,000).

    Reverse KL, KL(G || data), is mode-seeking: G's samples should gather on the ring's modes (here after 1,000 steps
    most lie within 0.25 of one, while neighbouring modes are 0.77 apart; G starts at the centre, 1 away) and D's
    bound, -loss_d, estimates that divergence: log 8 ≈ 2.08 for a generator on one of the 8 modes, a little more
    for one narrower than its mode.
    """
    import json
    import math

    import torch

    pytest.importorskip("ganforge_fgan", reason="the example plugin is not installed: pip install -e examples/ganforge-fgan")
    shown = "ganforge run vanilla --data ring8 --set loss.name=fgan --set loss.divergence=reverse-kl --batch-size 64"
    assert shown in README
    result = runner.invoke(app, [*shlex.split(shown)[1:], "--max-steps", "1000", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(records) >= 20 and not any("skipped_updates" in r for r in records)
    assert all(math.isfinite(r["loss_g"]) and 0 < r["loss_g"] < 10 for r in records), [r["loss_g"] for r in records]
    assert all(-math.log(8) - 1.5 < r["loss_d"] < 0 for r in records[10:]), [r["loss_d"] for r in records]
    points = ganforge.sample(tmp_path / "run", count=1000, device="cpu").values
    angles = torch.arange(8) * 2 * math.pi / 8
    to_nearest_mode = torch.cdist(points, torch.stack([angles.cos(), angles.sin()], 1)).min(1).values
    assert to_nearest_mode.median() < 0.25, to_nearest_mode.median()


# --- docs/commands.md, "After training": each command of its block, on a tiny run in runs/ ---------------------------

AFTER_TRAINING = "## After training: latent walks, truncation, export, the run's page, the list of runs"


def after_training_commands() -> list[str]:
    section = COMMANDS_PAGE[COMMANDS_PAGE.index(AFTER_TRAINING) :]
    block = section[section.index("```bash\n") + len("```bash\n") : section.index("```\n", section.index("```bash\n") + 8)]
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def tiny_run_in_runs(tmp_path_factory):
    """A directory holding runs/tiny, a short ring8 run, as the commands of docs/commands.md expect to find it."""
    root = tmp_path_factory.mktemp("after-training")
    ganforge.train("vanilla", "ring8", settings={**TINY, "data.size": 256, "train.max_steps": 8}, out=root / "runs" / "tiny")
    return root


def test_the_after_training_block_shows_the_five_commands():
    commands = after_training_commands()
    assert [shlex.split(c)[1] for c in commands] == ["interpolate", "sample", "eval", "export", "report", "runs"]


@pytest.mark.parametrize("command", after_training_commands())
def test_each_after_training_command_runs_as_shown(command, tiny_run_in_runs, monkeypatch):
    import shutil

    args = shlex.split(command.replace("runs/<run>", "runs/tiny"))[1:]
    if "onnx" in args:
        pytest.importorskip("onnx", reason="pip install 'ganforge[export]'")
        pytest.importorskip("onnxruntime", reason="pip install 'ganforge[export]'")
    work = tiny_run_in_runs / args[0]
    shutil.copytree(tiny_run_in_runs / "runs", work / "runs")
    monkeypatch.chdir(work)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    written = {"interpolate": "walk.gif", "sample": "truncated.png", "export": "generator.onnx", "report": "runs/tiny/report.html"}
    if args[0] in written:
        assert (work / written[args[0]]).stat().st_size > 0
    if args[0] == "runs":
        assert "tiny" in result.stdout and "finished" in result.stdout
    if args[0] == "eval":
        assert "none" in result.stdout and "0.5" in result.stdout


def test_the_onnxruntime_snippet_runs_an_exported_generator(tiny_run_in_runs, tmp_path, monkeypatch):
    pytest.importorskip("onnx", reason="pip install 'ganforge[export]'")
    pytest.importorskip("onnxruntime", reason="pip install 'ganforge[export]'")
    monkeypatch.chdir(tmp_path)
    ganforge.api.export(tiny_run_in_runs / "runs" / "tiny", "onnx", "generator.onnx")
    code = python_block(COMMANDS_PAGE, "needs only numpy and onnxruntime")
    assert len([line for line in code.splitlines() if line.strip()]) <= 5
    namespace: dict = {}
    exec(compile(code, "docs/commands.md", "exec"), namespace)
    assert namespace["images"].shape == (16, 2)  # ring8: points
    model = ganforge.load(tiny_run_in_runs / "runs" / "tiny", device="cpu")
    import torch

    with torch.no_grad():
        expected = model.generate(torch.from_numpy(namespace["z"]))
    assert torch.allclose(torch.from_numpy(namespace["images"]), expected, atol=1e-5)


# --- the tables of variants (README) and datasets (docs/datasets.md) list what is registered -------------------------


def first_column_names(page: str, heading: str) -> set[str]:
    """The `names` in the first column of the first table under ``heading`` in the text ``page``."""
    import re

    lines = page[page.index(heading) :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = list(itertools.takewhile(lambda line: line.startswith("|"), lines[start + 2 :]))  # past the header and |---|
    return {name for row in rows for name in re.findall(r"`([^`]+)`", row.split("|")[1])}


@pytest.mark.parametrize("kind, page, heading", [("variant", README, "\n## Variants\n"), ("dataset", DATASETS_PAGE, "\n## The built-in datasets\n")])
def test_the_tables_list_every_built_in_component(kind, page, heading):
    from ganforge.registry import get_registry

    registered = {c.name for c in get_registry().components(kind) if c.plugin == "ganforge"}
    assert len(registered) >= 6 and first_column_names(page, heading) == registered

"""`ganforge config` (every key, its type, value, default and meaning), `run --config FILE` and `run --resume DIR`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import ganforge
from ganforge.cli import app
from ganforge.config import factory_options
from ganforge.describe import field_meanings, parameter_meanings
from ganforge.registry import get_registry

from conftest import TINY

runner = CliRunner()
TINY_FLAGS = [f"--set={key}={value}" for key, value in TINY.items()]


def config_json(*args: str) -> dict:
    result = runner.invoke(app, ["config", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_config_lists_every_key_the_run_would_use_with_type_default_and_meaning():
    shown = config_json("vanilla", "--data", "ring8")
    rows = {row["key"]: row for row in shown["settings"]}
    resolved = ganforge.configure("vanilla", "ring8").to_dict()
    expected = {f"{section}.{key}" for section, values in resolved.items() if isinstance(values, dict) and section not in ("plugins", "plugin_sections") for key in values}
    assert expected and set(rows) == expected
    assert rows["optim.lr"] == {"key": "optim.lr", "type": "float (≥ 0)", "value": 2e-4, "default": 2e-4, "meaning": rows["optim.lr"]["meaning"]}
    assert "learning rate" in rows["optim.lr"]["meaning"]
    assert rows["data.name"]["value"] == "ring8" and rows["data.name"]["default"] == "mnist"
    assert rows["data.size"]["type"] == "int" and rows["data.size"]["value"] == 50_000
    assert rows["train.amp_dtype"]["type"] == "'auto' | 'bf16' | 'fp16'"
    assert all(row["meaning"] for row in rows.values()), [key for key, row in rows.items() if not row["meaning"]]


def test_config_applies_set_and_keeps_the_default_beside_it():
    rows = {row["key"]: row for row in config_json("vanilla", "--set", "generator.hidden=512", "--set", "loss.name=hinge")["settings"]}
    assert (rows["generator.hidden"]["value"], rows["generator.hidden"]["default"]) == (512, 256)
    assert rows["loss.name"]["value"] == "hinge" and "loss.mode" not in rows  # hinge's own keys, not bce's


def test_config_table_fits_80_columns_and_marks_what_was_set():
    result = runner.invoke(app, ["config", "dcgan", "--set", "train.epochs=7"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
    assert "train.batch_size" in result.stdout and "generator.width" in result.stdout
    assert "(default 5)" in result.stdout  # train.epochs was set: its default shown beside it


def test_config_errors_are_one_line():
    result = runner.invoke(app, ["config", "vanilla", "--set", "generator.width=3"])
    assert result.exit_code == 2 and result.stderr.startswith("error: unknown config key 'generator.width'")
    assert len(result.stderr.splitlines()) == 1


BUILT_IN = [c for c in get_registry().components() if c.plugin == "ganforge"]


@pytest.mark.parametrize("component", [c for c in BUILT_IN if c.kind != "variant"], ids=lambda c: f"{c.kind}-{c.name}")
def test_every_setting_of_a_built_in_component_has_a_meaning(component):
    factory = component.load()
    meanings = parameter_meanings(factory)
    assert {name: meanings.get(name, "") for name in factory_options(factory) if not meanings.get(name)} == {}


@pytest.mark.parametrize("component", [c for c in BUILT_IN if c.kind == "variant"], ids=lambda c: c.name)
def test_every_setting_of_a_built_in_recipe_section_has_a_meaning(component):
    import dataclasses

    from ganforge.config import CORE_SECTIONS

    for settings in [*component.load().sections.values(), *CORE_SECTIONS.values()]:
        meanings = field_meanings(settings)
        assert [f.name for f in dataclasses.fields(settings) if not meanings.get(f.name)] == []


# --- run --config FILE ------------------------------------------------------------------------------------------


def test_run_from_a_toml_file_with_set_and_flags_on_top(tmp_path):
    config = tmp_path / "ring.toml"
    config.write_text(
        'variant = "vanilla"\n[data]\nname = "ring8"\nsize = 256\n[train]\nmax_steps = 3\nbatch_size = 32\nseed = 4\n'
        "[generator]\nhidden = 16\ndepth = 2\n[discriminator]\nhidden = 24\n"
    )
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "--config", str(config), "--set", "discriminator.hidden=16", "--seed", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "config.json").read_text())
    assert saved["data"]["name"] == "ring8" and saved["train"]["max_steps"] == 3 and saved["generator"]["hidden"] == 16
    assert saved["discriminator"]["hidden"] == 16 and saved["train"]["seed"] == 5  # --set, then flags, over the file


def test_a_runs_own_config_json_reproduces_it(tmp_path):
    first = tmp_path / "first"
    result = runner.invoke(app, ["run", "vanilla", "--data", "ring8", "--max-steps", "3", "--set=data.size=256", "--out", str(first), *TINY_FLAGS])
    assert result.exit_code == 0, result.output
    second = tmp_path / "second"
    result = runner.invoke(app, ["run", "--config", str(first / "config.json"), "--out", str(second)])
    assert result.exit_code == 0, result.output
    assert json.loads((second / "config.json").read_text()) == json.loads((first / "config.json").read_text())
    losses = [[(r["loss_d"], r["loss_g"]) for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())] for run in (first, second)]
    assert losses[0] and losses[0] == losses[1]


def test_data_on_the_command_line_replaces_the_files_data_section(tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"variant": "vanilla", "data": {"name": "ring8", "size": 256}, "train": {"max_steps": 1}}))
    shown = config_json("--config", str(config), "--data", "grid25")
    rows = {row["key"]: row["value"] for row in shown["settings"]}
    assert rows["data.name"] == "grid25" and rows["data.size"] == 50_000 and rows["train.max_steps"] == 1


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("missing.toml", None, "config file {path} does not exist"),
        ("bad.toml", "[train\nepochs = 2\n", "config file {path} is not valid TOML: "),
        ("bad.json", '{"train": ', "config file {path} is not valid JSON: "),
        ("list.json", "[1, 2]", "config file {path} must hold a table of sections"),
        ("flat.toml", "epochs = 3\n", "config file {path}: 'epochs' must be a section of keys"),
        ("config.yaml", "train: {}\n", "config file {path} must end in .toml or .json"),
        ("novariant.toml", "[train]\nepochs = 1\n", "config file {path} names no variant; add variant = \"NAME\" to it or pass VARIANT"),
        ("unknown.toml", 'variant = "vanilla"\n[generator]\nwidth = 3\n', "unknown config key 'generator.width' for generator 'mlp'"),
    ],
)
def test_a_bad_config_file_is_one_line_and_exit_2(tmp_path, name, text, message):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    result = runner.invoke(app, ["run", "--config", str(path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.splitlines()) == 1 and message.format(path=path) in result.stderr
    assert not (tmp_path / "run").exists()


def test_run_needs_a_variant_or_a_resume_or_a_config():
    result = runner.invoke(app, ["run", "--data", "ring8"])
    assert result.exit_code == 2 and "error: name the VARIANT to train" in result.stderr


# --- run --resume DIR --------------------------------------------------------------------------------------------


def test_run_resume_without_a_variant_continues_the_run(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "vanilla", "--data", "ring8", "--max-steps", "2", "--set=data.size=256", "--out", str(out), *TINY_FLAGS])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["run", "--resume", str(out), "--max-steps", "4"])
    assert result.exit_code == 0, result.output
    assert "now at generator step 4" in result.stdout


# --- --help -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "resume", "sample", "eval", "config", "list"])
def test_help_shows_defaults_and_no_value_for_flags(command):
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout
    if command in ("run", "sample", "eval"):
        assert "[default: " in result.stdout


def test_run_help_shows_the_configs_defaults():
    text = " ".join(runner.invoke(app, ["run", "--help"], env={"COLUMNS": "200"}).stdout.split())
    for shown in ("[default: (train.epochs=5)]", "[default: (train.batch_size=64)]", "[default: (train.seed=0)]", "[default: (train.amp=true)]"):
        assert shown in text, shown

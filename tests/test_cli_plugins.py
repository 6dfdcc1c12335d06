"""The plugin-facing commands: ``list``, ``plugins`` and ``new-plugin``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from ganforge import hookimpl, registry as registry_module, testing
from ganforge.cli import app
from ganforge.discovery import PluginSource, Selection
from ganforge.registry import build_registry
from ganforge.scaffold import KINDS, placeholders

from plugin_packages import run_ganforge

runner = CliRunner()


class Names:
    """Losses and a generator with names that sort differently naturally and as text."""

    @hookimpl
    def register_losses(self, register):
        for name in ("gan10", "gan2", "wgan", "hinge", "lsgan"):
            register(name, "somewhere:Loss", f"the {name} loss")

    @hookimpl
    def register_generators(self, register):
        register("dcgan", "somewhere:G", "a generator")


@pytest.fixture
def names_registry(monkeypatch):
    registry = testing.registry_with(Names())
    monkeypatch.setattr(registry_module, "_registry", registry)
    return registry


def listed(*args):
    result = runner.invoke(app, ["list", *args, "--json"])
    assert result.exit_code == 0, result.output
    return [row["name"] for row in json.loads(result.output)]


def test_list_sorts_naturally_and_filters(names_registry):
    assert listed("loss") == ["gan2", "gan10", "hinge", "lsgan", "wgan"]
    assert listed("losses") == listed("loss")  # plural kinds work too
    assert listed("loss", "*gan*") == ["gan2", "gan10", "lsgan", "wgan"]
    assert listed("loss", "gan?") == ["gan2"]
    assert listed("loss", "sga") == ["lsgan"]  # a plain word matches names containing it
    assert listed("*gan*") == ["dcgan", "gan2", "gan10", "lsgan", "wgan"]  # no kind before a wildcard: every kind
    row = json.loads(runner.invoke(app, ["list", "generator", "--json"]).output)[0]
    assert row == {
        "kind": "generator",
        "name": "dcgan",
        "qualified_name": "test_cli_plugins:dcgan",
        "ambiguous": False,
        "plugin": "test_cli_plugins",
        "version": "0",
        "description": "a generator",
    }


def test_list_errors_and_empty_results(names_registry):
    result = runner.invoke(app, ["list", "los"])
    assert result.exit_code == 2 and "unknown component kind 'los'; choose one of: variant, generator" in result.output
    result = runner.invoke(app, ["list", "loss", "*style*"])
    assert result.exit_code == 0 and "No components match. Try 'ganforge list' without a pattern." in result.output


def test_plugins_shows_status_version_hooks_and_reason(monkeypatch):
    class Typo:
        @hookimpl
        def register_los(self, register):
            pass

    sources = [
        PluginSource("names", "names.plugin", "gf-names", "1.0", lambda: Names()),
        PluginSource("typo", "typo.plugin", "gf-typo", "0.2", lambda: Typo()),
        PluginSource("off", "off.plugin", "gf-off", "3.0", lambda: Names()),
    ]
    registry = build_registry(sources, Selection(blocked=["gf-off"]), strict=False)
    monkeypatch.setattr(registry_module, "_registry", registry)
    rows = json.loads(runner.invoke(app, ["plugins", "--json"]).output)
    assert [(r["distribution"], r["version"], r["status"], r["hooks"], r["components"]) for r in rows] == [
        ("gf-names", "1.0", "loaded", ["register_generators", "register_losses"], 6),
        ("gf-typo", "0.2", "failed", [], 0),
        ("gf-off", "3.0", "blocked", [], 0),
    ]
    assert rows[1]["error"] == "unknown hook 'register_los'; did you mean 'register_losses'?"
    table = runner.invoke(app, ["plugins"], env={"COLUMNS": "200"}).output
    assert "failed: unknown hook 'register_los'" in table and "blocked: by GANFORGE_BLOCK_PLUGINS" in table


def test_listing_and_help_import_no_torch():
    """What keeps `ganforge list` and `ganforge --help` fast (measured: about 0.3 s each)."""
    for args in (["list"], ["--help"], ["plugins"]):
        code = (
            "import sys; from ganforge.cli import main; sys.argv = ['ganforge', *%r]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'torch was imported'" % (args,)
        )
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


# --- new-plugin ---------------------------------------------------------------------------------------------------


def test_new_plugin_writes_a_package_for_each_kind(tmp_path):
    for kind in KINDS:
        result = runner.invoke(app, ["new-plugin", f"my-{kind}", "--kind", kind, "--out", str(tmp_path)])
        assert result.exit_code == 0, result.output
        values = placeholders(f"my-{kind}", kind)
        package = tmp_path / f"ganforge-my-{kind}"
        assert sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file()) == sorted(
            [
                "README.md",
                "pyproject.toml",
                f"{values['package']}/__init__.py",
                f"{values['package']}/plugin.py",
                f"{values['package']}/{kind}.py",
                f"tests/test_{values['package']}.py",
            ]
        )
        pyproject = (package / "pyproject.toml").read_text()
        assert f'[project.entry-points.ganforge]\nmy-{kind} = "{values["package"]}.plugin"' in pyproject
        assert f"pip install -e {package}" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["My_Loss"], "'My_Loss' is not a plugin name"),
        (["ok", "--kind", "optimizer"], "unknown plugin kind 'optimizer'; choose one of: loss, generator"),
    ],
)
def test_new_plugin_rejects_bad_input(args, message, tmp_path):
    result = runner.invoke(app, ["new-plugin", *args, "--out", str(tmp_path)])
    assert result.exit_code == 2 and message in result.output


def test_the_new_dataset_plugin_reports_its_points_scale(tmp_path, monkeypatch):
    """Point datasets tell the networks their unit (``DataSpec.scale``, the std per coordinate): the template says so."""
    runner.invoke(app, ["new-plugin", "my-points", "--kind", "dataset", "--out", str(tmp_path)])
    values = placeholders("my-points", "dataset")
    source = (tmp_path / "ganforge-my-points" / values["package"] / "dataset.py").read_text()
    assert "scale=" in source and "std per coordinate" in source
    monkeypatch.syspath_prepend(str(tmp_path / "ganforge-my-points"))
    registry = testing.registry_with(f"{values['package']}.plugin")
    for size, seed in [(40_000, 0), (40_000, 1), (10, 0)]:
        data = testing.build("dataset", "my-points", registry, settings={"size": size, "seed": seed})
        assert data.spec.scale == pytest.approx(0.4048, abs=1e-4)  # the population's: one unit for every size and seed
    big = testing.build("dataset", "my-points", registry, settings={"size": 40_000}).data
    assert big.var(dim=0, correction=0).mean().sqrt().item() == pytest.approx(data.spec.scale, rel=0.02)


def test_new_plugin_never_overwrites(tmp_path):
    (tmp_path / "ganforge-mine").mkdir()
    (tmp_path / "ganforge-mine" / "keep.txt").write_text("mine")
    result = runner.invoke(app, ["new-plugin", "mine", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "already exists; choose another NAME or --out" in result.output
    assert (tmp_path / "ganforge-mine" / "keep.txt").read_text() == "mine"


def dist_info_install(package, site):
    """What pip's install leaves for discovery: the module beside a dist-info naming the entry point."""
    import shutil
    import tomllib

    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    (module,) = [p for p in package.iterdir() if p.name.startswith("ganforge_")]
    shutil.copytree(module, site / module.name)
    info = site / f"{module.name}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    entries = "".join(f"{k} = {v}\n" for k, v in project["entry-points"]["ganforge"].items())
    (info / "entry_points.txt").write_text(f"[ganforge]\n{entries}")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="reads pyproject.toml with tomllib")
def test_generated_packages_are_discovered_at_once(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    for kind in KINDS:
        runner.invoke(app, ["new-plugin", f"new-{kind}", "--kind", kind, "--out", str(tmp_path)])
        dist_info_install(tmp_path / f"ganforge-new-{kind}", site)
    rows = json.loads(run_ganforge(site, "list", "*new-*", "--json").stdout)
    assert sorted((r["kind"], r["name"], r["plugin"], r["version"]) for r in rows) == sorted(
        (kind, f"new-{kind}", f"ganforge-new-{kind}", "0.1.0") for kind in KINDS
    )


@pytest.mark.slow
def test_generated_packages_install_with_pip_pass_their_tests_and_train(tmp_path):
    """The real thing: pip builds and installs a package of each kind; ganforge lists them, their own tests pass,
    and the generated loss trains from the command line."""
    packages = []
    for kind in KINDS:
        runner.invoke(app, ["new-plugin", f"pipped-{kind}", "--kind", kind, "--out", str(tmp_path)])
        packages.append(str(tmp_path / f"ganforge-pipped-{kind}"))
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target), *packages],
        check=True, capture_output=True,
    )
    rows = json.loads(run_ganforge(target, "list", "*pipped-*", "--json").stdout)
    assert sorted((r["name"], r["plugin"], r["version"]) for r in rows) == sorted(
        (f"pipped-{kind}", f"ganforge-pipped-{kind}", "0.1.0") for kind in KINDS
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), *sys.path])}
    tests = [f"{package}/tests" for package in packages]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), *tests],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert result.returncode == 0 and "15 passed" in result.stdout, result.stdout[-3000:]
    out = tmp_path / "run"
    trained = run_ganforge(
        target, "run", "vanilla", "--data", "ring8", "--set", "loss.name=pipped-loss", "--set", "data.size=128",
        "--batch-size", "32", "--epochs", "1", "--out", str(out),
    )
    assert trained.returncode == 0, trained.stderr
    assert json.loads((out / "config.json").read_text())["plugins"]["loss"] == "ganforge-pipped-loss 0.1.0"

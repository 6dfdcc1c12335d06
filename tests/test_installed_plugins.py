"""Installed plugin distributions, broken and working side by side, through the real ``ganforge`` command.

The distributions in tests/plugin_packages are installed into a temporary site directory with their dist-info
(what pip writes), and each command runs in a fresh process, as a user's would.
"""

from __future__ import annotations

import json

import pytest

from plugin_packages import BROKEN, PACKAGES, install, run_ganforge


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Every test distribution, the broken ones included, installed side by side."""
    return install(tmp_path_factory.mktemp("site"), *PACKAGES)


def plugin_rows(site, **env):
    result = run_ganforge(site, "plugins", "--json", **env)
    assert result.returncode == 0, result.stderr
    return {row["distribution"]: row for row in json.loads(result.stdout)}


def warnings(result):
    return [line for line in result.stderr.splitlines() if line.startswith("ganforge: warning:")]


def test_broken_plugins_are_reported_once_each_and_listed_as_failed(site):
    result = run_ganforge(site, "list", "--json")
    assert result.returncode == 0
    names = {(row["kind"], row["name"]) for row in json.loads(result.stdout)}
    assert {("loss", "bce"), ("loss", "least-squares"), ("variant", "vanilla"), ("loss", "explodes")} <= names
    failures = [line for line in warnings(result) if "failed and is ignored" in line and " gf-" in line]
    assert len(failures) == len(BROKEN) == 3
    assert any(
        "gf-broken-import 0.1" in line and "ModuleNotFoundError: No module named 'gf_dependency_that_is_not_installed'" in line
        for line in failures
    )
    assert any("gf-misspelled 0.1" in line and "unknown hook 'register_loss'; did you mean 'register_losses'?" in line for line in failures)
    assert any(
        "gf-bad-signature 0.1" in line and "register_losses(register, registry) asks for {'registry'}, which the hook does not provide" in line
        for line in failures
    )

    rows = plugin_rows(site)
    assert {dist: rows[dist]["status"] for dist in BROKEN} == dict.fromkeys(BROKEN, "failed")
    assert rows["gf-misspelled"]["error"].startswith("unknown hook 'register_loss'")
    assert rows["gf-good"] == {
        "entry_point": "good",
        "module": "gf_good.plugin",
        "distribution": "gf-good",
        "version": "1.2.0",
        "status": "loaded",
        "error": "",
        "hooks": ["add_commands", "config_sections", "on_run_end", "register_losses"],
        "components": 1,
    }
    assert rows["ganforge"]["status"] == "loaded"


def test_every_other_command_works_beside_broken_plugins(site, tmp_path):
    assert run_ganforge(site, "--help").returncode == 0
    settings = ["--set", "data.size=128", "--set", "generator.hidden=16", "--set", "discriminator.hidden=16", "--batch-size", "32"]
    out = tmp_path / "run"
    result = run_ganforge(site, "run", "vanilla", "--data", "ring8", "--set", "loss.name=least-squares", "--epochs", "2", "--out", str(out), *settings)
    assert result.returncode == 0, result.stderr
    assert "Trained 8 generator steps over 2 epoch(s)" in result.stdout
    config = json.loads((out / "config.json").read_text())
    assert config["loss"] == {"name": "least-squares"} and config["plugins"]["loss"] == "gf-good 1.2.0"
    assert config["plugin_sections"]["good"] == "gf-good 1.2.0"
    assert (out / "good.txt").read_text() == "hello after 8 steps"  # gf-good's on_run_end
    hook_failures = [line for line in warnings(result) if "on_log raised" in line]
    assert hook_failures == [
        "ganforge: warning: plugin gf-raising-hook 0.1 (entry point 'raising-hook' -> gf_raising_hook.plugin): "
        "on_log raised RuntimeError: cannot log step 4; its lifecycle hooks are skipped for the rest of this run"
    ]


def test_strict_mode_makes_a_broken_plugin_a_one_line_error(site):
    result = run_ganforge(site, "list", GANFORGE_STRICT_PLUGINS="1", GANFORGE_PLUGINS=",".join(PACKAGES))
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: plugin gf-bad-signature 0.1 (entry point 'bad-signature' -> gf_bad_signature.plugin) failed:")
    assert "block it with GANFORGE_BLOCK_PLUGINS=bad-signature" in line


def test_blocked_plugins_are_not_loaded_and_listed_as_blocked(site):
    env = {
        "GANFORGE_PLUGINS": ",".join(PACKAGES),  # none but ours, whatever else this environment has installed
        "GANFORGE_BLOCK_PLUGINS": "gf-broken-import,bad-signature,gf-misspelled:misspelled,gf-bad-command",
        "GANFORGE_STRICT_PLUGINS": "1",
    }
    rows = plugin_rows(site, **env)  # strict, and yet fine: nothing broken is loaded
    blocked = {dist for dist, row in rows.items() if row["status"] == "blocked" and row["error"] == "by GANFORGE_BLOCK_PLUGINS"}
    assert blocked == {*BROKEN, "gf-bad-command"}
    assert rows["gf-misspelled"]["error"] == "by GANFORGE_BLOCK_PLUGINS" and rows["gf-misspelled"]["hooks"] == []

    only = plugin_rows(site, GANFORGE_PLUGINS="gf-good,collide")
    loaded = {dist for dist, row in only.items() if row["status"] == "loaded"}
    assert loaded == {"ganforge", "gf-good", "gf-collide"}  # built-ins always load unless blocked
    assert only["gf-broken-import"]["error"] == "not named in GANFORGE_PLUGINS"

    typo = run_ganforge(site, "list", "loss", GANFORGE_BLOCK_PLUGINS="gf-goood")
    assert "GANFORGE_BLOCK_PLUGINS names 'gf-goood', which is no installed plugin; did you mean 'gf-good'?" in typo.stderr


def test_colliding_names_are_kept_listed_qualified_and_ambiguous_when_bare(site):
    result = run_ganforge(site, "list", "loss", "twin", "--json")
    rows = json.loads(result.stdout)
    assert [(r["qualified_name"], r["ambiguous"], r["version"]) for r in rows] == [
        ("gf-collide:twin", True, "2.0"),
        ("gf-collide-too:twin", True, "3.0"),
    ]
    table = run_ganforge(site, "list", "generator").stdout
    assert "ganforge:mlp" in table and "gf-collide:mlp" in table and "use the qualified name" in table
    # choosing between them: tests/test_registry.py (test_a_builtin_is_never_silently_shadowed and its neighbours)


def test_plugins_add_commands_that_report_errors_like_the_built_in_ones(site):
    greeted = run_ganforge(site, "greet", "--name", "ada")
    assert greeted.returncode == 0 and greeted.stdout == "hello ada from gf-good\n"
    failed = run_ganforge(site, "fail")
    assert failed.returncode == 2 and failed.stderr.strip().splitlines()[-1] == "error: gf-good's command failed on purpose"
    assert run_ganforge(site, "shout").stdout == "SHOUT\n"  # gf-bad-command's other command survives
    help_text = run_ganforge(site, "--help")
    assert "Commands from plugins" in help_text.stdout and "hijacked" not in run_ganforge(site, "run", "--help").stdout
    assert "adds a command 'run', a name already taken; it is skipped" in help_text.stderr

"""Plugins that misbehave beyond raising an Exception: they print to stdout, call sys.exit, raise KeyboardInterrupt,
or hang at import. Each is reported in one line naming it and skipped; no command's output is corrupted, and the
commands that need no plugins (``--version``, ``COMMAND --help``, ``plot``) never import any.

The hostile distributions are in tests/plugin_packages (``HOSTILE``); in-process cases use small PluginSources.
"""

from __future__ import annotations

import json
import signal
import time

import pytest

from ganforge import discovery, hookimpl, plugin_guard
from ganforge.discovery import PluginSource, Selection
from ganforge.errors import GanforgeError
from ganforge.registry import build_registry

from plugin_packages import install, run_ganforge


class Registers:
    @hookimpl
    def register_losses(self, register):
        register("fine", "somewhere:Fine", "a loss")


def source(name, load):
    return PluginSource(name, f"{name}.plugin", f"gf-{name}", "0.1", load)


def raising(exc):
    def load():
        raise exc

    return load


def exits_in_hook():
    class Plugin:
        @hookimpl
        def register_losses(self, register):
            raise SystemExit(7)

    return Plugin()


def build(*sources, strict=False):
    return build_registry([source("fine", Registers), *sources], Selection(), strict=strict)


def failures(registry):
    return {p.distribution: p.error for p in registry.plugins if p.status == "failed"}


@pytest.mark.parametrize(
    "load, reason",
    [
        (raising(SystemExit(7)), "called sys.exit(7) while loading"),
        (raising(SystemExit()), "called sys.exit(None) while loading"),
        (raising(KeyboardInterrupt()), "raised KeyboardInterrupt while loading, though no Ctrl-C was pressed"),
        (exits_in_hook, "called sys.exit(7) while loading"),
    ],
    ids=["exit-at-import", "bare-exit", "keyboard-interrupt", "exit-in-hook"],
)
def test_a_plugin_that_exits_or_interrupts_is_reported_and_skipped(load, reason, capsys):
    registry = build(source("bad", load))
    assert failures(registry) == {"gf-bad": reason}
    assert [c.name for c in registry.components("loss")] == ["fine"]  # the others still load
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("ganforge: warning: plugin gf-bad 0.1 (entry point 'bad' -> bad.plugin) failed and is ignored") and reason in line


def test_strict_mode_makes_an_exiting_plugin_a_one_line_error():
    with pytest.raises(GanforgeError, match=r"plugin gf-bad 0.1 .* failed: called sys.exit\(7\) while loading"):
        build(source("bad", raising(SystemExit(7))), strict=True)


def test_a_real_ctrl_c_while_loading_plugins_still_stops():
    def pressed():
        signal.raise_signal(signal.SIGINT)  # as the terminal delivers Ctrl-C
        time.sleep(5)

    with pytest.raises(KeyboardInterrupt):
        build(source("any", pressed))


def test_a_hanging_plugin_is_cut_off_and_named(monkeypatch, capsys):
    monkeypatch.setenv(plugin_guard.TIMEOUT_VARIABLE, "0.3")
    started = time.perf_counter()
    registry = build(source("stuck", lambda: time.sleep(60)))
    assert time.perf_counter() - started < 5
    assert failures(registry) == {"gf-stuck": "did not finish loading within 0.3 s (GANFORGE_PLUGIN_TIMEOUT=0.3)"}
    assert "plugin gf-stuck 0.1" in capsys.readouterr().err
    assert [c.name for c in registry.components("loss")] == ["fine"]


def test_a_slow_plugin_is_named_with_its_time(monkeypatch, capsys):
    monkeypatch.setattr(discovery, "SLOW_SECONDS", 0.1)
    registry = build(source("sluggish", lambda: time.sleep(0.2) or Registers()))
    assert not failures(registry)
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("ganforge: warning: plugin gf-sluggish 0.1 (entry point 'sluggish' -> sluggish.plugin) took 0.2 s to load;")
    assert "GANFORGE_BLOCK_PLUGINS=sluggish" in line


@pytest.mark.parametrize("timeout", ["soon", "-1", "nan", "0"])
def test_a_bad_timeout_setting_is_one_line(monkeypatch, timeout):
    monkeypatch.setenv(plugin_guard.TIMEOUT_VARIABLE, timeout)
    with pytest.raises(GanforgeError, match=f"GANFORGE_PLUGIN_TIMEOUT={timeout} is not a number of seconds above 0"):
        build()


def test_plugin_prints_go_to_stderr(capsys):
    def loud():
        print("hello from the plugin")
        return Registers()

    build(source("loud", loud))
    captured = capsys.readouterr()
    assert captured.out == "" and "hello from the plugin" in captured.err


# --- through the real command, with installed distributions --------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return install(tmp_path_factory.mktemp("site"), "gf-loud", "gf-exits", "gf-exits-in-hook", "gf-interrupts", "gf-slow")


def test_list_json_stays_json_beside_printing_and_exiting_plugins(site):
    result = run_ganforge(site, "list", "loss", "--json", GANFORGE_BLOCK_PLUGINS="gf-slow")
    assert result.returncode == 0, result.stderr
    assert "loud" in [row["name"] for row in json.loads(result.stdout)]  # stdout is nothing but the JSON
    assert "gf-loud imported" in result.stderr and "gf-loud wrote to fd 1" in result.stderr and "gf-loud registering" in result.stderr
    warned = [line for line in result.stderr.splitlines() if "failed and is ignored" in line]
    assert sorted(line.split(" ")[3] for line in warned) == ["gf-exits", "gf-exits-in-hook", "gf-interrupts"]


def test_commands_that_need_no_plugins_never_wait_for_a_hanging_one(site):
    """gf-slow sleeps "forever" at import: --version, COMMAND --help and plot must not import it at all."""
    script = """
import sys, time
from ganforge.cli import main
for args in (["--version"], ["run", "--help"], ["sample", "--help"], ["plot", "/nowhere"]):
    sys.argv = ["ganforge", *args]
    started = time.perf_counter()
    try:
        main()
    except SystemExit as exit:
        print("exit", args[0], exit.code, file=sys.stderr)
    assert time.perf_counter() - started < 10, args
    assert "gf_slow.plugin" not in sys.modules, args
"""
    started = time.perf_counter()
    result = run_ganforge(site, "-c", script, python_args=True)
    assert result.returncode == 0, result.stderr
    assert time.perf_counter() - started < 60
    exits = [line for line in result.stderr.splitlines() if line.startswith("exit ")]
    assert exits == ["exit --version 0", "exit run 0", "exit sample 0", "exit plot 2"], result.stderr
    assert "Traceback" not in result.stderr and "gf-slow" not in result.stderr


@pytest.mark.slow  # the mechanism is test_a_hanging_plugin_is_cut_off_and_named; this is the real command, 1 s at least
def test_a_hanging_plugin_delays_the_commands_that_load_plugins_only_as_long_as_the_timeout(site):
    started = time.perf_counter()
    result = run_ganforge(site, "list", "loss", "--json", GANFORGE_PLUGIN_TIMEOUT="1")
    assert time.perf_counter() - started < 20
    assert result.returncode == 0 and json.loads(result.stdout)
    assert any("gf-slow" in line and "did not finish loading within 1 s" in line for line in result.stderr.splitlines())

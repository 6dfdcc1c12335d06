"""Lifecycle hooks and plugin settings sections, through real training runs of the library API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from safetensors import safe_open

import ganforge
from ganforge import hookimpl, testing
from ganforge.config import RunConfig
from ganforge.errors import GanforgeError
from ganforge.trainer import RunResult
from ganforge.variant import Variant

from conftest import TINY

SETTINGS = {**TINY, "data.size": 192, "train.epochs": 2, "train.log_every": 4, "train.keep_checkpoints": 1}  # 6 steps an epoch


@dataclass
class RecorderSettings:
    """Settings of the ``recorder`` section."""

    label: str = "plain"  # copied into every call's record


class Recorder:
    """A plugin that writes down every lifecycle call and what it received."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []

    @hookimpl
    def config_sections(self):
        return {"recorder": RecorderSettings}

    @hookimpl
    def on_run_start(self, run_dir, config, variant):
        assert (run_dir / "config.json").exists() and isinstance(config, RunConfig) and isinstance(variant, Variant)
        self.calls.append(("on_run_start", {"run_dir": run_dir, "label": config.recorder.label}))

    @hookimpl
    def on_log(self, record, step, epoch):
        self.calls.append(("on_log", {"record": record, "step": step, "epoch": epoch}))

    @hookimpl
    def on_checkpoint_save(self, path, step, epoch):
        self.calls.append(("on_checkpoint_save", {"exists": path.exists(), "name": path.name, "step": step, "epoch": epoch}))

    @hookimpl
    def on_epoch_end(self, epoch, step, sample_path, checkpoint_path, variant):
        self.calls.append(("on_epoch_end", {"epoch": epoch, "step": step, "sample": sample_path.exists(), "checkpoint": checkpoint_path.name}))

    @hookimpl
    def on_run_end(self, result, error):
        self.calls.append(("on_run_end", {"result": result, "error": error}))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def test_hooks_are_called_in_order_with_what_they_need(tmp_path):
    recorder = Recorder()
    registry = testing.registry_with(recorder, builtins=True)
    settings = {**SETTINGS, "recorder.label": "mine"}
    result = ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path / "run", registry=registry)

    epoch = ["on_log", "on_log", "on_checkpoint_save", "on_epoch_end"]  # every 4 steps and at each epoch's end
    assert recorder.names() == ["on_run_start", *epoch, *epoch, "on_run_end"]
    start = recorder.calls[0][1]
    assert start == {"run_dir": tmp_path / "run", "label": "mine"}
    logs = [args for name, args in recorder.calls if name == "on_log"]
    assert [(a["step"], a["epoch"]) for a in logs] == [(4, 1), (6, 1), (8, 2), (12, 2)]
    assert {"step", "epoch", "loss_d", "loss_g", "d_real", "d_fake", "images_per_s"} <= logs[0]["record"].keys()
    saves = [args for name, args in recorder.calls if name == "on_checkpoint_save"]
    assert saves == [
        {"exists": True, "name": "step_00000006.safetensors", "step": 6, "epoch": 1},
        {"exists": True, "name": "step_00000012.safetensors", "step": 12, "epoch": 2},
    ]
    ends = [args for name, args in recorder.calls if name == "on_epoch_end"]
    assert ends[1] == {"epoch": 2, "step": 12, "sample": True, "checkpoint": "step_00000012.safetensors"}
    final = recorder.calls[-1][1]
    assert final["result"] is result and isinstance(result, RunResult) and final["error"] is None


def test_on_run_end_sees_the_error_that_stopped_the_run(tmp_path):
    class StopsAtFirstLog(Recorder):
        @hookimpl
        def on_log(self, record, step, epoch):
            raise GanforgeError(f"stopping at step {step}")

    recorder = StopsAtFirstLog()
    registry = testing.registry_with(recorder, builtins=True)
    with pytest.raises(GanforgeError, match="stopping at step 4"):
        ganforge.train("vanilla", "ring8", settings=SETTINGS, out=tmp_path, registry=registry)
    name, args = recorder.calls[-1]
    assert name == "on_run_end" and args["result"] is None and "stopping at step 4" in str(args["error"])


class Buggy:
    @hookimpl
    def on_log(self, record):
        raise KeyError("oops")


def test_a_buggy_hook_is_reported_once_and_the_run_and_other_plugins_go_on(tmp_path, capsys):
    recorder = Recorder()
    registry = testing.registry_with(Buggy(), recorder, builtins=True)
    registry.strict = False  # as without GANFORGE_STRICT_PLUGINS; registry_with is strict for tests' sake
    result = ganforge.train("vanilla", "ring8", settings=SETTINGS, out=tmp_path, registry=registry)
    assert result.steps == 12 and recorder.names().count("on_log") == 4
    warnings = [line for line in capsys.readouterr().err.splitlines() if "on_log raised" in line]
    assert len(warnings) == 1 and "KeyError: 'oops'" in warnings[0] and "skipped for the rest of this run" in warnings[0]


def test_strict_mode_stops_the_run_at_a_buggy_hook(tmp_path):
    registry = testing.registry_with(Buggy(), builtins=True)  # strict, as with GANFORGE_STRICT_PLUGINS=1
    with pytest.raises(GanforgeError, match=r"on_log raised KeyError: 'oops' \(GANFORGE_STRICT_PLUGINS is set"):
        ganforge.train("vanilla", "ring8", settings=SETTINGS, out=tmp_path, registry=registry)


def test_plugin_settings_are_typed_recorded_and_not_needed_to_sample(tmp_path):
    registry = testing.registry_with(Recorder(), builtins=True)
    with pytest.raises(GanforgeError, match="unknown config key 'recorder.colour'.*accepted keys: recorder.label"):
        ganforge.configure("vanilla", "ring8", {"recorder.colour": "red"}, registry=registry)
    result = ganforge.train("vanilla", "ring8", settings={**SETTINGS, "train.epochs": 1}, out=tmp_path, registry=registry)
    saved = json.loads(result.run_dir.config_path.read_text())
    assert saved["recorder"] == {"label": "plain"}
    assert saved["plugin_sections"]["recorder"].startswith("test_lifecycle ")
    with safe_open(str(result.checkpoint), "pt") as handle:
        assert json.loads(handle.metadata()["config"]) == saved

    without = testing.registry_with(builtins=True)  # the plugin that added 'recorder' is gone
    assert ganforge.sample(tmp_path, count=3, device="cpu", registry=without).values.shape == (3, 2)


def test_a_settings_dataclass_can_reject_values():
    @dataclass
    class Picky:
        rate: float = 0.5

        def __post_init__(self):
            if not 0 < self.rate < 1:
                raise ValueError("rate must lie in (0, 1)")

    class Plugin:
        @hookimpl
        def config_sections(self):
            return {"picky": Picky}

    registry = testing.registry_with(Plugin(), builtins=True)
    with pytest.raises(GanforgeError, match=r"config section 'picky' \(plugin .*\) rejected \{'rate': 2.0\}: rate must lie in \(0, 1\)"):
        ganforge.configure("vanilla", "ring8", {"picky.rate": "2"}, registry=registry)


def test_run_dir_is_a_path_under_out(tmp_path):
    seen: list[Path] = []

    class Plugin:
        @hookimpl
        def on_run_start(self, run_dir):
            seen.append(run_dir)

    registry = testing.registry_with(Plugin(), builtins=True)
    ganforge.train("vanilla", "ring8", settings={**SETTINGS, "train.max_steps": 1}, out=tmp_path / "x", registry=registry)
    assert seen == [tmp_path / "x"]

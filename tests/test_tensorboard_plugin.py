"""The TensorBoard logger: a plugin built only on the lifecycle hooks, with tensorboard an optional extra."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

import ganforge
from ganforge.errors import GanforgeError
from ganforge.registry import get_registry

from conftest import TINY

SETTINGS = {**TINY, "data.size": 128, "train.epochs": 2, "train.log_every": 2}  # 4 steps an epoch


def test_it_is_an_ordinary_plugin_of_hooks_only():
    (plugin,) = [p for p in get_registry().plugins if p.name == "tensorboard"]
    assert plugin.distribution == "ganforge" and plugin.status == "loaded"
    assert plugin.hooks == ["config_sections", "on_epoch_end", "on_log", "on_run_end", "on_run_start"]


def test_off_by_default_and_then_writes_nothing(tmp_path):
    result = ganforge.train("vanilla", "ring8", settings={**SETTINGS, "train.epochs": 1}, out=tmp_path)
    assert not (tmp_path / "tensorboard").exists()
    assert '"tensorboard": {\n    "enabled": false' in result.run_dir.config_path.read_text()


def test_a_missing_tensorboard_is_one_clear_error_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if it were not installed
    with pytest.raises(GanforgeError) as caught:
        ganforge.train("vanilla", "ring8", settings={**SETTINGS, "tensorboard.enabled": True}, out=tmp_path / "run")
    assert str(caught.value) == (
        "tensorboard.enabled=true needs the tensorboard package, which is not installed: pip install 'ganforge[tensorboard]'"
    )
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="tensorboard is not installed")
def test_writes_scalars_config_and_samples_per_epoch(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    settings = {**SETTINGS, "tensorboard.enabled": "true"}
    ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path)
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    assert {"loss/D", "loss/G", "D/D(x)", "D/D(G(z))", "speed/images_per_s", "progress/epoch"} <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("loss/D")] == [2, 4, 6, 8]
    metrics = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [round(e.value, 5) for e in events.Scalars("D/D(x)")] == [round(record["d_real"], 5) for record in metrics]
    assert [(e.step, e.width, e.height) for e in events.Images("samples")] == [(4, 512, 512), (8, 512, 512)]
    assert "config/text_summary" in tags["tensors"]


def test_the_plugin_module_imports_nothing_heavy():
    code = (
        "import sys, ganforge.plugin; import ganforge_tensorboard.plugin; "
        "heavy = [m for m in ('torch', 'tensorboard', 'numpy') if m in sys.modules]; assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})

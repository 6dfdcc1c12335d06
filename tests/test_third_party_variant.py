"""A third party's variant with two generators gets the core's services with no edit to the core.

gf-twin (tests/plugin_packages/gf_twin, written from docs/plugins.md alone) is installed as a real distribution
and driven through the real ``ganforge`` command, as its user would: train with EMA and periodic evaluation,
evaluate, extend the run, sample.
"""

from __future__ import annotations

import json

from conftest import TINY
from PIL import Image

from ganforge.checkpoint import read_checkpoint
from plugin_packages import install, run_ganforge

SETTINGS = {**TINY, "data.size": 256, "ema.decay": 0.9, "eval.samples": 200}


def keys_under(checkpoint, prefix: str) -> set[str]:
    return {key for key in read_checkpoint(checkpoint).tensors if key.startswith(prefix)}


def test_a_two_generator_plugin_variant_trains_evaluates_resumes_and_samples(tmp_path):
    site = install(tmp_path / "site", "gf-twin")
    out = tmp_path / "run"
    assignments = [arg for key, value in SETTINGS.items() for arg in ("--set", f"{key}={value}")]

    trained = run_ganforge(
        site, "run", "twin", "--data", "ring8", "--max-steps", "8", "--eval-every", "4", "--device", "cpu", "--out", str(out), *assignments
    )
    assert trained.returncode == 0, trained.stderr
    assert "twin on ring8" in trained.stdout and "Trained 8 generator steps" in trained.stdout
    config = json.loads((out / "config.json").read_text())
    assert config["plugins"]["variant"] == "gf-twin 0.1"
    checkpoint = out / "checkpoints" / "step_00000008.safetensors"
    # EMA averages every network behind the outputs, both generators, and nothing else
    assert keys_under(checkpoint, "ema.generator_1.") and keys_under(checkpoint, "ema.generator_2.")
    assert {key.split(".")[1] for key in keys_under(checkpoint, "ema.")} == {"generator_1", "generator_2"}
    assert (out / "checkpoints" / "best.safetensors").is_file()
    evaluated_at = [r["step"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if r.get("eval")]
    assert evaluated_at == [4, 8]

    scored = run_ganforge(site, "eval", str(out), "-n", "301", "--json", "--device", "cpu")
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["samples"] == 301  # exactly the count asked for, odd as it is

    resumed = run_ganforge(site, "resume", str(out), "--max-steps", "12", "--device", "cpu")
    assert resumed.returncode == 0, resumed.stderr
    assert "The run is now at generator step 12" in resumed.stdout
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    # log_every 5 and each epoch's end: a resume from step 8 logs 10 and 12; a restart from 0 would log 5 again
    assert [r["step"] for r in records if not r.get("eval")] == [5, 8, 10, 12]
    assert [r["step"] for r in records if r.get("eval")] == [4, 8, 12]
    extended = out / "checkpoints" / "step_00000012.safetensors"
    assert keys_under(extended, "ema.generator_1.") and keys_under(extended, "ema.generator_2.")

    picture = tmp_path / "samples.png"
    sampled = run_ganforge(site, "sample", str(out), "-n", "9", "--out", str(picture), "--device", "cpu")
    assert sampled.returncode == 0, sampled.stderr
    assert "Wrote 9 samples" in sampled.stdout
    assert Image.open(picture).size == (512, 512)  # 2-D points: a scatter plot

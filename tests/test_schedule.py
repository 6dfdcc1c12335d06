"""The one schedule language (``schedule.*``) and the run's clock: rates and stages over a run, and over a run
extended with a larger ``--epochs`` (docs/reliability.md, "Extending a finished run")."""

from __future__ import annotations

import json

import pytest

import ganforge
from ganforge.checkpoint import read_checkpoint
from ganforge.config import ScheduleConfig
from ganforge.errors import GanforgeError
from ganforge.schedule import Clock, multiplier

from conftest import TINY
from variant_helpers import CYCLEGAN_TINY, STACKGAN_TINY, labelled_folder, unpaired_folder


def test_rates_hold_then_fall_linearly_to_their_final_fractions():
    config = ScheduleConfig(hold=0.5, final=0.0, d_final=0.3)
    assert [multiplier(config, u) for u in (0.0, 0.5, 0.75, 1.0)] == pytest.approx([1.0, 1.0, 0.5, 0.0])
    assert [multiplier(config, u, discriminator=True) for u in (0.0, 0.5, 0.75, 1.0)] == pytest.approx([1.0, 1.0, 0.65, 0.3])
    assert multiplier(ScheduleConfig(), 0.99) == 1.0  # the default holds the rates for the whole run
    assert multiplier(ScheduleConfig(hold=0.0, final=0.5), 0.5) == pytest.approx(0.75)


def test_a_clock_extended_goes_on_from_the_last_step_and_reaches_the_end_at_the_new_length():
    clock = Clock(8)
    assert [clock.position(step) for step in (0, 4, 7, 8)] == [0.0, 0.5, 0.875, 1.0]
    longer = clock.resized(8, 16)
    positions = [longer.position(step) for step in range(7, 17)]
    assert positions[0] == 0.875 and positions[-1] == 1.0
    assert all(a < b for a, b in zip(positions, positions[1:]))  # never backwards
    assert clock.resized(5, 8) is clock  # a resume that keeps the length changes nothing
    assert Clock.from_meta(json.loads(json.dumps(longer.to_meta()))) == longer


def test_a_schedule_key_out_of_range_names_the_key():
    with pytest.raises(GanforgeError, match="schedule.hold.*at most 1"):
        ganforge.configure("vanilla", "ring8", {"schedule.hold": 1.5})


def checkpoint_rates(run, optimizer: str) -> list[float]:
    """The rate each epoch's last step used, from the run's epoch-end checkpoints, oldest first."""
    paths = sorted((run / "checkpoints").glob("step_*.safetensors"))
    assert paths, f"no checkpoints in {run}"
    return [read_checkpoint(path).meta["optimizers"][optimizer]["param_groups"][0]["lr"] for path in paths]


def test_cyclegan_extended_from_4_to_8_epochs_decays_on_from_its_rate_never_negative(tmp_path):
    """Issue 14, finding 1: the extension restored the 4-epoch decay span and drove the rates negative."""
    root = unpaired_folder(tmp_path / "data", count=4, size=16)
    settings = {
        **CYCLEGAN_TINY, "data.root": str(root), "data.size": 16, "data.channels": "grey", "train.batch_size": 2,
        "train.epochs": 4, "train.sample_count": 2, "train.keep_checkpoints": 20, "train.device": "cpu",
    }  # fmt: skip
    ganforge.train("cyclegan", "unpaired-folders", settings=settings, out=tmp_path / "run")
    first = checkpoint_rates(tmp_path / "run", "generators")
    # 8 steps, the rates held for the first half: each epoch's last step at positions 1/8, 3/8, 5/8, 7/8
    assert first == pytest.approx([2e-4, 2e-4, 1.5e-4, 0.5e-4])
    ganforge.resume(tmp_path / "run", settings={"train.epochs": 8})
    rates = checkpoint_rates(tmp_path / "run", "generators")
    assert len(rates) == 8 and rates[:4] == pytest.approx(first)
    assert all(0 < later < earlier for earlier, later in zip(rates[3:], rates[4:])), rates  # on down, never up or below 0
    # laid over steps 8-15 from step 7's position 7/8 to 1 at step 16: epoch ends at steps 9, 11, 13, 15
    expected = [2e-4 * (1 - (0.875 + 0.125 * (step - 7) / 9 - 0.5) / 0.5) for step in (9, 11, 13, 15)]
    assert rates[4:] == pytest.approx(expected)


def test_stackgan_extended_never_goes_back_to_stage_one(tmp_path):
    """Issue 14, finding 2: stage I's length was recomputed from the new train.epochs (stages 1, 2, 1, 2, 2, 2)."""
    root = labelled_folder(tmp_path / "data", classes=2, per_class=4, size=16)
    settings = {
        **STACKGAN_TINY, "data.root": str(root), "train.batch_size": 4, "train.epochs": 4, "train.log_every": 1,
        "train.sample_count": 2, "train.device": "cpu",
    }  # fmt: skip
    ganforge.train("stackgan", "image-folder", settings=settings, out=tmp_path / "run")
    ganforge.resume(tmp_path / "run", settings={"train.epochs": 12})
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    stages = [int(record["stage"]) for record in records if "stage" in record]
    assert len(stages) == 24, stages  # 2 steps an epoch, 12 epochs, each logged
    assert stages == sorted(stages) and stages[:4] == [1] * 4 and stages[-1] == 2, stages


def test_pacgan_extended_keeps_its_rates_falling(tmp_path):
    """Issue 14, finding 2: pacgan's schedule was rebuilt from the new epoch count, so its rate jumped back up."""
    settings = {**TINY, "data.size": 64, "train.epochs": 2, "train.keep_checkpoints": 20, "train.device": "cpu"}
    ganforge.train("pacgan", "ring8", settings=settings, out=tmp_path / "run")
    ganforge.resume(tmp_path / "run", settings={"train.epochs": 4})
    for optimizer, final in (("generator", 0.0), ("discriminator", 0.3)):
        rates = checkpoint_rates(tmp_path / "run", optimizer)
        assert len(rates) == 4 and all(later < earlier for earlier, later in zip(rates[1:], rates[2:])), (optimizer, rates)
        initial = 7e-4 if optimizer == "generator" else 1.5e-3
        assert rates[-1] >= final * initial


def test_max_steps_stops_early_without_shortening_the_schedule(tmp_path):
    settings = {**TINY, "data.size": 64, "train.epochs": 4, "schedule.hold": 0.0, "train.device": "cpu"}
    cut = ganforge.train("vanilla", "ring8", settings={**settings, "train.max_steps": 4}, out=tmp_path / "cut")
    rates = [json.loads(line)["lr"]["generator"] for line in cut.run_dir.metrics_path.read_text().splitlines()]
    # 2 steps an epoch, 8 in the schedule: step 4 (3 done) runs at 1 - 3/8 of the rate, not at the end of a 4-step decay
    assert rates[-1] == pytest.approx(2e-4 * (1 - 3 / 8))


def rewrite_as_before_the_schedule(run, renames: dict[str, tuple[str, object]]) -> None:
    """Rewrite the run's newest checkpoint as ganforge wrote it before the schedule section: the old keys in the
    variant's own sections (``{"schedule.hold": ("optim.decay_start", 0.5)}``), no clock, no schedule section."""
    from ganforge.checkpoint import write_checkpoint

    path = sorted((run / "checkpoints").glob("step_*.safetensors"))[-1]
    checkpoint = read_checkpoint(path)
    meta = json.loads(json.dumps(checkpoint.meta))
    config = meta["config"]
    for new, (old, value) in renames.items():
        section, key = new.split(".")
        config[section].pop(key)
        section, key = old.split(".")
        config.setdefault(section, {})[key] = value
    del config["schedule"]
    meta["progress"].pop("clock")
    write_checkpoint(path, checkpoint.tensors, meta)


def test_runs_saved_with_the_variants_own_decay_keys_are_sampled_and_resumed(tmp_path):
    settings = {**TINY, "data.size": 64, "train.epochs": 2, "train.device": "cpu", "train.keep_checkpoints": 20}
    ganforge.train("pacgan", "ring8", settings=settings, out=tmp_path / "run")
    rewrite_as_before_the_schedule(
        tmp_path / "run",
        {"schedule.hold": ("optim.decay_start", 0.5), "schedule.final": ("optim.final_lr", 0.0), "schedule.d_final": ("optim.d_final_lr", 0.3)},
    )
    assert ganforge.sample(tmp_path / "run", count=3, device="cpu").values.shape == (3, 2)
    resumed = ganforge.resume(tmp_path / "run", settings={"train.epochs": 3})
    config = read_checkpoint(resumed.checkpoint).meta["config"]
    assert config["schedule"] == {"hold": 0.5, "final": 0.0, "d_final": 0.3, "shape": "linear"} and "decay_start" not in config["optim"]


def test_a_stackgan_saved_with_stage1_epochs_keeps_its_stage_one_length(tmp_path):
    root = labelled_folder(tmp_path / "data", classes=2, per_class=4, size=16)
    settings = {**STACKGAN_TINY, "data.root": str(root), "train.batch_size": 4, "train.epochs": 4, "train.sample_count": 2, "train.device": "cpu"}
    ganforge.train("stackgan", "image-folder", settings=settings, out=tmp_path / "run")
    rewrite_as_before_the_schedule(tmp_path / "run", {"stages.stage1": ("stages.stage1_epochs", 1)})
    variant = ganforge.load(tmp_path / "run", device="cpu")
    assert variant.config.stages.stage1 == pytest.approx(0.25)  # 1 of the run's 4 epochs

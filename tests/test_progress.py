"""What `ganforge run` shows while it trains: on a terminal at 80 columns, in a log file, and when it ends."""

from __future__ import annotations

import io
import re

from rich.console import Console
from typer.testing import CliRunner

from ganforge import cli
from ganforge.console import ProgressReporter

from conftest import TINY

RECORD = {"step": 50, "epoch": 1, "loss_d": 1.234, "loss_g": 0.567, "d_real": 0.61, "d_fake": 0.39, "images_per_s": 100.0}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def terminal(width: int = 80) -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=width, color_system=None, legacy_windows=False)


def log_file() -> Console:
    return Console(file=io.StringIO(), force_terminal=False, width=80)


def test_the_bar_at_80_columns_keeps_steps_elapsed_and_the_runs_eta():
    console = terminal(80)
    reporter = ProgressReporter(console)
    reporter.run_started(0, 1000)  # 5 epochs of 200 steps
    reporter.epoch_started(1, 5, 200)
    for _ in range(50):
        reporter.stepped()
    reporter.logged(RECORD)
    console.print(reporter.progress.get_renderable())
    lines = console.file.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines)
    first = lines[0]
    assert "epoch 1/5" in first and "50/1000" in first, first  # steps of the whole run, not of the epoch
    assert re.search(r"\d+:\d\d:\d\d", first) and "ETA" in first, first
    assert "loss_d 1.234" in console.file.getvalue() and "D(G(z)) 0.390" in console.file.getvalue()


def test_a_resumed_run_counts_from_where_it_was():
    console = terminal(80)
    reporter = ProgressReporter(console)
    reporter.run_started(600, 1000)
    reporter.epoch_started(4, 5, 200)
    console.print(reporter.progress.get_renderable())
    assert "600/1000" in console.file.getvalue()


def test_images_per_second_is_the_epochs_average_and_says_so():
    console = terminal(120)
    reporter = ProgressReporter(console)
    reporter.run_started(0, 400)
    reporter.epoch_started(1, 2, 200)
    reporter.logged({**RECORD, "step": 50, "images_per_s": 100.0})
    reporter.logged({**RECORD, "step": 100, "images_per_s": 300.0})  # as many images at 3x the speed: 150/s on average
    console.print(reporter.progress.get_renderable())
    assert "150 img/s (epoch avg)" in console.file.getvalue()
    reporter.epoch_started(2, 2, 200)  # a new epoch starts its own average
    reporter.logged({**RECORD, "step": 250, "images_per_s": 400.0})
    console.print(reporter.progress.get_renderable())
    assert "400 img/s (epoch avg)" in console.file.getvalue()


def test_in_a_log_file_a_line_comes_every_interval_not_only_per_epoch():
    console, clock = log_file(), Clock()
    with ProgressReporter(console, interval=30, clock=clock) as reporter:
        reporter.run_started(0, 1000)
        reporter.epoch_started(1, 1, 1000)
        for step in range(1, 101):  # 100 steps, one a second
            clock.now += 1
            reporter.stepped()
            if step == 40:
                reporter.logged({**RECORD, "step": 40})
    lines = [line for line in console.file.getvalue().splitlines() if line.strip()]
    assert len(lines) == 3, lines  # at 30 s, 60 s and 90 s
    assert lines[0].startswith("step 30/1000 (3%)") and "epoch 1/1" in lines[0] and "ETA 0:16:10" in lines[0], lines[0]
    assert "loss_d 1.234" in lines[1]
    assert "\x1b[" not in console.file.getvalue()  # no terminal control codes in a log


def test_in_a_log_file_each_epoch_end_is_a_line_too():
    console, clock = log_file(), Clock()
    with ProgressReporter(console, interval=30, clock=clock) as reporter:
        reporter.run_started(0, 20)
        for epoch in (1, 2):
            reporter.epoch_started(epoch, 2, 10)
            for _ in range(10):
                clock.now += 0.1
                reporter.stepped()
            reporter.epoch_ended(epoch, None, None)
    lines = console.file.getvalue().splitlines()
    assert [line.split(" · ")[0] for line in lines] == ["step 10/20 (50%)", "step 20/20 (100%)"]


def test_the_closing_summary_keeps_paths_whole(tmp_path, monkeypatch):
    narrow = Console(width=40, color_system=None)
    monkeypatch.setattr(cli, "console", narrow)
    out = tmp_path / "a-rather-long-run-directory-name-for-a-narrow-terminal"
    flags = [f"--set={key}={value}" for key, value in TINY.items()]
    result = CliRunner().invoke(cli.app, ["run", "vanilla", "--data", "ring8", "--max-steps", "2", "--set=data.size=256", "--out", str(out), *flags])
    assert result.exit_code == 0, result.output
    assert str(out / "checkpoints" / "step_00000002.safetensors") in result.stdout
    assert str(out / "metrics.jsonl") in result.stdout

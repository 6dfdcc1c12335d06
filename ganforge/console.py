"""What the CLI shows while training: a progress bar for the whole run on a terminal, a line every 30 s in a log.

On a terminal (or in Jupyter) the bar counts the run's generator steps, with the epoch, the time elapsed and the
ETA of the whole run on its first line and the latest metrics on a line of their own, so that 80 columns keep
all of it. Piped to a file, where a bar is unreadable, it writes one plain line every ``interval`` seconds
(``$GANFORGE_PROGRESS_SECONDS``, default 30) and one at the end of every epoch.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

# metric key -> how the progress bar labels it; D(x) and D(G(z)) both head for 0.5 at equilibrium
LABELS = {"loss_d": "loss_d", "loss_g": "loss_g", "d_real": "D(x)", "d_fake": "D(G(z))"}
DEFAULT_INTERVAL = 30.0  # seconds between progress lines in a log file


def format_metrics(record: dict[str, Any], images_per_s: float | None = None) -> str:
    """The record's metrics, labelled; ``images_per_s`` is the epoch's average speed, shown as such."""
    shown = [f"{label} {record[key]:.3f}" for key, label in LABELS.items() if key in record]
    shown += [f"{key} {value:.3f}" for key, value in record.items() if key not in LABELS and key not in ("step", "epoch", "images_per_s")]
    if images_per_s is not None:
        shown.append(f"{images_per_s:,.0f} img/s (epoch avg)")
    return "  ".join(shown)


def clock_time(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


class EpochSpeed:
    """The epoch's average images/s from the per-interval speeds of its log lines: images over time, so each
    interval counts by its length (intervals of equal steps move equal images)."""

    def __init__(self, first_step: int = 0) -> None:
        self.steps = 0.0
        self.seconds_per_image = 0.0  # sum over intervals of steps / speed, proportional to their time
        self.last_step = first_step  # where the epoch's first interval began

    def add(self, record: dict[str, Any]) -> float | None:
        speed, step = record.get("images_per_s"), record.get("step")
        if not speed or step is None:
            return self.average
        steps, self.last_step = step - self.last_step, step
        if steps > 0:
            self.steps += steps
            self.seconds_per_image += steps / speed
        return self.average

    @property
    def average(self) -> float | None:
        return self.steps / self.seconds_per_image if self.seconds_per_image else None


class _BarWithStats(Progress):
    """rich's Progress with the metrics on a line below the bar, where their length cannot squeeze the bar."""

    stats: str = ""

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        if self.stats:
            yield Text(self.stats)


class ProgressReporter:
    """Shows a training run's progress (see the module docstring); a :class:`ganforge.trainer.Reporter`."""

    def __init__(self, console: Console | None = None, interval: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.console = console or Console()
        self.interval = interval if interval is not None else float(os.environ.get("GANFORGE_PROGRESS_SECONDS", DEFAULT_INTERVAL))
        self.clock = clock
        self.live = self.console.is_terminal or self.console.is_jupyter
        self.progress = _BarWithStats(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.task = None
        self.step = self.first_step = self.total = 0
        self.epoch_text = ""
        self.stats = ""
        self.speed = EpochSpeed()
        self.started = self.last_line = clock()

    def __enter__(self) -> "ProgressReporter":
        if self.live:
            self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.live:
            self.progress.stop()

    def length_fixed(self, line: str) -> None:
        self.console.print(line, highlight=False, markup=False, soft_wrap=True)

    def run_started(self, step: int, total_steps: int) -> None:
        self.step = self.first_step = step
        self.total = total_steps
        self.started = self.last_line = self.clock()
        self.task = self.progress.add_task("", total=total_steps, completed=step)

    def epoch_started(self, epoch: int, epochs: int, steps: int) -> None:
        if self.task is None:  # a trainer that does not announce the run: count this epoch alone
            self.run_started(0, steps)
        self.epoch_text = f"epoch {epoch}/{epochs}"
        self.speed = EpochSpeed(self.step)
        self.progress.update(self.task, description=self.epoch_text)

    def stepped(self) -> None:
        self.step += 1
        self.progress.advance(self.task)
        if not self.live and self.clock() - self.last_line >= self.interval:
            self.write_line()

    def logged(self, record: dict[str, Any]) -> None:
        self.stats = format_metrics(record, self.speed.add(record))
        self.progress.stats = self.stats

    def epoch_ended(self, epoch: int, sample_path: Path | None, checkpoint_path: Path | None) -> None:
        if not self.live:
            self.write_line()

    def write_line(self) -> None:
        """One plain line for a log: the run's step, epoch, time elapsed and left, and the latest metrics."""
        now = self.clock()
        self.last_line = now
        elapsed, done = now - self.started, self.step - self.first_step
        eta = clock_time((self.total - self.step) * elapsed / done) if done else "?"
        percent = 100 * self.step // max(self.total, 1)
        parts = [f"step {self.step}/{self.total} ({percent}%)", self.epoch_text, f"{clock_time(elapsed)} elapsed", f"ETA {eta}"]
        self.console.print(" · ".join(part for part in parts + [self.stats] if part), soft_wrap=True, highlight=False, markup=False)


class StepProgress:
    """Progress of a long job counted in steps, as ``progress(done, total)`` calls: a transient bar on a terminal,
    a plain line every ``interval`` seconds and at the end elsewhere (first-use training of the evaluator)."""

    def __init__(self, console: Console, description: str, interval: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.console = console
        self.description = description
        self.interval = interval if interval is not None else float(os.environ.get("GANFORGE_PROGRESS_SECONDS", DEFAULT_INTERVAL))
        self.clock = clock
        self.live = console.is_terminal or console.is_jupyter
        self.bar = Progress(
            TextColumn(description), BarColumn(bar_width=20), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), console=console, transient=True,
        )  # fmt: skip
        self.task = None
        self.started = self.last_line = clock()

    def __enter__(self) -> "StepProgress":
        if self.live:
            self.bar.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.live:
            self.bar.stop()

    def __call__(self, done: int, total: int) -> None:
        if self.live:
            if self.task is None:
                self.task = self.bar.add_task(self.description, total=total)
            self.bar.update(self.task, completed=done)
            return
        now = self.clock()
        if now - self.last_line >= self.interval or (done == total and now != self.last_line):
            self.last_line = now
            elapsed = now - self.started
            eta = clock_time((total - done) * elapsed / done) if done else "?"
            line = f"{self.description}: step {done}/{total} ({100 * done // total}%) · {clock_time(elapsed)} elapsed · ETA {eta}"
            self.console.print(line, soft_wrap=True, highlight=False, markup=False)

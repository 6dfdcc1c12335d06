"""What the CLI shows while training: one rich progress bar per epoch, and a summary at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

# metric key -> how the progress bar labels it; D(x) and D(G(z)) both head for 0.5 at equilibrium
LABELS = {"loss_d": "loss_d", "loss_g": "loss_g", "d_real": "D(x)", "d_fake": "D(G(z))"}


def format_metrics(record: dict[str, Any]) -> str:
    shown = [f"{label} {record[key]:.3f}" for key, label in LABELS.items() if key in record]
    shown += [f"{key} {value:.3f}" for key, value in record.items() if key not in LABELS and key not in ("step", "epoch", "images_per_s")]
    if "images_per_s" in record:
        shown.append(f"{record['images_per_s']:,.0f} img/s")
    return "  ".join(shown)


class ProgressReporter:
    """A progress bar per epoch with the latest loss_d, loss_g, D(x), D(G(z)) and images/s."""

    def __init__(self, console: Console | None = None):
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[stats]}"),
            console=console or Console(),
        )
        self.task = None

    def __enter__(self) -> "ProgressReporter":
        self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()

    def epoch_started(self, epoch: int, epochs: int, steps: int) -> None:
        self.task = self.progress.add_task(f"epoch {epoch}/{epochs}", total=steps, stats="")

    def stepped(self) -> None:
        self.progress.advance(self.task)

    def logged(self, record: dict[str, Any]) -> None:
        self.progress.update(self.task, stats=format_metrics(record))

    def epoch_ended(self, epoch: int, sample_path: Path, checkpoint_path: Path) -> None:
        pass

"""The ``tensorboard`` config section. Imports nothing heavy: every ganforge command reads it."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from ganforge.errors import GanforgeError

INSTALL_HINT = "pip install 'ganforge[tensorboard]'"


@dataclass
class TensorBoardSettings:
    """Settings of the ``tensorboard`` section, added to every run by the TensorBoard plugin."""

    enabled: bool = False  # write TensorBoard event files to <run>/tensorboard/ (view: tensorboard --logdir runs)
    images: bool = True  # add each epoch's sample picture, so progress shows epoch by epoch
    flush_secs: int = 30  # seconds between writes of buffered events to disk

    def __post_init__(self) -> None:
        if self.enabled and importlib.util.find_spec("tensorboard") is None:
            raise GanforgeError(f"tensorboard.enabled=true needs the tensorboard package, which is not installed: {INSTALL_HINT}")
        if self.flush_secs < 1:
            raise GanforgeError(f"tensorboard.flush_secs must be at least 1, got {self.flush_secs}")

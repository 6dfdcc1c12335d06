"""Writes one run's TensorBoard event files through ``torch.utils.tensorboard``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ganforge.errors import GanforgeError
from ganforge_tensorboard.settings import INSTALL_HINT, TensorBoardSettings

# metric key -> TensorBoard tag; D(x) and D(G(z)) share a section since both head for 0.5 at equilibrium
TAGS = {"loss_d": "loss/D", "loss_g": "loss/G", "d_real": "D/D(x)", "d_fake": "D/D(G(z))", "images_per_s": "speed/images_per_s"}


class TensorBoardWriter:
    """Scalars per metrics line, the config as text, and sample pictures per epoch."""

    def __init__(self, log_dir: Path, settings: TensorBoardSettings, config_json: str):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise GanforgeError(f"TensorBoard logging could not start ({exc}): {INSTALL_HINT}") from None
        self.settings = settings
        self.writer = SummaryWriter(log_dir=str(log_dir), flush_secs=settings.flush_secs)
        # indented four spaces, TensorBoard's markdown shows the JSON as a code block
        self.writer.add_text("config", "\n".join("    " + line for line in config_json.splitlines()))

    def scalars(self, record: dict[str, Any], step: int) -> None:
        for key, value in record.items():
            if key not in ("step", "epoch"):
                self.writer.add_scalar(TAGS.get(key, f"metrics/{key}"), value, step)

    def epoch(self, epoch: int, step: int, sample_path: Path) -> None:
        self.writer.add_scalar("progress/epoch", epoch, step)
        if self.settings.images:
            with Image.open(sample_path) as picture:
                pixels = np.asarray(picture.convert("RGB"))
            self.writer.add_image("samples", pixels, step, dataformats="HWC")

    def close(self) -> None:
        self.writer.close()

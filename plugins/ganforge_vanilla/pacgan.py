"""PacGAN (Lin, Khetan, Fanti and Oh, "PacGAN: The power of two samples in generative adversarial networks", 2018).

The vanilla GAN with a *packed* discriminator: D judges m examples at a time, all real or all generated
(``discriminator.pack``, here 4), which penalises a generator whose samples lack variety and so counters mode
collapse. This recipe adds what makes it reach the PacGAN paper's 2-D mode-coverage numbers within minutes on a
CPU instead of 400 epochs: an exponential moving average of G's weights (``ema.decay``) and a learning rate that
falls linearly to ``optim.final_lr`` times its start over the run. ``benchmarks/bench_modes.py`` reproduces its
table; every default below can be changed with ``--set``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge.config import at_least
from ganforge_vanilla.recipe import OptimConfig, Vanilla


@dataclass
class PacOptimConfig(OptimConfig):
    """Vanilla's Adam settings, plus the linear learning-rate decay over the run's epochs."""

    final_lr: float = at_least(0.0, 0.0)  # learning rate at the last epoch, as a fraction of optim.lr


class PacGAN(Vanilla):
    """PacGAN: vanilla GAN with a packed discriminator (m samples per input), EMA and a decaying learning rate."""

    sections = {**Vanilla.sections, "optim": PacOptimConfig}
    defaults = {
        **Vanilla.defaults,
        "data.name": "ring8",
        "discriminator.pack": 4,
        "ema.decay": 0.999,
    }

    def configure_optimizers(self) -> None:
        super().configure_optimizers()
        epochs = self.config.train.epochs
        final = self.config.optim.final_lr
        for name, optimizer in self.optimizers.items():
            self.schedulers[name] = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda epoch: 1.0 - (1.0 - final) * min(epoch, epochs) / epochs
            )

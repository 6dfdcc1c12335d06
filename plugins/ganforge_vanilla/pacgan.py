"""PacGAN (Lin, Khetan, Fanti and Oh, "PacGAN: The power of two samples in generative adversarial networks", 2018).

The vanilla GAN with a *packed* discriminator: D judges m examples at a time, all real or all generated
(``discriminator.pack``, here 4), which penalises a generator whose samples lack variety and so counters mode
collapse. The defaults are the recipe ``benchmarks/bench_modes.py`` measures on the 2-D mixtures, tuned for a
CPU budget of minutes rather than the paper's 400 epochs: z of 2 dimensions (as in the paper), MLPs of widths
128-256-512, minibatches of 400, Adam at 2e-4 falling linearly to ``optim.final_lr`` times that over the run's
60 epochs (7,500 generator steps on the 50,000 points). Every default can be changed with ``--set``.
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
    """PacGAN: vanilla GAN with a packed discriminator (m samples per input) and a decaying learning rate."""

    sections = {**Vanilla.sections, "optim": PacOptimConfig}
    defaults = {
        **Vanilla.defaults,
        "data.name": "ring8",
        "discriminator.pack": 4,
        "noise.dim": 2,
        "generator.hidden": 128,
        "discriminator.hidden": 128,
        "train.batch_size": 400,
        "train.epochs": 60,
    }

    def configure_optimizers(self) -> None:
        super().configure_optimizers()
        epochs = self.config.train.epochs
        final = self.config.optim.final_lr
        for name, optimizer in self.optimizers.items():
            self.schedulers[name] = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda epoch: 1.0 - (1.0 - final) * min(epoch, epochs) / epochs
            )

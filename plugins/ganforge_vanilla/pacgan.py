"""PacGAN (Lin, Khetan, Fanti and Oh, "PacGAN: The power of two samples in generative adversarial networks", 2018).

The vanilla GAN with a *packed* discriminator: D judges m examples at a time, all real or all generated
(``discriminator.pack``, here 4), which penalises a generator whose samples lack variety and so counters mode
collapse.

The defaults are the recipe ``benchmarks/bench_modes.py`` measures on the 2-D mixtures (the same for ring8 and
grid25), tuned for a CPU budget of about three minutes a run on one thread (7,500 generator steps) rather than the
paper's hundreds of epochs:

- G as in the paper: z of 2 dimensions, hidden layers of equal width (4 x 256 here, 400 in the paper) with
  BatchNorm and ReLU.
- D as in the paper: 3 maxout layers of 200 units (3 pieces here, 5 in the paper, for speed), no normalisation,
  except that the first layer sees each example of a pack on its own, with weights shared across the pack
  (``discriminator.shared=1``), before the pack is joined. With the paper's concatenated input D has to learn
  what one mode looks like separately for each of the m positions; in short runs its samples stayed spread
  around the modes (ring8 after 3,000 steps: 41% of samples within 3 std, against 87% with the shared layer,
  which is about what an unpacked D reaches), while D still judges the m examples jointly.
- Adam (β1 0.5) at 2e-4 for G and 3e-3 for D (Heusel et al.'s two time-scale rule: a faster D; in short runs
  it beat equal rates), both falling linearly to ``optim.final_lr`` (0) over the run's 30 epochs of minibatches
  of 200, so that the last steps settle rather than circle.

Every default can be changed with ``--set``.
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
        "discriminator.shared": 1,
        "discriminator.maxout": 3,
        "discriminator.hidden": 200,
        "discriminator.growth": 1,
        "noise.dim": 2,
        "generator.hidden": 256,
        "generator.depth": 4,
        "generator.growth": 1,
        "generator.norm": "batch",
        "generator.slope": 0.0,
        "optim.lr": 2e-4,
        "optim.d_lr": 3e-3,
        "train.batch_size": 200,
        "train.epochs": 30,
    }

    def configure_optimizers(self) -> None:
        super().configure_optimizers()
        epochs = self.config.train.epochs
        final = self.config.optim.final_lr
        for name, optimizer in self.optimizers.items():
            self.schedulers[name] = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda epoch: 1.0 - (1.0 - final) * min(epoch, epochs) / epochs
            )

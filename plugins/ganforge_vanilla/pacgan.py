"""PacGAN (Lin, Khetan, Fanti and Oh, "PacGAN: The power of two samples in generative adversarial networks", 2018).

The vanilla GAN with a *packed* discriminator: D judges m examples at a time, all real or all generated
(``discriminator.pack``, here 4), which penalises a generator whose samples lack variety and so counters mode
collapse.

The defaults are the recipe ``benchmarks/bench_modes.py`` measures on the 2-D mixtures (the same for ring8 and
grid25), tuned for a CPU budget of under four minutes a run on one thread (25,350 generator steps) rather than
the paper's hundreds of epochs. Both networks work in units of the data's std (``DataSpec.scale``), so one
recipe fits ring8 (radius 1) and grid25 (radius 4 and more):

- G: z of 2 dimensions, 4 hidden layers of 128 with ReLU (the paper: 400 with BatchNorm; BatchNorm's minibatch
  statistics made the samples noisier, and the narrower G buys steps), He-initialised (``generator.init``) so
  that its first samples already spread over the data rather than sit in a speck at the origin.
- D as in the paper: 3 maxout layers (100 units, 3 pieces here; 200 and 5 in the paper), no normalisation,
  except that the first layer sees each example of a pack on its own, with weights shared across the pack
  (``discriminator.shared=1``), before the pack is joined. With the paper's concatenated input D has to learn
  what one mode looks like separately for each of the m positions; in short runs its samples stayed spread
  around the modes (ring8 after 3,000 steps: 41% of samples within 3 std, against 87% with the shared layer,
  which is about what an unpacked D reaches), while D still judges the m examples jointly.
- Adam (β1 0.5) at 7e-4 for G and 1.5e-3 for D (Heusel et al.'s two time-scale rule: a faster D), held for the
  first half of the run (``optim.decay_start``) and then falling linearly, G's to ``optim.final_lr`` (0) and
  D's to ``optim.d_final_lr`` (30% of its own), over 65 epochs of minibatches of 128. The full rate for longer
  covers every mode sooner than a decay from the start; the decay lets the last steps settle rather than
  circle; D's rate stops short of 0 so that D keeps tracking G's last moves. Minibatches of 128
  rather than 200 buy more steps in the same time, which sharpen G more than the larger batch's cleaner
  gradients do.
- An exponential moving average of G's weights (``ema.decay`` 0.9995, about the last 2,000 steps), which
  ``ganforge eval`` and ``sample`` use: it averages out the jitter that the small minibatches leave in G's
  samples around each mode.

Every default can be changed with ``--set``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge.config import at_least, between
from ganforge_vanilla.recipe import OptimConfig, Vanilla


@dataclass
class PacOptimConfig(OptimConfig):
    """Vanilla's Adam settings, plus the linear learning-rate decay over the run's epochs."""

    final_lr: float = at_least(0.0, 0.0)  # learning rate at the last epoch, as a fraction of optim.lr
    decay_start: float = between(0.0, 1.0, 0.0)  # fraction of the epochs run at the full rate before the decay begins
    d_final_lr: float | None = at_least(0.0, None)  # D's rate at the last epoch, as a fraction of its own; None: final_lr


class PacGAN(Vanilla):
    """PacGAN: vanilla GAN with a packed discriminator (m samples per input) and a decaying learning rate."""

    sections = {**Vanilla.sections, "optim": PacOptimConfig}
    defaults = {
        **Vanilla.defaults,
        "data.name": "ring8",
        "discriminator.pack": 4,
        "discriminator.shared": 1,
        "discriminator.maxout": 3,
        "discriminator.hidden": 100,
        "discriminator.growth": 1,
        "noise.dim": 2,
        "generator.hidden": 128,
        "generator.depth": 4,
        "generator.growth": 1,
        "generator.norm": "none",
        "generator.slope": 0.0,
        "generator.init": "kaiming",
        "optim.lr": 7e-4,
        "optim.d_lr": 1.5e-3,
        "optim.decay_start": 0.5,
        "optim.d_final_lr": 0.3,
        "ema.decay": 0.9995,
        "train.batch_size": 128,
        "train.epochs": 65,
    }

    def configure_optimizers(self) -> None:
        super().configure_optimizers()
        optim = self.config.optim
        epochs = self.config.train.epochs
        start = round(optim.decay_start * epochs)
        span = epochs - start  # epochs over which the rate falls
        for name, optimizer in self.optimizers.items():
            final = optim.d_final_lr if name == "discriminator" and optim.d_final_lr is not None else optim.final_lr
            self.schedulers[name] = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda epoch, final=final: 1.0 - (1.0 - final) * min(max(epoch - start, 0), span) / max(span, 1)
            )

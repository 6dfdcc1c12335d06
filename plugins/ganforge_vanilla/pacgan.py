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
  first half of the run (``schedule.hold``) and then falling linearly, G's to ``schedule.final`` (0) and
  D's to ``schedule.d_final`` (30% of its own), over 65 epochs of minibatches of 128. The full rate for longer
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

from ganforge_vanilla.recipe import ALGORITHM, Vanilla


class PacGAN(Vanilla):
    """PacGAN: vanilla GAN with a packed discriminator (m samples per input) and a decaying learning rate."""

    defaults = {
        **ALGORITHM,
        "generator.name": "mlp",
        "discriminator.name": "mlp",
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
        "schedule.hold": 0.5,
        "schedule.final": 0.0,
        "schedule.d_final": 0.3,
        "ema.decay": 0.9995,
        "ema.rampup": None,  # the average as benchmarks/bench_modes.py measured it: the plain decay from the first step
        "train.batch_size": 128,
        "train.epochs": 65,
    }

"""The DCGAN recipe: the vanilla GAN's training with DCGAN's convolutional networks as the defaults."""

from __future__ import annotations

from ganforge_vanilla.recipe import ALGORITHM, Vanilla


class DCGAN(Vanilla):
    """Radford et al. 2016: strided-conv G and D with batch norm, trained like the vanilla GAN.

    Minibatches of 64 rather than the paper's 128: on these small datasets a run of so many epochs takes twice
    the steps for the same cost (a CPU's images/s hardly depend on the batch), and on Fashion-MNIST in 5 epochs
    that lowered FID from 67.5 to 43.6 (3 seeds; benchmarks/README.md, issue 15).
    """

    defaults = {**ALGORITHM, "generator.name": "dcgan", "discriminator.name": "dcgan", "train.batch_size": 64}

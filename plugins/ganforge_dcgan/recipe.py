"""The DCGAN recipe: the vanilla GAN's training with DCGAN's convolutional networks as the defaults."""

from __future__ import annotations

from ganforge_vanilla.recipe import ALGORITHM, Vanilla


class DCGAN(Vanilla):
    """Radford et al. 2016: strided-conv G and D with batch norm, trained like the vanilla GAN."""

    defaults = {**ALGORITHM, "generator.name": "dcgan", "discriminator.name": "dcgan", "train.batch_size": 128}

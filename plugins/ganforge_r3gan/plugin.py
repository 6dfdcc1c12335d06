"""Registers R3GAN and its residual networks. Imports nothing heavy: listing stays fast."""

from ganforge.plugin import hookimpl


@hookimpl
def register_variants(register):
    register("r3gan", "ganforge_r3gan.recipe:R3GAN", "Huang et al. 2024: RpGAN + R1 + R2 on a residual, normalisation-free G and D")


@hookimpl
def register_generators(register):
    register("r3gan", "ganforge_r3gan.models:R3GANGenerator", "R3GAN residual generator (grouped inverted bottlenecks, fix-up init), 28-64 px")


@hookimpl
def register_discriminators(register):
    register("r3gan", "ganforge_r3gan.models:R3GANDiscriminator", "R3GAN residual discriminator (grouped inverted bottlenecks, fix-up init), 28-64 px")

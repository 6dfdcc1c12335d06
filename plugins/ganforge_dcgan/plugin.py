"""Registers DCGAN and its convolutional networks. Imports nothing heavy: listing stays fast."""

from ganforge.plugin import hookimpl


@hookimpl
def register_variants(register):
    register("dcgan", "ganforge_dcgan.recipe:DCGAN", "Radford et al. 2016: strided-conv G and D with batch norm, sized from the data")
    register("sngan", "ganforge_dcgan.sngan:SNGAN", "Miyato et al. 2018: DCGAN's G against a spectrally normalised D, hinge loss")


@hookimpl
def register_generators(register):
    register("dcgan", "ganforge_dcgan.models:DCGANGenerator", "DCGAN conv generator z -> square image (28, 32, 64, ... pixels)")


@hookimpl
def register_discriminators(register):
    register("dcgan", "ganforge_dcgan.models:DCGANDiscriminator", "DCGAN conv discriminator image -> one logit; batch, layer or no norm")

"""Registers the conditional GAN and its class-conditional networks. Imports nothing heavy: listing stays fast."""

from ganforge.plugin import hookimpl


@hookimpl
def register_variants(register):
    register("cgan", "ganforge_cgan.recipe:CGAN", "Mirza & Osindero 2014: G(z, y) and D(x, y) conditioned on the class label")


@hookimpl
def register_generators(register):
    register("conditional-dcgan", "ganforge_cgan.models:ConditionalDCGANGenerator", "DCGAN conv generator G(z, y), label embedding joined to z")
    register("conditional-mlp", "ganforge_cgan.models:ConditionalMLPGenerator", "Fully connected G(z, y), label embedding joined to z")


@hookimpl
def register_discriminators(register):
    register("conditional-dcgan", "ganforge_cgan.models:ConditionalDCGANDiscriminator", "DCGAN conv D(x, y), label embedding as an extra image plane")
    register("conditional-mlp", "ganforge_cgan.models:ConditionalMLPDiscriminator", "Fully connected D(x, y), label embedding beside the flattened x")

"""Registers the vanilla recipe and its MLP networks. Imports nothing heavy: listing stays fast."""

from ganforge.plugin import hookimpl


@hookimpl
def register_variants(register):
    register("vanilla", "ganforge_vanilla.recipe:Vanilla", "Goodfellow et al. 2014: G(z) and D(x) trained in turn, k D steps per G step")
    register("pacgan", "ganforge_vanilla.pacgan:PacGAN", "Lin et al. 2018: vanilla GAN whose D judges m samples at once, with LR decay")


@hookimpl
def register_generators(register):
    register("mlp", "ganforge_vanilla.models:MLPGenerator", "Fully connected generator z -> data of any shape")


@hookimpl
def register_discriminators(register):
    register("mlp", "ganforge_vanilla.models:MLPDiscriminator", "Fully connected discriminator data -> one logit")

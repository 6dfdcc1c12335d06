"""Registers this package's components with ganforge.

Registration is by import path, with a one-line description for ``ganforge list``: this module imports only
``ganforge.hookimpl``, so listing components never imports torch.
"""

from ganforge import hookimpl


@hookimpl
def register_variants(register):
    register("bigan", "ganforge_bigan.recipe:BiGAN", "BiGAN / ALI (Donahue et al. 2017; Dumoulin et al. 2017): G: z -> x and an encoder E: x -> z against D(x, z)")


@hookimpl
def register_discriminators(register):
    register("joint-mlp", "ganforge_bigan.networks:JointDiscriminator", "Fully connected D(x, z) on joint pairs of an example and a code")

"""Registers this package's components with ganforge.

Registration is by import path, with a one-line description for ``ganforge list``: this module imports only
``ganforge.hookimpl``, so listing components never imports torch.
"""

from ganforge import hookimpl


@hookimpl
def register_losses(register):
    register("fgan", "ganforge_fgan.losses:FGANLoss", "f-GAN (Nowozin et al. 2016): KL, reverse KL, Pearson, Hellinger, JS or GAN divergence")


@hookimpl
def register_generators(register):
    register("mlp-residual", "ganforge_fgan.generators:ResidualMLPGenerator", "MLP generator with identity-initialised residual blocks")

"""SNGAN (Miyato, Kataoka, Koyama and Yoshida, "Spectral Normalization for Generative Adversarial Networks", ICLR
2018) on DCGAN's networks.

The vanilla recipe's alternating training with the paper's choices as defaults: every layer of D spectrally
normalised (``discriminator.spectral_norm``, :mod:`ganforge.spectral`) and no batch norm in D, LeakyReLU(0.1) in
D as in the paper's standard CNN, the hinge loss (its "SN-GANs (hinge)" objective), and Adam at 2e-4 with β1
0.5, β2 0.999 and one D step per G step: setting C of the paper's Table 1. G is DCGAN's (batch norm, ReLU, tanh),
as the paper's is. Minibatches of 64, as in the paper. The networks are DCGAN's, sized from the data, not the
paper's 32x32 standard CNN (3x3 and 4x4 convolutions, 64 to 512 channels).

    ganforge run sngan --data fashion-mnist --epochs 5
"""

from __future__ import annotations

from ganforge_dcgan.recipe import DCGAN


class SNGAN(DCGAN):
    """Miyato et al. 2018: DCGAN's G against a spectrally normalised D, trained with the hinge loss."""

    defaults = {
        **DCGAN.defaults,
        "discriminator.spectral_norm": True,
        "discriminator.norm": "none",
        "discriminator.slope": 0.1,
        "loss.name": "hinge",
        "optim.lr": 2e-4,
        "optim.beta1": 0.5,
        "optim.beta2": 0.999,
        "optim.d_steps": 1,
        "train.batch_size": 64,
    }

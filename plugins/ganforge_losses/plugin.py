"""Registers the built-in losses. Imports nothing heavy: listing stays fast."""

from ganforge.plugin import hookimpl


@hookimpl
def register_losses(register):
    register("bce", "ganforge_losses.bce:BCELoss", "Goodfellow's cross-entropy GAN loss, minimax or non-saturating G objective")
    register("lsgan", "ganforge_losses.lsgan:LeastSquaresLoss", "Mao et al. 2017: least-squares loss, D regresses to 1 on data and 0 on samples")
    register("hinge", "ganforge_losses.hinge:HingeLoss", "Lim & Ye 2017 / Miyato et al. 2018: hinge loss with margin 1")
    register("wgan-gp", "ganforge_losses.wgan_gp:WGANGPLoss", "Gulrajani et al. 2017: Wasserstein critic, gradient penalty λ=10, n_critic=5")
    register("ragan", "ganforge_losses.relativistic:RelativisticAverageLoss", "Jolicoeur-Martineau 2018: relativistic average GAN, each side against the other's mean logit")
    register("rpgan", "ganforge_losses.relativistic:RelativisticPairingLoss", "Huang et al. 2024 (R3GAN): relativistic pairing GAN; with loss.r1_gamma and loss.r2_gamma, R3GAN's objective")

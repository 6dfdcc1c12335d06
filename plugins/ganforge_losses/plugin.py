"""Registers the built-in losses. Imports nothing heavy: listing stays fast."""

from ganforge.plugin import hookimpl


@hookimpl
def register_losses(register):
    register("bce", "ganforge_losses.bce:BCELoss", "Goodfellow's cross-entropy GAN loss, minimax or non-saturating G objective")

"""Registers a loss called twin, as gf-collide does."""

from ganforge import hookimpl


@hookimpl
def register_losses(register):
    register("twin", "gf_collide_too.plugin:twin", "the other twin")

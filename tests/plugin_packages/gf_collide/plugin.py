"""Registers names that the built-ins and gf-collide-too also register."""

from ganforge import hookimpl


@hookimpl
def register_generators(register):
    register("mlp", "gf_collide.plugin:generator", "a generator called mlp, like the built-in")


@hookimpl
def register_losses(register):
    register("twin", "gf_collide.plugin:twin", "a loss also registered by gf-collide-too")

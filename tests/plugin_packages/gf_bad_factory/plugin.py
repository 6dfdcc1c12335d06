"""Loads fine, registers fine; its factories fail only when used."""

from ganforge import hookimpl


def explodes():
    """A loss whose factory raises."""
    raise RuntimeError("boom")


def not_a_module(noise_dim, spec):
    """A generator factory that returns a dict."""
    return {"noise_dim": noise_dim}


def not_data():
    """A dataset factory that returns a list."""
    return [1, 2, 3]


@hookimpl
def register_losses(register):
    register("explodes", explodes)


@hookimpl
def register_generators(register):
    register("not-a-module", not_a_module)


@hookimpl
def register_datasets(register):
    register("not-data", not_data)
    register("missing-module", "gf_bad_factory.nowhere:data", "a dataset whose module does not exist")

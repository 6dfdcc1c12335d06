"""A hook that asks for an argument the hook does not provide."""

from ganforge import hookimpl


@hookimpl
def register_losses(register, registry):
    register("never", "gf_bad_signature.plugin:register_losses", "never registered")

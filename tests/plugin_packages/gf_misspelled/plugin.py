"""A misspelled hook name: register_loss instead of register_losses."""

from ganforge import hookimpl


@hookimpl
def register_loss(register):
    register("never", "gf_misspelled.plugin:register_loss", "never registered")

"""Prints to stdout at import and while registering, as a careless plugin would."""

import os

from ganforge import hookimpl

print("gf-loud imported")
os.write(1, b"gf-loud wrote to fd 1\n")  # below Python's sys.stdout, as a C extension's printf would


@hookimpl
def register_losses(register):
    print("gf-loud registering")
    register("loud", "gf_loud.plugin:Loud", "a loss that talks")

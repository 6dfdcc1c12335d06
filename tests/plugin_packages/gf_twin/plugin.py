"""Registers the ``twin`` variant, a mixture of two generators against one discriminator. Imports no torch.

Written from docs/plugins.md alone, as a third party would write it: it is the test-only variant that proves a
recipe with more than one generator gets the core's services (EMA over every generator, evaluation, resume,
sampling) without an edit to the core.
"""

from ganforge import hookimpl

# by the package's own name, so that the plugin also works imported as plugin_packages.gf_twin.plugin
RECIPE = f"{__package__}.recipe:Twin"


@hookimpl
def register_variants(register):
    register("twin", RECIPE, "A mixture of two generators, each making half of every batch, against one discriminator")


def registry():
    """A fresh in-process registry with ganforge's built-ins and this plugin, for tests that train in-process.

    ``ganforge.train("twin", "ring8", ..., registry=plugin.registry())``
    """
    from ganforge import testing

    return testing.registry_with(__name__, builtins=True)

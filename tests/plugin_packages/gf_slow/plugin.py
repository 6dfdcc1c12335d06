"""Sleeps at import for $GF_SLOW_SECONDS (default: as good as forever), like a plugin stuck on a network share."""

import os
import time

from ganforge import hookimpl

time.sleep(float(os.environ.get("GF_SLOW_SECONDS", "100000")))


@hookimpl
def register_losses(register):
    register("slow", "gf_slow.plugin:Slow", "a loss that took its time")

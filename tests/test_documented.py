"""What README.md and docs/plugins.md promise, run as they show it."""

from __future__ import annotations

import ganforge
from ganforge import hookimpl, testing

from conftest import TINY


def small_ring(size: int = 64, seed: int = 0):
    """ring8 under another name, which only the registry below knows."""
    from ganforge_datasets.mixtures import ring8

    return ring8(size=size, seed=seed)


class OnlyHere:
    """A plugin known to one registry only: a dataset, and a hook that counts run starts."""

    def __init__(self):
        self.starts = 0

    @hookimpl
    def register_datasets(self, register):
        register("only-here-ring", small_ring)

    @hookimpl
    def on_run_start(self):
        self.starts += 1


def test_resume_takes_the_registry_like_train(tmp_path):
    """README: each library function takes ``registry=``; resume must use it for the config, data and hooks."""
    plugin = OnlyHere()
    registry = testing.registry_with(plugin, builtins=True)
    settings = {**TINY, "train.max_steps": 2}
    ganforge.train("vanilla", "only-here-ring", settings=settings, out=tmp_path / "run", registry=registry)
    result = ganforge.resume(tmp_path / "run", settings={"train.max_steps": 4}, registry=registry)
    assert result.steps == 4 and plugin.starts == 2

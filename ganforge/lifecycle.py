"""Calls plugins' lifecycle hooks during a run, each plugin isolated from the others.

A hook that raises :class:`GanforgeError` stops the run with its message: the plugin says the run cannot go on.
Any other exception is a bug in that plugin: it is reported once, the plugin's lifecycle hooks are skipped for the
rest of the run, and training continues (``GANFORGE_STRICT_PLUGINS=1``: the run stops instead).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganforge.discovery import one_line, warn
from ganforge.errors import GanforgeError
from ganforge.registry import LIFECYCLE_HOOKS, Registry, call


class Lifecycle:
    """The lifecycle hooks of one run: ``call("on_log", record=..., step=..., epoch=...)`` and so on."""

    def __init__(self, registry: Registry, run_dir: Path, config: Any, variant: Any, enabled: bool = True):
        self.registry = registry
        self.context = {"run_dir": Path(run_dir), "config": config, "variant": variant}
        self.impls = {name: registry.implementations(name) if enabled else [] for name in LIFECYCLE_HOOKS}
        self.disabled: set[int] = set()  # ids of plugins whose hooks raised

    def call(self, hook: str, **arguments: Any) -> None:
        """Call every loaded plugin's implementation of ``hook`` with the run's context and ``arguments``."""
        for impl in self.impls[hook]:
            if id(impl.plugin) in self.disabled:
                continue
            try:
                call(impl, **self.context, **arguments)
            except GanforgeError:
                raise
            except Exception as exc:
                self.disabled.add(id(impl.plugin))
                plugin = self.registry.plugin_of(impl)
                message = f"plugin {plugin.label}: {hook} raised {one_line(exc)}"
                if self.registry.strict:
                    raise GanforgeError(f"{message} (GANFORGE_STRICT_PLUGINS is set, so the run stops)") from exc
                warn(f"{message}; its lifecycle hooks are skipped for the rest of this run")

    def finish(self, result: Any, error: BaseException | None) -> None:
        """``on_run_end``. After a failure, a hook's own error is reported rather than hiding the first one."""
        if error is None:
            self.call("on_run_end", result=result, error=None)
            return
        try:
            self.call("on_run_end", result=None, error=error)
        except GanforgeError as exc:
            warn(f"on_run_end after a failed run: {exc}")

"""Finds plugins through the ``ganforge`` entry-point group and resolves component names.

Built-in components live in ``plugins/`` and are found exactly like a third-party package's: the core names no
component. Plugins hand components to a ``register`` callback (see :mod:`ganforge.hookspecs`); objects given as
import paths are imported only when used, so listing stays fast.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import inspect
import re
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Iterable

import pluggy

from ganforge import hookspecs
from ganforge.errors import GanforgeError

ENTRY_POINT_GROUP = "ganforge"

# kind -> the hook that registers it, in the order `ganforge list` shows them.
KINDS: dict[str, str] = {
    "variant": "register_variants",
    "generator": "register_generators",
    "discriminator": "register_discriminators",
    "loss": "register_losses",
    "embedding": "register_embeddings",
    "dataset": "register_datasets",
}


def natural_key(text: str) -> list:
    """Sort key that orders 'gan2' before 'gan10'."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


@dataclass
class Component:
    """One registered generator, discriminator, loss, embedding, dataset or variant."""

    kind: str
    name: str
    target: Any  # the object, or "module:attribute" imported on first use
    description: str
    plugin: str  # the distribution that provides it
    version: str

    @property
    def qualified_name(self) -> str:
        return f"{self.plugin}:{self.name}"

    def load(self) -> Any:
        if not isinstance(self.target, str):
            return self.target
        module_name, _, attribute = self.target.partition(":")
        try:
            obj = importlib.import_module(module_name)
            for part in attribute.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            raise GanforgeError(
                f"{self.kind} '{self.name}' from plugin {self.plugin} could not be loaded from "
                f"'{self.target}': {exc}. Reinstall or upgrade {self.plugin}."
            ) from exc
        self.target = obj
        return obj


@dataclass
class PluginInfo:
    """A plugin module found through the entry-point group, and how loading it went."""

    name: str  # entry-point name
    module: str
    distribution: str
    version: str
    status: str = "loaded"  # or "failed"
    error: str = ""
    hooks: list[str] = field(default_factory=list)


def _describe(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


class Registry:
    """Every registered component, looked up by kind and name."""

    def __init__(self, plugin_manager: pluggy.PluginManager, plugins: list[PluginInfo]):
        self.plugin_manager = plugin_manager
        self.plugins = plugins
        self._components: dict[str, list[Component]] = {kind: [] for kind in KINDS}
        for plugin in plugins:
            if plugin.status == "loaded":
                self._collect(plugin)

    def _collect(self, plugin: PluginInfo) -> None:
        module = self.plugin_manager.get_plugin(plugin.name)
        for kind, hook_name in KINDS.items():
            impl = next((i for i in getattr(self.plugin_manager.hook, hook_name).get_hookimpls() if i.plugin is module), None)
            if impl is None:
                continue

            def register(name: str, component: Any, description: str | None = None, _kind: str = kind) -> None:
                if isinstance(component, str) and description is None:
                    raise TypeError(f"register('{name}', '{component}') needs a description when given an import path")
                self._components[_kind].append(
                    Component(_kind, name, component, description or _describe(component), plugin.distribution, plugin.version)
                )

            impl.function(register=register)

    def components(self, kind: str | None = None, pattern: str | None = None) -> list[Component]:
        """Registered components of one kind (or all), filtered by a shell-style wildcard, naturally sorted."""
        kinds = [self._check_kind(kind)] if kind else list(KINDS)
        found = [
            c for k in kinds for c in self._components[k] if pattern is None or fnmatch.fnmatchcase(c.name, pattern)
        ]
        return sorted(found, key=lambda c: (list(KINDS).index(c.kind), natural_key(c.name), c.plugin))

    def names(self, kind: str) -> list[str]:
        return sorted({c.name for c in self._components[self._check_kind(kind)]}, key=natural_key)

    def get(self, kind: str, name: str) -> Component:
        """The component called ``name`` (or ``distribution:name``), with a clear error when there is none."""
        plugin, _, bare = name.rpartition(":")
        matches = [c for c in self._components[self._check_kind(kind)] if c.name == bare and plugin in ("", c.plugin)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            choices = ", ".join(sorted(c.qualified_name for c in matches))
            raise GanforgeError(f"{kind} name '{name}' is provided by several plugins; name one of: {choices}")
        hint = difflib.get_close_matches(bare, self.names(kind), n=1)
        suggestion = f" Did you mean '{hint[0]}'?" if hint else ""
        raise GanforgeError(f"unknown {kind} '{name}'.{suggestion} Run 'ganforge list {kind}' to see the choices.")

    def load(self, kind: str, name: str) -> Any:
        return self.get(kind, name).load()

    @staticmethod
    def _check_kind(kind: str) -> str:
        if kind not in KINDS:
            raise GanforgeError(f"unknown component kind '{kind}'; choose one of: {', '.join(KINDS)}")
        return kind


def _load_plugins(plugin_manager: pluggy.PluginManager, found: Iterable) -> list[PluginInfo]:
    plugins = []
    for entry_point in found:
        dist = entry_point.dist
        info = PluginInfo(
            name=entry_point.name,
            module=entry_point.value,
            distribution=dist.name if dist else "?",
            version=dist.version if dist else "?",
        )
        plugins.append(info)
        try:
            module = entry_point.load()
            plugin_manager.register(module, name=entry_point.name)
            plugin_manager.check_pending()
        except Exception as exc:  # a broken plugin must not take the others down with it
            if plugin_manager.has_plugin(entry_point.name):
                plugin_manager.unregister(name=entry_point.name)
            info.status, info.error = "failed", f"{type(exc).__name__}: {exc}".splitlines()[0]
            print(f"ganforge: plugin {info.distribution} ({info.module}) failed to load: {info.error}", file=sys.stderr)
            continue
        info.hooks = sorted(impl.name for impl in plugin_manager.get_hookcallers(module) or [])
    return plugins


def build_registry(found: Iterable | None = None) -> Registry:
    """A fresh registry from the given entry points, or from every installed ``ganforge`` entry point."""
    plugin_manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
    plugin_manager.add_hookspecs(hookspecs)
    if found is None:
        found = entry_points(group=ENTRY_POINT_GROUP)
    return Registry(plugin_manager, _load_plugins(plugin_manager, found))


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _registry
    if _registry is None:
        _registry = build_registry()
    return _registry

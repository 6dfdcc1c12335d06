"""Collects the components and settings sections that plugins register, and resolves names to them.

Built-in components live in ``plugins/`` and are found exactly like a third-party package's (see
:mod:`ganforge.discovery`): the core names no component. Plugins hand components to a ``register`` callback (see
:mod:`ganforge.hookspecs`); objects given as import paths are imported only when used, so listing stays fast.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import importlib
import inspect
import re
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from typing import Any, Iterable

import pluggy

from ganforge import hookspecs
from ganforge.discovery import (
    ENTRY_POINT_GROUP,
    PluginInfo,
    PluginSource,
    Selection,
    installed_sources,
    load_plugins,
    normalize,
    one_line,
    report_failure,
    strict_mode,
)
from ganforge.errors import GanforgeError, is_out_of_memory, message_of, out_of_memory_error
from ganforge.plugin_guard import guarded, timeout_seconds

# kind -> the hook that registers it, in the order `ganforge list` shows them.
KINDS: dict[str, str] = {
    "variant": "register_variants",
    "generator": "register_generators",
    "discriminator": "register_discriminators",
    "loss": "register_losses",
    "embedding": "register_embeddings",
    "dataset": "register_datasets",
}
LIFECYCLE_HOOKS = ("on_run_start", "on_log", "on_checkpoint_save", "on_epoch_end", "on_run_end")
RESERVED_SECTIONS = ("train", "data", "variant", "plugins")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def natural_key(text: str) -> list:
    """Sort key that orders 'gan2' before 'gan10'."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def _describe(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _wrong_product(kind: str, built: Any) -> str | None:
    """What is wrong with what a ``kind`` factory returned, or None. Imports only what the kind needs."""
    if kind in ("generator", "discriminator"):
        from torch import nn

        return None if isinstance(built, nn.Module) else "not a torch.nn.Module"
    if kind == "loss":
        missing = [f"{m}()" for m in ("discriminator_loss", "generator_loss") if not callable(getattr(built, m, None))]
        return f"an object without {' and '.join(missing)}" if missing else None
    if kind == "dataset":
        from ganforge.data import TensorData

        return None if isinstance(built, TensorData) else "not a ganforge.data.TensorData"
    return None


@dataclass
class Component:
    """One registered generator, discriminator, loss, embedding, dataset or variant."""

    kind: str
    name: str
    target: Any  # the object, or "module:attribute" imported on first use
    description: str
    plugin: str  # the distribution that provides it
    version: str
    ambiguous: bool = False  # another plugin registered the same kind and name

    @property
    def qualified_name(self) -> str:
        return f"{self.plugin}:{self.name}"

    @property
    def unique_name(self) -> str:
        """The name that selects exactly this component: qualified only where the bare name is ambiguous."""
        return self.qualified_name if self.ambiguous else self.name

    @property
    def source(self) -> str:
        return f"plugin {self.plugin} {self.version}"

    def load(self) -> Any:
        """The registered object (the factory or variant class), imported now if registered by path."""
        if isinstance(self.target, str):
            self.target = self._import()
        if self.kind == "variant":
            from ganforge.variant import Variant

            if not (isinstance(self.target, type) and issubclass(self.target, Variant)):
                raise GanforgeError(
                    f"variant '{self.name}' from {self.source} is not a ganforge.Variant subclass; "
                    f"report this to the authors of {self.plugin}"
                )
        return self.target

    def _import(self) -> Any:
        module_name, _, attribute = self.target.partition(":")
        try:
            obj = importlib.import_module(module_name)
            for part in attribute.split("."):
                obj = getattr(obj, part)
        except Exception as exc:  # an import error inside the plugin's own module is the plugin's fault too
            raise GanforgeError(
                f"{self.kind} '{self.name}' from {self.source} could not be loaded from '{self.target}': "
                f"{one_line(exc)}. Reinstall or upgrade {self.plugin}, or choose another {self.kind}"
            ) from exc
        return obj

    def build(self, settings: dict[str, Any] | None = None, **supplied: Any) -> Any:
        """Call the factory with the user's ``settings`` and the caller's ``supplied`` arguments, and check what it
        returns, blaming the plugin for what goes wrong."""
        factory = self.load()
        settings = settings or {}
        try:
            built = factory(**supplied, **settings)
        except GanforgeError:
            raise
        except (TypeError, ValueError) as exc:
            raise GanforgeError(f"{self.kind} '{self.name}' ({self.source}) rejected its settings {settings}: {message_of(exc)}") from exc
        except Exception as exc:
            if is_out_of_memory(exc):
                raise out_of_memory_error(f"building {self.kind} '{self.name}' with {settings}", exc) from None
            raise GanforgeError(
                f"{self.kind} '{self.name}' from {self.source} failed while being built: {one_line(exc)}; "
                f"report this to the authors of {self.plugin}, or choose another {self.kind}"
            ) from exc
        problem = _wrong_product(self.kind, built)
        if problem:
            raise GanforgeError(
                f"{self.kind} '{self.name}' from {self.source} returned {type(built).__name__}, {problem}; "
                f"report this to the authors of {self.plugin}, or choose another {self.kind}"
            )
        return built


@dataclass
class Section:
    """A config section a plugin adds to every run (see the ``config_sections`` hook)."""

    name: str
    settings: type  # a dataclass
    plugin: str
    version: str


class Registry:
    """Every registered component, looked up by kind and name, and the plugins they came from."""

    def __init__(self, plugin_manager: pluggy.PluginManager, plugins: list[PluginInfo], strict: bool = False):
        self.plugin_manager = plugin_manager
        self.plugins = plugins
        self.strict = strict
        self._components: dict[str, list[Component]] = {kind: [] for kind in KINDS}
        self.sections: dict[str, Section] = {}
        for plugin in plugins:
            if plugin.status == "loaded":
                self._collect(plugin)
        for found in self._components.values():
            names = [c.name for c in found]
            for component in found:
                component.ambiguous = names.count(component.name) > 1

    def _collect(self, plugin: PluginInfo) -> None:
        """Run the plugin's registration hooks; if any goes wrong, none of its components or sections are kept."""
        components: list[Component] = []
        sections: dict[str, Section] = {}

        def register_all() -> None:
            for kind, hook_name in KINDS.items():
                for impl in self.implementations(hook_name, plugin):
                    call(impl, register=self._register_callback(kind, plugin, components))
            for impl in self.implementations("config_sections", plugin):
                sections.update(self._check_sections(call(impl), plugin))

        try:
            guarded(register_all, timeout_seconds())
        except Exception as exc:
            self.plugin_manager.unregister(plugin.plugin)
            report_failure(plugin, str(exc) if isinstance(exc, GanforgeError) else one_line(exc), self.strict)
            return
        for component in components:
            self._components[component.kind].append(component)
        self.sections.update(sections)

    def _register_callback(self, kind: str, plugin: PluginInfo, into: list[Component]):
        def register(name: str, component: Any, description: str | None = None) -> None:
            if not isinstance(name, str) or not NAME.match(name):
                raise GanforgeError(f"register({name!r}, ...): a {kind} name is letters, digits and . _ + - (no ':' or spaces)")
            if isinstance(component, str):
                if ":" not in component or description is None:
                    raise GanforgeError(f"register('{name}', '{component}') needs a 'module:attribute' path and a description")
            elif not callable(component):
                raise GanforgeError(f"register('{name}', {component!r}): a {kind} is a class, a function or a 'module:attribute' path")
            if any(c.name == name for c in into if c.kind == kind):
                raise GanforgeError(f"{kind} '{name}' is registered twice")
            description = description if description is not None else _describe(component)
            into.append(Component(kind, name, component, description, plugin.distribution, plugin.version))

        return register

    def _check_sections(self, returned: Any, plugin: PluginInfo) -> dict[str, Section]:
        if not isinstance(returned, dict):
            raise GanforgeError(f"config_sections() returned {type(returned).__name__}, not a dict of section name -> dataclass")
        sections = {}
        for name, settings in returned.items():
            if not (isinstance(name, str) and NAME.match(name)) or "." in name:
                raise GanforgeError(f"config_sections(): {name!r} is not a section name (letters, digits, - and _)")
            if not dataclasses.is_dataclass(settings) or not isinstance(settings, type):
                raise GanforgeError(f"config_sections(): section '{name}' is {settings!r}, not a dataclass")
            if name in RESERVED_SECTIONS or name in self.sections:
                owner = self.sections[name].plugin if name in self.sections else "ganforge's core"
                raise GanforgeError(f"config_sections(): section '{name}' is already taken by {owner}")
            sections[name] = Section(name, settings, plugin.distribution, plugin.version)
        return sections

    def implementations(self, hook_name: str, plugin: PluginInfo | None = None) -> list[Any]:
        """Loaded plugins' implementations of ``hook_name`` in the order pluggy would call them (``tryfirst`` first),
        or only ``plugin``'s."""
        impls = reversed(getattr(self.plugin_manager.hook, hook_name).get_hookimpls())
        return [i for i in impls if plugin is None or i.plugin is plugin.plugin]

    def plugin_of(self, impl: Any) -> PluginInfo:
        """The loaded plugin a hook implementation belongs to."""
        return next(p for p in self.plugins if p.plugin is impl.plugin and p.status == "loaded")

    def components(self, kind: str | None = None, pattern: str | None = None) -> list[Component]:
        """Registered components of one kind (or all), filtered by a shell-style wildcard, naturally sorted."""
        kinds = [self.check_kind(kind)] if kind else list(KINDS)
        found = [c for k in kinds for c in self._components[k] if pattern is None or fnmatch.fnmatchcase(c.name, pattern)]
        return sorted(found, key=lambda c: (list(KINDS).index(c.kind), natural_key(c.name), natural_key(c.plugin)))

    def names(self, kind: str) -> list[str]:
        return sorted({c.name for c in self._components[self.check_kind(kind)]}, key=natural_key)

    def get(self, kind: str, name: str, prefer: str | None = None) -> Component:
        """The component called ``name`` (or ``distribution:name``), with a clear error when there is none.

        A bare name that several plugins register is an error listing the qualified names, unless exactly one of
        them comes from the distribution ``prefer`` (a variant's defaults mean its own package's components).
        """
        plugin, _, bare = name.rpartition(":")
        matches = [
            c for c in self._components[self.check_kind(kind)]
            if c.name == bare and (not plugin or _same_distribution(plugin, c.plugin))
        ]
        if len(matches) > 1 and prefer is not None:
            preferred = [c for c in matches if _same_distribution(prefer, c.plugin)]
            matches = preferred if len(preferred) == 1 else matches
        if len(matches) == 1:
            return matches[0]
        if matches:
            choices = ", ".join(sorted(c.qualified_name for c in matches))
            raise GanforgeError(f"{kind} name '{name}' is provided by several plugins; name one of: {choices}")
        if plugin and any(c.name == bare for c in self._components[kind]):
            providers = ", ".join(c.qualified_name for c in self._components[kind] if c.name == bare)
            raise GanforgeError(f"plugin {plugin} provides no {kind} '{bare}'; these do: {providers}")
        hint = difflib.get_close_matches(bare, self.names(kind), n=1)
        suggestion = f" Did you mean '{hint[0]}'?" if hint else ""
        raise GanforgeError(f"unknown {kind} {name!r}.{suggestion} Run 'ganforge list {kind}' to see the choices.")

    def load(self, kind: str, name: str) -> Any:
        return self.get(kind, name).load()

    @staticmethod
    def check_kind(kind: str) -> str:
        if kind not in KINDS:
            raise GanforgeError(f"unknown component kind {kind!r}; choose one of: {', '.join(KINDS)}")
        return kind


def call(impl: Any, **available: Any) -> Any:
    """Call one hook implementation with the arguments it asks for (pluggy lets it take any subset)."""
    return impl.function(**{name: available[name] for name in impl.argnames})


def _same_distribution(given: str, distribution: str) -> bool:
    return normalize(given) == normalize(distribution)


def build_registry(
    sources: Iterable[PluginSource | EntryPoint] | None = None,
    selection: Selection | None = None,
    strict: bool | None = None,
) -> Registry:
    """A fresh registry from ``sources`` (default: every installed plugin), honouring the environment's
    ``GANFORGE_PLUGINS``, ``GANFORGE_BLOCK_PLUGINS`` and ``GANFORGE_STRICT_PLUGINS`` unless told otherwise."""
    plugin_manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
    plugin_manager.add_hookspecs(hookspecs)
    strict = strict_mode() if strict is None else strict
    selection = Selection.from_env() if selection is None else selection
    if sources is None:
        sources = installed_sources()
    # not isinstance(s, EntryPoint): once a package installs importlib_metadata's finder (mlflow does), the
    # standard library's entry_points() hands out that backport's EntryPoint class instead
    sources = [s if isinstance(s, PluginSource) else PluginSource.from_entry_point(s) for s in sources]
    return Registry(plugin_manager, load_plugins(plugin_manager, sources, selection, strict), strict)


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry of installed plugins, built on first use."""
    global _registry
    if _registry is None:
        _registry = build_registry()
    return _registry

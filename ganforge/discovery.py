"""Finding plugins, choosing which to load, loading each in isolation, and reporting the ones that fail.

Plugins are the modules named in the ``ganforge`` entry-point group of installed distributions. Three
environment variables steer loading:

* ``GANFORGE_PLUGINS=a,b``: load only these third-party plugins. The built-in plugins (distribution
  ``ganforge``) always load unless blocked, since the core's defaults name them.
* ``GANFORGE_BLOCK_PLUGINS=a,b``: load none of these, built-in or not.
* ``GANFORGE_STRICT_PLUGINS=1``: a plugin that fails to load is an error instead of a warning.
* ``GANFORGE_PLUGIN_TIMEOUT=SECONDS``: how long one plugin may take to load (default 30; see
  :mod:`ganforge.plugin_guard`, which also keeps a plugin's prints, ``sys.exit`` and stray ``KeyboardInterrupt``
  from taking the command down).

Entries are distribution names (``ganforge-fgan``: every plugin of that package), entry-point names
(``fgan``), or both as ``distribution:entry-point``. A blocked plugin is never imported.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, distribution, entry_points
from typing import Any, Callable, Iterable

import pluggy

from ganforge.errors import GanforgeError
from ganforge.plugin_guard import guarded, timeout_seconds

ENTRY_POINT_GROUP = "ganforge"
BUILTIN_DISTRIBUTION = "ganforge"
ONLY_VARIABLE = "GANFORGE_PLUGINS"
BLOCK_VARIABLE = "GANFORGE_BLOCK_PLUGINS"
STRICT_VARIABLE = "GANFORGE_STRICT_PLUGINS"
SLOW_SECONDS = 2.0  # a plugin taking longer to load is named: every command that loads plugins waits for it


def normalize(name: str) -> str:
    """A distribution name as pip compares them: ``Ganforge_FGAN`` and ``ganforge-fgan`` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class PluginSource:
    """A plugin that could be loaded: where it comes from, and how to import it."""

    name: str  # entry-point name
    module: str  # what the entry point names, e.g. "ganforge_fgan.plugin"
    distribution: str
    version: str
    load: Callable[[], Any] = field(repr=False)

    @classmethod
    def from_entry_point(cls, entry_point: EntryPoint) -> "PluginSource":
        dist = entry_point.dist
        return cls(
            entry_point.name,
            entry_point.value,
            dist.metadata["Name"] if dist else "?",
            dist.version if dist else "?",
            entry_point.load,
        )

    @classmethod
    def from_object(cls, plugin: Any) -> "PluginSource":
        """A plugin given directly (a module, or a class or object with hook implementations), as tests do.

        Its distribution is the installed one that holds its top-level package, if any, else that package's name.
        """
        if isinstance(plugin, type) or not hasattr(plugin, "__name__"):
            module, name = getattr(plugin, "__module__", "?"), getattr(plugin, "__qualname__", type(plugin).__qualname__)
        else:
            module = name = plugin.__name__
        package = module.partition(".")[0]
        distribution_name, version = _distribution_of(package)
        return cls(name, module, distribution_name, version, lambda: plugin)


def _distribution_of(package: str) -> tuple[str, str]:
    from importlib.metadata import packages_distributions

    for name in packages_distributions().get(package, []):
        dist = distribution(name)
        return dist.metadata["Name"], dist.version
    return package, "0"


def installed_sources() -> list[PluginSource]:
    """Every plugin in the ``ganforge`` entry-point group, built-in ones first, then by distribution."""
    found = [PluginSource.from_entry_point(ep) for ep in entry_points(group=ENTRY_POINT_GROUP)]
    return sorted(found, key=lambda s: (not is_builtin(s.distribution), normalize(s.distribution), s.name))


def builtin_sources() -> list[PluginSource]:
    """The plugins shipped with ganforge itself."""
    return [s for s in installed_sources() if is_builtin(s.distribution)]


def is_builtin(distribution_name: str) -> bool:
    return normalize(distribution_name) == BUILTIN_DISTRIBUTION


@dataclass
class PluginInfo:
    """A plugin, and how loading it went."""

    name: str  # entry-point name
    module: str
    distribution: str
    version: str
    status: str = "loaded"  # "loaded", "failed" or "blocked"
    error: str = ""  # why it failed, or why it is blocked
    hooks: list[str] = field(default_factory=list)
    plugin: Any = field(default=None, repr=False)  # the loaded module or object

    @property
    def label(self) -> str:
        """How messages name the plugin: its distribution, version and entry point."""
        return f"{self.distribution} {self.version} (entry point '{self.name}' -> {self.module})"


@dataclass
class Selection:
    """Which plugins the environment asks to load (``only``; None: all) and which to skip (``blocked``)."""

    only: list[str] | None = None
    blocked: list[str] = field(default_factory=list)

    @classmethod
    def from_env(cls) -> "Selection":
        def entries(variable: str) -> list[str] | None:
            value = os.environ.get(variable)
            return None if value is None else [item.strip() for item in value.split(",") if item.strip()]

        return cls(entries(ONLY_VARIABLE), entries(BLOCK_VARIABLE) or [])

    @staticmethod
    def matches(entry: str, source: PluginSource) -> bool:
        dist, sep, name = entry.rpartition(":")
        if sep:
            return normalize(dist) == normalize(source.distribution) and name == source.name
        return entry == source.name or normalize(entry) == normalize(source.distribution)

    def skip_reason(self, source: PluginSource) -> str | None:
        """Why ``source`` is not to be loaded, or None."""
        if any(self.matches(entry, source) for entry in self.blocked):
            return f"by {BLOCK_VARIABLE}"
        if self.only is not None and not is_builtin(source.distribution):
            if not any(self.matches(entry, source) for entry in self.only):
                return f"not named in {ONLY_VARIABLE}"
        return None

    def unmatched(self, sources: list[PluginSource]) -> list[str]:
        """One line per entry that names no installed plugin: most likely a typo."""
        known = sorted({s.name for s in sources} | {s.distribution for s in sources})
        lines = []
        for variable, listed in ((ONLY_VARIABLE, self.only or []), (BLOCK_VARIABLE, self.blocked)):
            for entry in listed:
                if not any(self.matches(entry, source) for source in sources):
                    close = difflib.get_close_matches(entry, known, n=1)
                    hint = f"did you mean '{close[0]}'?" if close else "'ganforge plugins' lists them"
                    lines.append(f"{variable} names '{entry}', which is no installed plugin; {hint}")
        return lines


def strict_mode() -> bool:
    return os.environ.get(STRICT_VARIABLE, "").strip().lower() not in ("", "0", "false", "no", "off")


def one_line(exc: BaseException) -> str:
    """An exception as one line: its type and its message with line breaks folded."""
    text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def report_failure(info: PluginInfo, reason: str, strict: bool) -> None:
    """Mark ``info`` failed and say so once on stderr, or raise in strict mode."""
    info.status, info.error = "failed", reason
    if strict:
        raise GanforgeError(
            f"plugin {info.label} failed: {reason}. Fix or uninstall {info.distribution}, or block it with "
            f"{BLOCK_VARIABLE}={info.name} ({STRICT_VARIABLE} makes this an error)"
        )
    warn(f"plugin {info.label} failed and is ignored: {reason} (see 'ganforge plugins')")


def warn_if_slow(info: PluginInfo, seconds: float) -> None:
    """Name a plugin that took long to load, and how to stop waiting for it."""
    if seconds > SLOW_SECONDS:
        warn(
            f"plugin {info.label} took {seconds:.1f} s to load; every command that lists or builds components waits "
            f"for it (skip it with {BLOCK_VARIABLE}={info.name})"
        )


def warn(message: str) -> None:
    print(f"ganforge: warning: {message}", file=sys.stderr)


def _reason(plugin_manager: pluggy.PluginManager, exc: Exception) -> str:
    """Why a plugin failed to load, in one line; pluggy's signature complaint rephrased with the hook's arguments."""
    if isinstance(exc, GanforgeError):
        return str(exc)
    found = re.search(r"hookimpl definition: (\w+)(\(.*?\))\s*Argument\(s\) (\{.*?\})", str(exc), re.S)
    if isinstance(exc, pluggy.PluginValidationError) and found:
        hook, signature, extra = found.groups()
        provided = ", ".join(getattr(plugin_manager.hook, hook).spec.argnames)
        return f"hook {hook}{signature} asks for {extra}, which the hook does not provide; it provides: {provided}"
    return one_line(exc)


def _check_hooks(plugin_manager: pluggy.PluginManager, plugin: Any) -> None:
    """Unknown hook names (with a did-you-mean) and hook wrappers, which ganforge does not call."""
    known = [name for name, caller in vars(plugin_manager.hook).items() if caller.has_spec()]
    for caller in plugin_manager.get_hookcallers(plugin) or []:
        for impl in caller.get_hookimpls():
            if impl.plugin is not plugin:
                continue
            if not caller.has_spec():
                close = difflib.get_close_matches(caller.name, known, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f"; ganforge's hooks are: {', '.join(sorted(known))}"
                raise GanforgeError(f"unknown hook '{caller.name}'{hint}")
            if impl.hookwrapper or impl.wrapper:
                raise GanforgeError(f"hook '{caller.name}' is a wrapper; ganforge calls plain hook implementations only")


def load_plugins(
    plugin_manager: pluggy.PluginManager, sources: Iterable[PluginSource], selection: Selection, strict: bool
) -> list[PluginInfo]:
    """Import and register each selected plugin; a failing one is reported and unregistered, never fatal."""
    sources = list(sources)
    plugins = []
    timeout = timeout_seconds()
    for source in sources:
        info = PluginInfo(source.name, source.module, source.distribution, source.version)
        plugins.append(info)
        skip = selection.skip_reason(source)
        if skip:
            info.status, info.error = "blocked", skip
            continue

        def load(source: PluginSource = source) -> Any:
            plugin = source.load()
            plugin_manager.register(plugin, name=f"{source.distribution}:{source.name}")
            _check_hooks(plugin_manager, plugin)
            return plugin

        started = time.perf_counter()
        try:
            plugin = guarded(load, timeout)
        except Exception as exc:  # a broken plugin must not take the others down with it
            if plugin_manager.has_plugin(f"{source.distribution}:{source.name}"):
                plugin_manager.unregister(name=f"{source.distribution}:{source.name}")
            report_failure(info, _reason(plugin_manager, exc), strict)
            continue
        info.plugin = plugin
        info.hooks = sorted(caller.name for caller in plugin_manager.get_hookcallers(plugin) or [])
        warn_if_slow(info, time.perf_counter() - started)
    for message in selection.unmatched(sources):
        if strict:
            raise GanforgeError(message)
        warn(message)
    return plugins

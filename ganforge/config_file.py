"""Run settings from a file: ``ganforge run --config FILE`` and ``ganforge config --config FILE``.

A file has the shape of a run's ``config.json``: ``variant = "NAME"`` and one table per section (``[train]``,
``[generator]``, ...). TOML (``.toml``) or JSON (``.json``), so a run's own ``config.json`` reproduces it: its
``plugins`` record pins each component to the plugin that provided it, as when the run is resumed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ganforge.config import RunConfig
from ganforge.errors import GanforgeError
from ganforge.files import MAX_NESTING, check_nesting, describe, parse_json, read_text


def read_config_file(path: Path) -> tuple[str | None, dict[str, Any]]:
    """The variant the file names (None if it names none) and its settings as dotted keys."""
    if path.suffix not in (".toml", ".json"):
        raise GanforgeError(f"config file {path} must end in .toml or .json (the format it is written in)")
    try:
        text = read_text(path)  # a regular file of at most 1 MB: never a FIFO's endless wait or /dev/zero's endless read
    except FileNotFoundError:
        raise GanforgeError(f"config file {path} does not exist; pass an existing .toml or .json file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GanforgeError(f"config file {path} cannot be read: {describe(exc)}; pass a regular .toml or .json file") from None
    toml = _toml(path) if path.suffix == ".toml" else None
    try:
        if toml is None:
            data = parse_json(text)
        else:
            try:
                data = toml.loads(text)
            except RecursionError:
                raise ValueError(f"nested deeper than {MAX_NESTING} levels") from None
            check_nesting(data)
    except (ValueError, json.JSONDecodeError) as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise GanforgeError(f"config file {path} is not valid {path.suffix[1:].upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise GanforgeError(f"config file {path} must hold a table of sections ({{\"train\": {{...}}, ...}}), not a {type(data).__name__}")
    for section, values in data.items():
        if section in ("variant", "plugins", "plugin_sections"):
            continue
        if not isinstance(values, dict):
            raise GanforgeError(f"config file {path}: '{section}' must be a section of keys ([{section}] in TOML), not a value")
    if "variant" in data and not isinstance(data["variant"], str):
        raise GanforgeError(f"config file {path}: variant must be a name, such as \"vanilla\"")
    data.setdefault("variant", None)
    variant, settings = RunConfig.flatten(data)
    return variant, settings


def _toml(path: Path) -> Any:
    """The standard library's TOML reader (Python 3.11+), else the tomli package it came from."""
    try:
        import tomllib
    except ImportError:
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            raise GanforgeError(f"config file {path}: reading TOML needs Python 3.11+ or 'pip install tomli'; or write it as .json") from None
    return tomllib


def layered(file_settings: dict[str, Any], command_line: dict[str, Any]) -> dict[str, Any]:
    """The file's settings with the command line's on top. A component the command line chooses anew
    (``--data grid25``, ``--set generator.name=dcgan``) takes none of the file's settings for the one it replaces."""
    replaced = {
        key.partition(".")[0]
        for key, value in command_line.items()
        if key.endswith(".name") and key in file_settings and _bare(file_settings[key]) != _bare(value)
    }
    kept = {key: value for key, value in file_settings.items() if key.partition(".")[0] not in replaced}
    return {**kept, **command_line}


def _bare(name: Any) -> Any:
    """A component name without the ``plugin:`` a saved config qualifies it with."""
    return name.rpartition(":")[2] if isinstance(name, str) else name

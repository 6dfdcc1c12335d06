"""Every key of a run config with its type, value, default and meaning, read from the code that declares it.

``ganforge config`` shows this table. Meanings come from where the code already says them, so they cannot drift
from it: a dataclass section's field comment (``lr: float = at_least(0.0, 2e-4)  # learning rate of G``), and for
a component's settings the comment beside the parameter in its factory's signature, else the first sentence of
its docstrings that names the parameter in double backquotes (````hidden```` ...).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import re
import textwrap
import tokenize
from dataclasses import dataclass
from typing import Any, Callable

from ganforge.config import (
    CORE_MEANINGS,
    CORE_OPTIONS,
    ComponentChoice,
    Option,
    RunConfig,
    dataclass_options,
    factory_options,
    type_name,
)


@dataclass(frozen=True)
class Setting:
    """One key of a run config, as ``ganforge config`` shows it."""

    key: str  # dotted, as --set takes it
    type: str  # the accepted values, with the range where there is one
    value: Any  # what the run would use: the default, or what --set / --data / a config file gave
    default: Any  # the declaring code's default
    meaning: str  # one line; "" where the code says nothing

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def describe(config: RunConfig, registry: Any) -> list[Setting]:
    """Every settable key of ``config``, section by section in the config's order."""
    settings: list[Setting] = []
    for section, value in config.sections.items():
        if isinstance(value, ComponentChoice):
            component = registry.get(value.kind, value.name)
            default_name = _default_name(config, registry, section)
            meaning = f"the {value.kind} ('ganforge list {value.kind}'): {component.description}"
            settings.append(Setting(f"{section}.name", "str", value.name, default_name, meaning))
            factory = component.load()
            meanings = parameter_meanings(factory)
            for name, option in factory_options(factory).items():
                settings.append(_setting(section, option, value.params[name], meanings.get(name, "")))
            for name, option in CORE_OPTIONS.get(section, {}).items():  # the core's own keys in the section
                settings.append(_setting(section, option, value.core[name], CORE_MEANINGS[f"{section}.{name}"]))
        else:
            meanings = field_meanings(type(value))
            for name, option in dataclass_options(type(value)).items():
                settings.append(_setting(section, option, getattr(value, name), meanings.get(name, "")))
    return settings


def _default_name(config: RunConfig, registry: Any, section: str) -> Any:
    defaults = registry.get("variant", config.variant.name).load().defaults
    return defaults.get(f"{section}.name")


def _setting(section: str, option: Option, value: Any, meaning: str) -> Setting:
    return Setting(f"{section}.{option.name}", _type_with_range(option), value, option.default, meaning)


def _type_with_range(option: Option) -> str:
    bounds = [f"≥ {_number(option.minimum)}"] * (option.minimum is not None)
    bounds += [f"≤ {_number(option.maximum)}"] * (option.maximum is not None)
    bounds += [f"< {_number(option.below)}"] * (option.below is not None)
    return type_name(option.annotation) + (f" ({', '.join(bounds)})" if bounds else "")


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def field_meanings(cls: type) -> dict[str, str]:
    """A dataclass's field name -> the comment at the end of its line."""
    comments = _comments_by_line(cls)
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    return {
        node.target.id: comments[node.end_lineno]
        for node in body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.end_lineno in comments
    }


def parameter_meanings(factory: Callable) -> dict[str, str]:
    """A factory's parameter name -> the comment beside it in the signature, else the first docstring sentence
    that names it as ````name````. A class's base classes are read too (the built-in losses' R1 and R2 settings
    are declared once, in their base)."""
    if inspect.isclass(factory):
        owners = [cls for cls in factory.__mro__ if cls is not object]
        signatures = [vars(cls)["__init__"] for cls in owners if "__init__" in vars(cls)]
        docs = [text for cls in owners for text in (cls.__doc__, getattr(vars(cls).get("__init__"), "__doc__", None))]
    else:
        signatures, docs = [factory], [factory.__doc__]
    meanings: dict[str, str] = {}
    for signature in signatures:
        for name, comment in _signature_comments(signature).items():
            meanings.setdefault(name, comment)
    text = " ".join(inspect.cleandoc(doc) for doc in docs if doc)
    for name in inspect.signature(factory).parameters:
        if name not in meanings and (sentence := _sentence_naming(text, name)):
            meanings[name] = sentence
    return meanings


def _signature_comments(function: Callable) -> dict[str, str]:
    """Parameter name -> the comment ending its line in ``function``'s signature, where it has the line alone."""
    try:
        comments = _comments_by_line(function)
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError):  # no source (a builtin, a compiled factory): docstrings only
        return {}
    arguments = tree.body[0].args  # type: ignore[attr-defined]
    return {
        arg.arg: comments[arg.lineno]
        for arg in [*arguments.args, *arguments.kwonlyargs]
        if arg.lineno in comments and _alone_on_its_line(arg, arguments)
    }


def _alone_on_its_line(arg: ast.arg, arguments: ast.arguments) -> bool:
    """A comment at the end of a line describes a parameter only where no other parameter shares the line."""
    return sum(other.lineno == arg.lineno for other in [*arguments.args, *arguments.kwonlyargs]) == 1


def _comments_by_line(obj: Any) -> dict[int, str]:
    """Line number (1 = the first line of ``obj``'s source) -> the text of the comment ending that line."""
    source = textwrap.dedent(inspect.getsource(obj))
    comments = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            text = token.string.lstrip("#").strip()
            if text and not text.startswith(("type:", "noqa", "fmt:")):
                comments[token.start[0]] = text
    return comments


def _sentence_naming(docs: str, name: str) -> str:
    """The first sentence (or clause, up to a semicolon) of ``docs`` that names ````name````, on one line."""
    text = " ".join(docs.split())
    for sentence in re.split(r"(?<=[.;])\s+|:\s+(?=[A-Z`*])", text):
        if f"``{name}``" in sentence:
            return sentence.replace("``", "").rstrip(".;")
    return ""

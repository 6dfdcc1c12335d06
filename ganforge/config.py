"""Run configuration: typed sections addressed by dotted keys (``train.batch_size``, ``generator.hidden``).

Three kinds of section make up a run's config:

* ``train``, owned by the core (:class:`TrainConfig`);
* component sections (``data``, ``generator``, ``discriminator``, ``loss``, ...): a ``name`` plus the chosen
  component's settings, which are the keyword parameters *with defaults* of its factory;
* the variant's own sections, each a dataclass it declares (vanilla's ``noise`` and ``optim``).

An unknown key, a value of the wrong type or one out of range is a :class:`GanforgeError` naming the key and the
accepted keys.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import json
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, Union

from ganforge.errors import GanforgeError


def at_least(minimum: float, default: Any) -> Any:
    """A dataclass field whose value may not go below ``minimum``."""
    return field(default=default, metadata={"min": minimum})


def between(minimum: float, maximum: float, default: Any) -> Any:
    """A dataclass field whose value must lie in [``minimum``, ``maximum``]."""
    return field(default=default, metadata={"min": minimum, "max": maximum})


def below(minimum: float, limit: float, default: Any) -> Any:
    """A dataclass field whose value must lie in [``minimum``, ``limit``): at least ``minimum``, less than ``limit``."""
    return field(default=default, metadata={"min": minimum, "below": limit})


@dataclass
class TrainConfig:
    """The core's settings: how long, how big, where, and how often to report."""

    epochs: int = at_least(1, 5)  # passes over the training data
    max_steps: int | None = at_least(1, None)  # stop after this many generator steps (None: run every epoch)
    steps: int | None = at_least(1, None)  # the run's length in generator steps, which the schedule spans (None: every epoch's)
    minutes: float | None = at_least(0.01, None)  # train for about this long: the first steps are timed and the length fixed in train.steps
    batch_size: int = at_least(1, 64)  # examples per minibatch
    seed: int = between(0, 2**63 - 1, 0)  # seeds the weights, the noise and the data order
    device: str = "auto"  # auto (CUDA when present), cpu, cuda or cuda:N
    amp: bool = True  # mixed precision on CUDA (bf16, else fp16 with loss scaling); no effect on the CPU
    amp_dtype: Literal["auto", "bf16", "fp16"] = "auto"  # auto: bf16 where native, else fp16 (CUDA only); bf16/fp16: forced on any device
    channels_last: bool | None = None  # NHWC layout for conv nets (tensor-core convolutions); None: on CUDA only
    compile: Literal["off", "default", "reduce-overhead", "max-autotune"] = "off"  # torch.compile mode; reduce-overhead adds CUDA graphs
    sync_batchnorm: bool = False  # with several CUDA processes, BatchNorm over the global batch (nn.SyncBatchNorm)
    log_every: int = at_least(1, 50)  # generator steps between lines of metrics.jsonl
    sample_count: int = at_least(1, 64)  # examples drawn from the fixed noise for each epoch's samples
    checkpoint_every: int | None = at_least(1, None)  # also checkpoint every N generator steps (None: epoch ends only)
    keep_checkpoints: int = at_least(1, 3)  # newest checkpoints kept in checkpoints/
    best_metric: str | None = None  # keep checkpoints/best.safetensors at the best logged value of this metric
    best_mode: Literal["min", "max"] = "min"  # whether lower or higher values of best_metric are better
    max_nonfinite_steps: int = at_least(1, 10)  # stop after this many updates in a row skipped for NaN/inf gradients


@dataclass
class EMAConfig:
    """Settings of the ``ema`` section: an exponential moving average of the generator's weights."""

    decay: float | None = below(0.0, 1.0, 0.999)  # weight of the old average per G step; None (run --no-ema): no average
    rampup: float | None = between(0.0, 1.0, 0.05)  # half-life at most this fraction of the steps so far (Karras et al. 2020); None: off


MAX_EVAL_SAMPLES = 50_000  # samples one evaluation may draw; all are held in memory with their k-NN distances


@dataclass
class EvalConfig:
    """Settings of the ``eval`` section: scoring the generator while it trains (see ``ganforge eval``)."""

    every: int | None = at_least(1, None)  # generator steps between evaluations; None: only when asked
    samples: int | None = between(2, MAX_EVAL_SAMPLES, None)  # samples per evaluation; None: the protocol's (2,500 for mixtures)
    patience: int | None = at_least(1, None)  # stop early when this many evaluations in a row have not beaten the best (best.safetensors keeps it); None: never


@dataclass
class ScheduleConfig:
    """Settings of the ``schedule`` section: every optimizer's learning rate over the run (see :mod:`ganforge.schedule`)."""

    hold: float = between(0.0, 1.0, 1.0)  # fraction of the run at the initial rates before the linear decay; 1: constant rates
    final: float = between(0.0, 1.0, 0.0)  # the rates at the end of the run, as a fraction of the initial ones
    d_final: float | None = between(0.0, 1.0, None)  # the discriminators' rates at the end, likewise; None: final
    shape: Literal["linear", "cosine"] = "linear"  # how the rates fall after hold: a straight line, or half a cosine (R3GAN)


AUGMENT_OPERATIONS = ("color", "translation", "cutout")  # DiffAugment's, implemented in ganforge.augment


@dataclass
class AugmentConfig:
    """Settings of the ``augment`` section: differentiable augmentation of D's inputs (see :mod:`ganforge.augment`)."""

    policy: str = "none"  # comma-separated operations of DiffAugment: color, translation, cutout; none: off
    adaptive: bool = False  # ADA: apply each operation with a probability p adjusted from D's outputs on real images
    target: float = between(0.0, 1.0, 0.6)  # ADA's r_t: p rises while E[sign(D(x))] on real images is above it
    interval: int = at_least(1, 4)  # G steps between adjustments of p
    speed: int = at_least(1, 500_000)  # images over which p may move from 0 to 1

    def __post_init__(self) -> None:
        unknown = [name for name in self.operations if name not in AUGMENT_OPERATIONS]
        if unknown:
            raise ValueError(f"augment.policy: unknown operation {unknown[0]!r}; choose from {', '.join(AUGMENT_OPERATIONS)} (or none)")
        if self.adaptive and not self.operations:
            raise ValueError("augment.adaptive needs operations to apply; set augment.policy, e.g. color,translation,cutout")

    @property
    def operations(self) -> list[str]:
        return [] if self.policy.strip().lower() in ("", "none") else [name.strip() for name in self.policy.split(",")]


@dataclass
class DistConfig:
    """Settings of the ``dist`` section: a data-parallel job under torchrun (see docs/scaling.md)."""

    timeout_s: float = between(1.0, 7 * 86400.0, 1800.0)  # seconds one process waits for the others before the job stops, at most a week (see docs/scaling.md)


# The core's own sections, present in every run's config.
CORE_SECTIONS: dict[str, type] = {
    "train": TrainConfig,
    "ema": EMAConfig,
    "eval": EvalConfig,
    "schedule": ScheduleConfig,
    "augment": AugmentConfig,
    "dist": DistConfig,
}


@dataclass(frozen=True)
class Option:
    """One settable key of a section."""

    name: str
    annotation: Any
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    below: float | None = None  # an exclusive upper bound

    def coerce(self, value: Any) -> Any:
        converted = _coerce(value, self.annotation)
        if self.minimum is not None and converted is not None and converted < self.minimum:
            raise ValueError(f"must be at least {self.minimum}, got {converted}")
        if self.maximum is not None and converted is not None and converted > self.maximum:
            raise ValueError(f"must be at most {self.maximum}, got {converted}")
        if self.below is not None and converted is not None and converted >= self.below:
            raise ValueError(f"must be less than {self.below}, got {converted}")
        return converted


def dataclass_options(cls: type) -> dict[str, Option]:
    hints = typing.get_type_hints(cls)
    return {
        f.name: Option(f.name, hints[f.name], f.default, f.metadata.get("min"), f.metadata.get("max"), f.metadata.get("below"))
        for f in dataclasses.fields(cls)
    }


def factory_options(factory: Any) -> dict[str, Option]:
    """The user-settable parameters of a component factory: those with defaults."""
    target = factory.__init__ if inspect.isclass(factory) else factory
    hints = typing.get_type_hints(target)
    return {
        p.name: Option(p.name, hints.get(p.name, type(p.default)), p.default)
        for p in inspect.signature(factory).parameters.values()
        if p.default is not inspect.Parameter.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def supplied_parameters(factory: Any) -> list[str]:
    """The parameters a factory needs from its caller (those without defaults)."""
    return [
        p.name
        for p in inspect.signature(factory).parameters.values()
        if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


_TRUE, _FALSE, _NONE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}, {"none", "null"}


def type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(annotation))
    return "None" if annotation is type(None) else getattr(annotation, "__name__", str(annotation))


def _coerce(value: Any, annotation: Any) -> Any:
    """``value`` (a typed value, or a string from the command line) as ``annotation``, or ValueError."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        for choice in sorted(typing.get_args(annotation), key=lambda a: a is str):  # try str last
            try:
                return _coerce(value, choice)
            except ValueError:
                pass
        raise ValueError(f"expected {type_name(annotation)}, got {value!r}")
    if origin is Literal:
        choices = typing.get_args(annotation)
        if value in choices:
            return value
        raise ValueError(f"expected one of {', '.join(repr(c) for c in choices)}, got {value!r}{did_you_mean(value, choices)}")
    if origin in (tuple, list):
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ValueError(f"expected a comma-separated list, got {value!r}")
        (item_type, *_) = typing.get_args(annotation) or (Any,)
        return origin(_coerce(item, item_type) for item in items)
    if annotation is type(None):
        if value is None or (isinstance(value, str) and value.lower() in _NONE):
            return None
        raise ValueError(f"expected None, got {value!r}")
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise ValueError(f"expected true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                pass
        raise ValueError(f"expected an integer, got {value!r}")
    if annotation is float:
        number = None
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            try:
                number = float(value)
            except (ValueError, OverflowError):
                pass
        if number is None or not math.isfinite(number):  # nan slips past every range check
            raise ValueError(f"expected a finite number, got {value!r}")
        return number
    if annotation is str:
        if isinstance(value, str):
            return value
        raise ValueError(f"expected a string, got {value!r}")
    if annotation is Any:
        return value
    raise ValueError(f"settings of type {type_name(annotation)} cannot be set from the command line")


def did_you_mean(given: Any, known: Iterable[Any], shown: Callable[[str], str] = str) -> str:
    """". Did you mean 'X'?" for the word of ``known`` closest to ``given`` (spelled as ``shown(word)``), or "" when
    none is close, as the registry suggests component names."""
    words = [word for word in known if isinstance(word, str)]
    close = difflib.get_close_matches(given, words, n=1, cutoff=0.7) if isinstance(given, str) else []  # 0.6 offers depth for width
    return f". Did you mean '{shown(close[0])}'?" if close else ""


def parse_assignments(assignments: list[str]) -> dict[str, str]:
    """``["generator.hidden=512", ...]`` as ``{"generator.hidden": "512", ...}``."""
    parsed = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise GanforgeError(f"--set {assignment!r} is not of the form key=value (for example --set loss.mode=minimax)")
        parsed[key] = value.strip()
    return parsed


# Keys of component sections that the core owns, beside the component's own settings. data.fraction: the part of
# the data trained on (see ganforge.data.TensorData.fraction), for data-efficiency experiments
CORE_OPTIONS = {"data": {"fraction": Option("fraction", float, 1.0, minimum=0.0, maximum=1.0)}}
CORE_MEANINGS = {"data.fraction": "the part of the dataset a run trains on, chosen by train.seed; evaluation compares with all of it"}


@dataclass
class ComponentChoice:
    """A component section: which component, who provides it, and its settings."""

    kind: str
    name: str
    plugin: str
    version: str
    params: dict[str, Any]  # the component's own settings, as its factory takes them
    core: dict[str, Any] = field(default_factory=dict)  # the core's settings in this section (CORE_OPTIONS)


class RunConfig:
    """A fully resolved run configuration; sections are attributes (``config.train.batch_size``)."""

    def __init__(self, variant: ComponentChoice, sections: dict[str, Any], providers: dict[str, str] | None = None):
        self.variant = variant
        self.sections = sections
        self.providers = providers or {}  # plugin settings section -> "distribution version" that added it

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["sections"][name]
        except KeyError:
            raise AttributeError(name) from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every section's values, which plugin and version provided each component (``plugins``),
        and which added each plugin settings section (``plugin_sections``)."""
        out: dict[str, Any] = {"variant": self.variant.name}
        provenance = {"variant": f"{self.variant.plugin} {self.variant.version}"}
        for section, value in self.sections.items():
            if isinstance(value, ComponentChoice):
                out[section] = {"name": value.name, **value.params, **value.core}
                provenance[section] = f"{value.plugin} {value.version}"
            else:
                out[section] = dataclasses.asdict(value)
        out["plugins"] = provenance
        if self.providers:
            out["plugin_sections"] = dict(self.providers)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @staticmethod
    def flatten(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The variant name and dotted-key overrides that :func:`resolve_config` turns back into this config.

        Component names are qualified with the plugin recorded as their provider (``ganforge:mlp``), so that a
        plugin installed later that registers the same name cannot change what a saved run resolves to.
        """
        recorded = data.get("plugins", {})
        providers = {  # a provider that is no "distribution version" text (a damaged file) qualifies nothing
            section: provider.rpartition(" ")[0] for section, provider in recorded.items() if isinstance(provider, str)
        } if isinstance(recorded, dict) else {}

        def qualified(section: str, name: Any) -> Any:
            if section not in providers or not isinstance(name, str) or ":" in name:
                return name
            return f"{providers[section]}:{name}"

        flat = {
            f"{section}.{key}": qualified(section, value) if key == "name" else value
            for section, values in data.items()
            if section not in ("variant", "plugins", "plugin_sections")
            for key, value in values.items()
        }
        return qualified("variant", data["variant"]), _from_before_the_schedule(flat)


# Keys of the variants' own learning-rate decays, saved before the core's one schedule language (ganforge.schedule)
SCHEDULE_KEYS_BEFORE = {
    "optim.decay_start": "schedule.hold",  # pacgan
    "optim.decay_after": "schedule.hold",  # cyclegan
    "optim.final_lr": "schedule.final",  # pacgan
    "optim.d_final_lr": "schedule.d_final",  # pacgan
}


def _from_before_the_schedule(flat: dict[str, Any]) -> dict[str, Any]:
    """A saved run's keys in today's terms, so that runs saved before the schedule section still sample and resume
    as they trained."""
    for old, new in SCHEDULE_KEYS_BEFORE.items():
        if old in flat:
            flat.setdefault(new, flat.pop(old))
    if "stages.stage1_epochs" in flat:  # StackGAN's stage I in epochs, None for half of them
        epochs = int(flat.get("train.epochs", TrainConfig.epochs))
        stage1_epochs = flat.pop("stages.stage1_epochs") or max(1, epochs // 2)
        flat.setdefault("stages.stage1", min(1.0, stage1_epochs / epochs))
    if "ema.decay" in flat:  # saved before the ramp-up: the plain decay from the first step
        flat.setdefault("ema.rampup", None)
    if flat.get("optim.halve_every", "absent") is None:  # StackGAN's halving, never on by default: nothing to carry
        del flat["optim.halve_every"]
    return flat


def resolve_config(
    registry, variant_name: str, overrides: dict[str, Any] | None = None, plugin_settings: bool = True
) -> RunConfig:
    """The run config for ``variant_name`` with its defaults, then ``overrides`` (dotted keys), applied.

    ``plugin_settings`` False leaves out the sections plugins add for training (see the ``config_sections`` hook)
    and ignores keys of sections nobody declares: a saved run rebuilt for sampling needs neither, and the plugins
    that declared them may be gone.
    """
    overrides = dict(overrides or {})
    variant_component = registry.get("variant", variant_name)
    variant_cls = variant_component.load()
    component_sections = {"data": "dataset", **variant_cls.components}
    values: dict[str, Any] = {**_defaults_for_the_chosen(variant_cls.defaults, overrides, component_sections), **overrides}
    dataclass_sections = {**CORE_SECTIONS, **variant_cls.sections}
    plugin_sections = registry.sections if plugin_settings else {}
    for section, added in plugin_sections.items():
        if section in component_sections or section in dataclass_sections:
            raise GanforgeError(
                f"plugin {added.plugin} adds config section '{section}', which variant '{variant_component.name}' "
                f"uses too; block one of them with GANFORGE_BLOCK_PLUGINS"
            )
        dataclass_sections[section] = added.settings
    all_sections = sorted([*component_sections, *dataclass_sections])

    by_section: dict[str, dict[str, Any]] = {section: {} for section in all_sections}
    for key, value in values.items():
        section, _, name = key.partition(".")
        if not plugin_settings and section not in by_section:
            continue
        if section not in by_section or not name:
            close = did_you_mean(section, all_sections, lambda s: f"{s}.{name}") if name else ""
            starts = f"eys start with one of: {', '.join(s + '.' for s in all_sections)}"
            raise GanforgeError(
                f"unknown config key {key!r} for variant '{variant_component.name}'" + (f"{close} K{starts}" if close else f"; k{starts}")
            )
        by_section[section][name] = value

    sections: dict[str, Any] = {}
    for section in all_sections:
        given = by_section[section]
        if section in component_sections:
            kind = component_sections[section]
            if "name" not in given:
                raise GanforgeError(f"variant '{variant_component.name}' names no default {section}; pass {section}.name")
            # a variant's default names mean its own package's components, even where another plugin reuses them
            prefer = None if f"{section}.name" in overrides else variant_component.plugin
            component = registry.get(kind, str(given.pop("name")), prefer=prefer)
            options = factory_options(component.load())
            core_options = CORE_OPTIONS.get(section, {})
            params = _apply(section, {**options, **core_options}, given, f"{kind} '{component.name}'", named=True)
            core = {name: params.pop(name) for name in core_options}
            sections[section] = ComponentChoice(kind, component.unique_name, component.plugin, component.version, params, core)
        else:
            cls = dataclass_sections[section]
            owner = f"plugin {plugin_sections[section].plugin}" if section in plugin_sections else f"variant '{variant_component.name}'"
            params = _apply(section, dataclass_options(cls), given, owner, named=False)
            try:
                sections[section] = cls(**params)
            except (TypeError, ValueError) as exc:
                raise GanforgeError(f"config section '{section}' ({owner}) rejected {params}: {exc}") from None
    variant = ComponentChoice(
        "variant", variant_component.unique_name, variant_component.plugin, variant_component.version, {}
    )
    providers = {section: f"{added.plugin} {added.version}" for section, added in plugin_sections.items()}
    if sections["train"].best_metric is not None and sections["eval"].every is not None:
        raise GanforgeError(
            "train.best_metric and eval.every both choose checkpoints/best.safetensors; set one of them "
            "(eval.every keeps the best evaluation)"
        )
    if sections["eval"].patience is not None and sections["eval"].every is None:
        raise GanforgeError(
            f"eval.patience={sections['eval'].patience} counts evaluations, and this run makes none; "
            "add --eval-every N (eval.every) to score the generator every N steps"
        )
    return RunConfig(variant, sections, providers)


def _defaults_for_the_chosen(defaults: dict[str, Any], overrides: dict[str, Any], sections: dict[str, str]) -> dict[str, Any]:
    """A variant's ``defaults`` without the settings it gives its default component of a section where
    ``overrides`` choose another component (vanilla's ``generator.hidden`` is the mlp generator's, not a setting of
    the ``generator.name`` the user picked)."""
    def bare(name: Any) -> str:
        return str(name).rpartition(":")[2]  # a saved run names components with their plugin (ganforge:mlp)

    replaced = {
        section
        for section in sections
        if f"{section}.name" in overrides and bare(overrides[f"{section}.name"]) != bare(defaults.get(f"{section}.name"))
    }
    return {key: value for key, value in defaults.items() if key.partition(".")[0] not in replaced or key.endswith(".name")}


def _apply(section: str, options: dict[str, Option], given: dict[str, Any], owner: str, named: bool) -> dict[str, Any]:
    """Defaults from ``options`` updated with the ``given`` values, each checked and converted."""
    accepted = [f"{section}.name"] * named + [f"{section}.{name}" for name in options]
    params = {name: option.default for name, option in options.items()}
    for name, value in given.items():
        if name not in options:
            close = did_you_mean(name, [*options, *["name"] * named], lambda n: f"{section}.{n}")
            listed = f"accepted keys: {', '.join(accepted) or '(none)'}"
            raise GanforgeError(
                f"unknown config key {section + '.' + name!r} for {owner}" + (f"{close} Its {listed}" if close else f"; {listed}")
            )
        try:
            params[name] = options[name].coerce(value)
        except ValueError as exc:
            raise GanforgeError(f"config key '{section}.{name}': {exc}") from None
    return params

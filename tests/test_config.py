"""Run-config resolution: defaults, overrides, and the errors a user sees for bad keys and values."""

import json

import pytest

from ganforge.api import configure
from ganforge.config import RunConfig, parse_assignments, resolve_config
from ganforge.errors import GanforgeError
from ganforge.registry import get_registry


def test_variant_defaults_fill_every_section():
    config = configure("vanilla")
    assert config.data.name == "mnist"
    assert (config.generator.name, config.discriminator.name, config.loss.name) == ("mlp", "mlp", "bce")
    assert config.loss.params == {"mode": "non-saturating", "r1_gamma": 0.0, "r2_gamma": 0.0}
    assert config.noise.dim == 100 and config.noise.dist == "normal"
    assert config.optim.d_steps is None  # None: the loss's own count (bce: 1)
    # the Quickstart's measured defaults (benchmarks/README.md, image quality): every digit drawn on MNIST
    assert (config.train.batch_size, config.train.epochs, config.generator.params["norm"]) == (32, 20, "images")


def test_command_line_strings_are_converted_to_the_declared_types():
    settings = parse_assignments(
        ["generator.hidden=512", "loss.mode=minimax", "noise.dist=uniform", "train.max_steps=10", "optim.lr=1e-3", "train.amp=false"]
    )
    config = configure("vanilla", "ring8", settings)
    assert config.generator.params["hidden"] == 512
    assert config.loss.params["mode"] == "minimax"
    assert config.noise.dist == "uniform"
    assert config.train.max_steps == 10 and config.optim.lr == 1e-3 and config.train.amp is False


def test_optional_values_accept_none():
    assert configure("vanilla", settings={"train.max_steps": "none"}).train.max_steps is None


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("generator.hiden", "512", "unknown config key 'generator.hiden' for generator 'mlp'. Did you mean 'generator.hidden'?"),
        ("generator.width", "512", "unknown config key 'generator.width' for generator 'mlp'; accepted keys: generator.name, generator.hidden"),
        ("train.bogus", "1", "unknown config key 'train.bogus'"),
        ("nosuchsection.x", "1", "keys start with one of:"),
        ("generator", "1", "keys start with one of:"),
        ("generator.hidden", "big", "config key 'generator.hidden': expected an integer, got 'big'"),
        ("loss.mode", "saturating", "expected one of 'non-saturating', 'minimax'"),
        ("train.batch_size", "-4", "config key 'train.batch_size': must be at least 1"),
        ("optim.lr", "-0.1", "config key 'optim.lr': must be at least 0.0"),
        ("train.amp", "maybe", "expected true or false"),
        ("generator.name", "mpl", "unknown generator 'mpl'. Did you mean 'mlp'? Run 'ganforge list generator'"),
    ],
)
def test_bad_settings_name_the_key_and_the_choices(key, value, message):
    with pytest.raises(GanforgeError, match=None) as raised:
        configure("vanilla", "ring8", {key: value})
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "key, value, suggestion",
    [
        ("train.epoch", "2", "Did you mean 'train.epochs'?"),  # a dataclass section's key
        ("generator.hiden", "64", "Did you mean 'generator.hidden'?"),  # a component's parameter
        ("trian.epochs", "2", "Did you mean 'train.epochs'?"),  # the section misspelled
        ("loss.mode", "minmax", "got 'minmax'. Did you mean 'minimax'?"),  # a choice's value
        ("noise.dist", "gaussian", "expected one of 'normal', 'uniform', got 'gaussian'"),  # nothing close: no guess
    ],
)
def test_misspelled_keys_and_choices_get_a_suggestion(key, value, suggestion):
    with pytest.raises(GanforgeError) as raised:
        configure("vanilla", "ring8", {key: value})
    message = str(raised.value)
    assert suggestion in message and "\n" not in message
    assert message.count("Did you mean") == ("Did you mean" in suggestion)


def test_a_suggested_key_is_one_the_config_accepts():
    with pytest.raises(GanforgeError, match="Did you mean 'train.epochs'") as raised:
        configure("vanilla", "ring8", {"train.epoch": "3"})
    suggested = str(raised.value).split("Did you mean '")[1].split("'")[0]
    assert configure("vanilla", "ring8", {suggested: "3"}).train.epochs == 3


def test_accepted_keys_are_listed_for_dataclass_sections():
    with pytest.raises(GanforgeError) as raised:
        configure("vanilla", settings={"noise.size": "3"})
    assert "accepted keys: noise.dim, noise.dist" in str(raised.value)


@pytest.mark.parametrize("assignment", ["generator.hidden", "=3", ""])
def test_malformed_set_is_rejected(assignment):
    with pytest.raises(GanforgeError, match="is not of the form key=value"):
        parse_assignments([assignment])


def test_unknown_variant_suggests_a_name():
    with pytest.raises(GanforgeError, match="unknown variant 'vanila'. Did you mean 'vanilla'"):
        configure("vanila")


def test_config_round_trips_through_json():
    config = configure("vanilla", "ring8", {"generator.hidden": "32", "loss.mode": "minimax"})
    saved = json.loads(config.to_json())
    assert saved["plugins"]["generator"].startswith("ganforge ")
    variant, flat = RunConfig.flatten(saved)
    again = resolve_config(get_registry(), variant, flat)
    assert again.to_dict() == config.to_dict()


@pytest.mark.parametrize("value", ["1", "1.0", "1.5"])
def test_an_ema_decay_of_one_or_more_is_refused_naming_the_key(value):
    with pytest.raises(GanforgeError) as raised:
        configure("vanilla", "ring8", {"ema.decay": value})
    assert "config key 'ema.decay': must be less than 1" in str(raised.value)


@pytest.mark.parametrize("value, expected", [("0", 0.0), ("0.999", 0.999), ("none", None)])
def test_an_ema_decay_below_one_is_accepted(value, expected):
    assert configure("vanilla", "ring8", {"ema.decay": value}).ema.decay == expected

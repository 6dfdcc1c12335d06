"""The registry: registration rules, name resolution and collisions, plugin selection, and failures blamed on the
right plugin. Plugins here are objects handed to the loader directly; tests/test_installed_plugins.py repeats the
important cases with installed distributions."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import torch

import ganforge
from ganforge import hookimpl, testing
from ganforge.config import RunConfig
from ganforge.discovery import PluginSource, Selection, builtin_sources
from ganforge.errors import GanforgeError
from ganforge.registry import build_registry

from conftest import TINY


def source(plugin, dist="gf-test", version="1.0", name="test"):
    return PluginSource(name, f"{dist}.plugin", dist, version, lambda: plugin)


def registry_of(*sources, builtins=False, selection=None, strict=False):
    return build_registry([*(builtin_sources() if builtins else []), *sources], selection or Selection(), strict)


class Loss:
    """A stand-in loss."""

    def discriminator_loss(self, real_logits, fake_logits):
        return torch.nn.functional.softplus(-real_logits).mean() + torch.nn.functional.softplus(fake_logits).mean()

    def generator_loss(self, fake_logits):
        return torch.nn.functional.softplus(-fake_logits).mean()


class Registers:
    """A plugin that registers the losses it is given."""

    def __init__(self, *names, kind_hook="register_losses"):
        self.names = names

    @hookimpl
    def register_losses(self, register):
        for name in self.names:
            register(name, Loss)


class EveryKind:
    """One component of each kind, each registered by its own hook."""

    @hookimpl
    def register_variants(self, register):
        register("v", "ganforge_vanilla.recipe:Vanilla", "a variant")

    @hookimpl
    def register_generators(self, register):
        register("g", "ganforge_vanilla.models:MLPGenerator", "a generator")

    @hookimpl
    def register_discriminators(self, register):
        register("d", "ganforge_vanilla.models:MLPDiscriminator", "a discriminator")

    @hookimpl
    def register_losses(self, register):
        register("l", Loss)

    @hookimpl
    def register_datasets(self, register):
        register("s", "ganforge_datasets.mixtures:ring8", "a dataset")


def test_each_registration_hook_registers_its_kind_lazily():
    registry = registry_of(source(EveryKind(), "gf-every", "2.1"))
    assert [(c.kind, c.name, c.qualified_name, c.version) for c in registry.components()] == [
        ("variant", "v", "gf-every:v", "2.1"),
        ("generator", "g", "gf-every:g", "2.1"),
        ("discriminator", "d", "gf-every:d", "2.1"),
        ("loss", "l", "gf-every:l", "2.1"),
        ("dataset", "s", "gf-every:s", "2.1"),
    ]
    assert isinstance(registry.get("discriminator", "d").target, str)  # not imported until used
    spec = testing.tiny_data((2,)).spec
    testing.check_discriminator(testing.build("discriminator", "d", registry, settings={"hidden": 4}, spec=spec), torch.randn(3, 2))
    assert registry.components("variant")[0].description == "a variant"


def test_listing_is_naturally_sorted_and_filtered_by_wildcards():
    registry = registry_of(source(Registers("gan10", "gan2", "Gan1", "wgan", "hinge")))
    assert [c.name for c in registry.components("loss")] == ["Gan1", "gan2", "gan10", "hinge", "wgan"]
    assert [c.name for c in registry.components("loss", "*gan*")] == ["gan2", "gan10", "wgan"]
    assert [c.description for c in registry.components("loss", "hinge")] == ["A stand-in loss."]
    with pytest.raises(GanforgeError, match="unknown component kind 'losss'; choose one of: variant, generator"):
        registry.components("losss")


@pytest.mark.parametrize(
    "register_call, reason",
    [
        (lambda r: r("a:b", Loss), "a loss name is letters, digits and . _ + -"),
        (lambda r: r("two words", Loss), "a loss name is letters"),
        (lambda r: r("x", "module_without_attribute"), "needs a 'module:attribute' path and a description"),
        (lambda r: r("x", "pkg.mod:Loss"), "needs a 'module:attribute' path and a description"),
        (lambda r: r("x", 42), "a loss is a class, a function or a 'module:attribute' path"),
        (lambda r: (r("x", Loss), r("x", Loss)), "loss 'x' is registered twice"),
    ],
)
def test_a_wrong_registration_fails_only_its_plugin(register_call, reason, capsys):
    class Wrong:
        @hookimpl
        def register_losses(self, register):
            register("kept-out", Loss)
            register_call(register)

    registry = registry_of(source(Wrong(), "gf-wrong"), source(Registers("fine"), "gf-fine"))
    wrong, fine = registry.plugins
    assert (wrong.status, fine.status) == ("failed", "loaded") and reason in wrong.error
    assert registry.names("loss") == ["fine"]  # nothing of the failed plugin is kept
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("ganforge: warning: plugin gf-wrong 1.0 (entry point 'test'") and reason in line


def test_a_registration_hook_that_raises_fails_only_its_plugin():
    class Raises:
        @hookimpl
        def register_losses(self, register):
            raise ImportError("needs scipy")

    registry = registry_of(source(Raises(), "gf-raises"), source(Registers("fine"), "gf-fine"))
    assert registry.plugins[0].error == "ImportError: needs scipy" and registry.names("loss") == ["fine"]


def test_hook_wrappers_are_refused():
    class Wrapper:
        @hookimpl(wrapper=True)
        def register_losses(self, register):
            return (yield)

    (plugin,) = registry_of(source(Wrapper())).plugins
    assert plugin.status == "failed" and "is a wrapper" in plugin.error


def test_strict_mode_raises_one_line_naming_the_distribution_and_the_way_out():
    class Misspelled:
        @hookimpl
        def register_los(self, register):
            pass

    with pytest.raises(GanforgeError) as caught:
        registry_of(source(Misspelled(), "gf-typo", "0.3", "typo"), strict=True)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("plugin gf-typo 0.3 (entry point 'typo' -> gf-typo.plugin) failed: unknown hook 'register_los'")
    assert "did you mean 'register_losses'?" in message and "GANFORGE_BLOCK_PLUGINS=typo" in message


# --- collisions --------------------------------------------------------------------------------------------------


def test_same_name_from_two_plugins_is_ambiguous_until_qualified():
    registry = registry_of(source(Registers("twin"), "gf-a"), source(Registers("twin", "solo"), "gf-b"))
    with pytest.raises(GanforgeError, match="loss name 'twin' is provided by several plugins; name one of: gf-a:twin, gf-b:twin"):
        registry.get("loss", "twin")
    assert registry.get("loss", "gf-b:twin").plugin == "gf-b"
    assert registry.get("loss", "GF_A:twin").plugin == "gf-a"  # distribution names compare as pip compares them
    with pytest.raises(GanforgeError, match="plugin gf-c provides no loss 'twin'; these do: gf-a:twin, gf-b:twin"):
        registry.get("loss", "gf-c:twin")
    twins = registry.components("loss", "twin")
    assert [(c.unique_name, c.ambiguous) for c in twins] == [("gf-a:twin", True), ("gf-b:twin", True)]
    assert registry.get("loss", "solo").unique_name == "solo"


class Mlp:
    """A third-party generator that reuses the built-in's name."""

    @hookimpl
    def register_generators(self, register):
        from ganforge_vanilla.models import MLPGenerator

        register("mlp", MLPGenerator)


def test_a_builtin_is_never_silently_shadowed():
    registry = registry_of(source(Mlp(), "gf-mlp"), builtins=True)
    # the variant's own default still means its own package's mlp ...
    config = ganforge.configure("vanilla", "ring8", registry=registry)
    assert config.generator.plugin == "ganforge" and config.generator.name == "ganforge:mlp"
    assert config.to_dict()["generator"]["name"] == "ganforge:mlp"
    # ... but a user who types the bare name must choose
    with pytest.raises(GanforgeError, match="generator name 'mlp' is provided by several plugins; name one of: ganforge:mlp, gf-mlp:mlp"):
        ganforge.configure("vanilla", "ring8", {"generator.name": "mlp"}, registry=registry)
    chosen = ganforge.configure("vanilla", "ring8", {"generator.name": "gf-mlp:mlp"}, registry=registry)
    assert chosen.to_dict()["plugins"]["generator"] == "gf-mlp 1.0"


def test_a_saved_run_keeps_resolving_to_its_components_when_a_colliding_plugin_arrives(tmp_path):
    settings = {**TINY, "data.size": 64, "train.epochs": 1}
    result = ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path, registry=registry_of(builtins=True))
    saved = json.loads(result.run_dir.config_path.read_text())
    variant, flat = RunConfig.flatten(saved)
    assert variant == "ganforge:vanilla" and flat["generator.name"] == "ganforge:mlp" and flat["data.name"] == "ganforge:ring8"
    later = registry_of(source(Mlp(), "gf-mlp"), builtins=True)
    assert ganforge.sample(tmp_path, count=4, device="cpu", registry=later).values.shape == (4, 2)


# --- factories that fail at use time ----------------------------------------------------------------------------


class Faulty:
    """Components that load and register fine and fail only when built."""

    @hookimpl
    def register_losses(self, register):
        def explodes():
            """Raises."""
            raise RuntimeError("boom")

        register("explodes", explodes)
        register("shapeless", lambda: object(), "returns an object without the two methods")

    @hookimpl
    def register_generators(self, register):
        register("dict", lambda noise_dim, spec: {"noise_dim": noise_dim}, "returns a dict")

    @hookimpl
    def register_datasets(self, register):
        register("list", lambda: [1, 2, 3], "returns a list")
        register("gone", "gf_faulty_nowhere.data:load", "a module that is not there")

    @hookimpl
    def register_variants(self, register):
        from ganforge_vanilla.recipe import Vanilla

        class Breaks(Vanilla):
            """Fails while building its networks."""

            def build(self):
                raise IndexError("stage 2 missing")

        register("breaks", Breaks)
        register("not-a-variant", dict, "not a Variant subclass")


@pytest.mark.parametrize(
    "variant, settings, message",
    [
        ("vanilla", {"loss.name": "explodes"}, "loss 'explodes' from plugin gf-faulty 0.9 failed while being built: RuntimeError: boom; report this to the authors of gf-faulty"),
        ("vanilla", {"loss.name": "shapeless"}, "loss 'shapeless' from plugin gf-faulty 0.9 returned object, an object without discriminator_loss() and generator_loss()"),
        ("vanilla", {"generator.name": "dict"}, "generator 'dict' from plugin gf-faulty 0.9 returned dict, not a torch.nn.Module"),
        ("vanilla", {"data.name": "list"}, "dataset 'list' from plugin gf-faulty 0.9 returned list, not a ganforge.data.TensorData"),
        ("vanilla", {"data.name": "gone"}, "dataset 'gone' from plugin gf-faulty 0.9 could not be loaded from 'gf_faulty_nowhere.data:load': ModuleNotFoundError"),
        ("breaks", {}, "variant 'breaks' from plugin gf-faulty 0.9 failed to build its networks for data of shape (2,): IndexError: stage 2 missing"),
        ("not-a-variant", {}, "variant 'not-a-variant' from plugin gf-faulty 0.9 is not a ganforge.Variant subclass"),
    ],
)
def test_a_failing_factory_is_an_error_naming_its_plugin_and_writes_nothing(variant, settings, message, tmp_path):
    registry = registry_of(source(Faulty(), "gf-faulty", "0.9"), builtins=True)
    base = {} if variant == "not-a-variant" else {"data.name": "ring8", "data.size": 64} if "data.name" not in settings else {}
    with pytest.raises(GanforgeError) as caught:
        ganforge.train(variant, settings={**base, **settings}, out=tmp_path / "run", registry=registry)
    assert message in str(caught.value)
    assert not (tmp_path / "run").exists()


# --- choosing plugins from the environment ----------------------------------------------------------------------


def never_imported():
    raise AssertionError("a blocked plugin was imported")


BUILTIN = PluginSource("losses", "ganforge_losses.plugin", "ganforge", "0.1.0", lambda: None)
THIRD = PluginSource("fgan", "ganforge_fgan.plugin", "Ganforge_FGAN", "0.1.0", lambda: None)


@pytest.mark.parametrize(
    "only, blocked, builtin_reason, third_reason",
    [
        (None, [], None, None),
        (["fgan"], [], None, None),  # by entry-point name
        (["ganforge-fgan"], [], None, None),  # by distribution, normalised as pip does
        (["other"], [], None, "not named in GANFORGE_PLUGINS"),  # built-ins always load ...
        (None, ["losses"], "by GANFORGE_BLOCK_PLUGINS", None),  # ... unless blocked
        (None, ["ganforge:losses"], "by GANFORGE_BLOCK_PLUGINS", None),
        (None, ["ganforge_fgan"], None, "by GANFORGE_BLOCK_PLUGINS"),
        (["fgan"], ["fgan"], None, "by GANFORGE_BLOCK_PLUGINS"),  # blocking wins
    ],
)
def test_selection_by_distribution_or_entry_point(only, blocked, builtin_reason, third_reason):
    selection = Selection(only, blocked)
    assert (selection.skip_reason(BUILTIN), selection.skip_reason(THIRD)) == (builtin_reason, third_reason)


def test_selection_reads_the_environment_and_flags_typos(monkeypatch):
    monkeypatch.setenv("GANFORGE_PLUGINS", " fgan , ")
    monkeypatch.setenv("GANFORGE_BLOCK_PLUGINS", "losse")
    selection = Selection.from_env()
    assert (selection.only, selection.blocked) == (["fgan"], ["losse"])
    assert selection.unmatched([BUILTIN, THIRD]) == [
        "GANFORGE_BLOCK_PLUGINS names 'losse', which is no installed plugin; did you mean 'losses'?"
    ]


def test_a_blocked_plugin_is_never_imported_and_listed_as_blocked():
    blocked = PluginSource("evil", "evil.plugin", "gf-evil", "6.6", never_imported)
    registry = build_registry([blocked, source(Registers("fine"))], Selection(blocked=["gf-evil"]), strict=True)
    assert [(p.name, p.status, p.error) for p in registry.plugins] == [
        ("evil", "blocked", "by GANFORGE_BLOCK_PLUGINS"),
        ("test", "loaded", ""),
    ]


def test_blocking_a_builtin_leaves_a_clear_error_where_it_is_needed():
    builtins = [s for s in builtin_sources() if s.name != "losses"]
    registry = build_registry(builtins, Selection(), strict=True)
    with pytest.raises(GanforgeError, match="unknown loss 'bce'. Run 'ganforge list loss' to see the choices"):
        ganforge.configure("vanilla", "ring8", registry=registry)


# --- settings sections ------------------------------------------------------------------------------------------


@dataclass
class Knobs:
    level: int = 1  # a setting


def sections(returned):
    class Plugin:
        @hookimpl
        def config_sections(self):
            return returned

    return Plugin()


@pytest.mark.parametrize(
    "returned, reason",
    [
        ({"train": Knobs}, "section 'train' is already taken by ganforge's core"),
        ({"knobs": dict}, "section 'knobs' is <class 'dict'>, not a dataclass"),
        ({"a.b": Knobs}, "'a.b' is not a section name"),
        ([Knobs], "returned list, not a dict"),
    ],
)
def test_bad_settings_sections_fail_their_plugin(returned, reason):
    (plugin,) = registry_of(source(sections(returned))).plugins
    assert plugin.status == "failed" and reason in plugin.error


def test_a_section_name_belongs_to_the_first_plugin_that_adds_it():
    registry = registry_of(source(sections({"knobs": Knobs}), "gf-first"), source(sections({"knobs": Knobs}), "gf-second"))
    assert [p.status for p in registry.plugins] == ["loaded", "failed"]
    assert "section 'knobs' is already taken by gf-first" in registry.plugins[1].error
    assert registry.sections["knobs"].plugin == "gf-first"


def test_a_section_that_a_variant_also_uses_is_an_error_at_configure_time():
    registry = registry_of(source(sections({"optim": Knobs}), "gf-optim"), builtins=True)
    with pytest.raises(GanforgeError, match="plugin gf-optim adds config section 'optim', which variant 'vanilla' uses too"):
        ganforge.configure("vanilla", "ring8", registry=registry)


def test_registry_with_names_only_the_given_plugins_and_raises_on_broken_ones():
    assert testing.registry_with(Registers("only")).names("loss") == ["only"]
    assert testing.registry_with("ganforge_losses.plugin").names("loss") == ["bce", "hinge", "lsgan", "ragan", "rpgan", "wgan-gp"]
    assert "bce" in testing.registry_with("ganforge_losses.plugin", builtins=True).names("loss")  # not twice
    with pytest.raises(GanforgeError, match="unknown hook 'register_los'"):
        testing.registry_with(type("Typo", (), {"register_los": hookimpl(lambda self, register: None)})())


def test_entry_points_of_another_importlib_metadata_class_are_plugins_too():
    """Once a package installs importlib_metadata's finder (mlflow does), the standard library's entry_points() hands
    out the backport's EntryPoint class: build_registry takes any object shaped like an entry point."""

    class BackportEntryPoint:  # not importlib.metadata.EntryPoint, as the backport's is not
        name, value, group, dist = "stateful", "stateful_plugin", "ganforge", None

        def load(self):
            import stateful_plugin

            return stateful_plugin

    registry = build_registry([BackportEntryPoint()], selection=Selection(), strict=True)
    assert registry.get("variant", "stateful").name == "stateful"

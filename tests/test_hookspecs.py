"""The plugin API's own bookkeeping: every hook is documented in its spec, in docs/plugins.md, and tested."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from ganforge import hookspecs

HERE = Path(__file__).parent
GUIDE = (HERE.parent / "docs" / "plugins.md").read_text()
HOOKS = [name for name, obj in vars(hookspecs).items() if inspect.isfunction(obj) and hasattr(obj, "ganforge_spec")]


def test_the_plugin_api_is_the_hooks_we_promise():
    assert sorted(HOOKS) == sorted([
        "register_variants", "register_generators", "register_discriminators", "register_losses", "register_embeddings",
        "register_datasets",
        "config_sections", "on_run_start", "on_log", "on_checkpoint_save", "on_epoch_end", "on_run_end", "add_commands",
    ])


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_says_when_it_is_called_and_what_it_returns(hook):
    doc = inspect.getdoc(getattr(hookspecs, hook))
    assert doc and doc.startswith("Called") and "Return" in doc


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_section_in_the_guide(hook):
    assert re.search(rf"^#+ .*`{hook}\(", GUIDE, re.M), f"docs/plugins.md has no heading for `{hook}(...)`"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_implemented_by_a_plugin_under_test(hook):
    sources = [p for p in HERE.rglob("*.py") if p.name != Path(__file__).name]
    assert any(re.search(rf"def {hook}\(", p.read_text()) for p in sources), f"no test plugin implements {hook}"

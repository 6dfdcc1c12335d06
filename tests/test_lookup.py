"""Finding components by name: built-ins through entry points, wildcards, natural order, clear misses."""

import subprocess
import sys

import pytest

from ganforge.errors import GanforgeError
from ganforge.registry import get_registry, natural_key


def test_builtins_come_through_the_entry_point_group():
    registry = get_registry()
    builtins = [p for p in registry.plugins if p.distribution == "ganforge"]
    assert {p.module for p in builtins} >= {"ganforge_vanilla.plugin", "ganforge_losses.plugin", "ganforge_datasets.plugin"}
    assert all(p.status == "loaded" for p in builtins)
    vanilla = registry.get("variant", "vanilla")
    assert (vanilla.plugin, vanilla.qualified_name) == ("ganforge", "ganforge:vanilla")
    assert registry.get("loss", "ganforge:bce").name == "bce"


def test_wildcards_and_natural_sort():
    assert natural_key("gan2") < natural_key("gan10")
    assert sorted(["gan10", "gan2", "Gan1"], key=natural_key) == ["Gan1", "gan2", "gan10"]
    assert [c.name for c in get_registry().components("dataset", "*mnist")] == [
        "captioned-fashion-mnist", "captioned-mnist", "fashion-mnist", "mnist", "stacked-mnist"
    ]
    assert [c.name for c in get_registry().components(pattern="ring?")] == ["ring8"]


def test_unknown_name_suggests_and_points_to_the_listing():
    with pytest.raises(GanforgeError) as raised:
        get_registry().get("dataset", "gird25")
    assert str(raised.value) == "unknown dataset 'gird25'. Did you mean 'grid25'? Run 'ganforge list dataset' to see the choices."
    with pytest.raises(GanforgeError, match="unknown loss 'zzz'. Run 'ganforge list loss'"):
        get_registry().get("loss", "zzz")


def test_listing_imports_no_torch():
    """`ganforge list` stays fast: plugins register by import path and nothing imports torch."""
    code = "import sys; from ganforge.cli import app; from ganforge.registry import get_registry; get_registry().components(); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"

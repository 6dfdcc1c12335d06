"""Tiny plugin distributions for tests, "installed" the way pip installs them.

:func:`install` copies a package's module into a site directory next to a ``<dist>-<version>.dist-info`` holding
``METADATA`` and ``entry_points.txt``: ``importlib.metadata`` (and so ganforge) discovers it exactly as it
discovers a pip-installed distribution once the directory is on ``sys.path`` (``PYTHONPATH`` for a subprocess).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent

# distribution -> (version, {entry-point name: module})
PACKAGES = {
    "gf-good": ("1.2.0", {"good": "gf_good.plugin"}),
    "gf-broken-import": ("0.1", {"broken-import": "gf_broken_import.plugin"}),
    "gf-bad-signature": ("0.1", {"bad-signature": "gf_bad_signature.plugin"}),
    "gf-misspelled": ("0.1", {"misspelled": "gf_misspelled.plugin"}),
    "gf-bad-factory": ("0.1", {"bad-factory": "gf_bad_factory.plugin"}),
    "gf-collide": ("2.0", {"collide": "gf_collide.plugin"}),
    "gf-collide-too": ("3.0", {"collide-too": "gf_collide_too.plugin"}),
    "gf-raising-hook": ("0.1", {"raising-hook": "gf_raising_hook.plugin"}),
    "gf-bad-command": ("0.1", {"bad-command": "gf_bad_command.plugin"}),
    "gf-twin": ("0.1", {"twin": "gf_twin.plugin"}),  # a third party's variant with two generators
}
BROKEN = ["gf-broken-import", "gf-bad-signature", "gf-misspelled"]
# Plugins that misbehave beyond raising an Exception; installed only by the tests that ask for them
HOSTILE = {
    "gf-loud": ("0.1", {"loud": "gf_loud.plugin"}),  # prints to stdout
    "gf-exits": ("0.1", {"exits": "gf_exits.plugin"}),  # SystemExit(7) at import
    "gf-exits-in-hook": ("0.1", {"exits-in-hook": "gf_exits_in_hook.plugin"}),  # SystemExit(7) in register_losses
    "gf-interrupts": ("0.1", {"interrupts": "gf_interrupts.plugin"}),  # KeyboardInterrupt at import
    "gf-slow": ("0.1", {"slow": "gf_slow.plugin"}),  # sleeps $GF_SLOW_SECONDS at import
}


def install(site: Path, *distributions: str) -> Path:
    """Install ``distributions`` into the directory ``site`` and return it."""
    site.mkdir(parents=True, exist_ok=True)
    for dist in distributions:
        version, entry_points = {**PACKAGES, **HOSTILE}[dist]
        module = dist.replace("-", "_")
        shutil.copytree(HERE / module, site / module, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        info = site / f"{module}-{version}.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
        (info / "entry_points.txt").write_text(f"[ganforge]\n{lines}")
    return site


def run_ganforge(site: Path, *args: str, python_args: bool = False, **env: str) -> subprocess.CompletedProcess:
    """``python -m ganforge ARGS`` in a fresh process that sees the distributions installed in ``site``
    (``python ARGS`` with ``python_args``)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GANFORGE_")}
    environment["PYTHONPATH"] = os.pathsep.join([str(site), *sys.path])
    environment["COLUMNS"] = "200"  # rich tables unwrapped, so tests can read whole lines
    environment.update(env)
    return subprocess.run(
        [sys.executable, *([] if python_args else ["-m", "ganforge"]), *args], capture_output=True, text=True, env=environment, timeout=120
    )

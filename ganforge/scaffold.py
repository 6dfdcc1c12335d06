"""``ganforge new-plugin``: writes a ready-to-install plugin package from the templates in ``templates/new_plugin``.

The package holds a pyproject with the ``ganforge`` entry point, a plugin module registering one working component
of the chosen kind by import path, a README and a test that passes as written.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from ganforge.errors import GanforgeError

KINDS = {  # kind -> (registration hook, module name, what the module defines)
    "loss": ("register_losses", "loss", "class"),
    "generator": ("register_generators", "generator", "class"),
    "discriminator": ("register_discriminators", "discriminator", "class"),
    "dataset": ("register_datasets", "dataset", "function"),
    "variant": ("register_variants", "variant", "class"),
}
NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def placeholders(name: str, kind: str) -> dict[str, str]:
    """Template values for a ``kind`` component called ``name``."""
    from ganforge import __version__

    hook, module, defines = KINDS[kind]
    words = name.split("-")
    package = "ganforge_" + "_".join(words)
    obj = "".join(word.capitalize() for word in words) if defines == "class" else "_".join(words)
    if obj[0].isdigit():
        obj = "_" + obj
    return {
        "name": name,
        "kind": kind,
        "hook": hook,
        "dist": f"ganforge-{name}",
        "package": package,
        "module": module,
        "object": obj,
        "target": f"{package}.{module}:{obj}",
        "ganforge_version": __version__,
    }


def render(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], text)


def write_plugin(name: str, kind: str, out: Path) -> Path:
    """Write the package ``ganforge-<name>`` into ``out`` and return its directory."""
    if kind not in KINDS:
        raise GanforgeError(f"unknown plugin kind '{kind}'; choose one of: {', '.join(KINDS)}")
    if not NAME.match(name):
        raise GanforgeError(f"'{name}' is not a plugin name: use lower-case letters and digits in words joined by '-', e.g. my-loss")
    values = placeholders(name, kind)
    package_dir = Path(out) / values["dist"]
    if package_dir.exists():
        raise GanforgeError(f"{package_dir} already exists; choose another NAME or --out")
    templates = files("ganforge") / "templates" / "new_plugin"
    outputs = {
        "pyproject.toml": templates / "pyproject.toml.tmpl",
        "README.md": templates / "README.md.tmpl",
        f"{values['package']}/__init__.py": templates / "__init__.py.tmpl",
        f"{values['package']}/plugin.py": templates / "plugin.py.tmpl",
        f"{values['package']}/{values['module']}.py": templates / kind / "component.py.tmpl",
        f"tests/test_{values['package']}.py": templates / kind / "test.py.tmpl",
    }
    try:
        for relative, template in outputs.items():
            path = package_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(template.read_text(), values))
    except OSError as exc:
        raise GanforgeError(f"cannot write {package_dir}: {exc.strerror}; choose another --out") from None
    return package_dir

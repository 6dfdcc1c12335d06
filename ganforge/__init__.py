"""ganforge: a plugin-based GAN framework on PyTorch.

The library API (``train``, ``resume``, ``sample``, ``load``, ``configure``) and the plugin base class ``Variant`` are
imported on first use, so that ``import ganforge`` (and the CLI's listing commands) need not import torch.
"""

from __future__ import annotations

from typing import Any

from ganforge.plugin import hookimpl

__version__ = "0.1.0"

_LAZY = {
    "train": "ganforge.api",
    "resume": "ganforge.api",
    "sample": "ganforge.api",
    "translate": "ganforge.api",
    "load": "ganforge.api",
    "configure": "ganforge.api",
    "evaluate": "ganforge.api",
    "plot": "ganforge.api",
    "Samples": "ganforge.api",
    "Variant": "ganforge.variant",
    "frozen": "ganforge.variant",
    "Loss": "ganforge.loss",
    "DataSpec": "ganforge.data",
    "TensorData": "ganforge.data",
    "GanforgeError": "ganforge.errors",
}

__all__ = ["hookimpl", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ganforge' has no attribute {name!r}")

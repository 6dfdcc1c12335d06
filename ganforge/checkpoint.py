"""Checkpoints as safetensors files: tensors in the body, everything else as JSON in the metadata.

Nothing is ever unpickled. Writes go to a temporary file that is fsynced and renamed into place, so a crash
mid-write never leaves a file that looks like a valid checkpoint.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from ganforge.errors import GanforgeError

FORMAT = "ganforge.checkpoint/1"
SUFFIX = ".safetensors"


@dataclass
class Checkpoint:
    """A checkpoint read back: its tensors and its decoded metadata."""

    path: Path
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]


def write_checkpoint(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Atomically write ``tensors`` with ``meta`` (JSON-encoded per key) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    encoded = {"format": FORMAT, **{key: json.dumps(value) for key, value in meta.items()}}
    body = {name: tensor.detach().contiguous().cpu() for name, tensor in tensors.items()}
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        save_file(body, temporary, metadata=encoded)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def read_metadata(path: Path) -> dict[str, Any]:
    """The decoded metadata of the checkpoint at ``path``, without reading its tensors."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = handle.metadata() or {}
    except FileNotFoundError:
        raise GanforgeError(f"checkpoint {path} does not exist") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise GanforgeError(f"checkpoint {path} is corrupt or not a safetensors file ({exc}); use another checkpoint") from None
    if raw.get("format") != FORMAT:
        raise GanforgeError(f"{path} is not a ganforge checkpoint (format {raw.get('format')!r}, expected {FORMAT!r})")
    try:
        return {key: json.loads(value) for key, value in raw.items() if key != "format"}
    except json.JSONDecodeError as exc:
        raise GanforgeError(f"checkpoint {path} has corrupt metadata ({exc}); use another checkpoint") from None


def read_checkpoint(path: Path) -> Checkpoint:
    meta = read_metadata(path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise GanforgeError(f"checkpoint {path} is corrupt or truncated ({exc}); use another checkpoint") from None
    return Checkpoint(path, tensors, meta)


def prefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{name}": tensor for name, tensor in tensors.items()}


def unprefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    start = len(prefix) + 1
    return {name[start:]: tensor for name, tensor in tensors.items() if name.startswith(prefix + ".")}


def load_network(network: nn.Module, name: str, tensors: dict[str, torch.Tensor], source: Path) -> None:
    """Load ``network``'s weights from ``tensors``, naming the first tensor that does not fit."""
    saved = unprefixed(f"network.{name}", tensors)
    expected = network.state_dict()
    for key, tensor in expected.items():
        if key not in saved:
            raise GanforgeError(f"checkpoint {source} has no tensor '{key}' for network '{name}'; it was saved by another model")
        if saved[key].shape != tensor.shape:
            raise GanforgeError(
                f"checkpoint {source} does not fit network '{name}': tensor '{key}' is "
                f"{list(saved[key].shape)} there but {list(tensor.shape)} in the model"
            )
    unexpected = sorted(set(saved) - set(expected))
    if unexpected:
        raise GanforgeError(f"checkpoint {source} has tensor '{unexpected[0]}' that network '{name}' lacks; it was saved by another model")
    network.load_state_dict(saved)


def optimizer_state(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer's state split into tensors and JSON-ready values."""
    state = optimizer.state_dict()
    tensors, values = {}, {}
    for index, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{key}"] = value
            else:
                values[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "values": values}


def load_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], info: dict[str, Any]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for flat, value in [*tensors.items(), *info["values"].items()]:
        index, _, key = flat.partition(".")
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": info["param_groups"]})

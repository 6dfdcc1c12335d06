"""Checkpoints as safetensors files: tensors in the body, everything else as JSON in the metadata.

Nothing is ever unpickled. A checkpoint is written to a temporary file, fsynced, renamed into place and its
directory fsynced, so a crash mid-write never leaves a file that looks like a valid checkpoint. safetensors only
checks that a file's header fits its length, so the metadata also carries a SHA-256 digest of every tensor and
metadata value: a file damaged after it was written is reported as corrupt instead of loading garbage weights.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from ganforge.errors import GanforgeError

FORMAT = "ganforge.checkpoint/1"
SUFFIX = ".safetensors"
_TENSOR = "__tensor__"  # marks where a tensor sat in a JSON-encoded state (see encode_state)
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # reading the umask means setting it; put it back at once


@dataclass
class Checkpoint:
    """A checkpoint read back: its tensors and its decoded metadata."""

    path: Path
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]


def write_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Have ``write`` fill a temporary file beside ``path``, then fsync it, rename it to ``path`` and fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        os.chmod(temporary, 0o666 & ~_UMASK)  # mkstemp makes it private; the final file gets the usual permissions
        write(Path(temporary))
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except IsADirectoryError:  # a directory where ganforge writes a file (status.json, say): not ours to remove
        Path(temporary).unlink(missing_ok=True)
        raise GanforgeError(f"{path} is a directory, where ganforge writes a file; move it away, then try again") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if os.name == "posix":  # the rename itself is only durable once the directory entry is on disk
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    return path


def write_checkpoint(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Atomically write ``tensors`` with ``meta`` (JSON-encoded per key) and their digest to ``path``."""
    body = {name: tensor.detach().contiguous().cpu() for name, tensor in tensors.items()}
    encoded = {"format": FORMAT, **{key: json.dumps(value) for key, value in meta.items()}}
    encoded["digest"] = _digest(body, encoded)
    return write_atomic(path, lambda temporary: save_file(body, str(temporary), metadata=encoded))


def read_metadata(path: Path) -> dict[str, Any]:
    """The decoded and checked metadata of the checkpoint at ``path``, without reading its tensors."""
    return _check_run_entries(path, _decode(path, _raw_metadata(path)))


def read_checkpoint(path: Path) -> Checkpoint:
    """The run checkpoint at ``path``, digest verified and every entry a reader relies on checked."""
    checkpoint = read_file(path)
    _check_run_entries(path, checkpoint.meta)
    return checkpoint


def read_file(path: Path) -> Checkpoint:
    """Any file :func:`write_checkpoint` wrote (a run checkpoint, a cached evaluator), its digest verified; a
    :class:`GanforgeError` naming the file if it is damaged."""
    raw = _raw_metadata(path)
    meta = _decode(path, raw)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise GanforgeError(f"checkpoint {path} is corrupt or truncated ({exc}); use another checkpoint") from None
    if raw.get("digest") != _digest(tensors, raw):
        raise GanforgeError(
            f"checkpoint {path} is corrupt: its contents do not match the digest written with them; use another checkpoint"
        )
    return Checkpoint(path, tensors, meta)


def _raw_metadata(path: Path) -> dict[str, str]:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # opening a FIFO would wait for a writer forever
            raise GanforgeError(f"checkpoint {path} is not a regular file (a FIFO, device or directory); use another checkpoint")
        with safe_open(str(path), framework="pt") as handle:
            raw = handle.metadata() or {}
    except FileNotFoundError:
        raise GanforgeError(f"checkpoint {path} does not exist") from None
    except PermissionError as exc:
        raise GanforgeError(f"checkpoint {path} cannot be read ({exc.strerror or exc}); check its permissions") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise GanforgeError(f"checkpoint {path} is corrupt or not a safetensors file ({exc}); use another checkpoint") from None
    found = raw.get("format")
    if found != FORMAT:
        if isinstance(found, str) and found.startswith("ganforge.checkpoint/"):
            raise GanforgeError(f"checkpoint {path} has format {found!r}, which this ganforge ({FORMAT}) cannot read; upgrade ganforge")
        raise GanforgeError(f"{path} is not a ganforge checkpoint (format {found!r}, expected {FORMAT!r})")
    return raw


def _digest(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for key in sorted(set(metadata) - {"digest"}):
        digest.update(f"{key}\0{metadata[key]}\0".encode())
    for name in sorted(tensors):
        tensor = tensors[name]
        digest.update(f"{name}\0{tensor.dtype}\0{list(tensor.shape)}\0".encode())
        digest.update(tensor.contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def _count(value: Any, minimum: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


# What every reader relies on: checked once here so that no later code trips over a malformed value.
_REQUIRED: dict[str, Callable[[Any], bool]] = {
    "variant": lambda v: isinstance(v, str),
    "config": lambda v: isinstance(v, dict)
    and isinstance(v.get("variant"), str)
    and all(isinstance(section, dict) for key, section in v.items() if key != "variant"),
    "spec": lambda v: isinstance(v, dict)
    and isinstance(v.get("shape"), list)
    and all(_count(size, 1) for size in v["shape"])
    and _count(v.get("num_classes"))
    and isinstance(v.get("is_image"), bool)
    and _count(v.get("domains", 1), 1)
    and _positive(v.get("scale", 1.0)),
    "progress": lambda v: isinstance(v, dict)
    and _count(v.get("step"))
    and _count(v.get("epoch"), 1)
    and _count(v.get("position")),
}


def _decode(path: Path, raw: dict[str, str]) -> dict[str, Any]:
    meta = {}
    for key, value in raw.items():
        if key in ("format", "digest"):
            continue
        try:
            meta[key] = json.loads(value)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise GanforgeError(f"checkpoint {path} has corrupt metadata {key!r} ({exc}); use another checkpoint") from None
    return meta


def _check_run_entries(path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    for key, valid in _REQUIRED.items():
        if key not in meta or not valid(meta[key]):
            problem = "lacks" if key not in meta else "has a malformed"
            raise GanforgeError(
                f"checkpoint {path} {problem} {key!r} entry; it was not written by this ganforge, use another checkpoint"
            )
    return meta


def prefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{name}": tensor for name, tensor in tensors.items()}


def unprefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    start = len(prefix) + 1
    return {name[start:]: tensor for name, tensor in tensors.items() if name.startswith(prefix + ".")}


def encode_state(value: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """``value`` (a state dict) as JSON, with each tensor moved into ``tensors`` under ``prefix.<path>``."""
    if isinstance(value, torch.Tensor):
        tensors[prefix] = value
        return {_TENSOR: prefix}
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError(f"state at '{prefix}' has non-string keys {list(value)[:3]}; convert them before saving")
        return {key: encode_state(item, f"{prefix}.{key}", tensors) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_state(item, f"{prefix}.{index}", tensors) for index, item in enumerate(value)]
    return value


def decode_state(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """The inverse of :func:`encode_state` (tuples come back as lists); KeyError if a tensor is missing."""
    if isinstance(value, dict):
        if set(value) == {_TENSOR}:
            return tensors[value[_TENSOR]]
        return {key: decode_state(item, tensors) for key, item in value.items()}
    if isinstance(value, list):
        return [decode_state(item, tensors) for item in value]
    return value


def load_network(network: nn.Module, name: str, tensors: dict[str, torch.Tensor], source: Path) -> None:
    """Load ``network``'s weights from ``tensors``, naming the first tensor that does not fit."""
    saved = unprefixed(f"network.{name}", tensors)
    expected = network.state_dict()
    if not saved and expected:  # a network without weights (a fixed one-hot embedding) saves no tensors
        raise GanforgeError(f"checkpoint {source} has no network '{name}'; it was saved by another model or variant")
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


def optimizer_state(optimizer: torch.optim.Optimizer, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """An optimizer's state as JSON, its tensors moved into ``tensors`` under ``prefix``."""
    state = optimizer.state_dict()
    per_parameter = {str(index): entries for index, entries in state["state"].items()}  # JSON keys are strings
    return encode_state({"state": per_parameter, "param_groups": state["param_groups"]}, prefix, tensors)


def load_optimizer(optimizer: torch.optim.Optimizer, name: str, saved: Any, tensors: dict[str, torch.Tensor], source: Path) -> None:
    """Restore what :func:`optimizer_state` saved, or say which optimizer's state does not fit."""
    try:
        state = decode_state(saved, tensors)
        per_parameter = {int(index): entries for index, entries in state["state"].items()}
        optimizer.load_state_dict({"state": per_parameter, "param_groups": state["param_groups"]})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise GanforgeError(
            f"checkpoint {source}: the state of optimizer '{name}' does not fit this model ({exc}); it was saved by another model"
        ) from None

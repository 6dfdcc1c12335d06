"""Reads the IDX format that MNIST-style datasets ship in, gzipped or raw.

Cached and system copies can be truncated or re-compressed, and their checksums are unknown, so every file is
checked structurally here: the header must be sound and the payload exactly as long as the header says. Any
problem is one :class:`GanforgeError` line naming the file, so a bad cache entry is easy to find and delete.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import sys
import zlib
from pathlib import Path
from typing import BinaryIO

import torch

from ganforge.errors import GanforgeError

# IDX element-type code -> (torch dtype, bytes per element); multi-byte types are stored big-endian.
DTYPES: dict[int, tuple[torch.dtype, int]] = {
    0x08: (torch.uint8, 1),
    0x09: (torch.int8, 1),
    0x0B: (torch.int16, 2),
    0x0C: (torch.int32, 4),
    0x0D: (torch.float32, 4),
    0x0E: (torch.float64, 8),
}
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 24  # read the payload in pieces so a lying header cannot make us allocate more than the file holds


def read_idx(path: str | os.PathLike) -> torch.Tensor:
    """The array stored in the IDX file at ``path`` (gzip detected by its magic bytes, not by the name)."""
    path = Path(path)
    try:
        with path.open("rb") as raw:
            gzipped = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            try:
                if gzipped:
                    with gzip.GzipFile(fileobj=raw) as stream:
                        return _parse(stream, path)
                return _parse(raw, path)
            except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
                raise _invalid(path, f"corrupt gzip data: {exc}") from exc
    except OSError as exc:  # could not open or read the file at all
        raise GanforgeError(f"cannot read {path}: {exc.strerror or exc}; check that it exists and is readable") from exc


def _invalid(path: Path, what: str) -> GanforgeError:
    return GanforgeError(f"{path} is not a valid IDX file ({what}); delete it and download it again")


def _parse(stream: BinaryIO, path: Path) -> torch.Tensor:
    header = stream.read(4)
    if not header:
        raise _invalid(path, "the file is empty")
    if len(header) < 4:
        raise _invalid(path, f"only {len(header)} bytes, too short for a header")
    if header[:2] != b"\0\0":
        raise _invalid(path, f"bad magic number 0x{header.hex()}")
    code, ndim = header[2], header[3]
    if code not in DTYPES:
        raise _invalid(path, f"unknown element type code 0x{code:02x}")
    dims_bytes = stream.read(4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise _invalid(path, f"header truncated: {ndim} dimensions announced, {len(dims_bytes) // 4} present")
    dims = struct.unpack(f">{ndim}I", dims_bytes)
    dtype, itemsize = DTYPES[code]
    shape = "x".join(map(str, dims)) or "scalar"
    if math.prod(d for d in dims if d) * itemsize >= 2**62:  # torch cannot even describe an empty tensor this big
        raise _invalid(path, f"implausible dimensions {shape}")
    nbytes = math.prod(dims) * itemsize

    payload = bytearray()
    while len(payload) <= nbytes:
        chunk = stream.read(min(_CHUNK, nbytes + 1 - len(payload)))
        if not chunk:
            break
        payload += chunk
    if len(payload) < nbytes:
        raise _invalid(path, f"truncated: header says {shape} = {nbytes} bytes, found {len(payload)}")
    if len(payload) > nbytes:
        raise _invalid(path, f"trailing bytes after the {nbytes} bytes of data the header ({shape}) announces")

    if nbytes == 0:
        return torch.empty(dims, dtype=dtype)
    # The private, exactly sized bytearray becomes the tensor's storage: no copy for uint8.
    flat = torch.frombuffer(payload, dtype=torch.uint8)
    if itemsize > 1 and sys.byteorder == "little":
        flat = flat.view(-1, itemsize).flip(1).reshape(-1)  # big-endian -> native (flip copies)
    return flat.view(dtype).reshape(dims)

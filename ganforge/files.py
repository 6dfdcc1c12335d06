"""Reading files that anyone could have put in place: a run's small files (``config.json``, ``status.json``,
``metrics.jsonl``, its sample grids) and the settings files a user passes (``--config``, ``--captions``).

Such a file may be a FIFO (``open`` would wait for a writer forever), a device (``/dev/zero`` never ends), a link
to a file outside the run (a page that embeds it would publish it), far larger than ganforge ever writes, or JSON
nested a hundred thousand levels deep (a RecursionError in the parser). :func:`read_regular` reads regular files
only, without blocking, up to a size; :func:`parse_json` turns deep nesting into a ValueError like any other bad
JSON. The errors are the ones callers already handle: :class:`OSError` (with a ``strerror`` that says what is
wrong) and :class:`ValueError` (``UnicodeDecodeError`` is one).
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

MAX_SETTINGS_BYTES = 1 << 20  # a config.json, status.json or settings file: ganforge writes a few kilobytes
MAX_NESTING = 32  # a run's config is 3 levels deep; settings files a few more


def read_regular(path: Path, limit: int | None = MAX_SETTINGS_BYTES, inside: Path | None = None) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them (larger: an OSError). ``inside``: the
    file, links resolved, must lie in that directory (a run's sample linked to ``~/.ssh/id_rsa`` is refused)."""
    if inside is not None:
        resolved, root = Path(path).resolve(), Path(inside).resolve()
        if resolved != root and root not in resolved.parents:
            raise OSError(errno.EXDEV, "a link to a file outside the run", str(path))
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            kind = "a directory" if stat.S_ISDIR(status.st_mode) else "a FIFO" if stat.S_ISFIFO(status.st_mode) else "a device or socket"
            raise OSError(errno.EINVAL, f"not a regular file but {kind}", str(path))
        if limit is not None and status.st_size > limit:
            raise OSError(errno.EFBIG, f"larger than {_size(limit)} ({_size(status.st_size)})", str(path))
        chunks, left = [], limit if limit is not None else -1
        while True:
            chunk = os.read(fd, 1 << 20 if left < 0 else min(1 << 20, left + 1))
            if not chunk:
                break
            chunks.append(chunk)
            if left >= 0:
                left -= len(chunk)
                if left < 0:  # it grew while being read
                    raise OSError(errno.EFBIG, f"larger than {_size(limit or 0)}", str(path))
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: Path, limit: int | None = MAX_SETTINGS_BYTES, inside: Path | None = None) -> str:
    """:func:`read_regular` decoded as UTF-8 (a UnicodeDecodeError, a ValueError, when it is not)."""
    return read_regular(path, limit, inside).decode("utf-8")


def parse_json(text: str | bytes) -> Any:
    """``json.loads``, with nesting deeper than :data:`MAX_NESTING` a ValueError instead of a RecursionError."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_NESTING} levels") from None
    check_nesting(value)
    return value


def check_nesting(value: Any, limit: int = MAX_NESTING) -> None:
    """A ValueError when lists and tables inside ``value`` go deeper than ``limit`` (walked without recursion)."""
    level = [value]
    for _ in range(limit + 1):
        level = [item for container in level if isinstance(container, (dict, list)) for item in (container.values() if isinstance(container, dict) else container)]
        if not level:
            return
    raise ValueError(f"nested deeper than {limit} levels")


def describe(exc: BaseException) -> str:
    """What went wrong reading a file, in a few words (``strerror`` without the path, which messages name)."""
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start})"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def _size(count: int) -> str:
    return f"{count / 2**20:.0f} MB" if count >= 2**20 else f"{count:,} bytes"

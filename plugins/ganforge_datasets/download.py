"""Downloads a dataset file from a list of mirrors, checked against its MD5 where one is published, written atomically.

The file is streamed to a uniquely named ``.part`` file next to its destination and renamed into place only
once complete and verified, so an interrupted or corrupt download never appears under the final name and two
processes downloading at once cannot clobber each other's partial file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from ganforge.errors import GanforgeError

TIMEOUT_S = 30.0
_CHUNK = 1 << 16


class _MirrorFailed(Exception):
    """One mirror did not deliver a correct file; the message is the short reason."""


def cache_dir() -> Path:
    """Where downloads go: ``$GANFORGE_CACHE_DIR``, else ``~/.cache/ganforge``."""
    return Path(os.environ.get("GANFORGE_CACHE_DIR") or Path.home() / ".cache" / "ganforge").expanduser()


def fetch(
    filename: str, mirrors: list[str], md5: str | None, dest_dir: Path, verify: Callable[[Path], None] | None = None
) -> Path:
    """Download ``filename`` from the first mirror (a base URL, http(s):// or file://) that serves it intact.

    Intact means matching ``md5``, where the publisher gives one, and passing ``verify`` (which raises
    :class:`GanforgeError` saying what is wrong), such as a check of an archive's own CRCs where none is published.
    """
    dest_dir = Path(dest_dir)
    target = dest_dir / filename
    created = [d for d in (dest_dir, *dest_dir.parents) if not d.exists()]  # deepest first; removed again if left empty
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        fd, part = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=dest_dir)
        os.close(fd)
    except OSError as exc:
        raise GanforgeError(
            f"cannot write to {dest_dir} ({exc.strerror or exc}); set GANFORGE_CACHE_DIR to a writable directory"
        ) from exc
    failures = []
    try:
        for base in mirrors:
            url = base.rstrip("/") + "/" + filename
            try:
                _download(url, Path(part), md5)
                if verify is not None:
                    try:
                        verify(Path(part))
                    except GanforgeError as exc:
                        raise _MirrorFailed(str(exc)) from exc
            except _MirrorFailed as exc:
                failures.append(f"{url}: {exc}")
                continue
            os.replace(part, target)
            return target
    finally:
        Path(part).unlink(missing_ok=True)
    _remove_if_empty(created)
    raise GanforgeError(f"could not download {filename}: " + ("; ".join(failures) or "no mirrors given"))


def _remove_if_empty(directories: list[Path]) -> None:
    """Take away the folders a failed download created, deepest first, so that a failed look-up leaves no empty
    cache folder behind; one that holds anything (another process's download) stays."""
    for directory in directories:
        try:
            directory.rmdir()
        except OSError:
            return


def _download(url: str, part: Path, md5: str | None) -> None:
    """Stream ``url`` into ``part``, flushed to disk, or raise :class:`_MirrorFailed` saying why not."""
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with part.open("wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
            with Progress(*columns, TimeRemainingColumn(), console=Console(stderr=True)) as progress:
                task = progress.add_task(f"downloading {url}", total=int(length) if length else None)
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    progress.advance(task, len(chunk))
            out.flush()
            os.fsync(out.fileno())
    except urllib.error.HTTPError as exc:
        raise _MirrorFailed(f"HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise _MirrorFailed(str(exc.reason)) from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:  # timeouts, resets, short reads, bad URLs
        raise _MirrorFailed(f"{type(exc).__name__}: {exc}") from exc
    if md5 is not None and digest.hexdigest() != md5:
        raise _MirrorFailed(f"checksum mismatch (md5 {digest.hexdigest()}, expected {md5})")

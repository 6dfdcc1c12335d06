"""Where a command writes a picture (``sample --out``, ``plot --out``): checked before the work, failures named.

``--out`` may be a file with a suffix the writer knows, or an existing directory, which then receives the
command's usual file name (``samples.png``, ``curves.png``) inside it. A path that cannot be written (under a
file, in a read-only directory, on a full disk) is one error line naming the path and the system's reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, TypeVar

from ganforge.errors import GanforgeError

T = TypeVar("T")


def output_file(out: Path | None, default: Path, suffixes: Iterable[str], option: str = "--out") -> Path:
    """The file to write: ``default`` when ``out`` is None, ``out/<default's name>`` when ``out`` is a directory,
    else ``out``, whose suffix must be one of ``suffixes`` (lower case, with the dot)."""
    if out is None:
        return default
    if out.is_dir():
        return out / default.name
    return check_suffix(out, suffixes, option)


def check_suffix(path: Path, suffixes: Iterable[str], option: str = "--out") -> Path:
    """``path``, if its suffix is one of ``suffixes``; else one error line listing them."""
    if path.suffix.lower() not in suffixes:
        found = f"suffix '{path.suffix}'" if path.suffix else "no suffix"
        known = ", ".join(sorted(suffixes, key=lambda s: (s != ".png", s)))  # the usual choice first
        raise GanforgeError(
            f"{option} {path} has {found}, which names no picture format this can write; end it in {known}, "
            "or pass an existing directory"
        )
    return path


class WriteFailed(GanforgeError, OSError):
    """A file that could not be written: one line for the command line, and still the OSError it was, errno and
    all, so that a run tells a full disk (what it kept, how to resume) from a bad path."""


def writing(path: Path, write: Callable[[], T], option: str = "--out") -> T:
    """``write()``, with the parent directories of ``path`` made first, and an OSError as one line naming ``path``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return write()
    except OSError as exc:
        blocking = next((parent for parent in path.parents if parent.exists() and not parent.is_dir()), None)
        reason = f"{blocking} is a file, not a directory" if blocking is not None else exc.strerror or str(exc)
        failed = WriteFailed(f"cannot write {path}: {reason}; choose another {option}")
        failed.errno = exc.errno
        raise failed from None

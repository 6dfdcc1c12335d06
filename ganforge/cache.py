"""Where ganforge keeps what it downloads or builds once: datasets, evaluator networks."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$GANFORGE_CACHE_DIR``, else ``~/.cache/ganforge``."""
    return Path(os.environ.get("GANFORGE_CACHE_DIR") or Path.home() / ".cache" / "ganforge").expanduser()

"""Shared fixtures: the real datasets beside the repo, and tiny model settings that train in seconds."""

from __future__ import annotations

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from ganforge_datasets.mnist import SYSTEM_DIR

# Test networks are tiny: extra intra-op threads gain nothing, and on a shared CPU their spin-waiting workers
# slow every small op down many times over. One thread keeps the suite's run time steady.
torch.set_num_threads(1)

SHARED_DATA = Path(os.environ.get("GANFORGE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SYSTEM_DATA = SYSTEM_DIR  # /usr/share/datasets, where Debian's dataset-fashion-mnist installs and ganforge looks too


def real_data(*names: str) -> Path:
    """The first data root holding every dataset in ``names``, each in a subdirectory of its name: the shared copy
    beside the repository ($GANFORGE_SHARED_DATA), else the system copy. The test skips where neither has them."""
    roots = (SHARED_DATA, SYSTEM_DATA)
    for root in roots:
        if all((root / name).is_dir() and any((root / name).iterdir()) for name in names):
            return root
    pytest.skip(f"real {', '.join(names)} files not found in {' or '.join(str(root) for root in roots)}")

# Small networks, small batches: enough to exercise every code path on two CPU cores in a second or two.
TINY = {
    "generator.hidden": 16,
    "generator.depth": 2,
    "discriminator.hidden": 16,
    "discriminator.depth": 2,
    "noise.dim": 8,
    "train.batch_size": 32,
    "train.log_every": 5,
    "train.sample_count": 16,
}


@pytest.fixture
def fashion_root() -> Path:
    return real_data("fashion-mnist") / "fashion-mnist"


@pytest.fixture
def mnist_root() -> Path:
    return real_data("mnist") / "mnist"


@pytest.fixture(autouse=True)
def isolated_data_dirs(tmp_path_factory, monkeypatch):
    """Keep tests away from the user's cache and environment."""
    monkeypatch.setenv("GANFORGE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("GANFORGE_DATA_DIR", raising=False)
    monkeypatch.delenv("GANFORGE_DEBUG", raising=False)


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves a directory quietly; under /short/ it promises more bytes than it sends, like a dropped connection."""

    def do_GET(self) -> None:
        if self.path.startswith("/short/"):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b only the start")
            return
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def served(tmp_path):
    """A directory and the http:// URL that serves it, on this machine only."""
    directory = tmp_path / "served"
    directory.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield directory, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()

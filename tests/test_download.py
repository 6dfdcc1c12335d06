"""Downloads: checked, atomic, falling through mirrors, against a local HTTP server and file:// (never the internet)."""

from __future__ import annotations

import gzip
import hashlib
import socket
import struct
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from ganforge.errors import GanforgeError
from ganforge_datasets import mnist as mnist_module
from ganforge_datasets.download import fetch


@pytest.fixture
def unreachable():
    """An http:// URL whose port refuses connections at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch, unreachable):
    """No test reads ~/.cache or the machine's /usr/share copy; the official mirrors are unreachable."""
    monkeypatch.setenv("GANFORGE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GANFORGE_DATA_DIR", raising=False)
    monkeypatch.setattr(mnist_module, "SYSTEM_DIR", tmp_path / "system")
    monkeypatch.setattr(mnist_module, "MNIST", replace(mnist_module.MNIST, mirrors=(unreachable,)))


def fake_test_split(directory: Path, n: int = 4) -> dict[str, str]:
    """Gzipped IDX files for MNIST's test split in ``directory``; returns their MD5s by file name."""
    images = torch.arange(n * 28 * 28).remainder(256).to(torch.uint8).reshape(n, 28, 28)
    labels = torch.arange(n, dtype=torch.uint8)
    md5 = {}
    for name, tensor in (("t10k-images-idx3-ubyte.gz", images), ("t10k-labels-idx1-ubyte.gz", labels)):
        header = bytes([0, 0, 0x08, tensor.dim()]) + struct.pack(f">{tensor.dim()}I", *tensor.shape)
        content = gzip.compress(header + bytes(tensor.flatten().tolist()))
        (directory / name).write_bytes(content)
        md5[name] = hashlib.md5(content).hexdigest()
    return md5


def use_mirrors(monkeypatch, md5: dict[str, str], *mirrors: str) -> None:
    monkeypatch.setattr(mnist_module, "MNIST", replace(mnist_module.MNIST, mirrors=mirrors, md5=md5))


def test_fetch_writes_the_file_atomically(tmp_path, served):
    directory, url = served
    (directory / "a.bin").write_bytes(b"payload" * 1000)
    dest = tmp_path / "new" / "dir"
    path = fetch("a.bin", [url], hashlib.md5(b"payload" * 1000).hexdigest(), dest)
    assert path == dest / "a.bin" and path.read_bytes() == b"payload" * 1000
    assert [p.name for p in dest.iterdir()] == ["a.bin"]


def test_fetch_falls_through_failing_mirrors(tmp_path, served, unreachable):
    directory, url = served
    (directory / "a.bin").write_bytes(b"x")
    path = fetch("a.bin", [unreachable, url + "missing/", url], hashlib.md5(b"x").hexdigest(), tmp_path / "dl")
    assert path.read_bytes() == b"x"


def test_fetch_from_file_url(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"x")
    path = fetch("a.bin", [tmp_path.as_uri()], hashlib.md5(b"x").hexdigest(), tmp_path / "dl")
    assert path.read_bytes() == b"x"


@pytest.mark.parametrize("route", ["", "short/"], ids=["wrong-file", "dropped-connection"])
def test_fetch_checksum_mismatch_leaves_nothing_behind(tmp_path, served, route):
    directory, url = served
    (directory / "a.bin").write_bytes(b"not what was promised")
    with pytest.raises(GanforgeError) as info:
        fetch("a.bin", [url + route], hashlib.md5(b"x").hexdigest(), tmp_path / "dl")
    assert "could not download a.bin" in str(info.value) and "checksum mismatch" in str(info.value)
    assert not (tmp_path / "dl").exists()  # the folder it made for the file goes too


def test_fetch_reports_every_mirror(tmp_path, served, unreachable):
    _, url = served
    with pytest.raises(GanforgeError) as info:
        fetch("a.bin", [unreachable, url], "0" * 32, tmp_path / "dl")
    message = str(info.value)
    assert f"{unreachable}a.bin: " in message and "refused" in message
    assert f"{url}a.bin: HTTP 404" in message and "\n" not in message
    assert not (tmp_path / "dl").exists()
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl" / "other.bin").write_bytes(b"someone else's")
    with pytest.raises(GanforgeError):
        fetch("a.bin", [unreachable], "0" * 32, tmp_path / "dl")
    assert [p.name for p in (tmp_path / "dl").iterdir()] == ["other.bin"]  # a folder it did not make stays as it was


def test_mnist_downloads_missing_files_into_the_cache(tmp_path, served, unreachable, monkeypatch):
    directory, url = served
    use_mirrors(monkeypatch, fake_test_split(directory), unreachable, url)
    data = mnist_module.mnist(split="test")
    assert data.data.shape == (4, 1, 28, 28) and data.labels.tolist() == [0, 1, 2, 3]
    cached = tmp_path / "cache" / "mnist"
    assert sorted(p.name for p in cached.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert torch.equal(mnist_module.mnist(split="test").data, data.data)  # now read from the cache


def test_mnist_downloads_only_what_the_cache_lacks(tmp_path, served, monkeypatch):
    directory, url = served
    use_mirrors(monkeypatch, fake_test_split(directory), url)
    cached = tmp_path / "cache" / "mnist"
    cached.mkdir(parents=True)
    labels = directory / "t10k-labels-idx1-ubyte.gz"
    (cached / "t10k-labels-idx1-ubyte").write_bytes(gzip.decompress(labels.read_bytes()))
    labels.unlink()  # the server cannot supply it, so it must not be asked for it
    assert mnist_module.mnist(split="test").labels.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("scheme", ["http", "file"])
def test_mnist_mirror_option_is_tried_first(tmp_path, served, monkeypatch, scheme):
    directory, url = served
    md5 = fake_test_split(directory)
    monkeypatch.setattr(mnist_module, "MNIST", replace(mnist_module.MNIST, md5=md5))  # official mirror unreachable
    mirror = url if scheme == "http" else directory.as_uri()
    assert len(mnist_module.mnist(split="test", mirror=mirror)) == 4


def test_mnist_checksum_mismatch_leaves_no_file(tmp_path, served, monkeypatch):
    directory, url = served
    md5 = {name: "0" * 32 for name in fake_test_split(directory)}
    use_mirrors(monkeypatch, md5, url)
    with pytest.raises(GanforgeError, match="checksum mismatch"):
        mnist_module.mnist(split="test")
    assert not (tmp_path / "cache").exists()  # no file, and no empty folder either


def test_mnist_unreachable_everywhere_lists_where_it_looked(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(GanforgeError) as info:
        mnist_module.mnist(root=str(root), split="train")
    message = str(info.value)
    assert message.startswith("MNIST train split not found") and "\n" not in message
    for looked_in in (root, root / "mnist", tmp_path / "cache" / "mnist", tmp_path / "system" / "mnist"):
        assert str(looked_in) in message
    assert "--data-root" in message and "GANFORGE_DATA_DIR" in message and "data.mirror=URL" in message
    assert "train-images-idx3-ubyte.gz" in message and "refused" in message


@pytest.mark.parametrize("where", ["root", "system", "cache"])
def test_with_only_the_test_split_at_hand_it_says_to_train_on_it(tmp_path, where):
    """The test files in --data-root (or the cache, or the system copy), the train files nowhere: say --set data.split=test."""
    folder = {"root": tmp_path / "root", "system": tmp_path / "system" / "mnist", "cache": tmp_path / "cache" / "mnist"}[where]
    folder.mkdir(parents=True)
    fake_test_split(folder)
    (tmp_path / "root").mkdir(exist_ok=True)
    with pytest.raises(GanforgeError) as info:
        mnist_module.mnist(root=str(tmp_path / "root"), split="train")
    message = str(info.value)
    assert message.startswith("MNIST train split not found") and "\n" not in message
    assert f"only the test split is in {folder}: add --set data.split=test to train on its 10,000 images" in message
    assert len(mnist_module.mnist(root=str(tmp_path / "root"), split="test")) == 4  # as it says


def test_the_cli_says_so_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from ganforge.cli import app

    fake_test_split(tmp_path)
    result = CliRunner().invoke(app, ["run", "vanilla", "--data", "mnist", "--data-root", str(tmp_path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    assert "add --set data.split=test" in result.stderr and not (tmp_path / "run").exists()


def test_a_failed_lookup_leaves_no_empty_cache_folder(tmp_path):
    with pytest.raises(GanforgeError, match="MNIST train split not found"):
        mnist_module.mnist(split="train")
    assert not (tmp_path / "cache").exists()

"""The built-in datasets: IDX parsing, MNIST look-up order, real files when present, and the 2-D mixtures."""

from __future__ import annotations

import gzip
import math
import os
import socket
import struct
import subprocess
import sys
from dataclasses import replace
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganforge.errors import GanforgeError, GanforgeWarning
from typer.testing import CliRunner

from ganforge.cli import app
from ganforge.registry import build_registry
from ganforge_datasets import mixtures
from ganforge_datasets import mnist as mnist_module
from ganforge_datasets.idx import DTYPES, read_idx

from conftest import real_data


def idx_bytes(images: torch.Tensor) -> bytes:
    """A uint8 tensor in IDX format."""
    header = bytes([0, 0, 0x08, images.dim()]) + struct.pack(f">{images.dim()}I", *images.shape)
    return header + bytes(images.flatten().tolist())


def write_split(directory: Path, prefix: str, n: int, fill: int, gz: bool = True) -> None:
    """Fake MNIST files for one split: ``n`` images all of value ``fill``, labels 0, 1, 2, ..."""
    directory.mkdir(parents=True, exist_ok=True)
    images = torch.full((n, 28, 28), fill, dtype=torch.uint8)
    labels = torch.arange(n, dtype=torch.uint8) % 10
    for kind, tensor in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
        data = idx_bytes(tensor)
        (directory / f"{prefix}-{kind}{'.gz' if gz else ''}").write_bytes(gzip.compress(data) if gz else data)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No test reads ~/.cache, the machine's /usr/share copy, or the internet."""
    monkeypatch.setenv("GANFORGE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GANFORGE_DATA_DIR", raising=False)
    monkeypatch.setattr(mnist_module, "SYSTEM_DIR", tmp_path / "system")
    with socket.socket() as refuse:
        refuse.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused at once
        unreachable = f"http://127.0.0.1:{refuse.getsockname()[1]}/"
        for constant in ("MNIST", "FASHION_MNIST"):
            source = getattr(mnist_module, constant)
            monkeypatch.setattr(mnist_module, constant, replace(source, mirrors=(unreachable,)))
        yield


# --- plugin ----------------------------------------------------------------------------------------------------


def test_plugin_registers_every_dataset_by_import_path():
    registry = build_registry([EntryPoint("datasets", "ganforge_datasets.plugin", "ganforge")])
    components = registry.components("dataset")
    assert [c.name for c in components] == [
        "apple2orange", "captioned-fashion-mnist", "captioned-folder", "captioned-mnist", "cezanne2photo", "digits2fashion", "facades",
        "fashion-mnist", "grid25", "horse2zebra", "image-folder",
        "iphone2dslr_flower", "maps", "mnist", "monet2photo", "ring8", "stacked-mnist", "summer2winter_yosemite", "ukiyoe2photo", "unpaired-folders", "vangogh2photo",
    ]  # fmt: skip
    assert all(isinstance(c.target, str) and c.description for c in components)
    assert registry.load("dataset", "ring8") is mixtures.ring8
    assert registry.load("dataset", "fashion-mnist") is mnist_module.fashion_mnist


def test_plugin_module_imports_no_torch():
    code = (
        "import sys, ganforge.plugin; before = set(sys.modules); import ganforge_datasets.plugin; "
        "assert not [m for m in set(sys.modules) - before if m.split('.')[0] == 'torch'], 'torch imported'"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


# --- IDX -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, fmt, dtype, values",
    [
        (0x08, "B", torch.uint8, [0, 7, 255, 1, 2, 3]),
        (0x09, "b", torch.int8, [-128, -1, 0, 1, 5, 127]),
        (0x0B, "h", torch.int16, [-32768, -2, 300, 0, 1, 32767]),
        (0x0C, "i", torch.int32, [-(2**31), 70000, -1, 0, 3, 2**31 - 1]),
        (0x0D, "f", torch.float32, [1.5, -2.25, 0.0, 1e-3, 3e8, -7.0]),
        (0x0E, "d", torch.float64, [1.5, -2.25, 0.0, 1e-300, 3e300, -7.0]),
    ],
)
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_decodes_every_type_raw_or_gzipped(tmp_path, code, fmt, dtype, values, gz):
    data = bytes([0, 0, code, 2]) + struct.pack(">2I", 2, 3) + struct.pack(f">6{fmt}", *values)
    path = tmp_path / "x-idx2"  # no .gz suffix even when gzipped: detected by magic bytes
    path.write_bytes(gzip.compress(data) if gz else data)
    tensor = read_idx(path)
    assert tensor.dtype == dtype and tensor.shape == (2, 3)
    assert torch.equal(tensor, torch.tensor(values, dtype=dtype).reshape(2, 3))


def test_read_idx_tensor_is_writable_and_unshared(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(torch.arange(6, dtype=torch.uint8).reshape(3, 2))))
    first, second = read_idx(path), read_idx(path)
    first += 1
    assert torch.equal(second, torch.arange(6, dtype=torch.uint8).reshape(3, 2))


_VALID = idx_bytes(torch.arange(12, dtype=torch.uint8).reshape(3, 4))
_GZ = gzip.compress(_VALID)


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "empty"),
        (b"\x00\x00", "too short"),
        (b"\x01\x02" + _VALID[2:], "bad magic"),
        (_VALID[:2] + b"\x0a" + _VALID[3:], "unknown element type code 0x0a"),
        (_VALID[:6], "header truncated"),
        (_VALID[:-1], "truncated: header says 3x4 = 12 bytes, found 11"),
        (_VALID + b"\x00", "trailing bytes"),
        (_GZ[:-12], "corrupt gzip"),
        (_GZ[:-8] + bytes(4) + _GZ[-4:], "corrupt gzip"),  # CRC zeroed
        (gzip.compress(_VALID[:-3]), "truncated"),
    ],
    ids=["empty", "short", "magic", "dtype", "dims", "payload", "trailing", "gz-truncated", "gz-crc", "gz-payload"],
)
def test_read_idx_rejects_corrupt_files_naming_them(tmp_path, content, expected):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(content)
    with pytest.raises(GanforgeError) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message and expected in message and "\n" not in message


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(GanforgeError, match="cannot read"):
        read_idx(tmp_path / "absent")


_headers = st.builds(
    lambda code, ndim, rest: bytes([0, 0, code, ndim]) + rest,
    st.sampled_from([*DTYPES, 0x0A]),
    st.integers(0, 4),
    st.binary(max_size=48),
)


@st.composite
def _nearly_valid(draw) -> bytes:
    """A sound header followed by a payload of about the announced length."""
    code = draw(st.sampled_from(list(DTYPES)))
    dims = draw(st.lists(st.integers(0, 4), max_size=3))
    length = max(0, math.prod(dims) * DTYPES[code][1] + draw(st.integers(-2, 2)))
    header = bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
    return header + draw(st.binary(min_size=length, max_size=length))


_contents = st.one_of(st.binary(max_size=64), _headers, _nearly_valid())
_gzipped = st.builds(lambda content, cut: gzip.compress(content)[: cut or None], _contents, st.integers(0, 40))
_contents = st.one_of(_contents, _gzipped)  # cut 0 keeps the whole gzip stream


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=_contents)
def test_read_idx_returns_a_tensor_or_a_one_line_error(tmp_path, content):
    path = tmp_path / "fuzz"
    path.write_bytes(content)
    try:
        assert isinstance(read_idx(path), torch.Tensor)
    except GanforgeError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)


# --- MNIST look-up ---------------------------------------------------------------------------------------------


def first_pixels(data) -> list[int]:
    return data.data[:, 0, 0, 0].tolist()


def test_root_beats_cache(tmp_path):
    write_split(tmp_path / "root", "t10k", 2, fill=1)
    write_split(tmp_path / "cache" / "mnist", "t10k", 3, fill=2)
    data = mnist_module.mnist(root=str(tmp_path / "root"), split="test")
    assert first_pixels(data) == [1, 1]
    assert data.data.shape == (2, 1, 28, 28) and data.data.dtype == torch.uint8
    assert data.labels.tolist() == [0, 1] and data.labels.dtype == torch.int64
    assert data.spec.shape == (1, 28, 28) and data.spec.num_classes == 10 and data.spec.is_image


def test_cache_used_without_root_and_before_system_copy(tmp_path):
    write_split(tmp_path / "cache" / "fashion-mnist", "train", 3, fill=2)
    write_split(tmp_path / "system" / "fashion-mnist", "train", 3, fill=3)
    assert first_pixels(mnist_module.fashion_mnist()) == [2, 2, 2]


def test_system_copy_used_last(tmp_path):
    write_split(tmp_path / "system" / "mnist", "train", 3, fill=3, gz=False)
    assert first_pixels(mnist_module.mnist()) == [3, 3, 3]


def test_data_dir_env_with_dataset_subdir(tmp_path, monkeypatch):
    write_split(tmp_path / "env" / "mnist", "t10k", 2, fill=4, gz=False)
    write_split(tmp_path / "cache" / "mnist", "t10k", 2, fill=2)
    monkeypatch.setenv("GANFORGE_DATA_DIR", str(tmp_path / "env"))
    assert first_pixels(mnist_module.mnist(split="test")) == [4, 4]


def test_root_overrides_data_dir_env(tmp_path, monkeypatch):
    write_split(tmp_path / "env", "t10k", 2, fill=4)
    write_split(tmp_path / "root" / "mnist", "t10k", 2, fill=1)
    monkeypatch.setenv("GANFORGE_DATA_DIR", str(tmp_path / "env"))
    assert first_pixels(mnist_module.mnist(root=str(tmp_path / "root"), split="test")) == [1, 1]


def test_directory_missing_a_file_is_skipped(tmp_path):
    write_split(tmp_path / "root", "t10k", 2, fill=1)
    (tmp_path / "root" / "t10k-labels-idx1-ubyte.gz").unlink()
    write_split(tmp_path / "cache" / "mnist", "t10k", 2, fill=2)
    assert first_pixels(mnist_module.mnist(root=str(tmp_path / "root"), split="test")) == [2, 2]


def test_split_all_is_train_then_test(tmp_path):
    write_split(tmp_path / "root", "train", 3, fill=1)
    write_split(tmp_path / "root", "t10k", 2, fill=2)
    data = mnist_module.mnist(root=str(tmp_path / "root"), split="all")
    assert first_pixels(data) == [1, 1, 1, 2, 2] and data.labels.tolist() == [0, 1, 2, 0, 1]


def test_missing_root_is_an_error_before_anything_else(tmp_path):
    with pytest.raises(GanforgeError, match="data root .*nowhere does not exist"):
        mnist_module.mnist(root=str(tmp_path / "nowhere"), split="bogus")


def test_unknown_split(tmp_path):
    with pytest.raises(GanforgeError, match="no split 'bogus'.*train, test, all"):
        mnist_module.mnist(split="bogus")


def test_wrong_image_shape_is_rejected(tmp_path):
    write_split(tmp_path / "root", "t10k", 2, fill=1)
    images = torch.zeros(2, 27, 28, dtype=torch.uint8)
    (tmp_path / "root" / "t10k-images-idx3-ubyte.gz").write_bytes(idx_bytes(images))
    with pytest.raises(GanforgeError, match=r"t10k-images-idx3-ubyte.gz holds .* \(2, 27, 28\), not N x 28 x 28"):
        mnist_module.mnist(root=str(tmp_path / "root"), split="test")


def test_label_count_mismatch_is_rejected(tmp_path):
    write_split(tmp_path / "root", "t10k", 2, fill=1)
    (tmp_path / "root" / "t10k-labels-idx1-ubyte.gz").write_bytes(idx_bytes(torch.zeros(3, dtype=torch.uint8)))
    with pytest.raises(GanforgeError, match="not 2 uint8 labels"):
        mnist_module.mnist(root=str(tmp_path / "root"), split="test")


# --- real files, when this machine has them ---------------------------------------------------------------------


def shared(name: str) -> Path:
    return real_data(name)


@pytest.mark.parametrize("split, size", [("test", 10_000), ("train", 60_000)])
def test_real_fashion_mnist(split, size):
    data = mnist_module.fashion_mnist(root=str(shared("fashion-mnist")), split=split)
    assert data.data.shape == (size, 1, 28, 28) and data.data.dtype == torch.uint8
    assert torch.equal(data.labels.bincount(), torch.full((10,), size // 10))


def test_real_mnist_test_split_from_its_own_directory():
    data = mnist_module.mnist(root=str(shared("mnist") / "mnist"), split="test")
    assert data.data.shape == (10_000, 1, 28, 28) and set(data.labels.tolist()) == set(range(10))
    assert 30 < data.data.float().mean() < 37  # MNIST's mean pixel is about 33


def test_mnist_files_given_as_fashion_mnist_are_named_for_what_they_are(tmp_path):
    """The MNIST error's hint leads to --data-root MNIST with --set data.split=test: the content is checked, and
    one line says what the files are."""
    with pytest.raises(GanforgeError, match=r"holds MNIST's test split, not Fashion-MNIST's") as caught:
        mnist_module.fashion_mnist(root=str(shared("mnist") / "mnist"), split="test")
    assert "\n" not in str(caught.value) and "--data mnist" in str(caught.value)
    result = CliRunner().invoke(app, ["run", "vanilla", "--data", "fashion-mnist", "--data-root", str(shared("mnist") / "mnist"),
                                      "--set", "data.split=test", "--max-steps", "1", "--out", str(tmp_path / "run")])  # fmt: skip
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.output
    assert "MNIST's test split, not Fashion-MNIST's" in result.stderr and not (tmp_path / "run").exists()


def test_a_split_of_one_dataset_with_labels_of_another_is_refused(tmp_path):
    import shutil

    root = tmp_path / "mixed"
    root.mkdir()
    shutil.copy(shared("mnist") / "mnist" / "t10k-images-idx3-ubyte.gz", root)
    shutil.copy(shared("fashion-mnist") / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz", root)
    with pytest.raises(GanforgeError, match=r"t10k-images-idx3-ubyte.gz holds MNIST's test split, not Fashion-MNIST's"):
        mnist_module.fashion_mnist(root=str(root), split="test")
    with pytest.raises(GanforgeError, match=r"t10k-labels-idx1-ubyte.gz holds Fashion-MNIST's test split, not MNIST's"):
        mnist_module.mnist(root=str(root), split="test")


def test_files_that_are_no_known_release_are_used_with_a_warning(tmp_path):
    write_split(tmp_path / "root", "t10k", 3, fill=2)
    with pytest.warns(GanforgeWarning, match=r"3 images that are not the official MNIST test split"):
        data = mnist_module.mnist(root=str(tmp_path / "root"), split="test")
    assert len(data) == 3


# --- 2-D mixtures ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "factory, centres, std",
    [
        (mixtures.ring8, mixtures.ring8_centres(), mixtures.RING8_STD),
        (mixtures.grid25, mixtures.grid25_centres(), mixtures.GRID25_STD),
    ],
)
def test_mixture_points_sit_around_their_centres(factory, centres, std):
    data = factory(size=20_000, seed=3)
    assert data.data.shape == (20_000, 2) and data.data.dtype == torch.float32
    assert data.labels.dtype == torch.int64 and torch.equal(data.reference, centres)
    assert data.spec.shape == (2,) and data.spec.num_classes == len(centres) and not data.spec.is_image
    assert data.labels.bincount(minlength=len(centres)).min() > 0.7 * 20_000 / len(centres)
    offsets = data.data - centres[data.labels]
    assert offsets.std(dim=0).sub(std).abs().max() < 0.05 * std


def test_mixture_centres():
    assert torch.allclose(mixtures.ring8_centres().norm(dim=1), torch.ones(8))
    assert torch.allclose(mixtures.ring8_centres()[2], torch.tensor([0.0, 1.0]), atol=1e-6)
    grid = mixtures.grid25_centres()
    assert grid.shape == (25, 2) and sorted(set(grid[:, 0].tolist())) == [-4, -2, 0, 2, 4]
    assert len({tuple(c) for c in grid.tolist()}) == 25


def test_mixture_is_deterministic_per_seed():
    assert torch.equal(mixtures.ring8(size=100, seed=1).data, mixtures.ring8(size=100, seed=1).data)
    assert not torch.equal(mixtures.ring8(size=100, seed=1).data, mixtures.ring8(size=100, seed=2).data)


def test_mixture_size_must_be_positive():
    with pytest.raises(GanforgeError, match="grid25: data.size must be at least 1, got 0"):
        mixtures.grid25(size=0)

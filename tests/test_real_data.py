"""The tests' real data: the shared copy beside the repository, else the system copy Debian's packages install."""

from pathlib import Path

import pytest

import conftest


def populate(root: Path, name: str) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "t10k-images-idx3-ubyte.gz").write_bytes(b"")


def test_tests_find_the_system_copy_where_the_shared_one_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(conftest, "SHARED_DATA", tmp_path / "shared")
    monkeypatch.setattr(conftest, "SYSTEM_DATA", tmp_path / "usr-share-datasets")
    populate(tmp_path / "usr-share-datasets", "fashion-mnist")
    assert conftest.real_data("fashion-mnist") == tmp_path / "usr-share-datasets"
    populate(tmp_path / "shared", "fashion-mnist")
    assert conftest.real_data("fashion-mnist") == tmp_path / "shared"  # the shared copy first
    with pytest.raises(pytest.skip.Exception, match="real mnist files not found"):
        conftest.real_data("mnist")


def test_the_system_copy_is_where_ganforge_looks():
    from ganforge_datasets.mnist import SYSTEM_DIR

    assert conftest.SYSTEM_DATA == SYSTEM_DIR == Path("/usr/share/datasets")

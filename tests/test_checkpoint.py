"""Checkpoint files: what they carry, how they are written, and that nothing read from one is trusted blindly."""

from __future__ import annotations

import json
import os

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

import ganforge
from ganforge.checkpoint import FORMAT, load_network, read_checkpoint, read_metadata, write_atomic, write_checkpoint
from ganforge.errors import GanforgeError
from ganforge_vanilla.models import MLPGenerator

from conftest import TINY

VALID_META = {
    "variant": "vanilla",
    "config": {"variant": "vanilla", "train": {"epochs": 1}},
    "spec": {"shape": [2], "num_classes": 8, "is_image": False},
    "progress": {"step": 3, "epoch": 1, "position": 3},
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return ganforge.train("vanilla", "ring8", settings={**TINY, "data.size": 64, "train.epochs": 1}, out=out)


def test_metadata_names_format_variant_components_and_plugin_versions(saved):
    meta = read_checkpoint(saved.checkpoint).meta
    assert meta["variant"] == "vanilla" and meta["config"]["generator"]["name"] == "mlp"
    assert meta["config"]["plugins"] == {s: f"ganforge {ganforge.__version__}" for s in ("variant", "data", "discriminator", "generator", "loss")}
    assert meta["precision"] == "fp32" and meta["data"]["size"] == 64
    assert set(meta["rng"]) == {"python", "numpy"}


def test_writes_leave_no_temporary_files_and_replace_atomically(tmp_path):
    path = tmp_path / "c.safetensors"
    write_checkpoint(path, {"a": torch.zeros(3)}, VALID_META)
    write_checkpoint(path, {"a": torch.ones(3)}, VALID_META)
    assert os.listdir(tmp_path) == ["c.safetensors"] and torch.equal(read_checkpoint(path).tensors["a"], torch.ones(3))


def test_a_write_that_fails_halfway_keeps_the_previous_file(tmp_path):
    path = tmp_path / "c.safetensors"
    write_checkpoint(path, {"a": torch.zeros(3)}, VALID_META)

    def crash_halfway(temporary):
        temporary.write_bytes(b"half a checkpoint")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, crash_halfway)
    assert os.listdir(tmp_path) == ["c.safetensors"] and torch.equal(read_checkpoint(path).tensors["a"], torch.zeros(3))


def test_loading_into_a_mismatched_model_names_the_tensor_and_both_shapes(saved):
    variant = ganforge.load(saved.checkpoint, device="cpu")
    wider = MLPGenerator(8, variant.spec, hidden=17, depth=2)
    checkpoint = read_checkpoint(saved.checkpoint)
    with pytest.raises(GanforgeError) as raised:
        load_network(wider, "generator", checkpoint.tensors, checkpoint.path)
    assert str(raised.value) == (
        f"checkpoint {checkpoint.path} does not fit network 'generator': tensor 'net.0.weight' is [16, 8] there but [17, 8] in the model"
    )
    with pytest.raises(GanforgeError, match="has no network 'critic'; it was saved by another model or variant"):
        load_network(variant.networks["generator"], "critic", checkpoint.tensors, checkpoint.path)


def test_sampling_with_a_changed_model_setting_names_the_first_mismatch(saved, tmp_path):
    checkpoint = read_checkpoint(saved.checkpoint)
    meta = {**checkpoint.meta}
    meta["config"] = {**meta["config"], "generator": {**meta["config"]["generator"], "hidden": 32}}
    edited = write_checkpoint(tmp_path / "edited.safetensors", checkpoint.tensors, meta)
    with pytest.raises(GanforgeError, match=r"tensor 'net.0.weight' is \[16, 8\] there but \[32, 8\] in the model"):
        ganforge.sample(edited, count=4, device="cpu")


def test_a_newer_format_asks_for_an_upgrade(tmp_path):
    path = tmp_path / "new.safetensors"
    save_file({"a": torch.zeros(1)}, str(path), metadata={"format": "ganforge.checkpoint/9"})
    with pytest.raises(GanforgeError, match="format 'ganforge.checkpoint/9', which this ganforge .* cannot read; upgrade ganforge"):
        read_metadata(path)


def test_a_flipped_bit_in_the_tensors_is_caught_by_the_digest(saved, tmp_path):
    damaged = tmp_path / "damaged.safetensors"
    body = bytearray(saved.checkpoint.read_bytes())
    body[-1] ^= 0x01
    damaged.write_bytes(bytes(body))
    read_metadata(damaged)  # the header is intact...
    with pytest.raises(GanforgeError, match=f"checkpoint {damaged} is corrupt: its contents do not match the digest"):
        read_checkpoint(damaged)  # ...the contents are not


# --- property: arbitrary bytes and metadata give a checkpoint or the clear error, never a crash --------------------


def _safetensors_with(metadata: dict[str, str]) -> bytes:
    header = json.dumps({"__metadata__": metadata, "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    return len(header).to_bytes(8, "little") + header + bytes(4)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def _metadata(draw) -> dict[str, str]:
    """Metadata near the real thing: each required entry kept, dropped, replaced by other JSON, or by non-JSON text."""
    metadata = {"format": draw(st.sampled_from([FORMAT, FORMAT, "ganforge.checkpoint/2", "other"]))}
    for key, value in VALID_META.items():
        choice = draw(st.sampled_from([0, 0, 0, 0, 0, 0, 1, 2, 3]))
        if choice == 0:
            metadata[key] = json.dumps(value)
        elif choice == 1:
            metadata[key] = json.dumps(draw(_json_values))
        elif choice == 2:
            metadata[key] = draw(st.text(max_size=12))
    metadata.update(draw(st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=2)))
    return metadata


_files = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda data, cut: data[:cut], st.builds(_safetensors_with, _metadata()), st.integers(0, 400)),
    st.builds(_safetensors_with, _metadata()),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=_files)
def test_reading_any_file_gives_a_checkpoint_or_one_clear_line(tmp_path, content):
    path = tmp_path / "fuzz.safetensors"
    path.write_bytes(content)
    try:
        meta = read_metadata(path)
    except GanforgeError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        return
    assert isinstance(meta["variant"], str) and isinstance(meta["config"], dict)
    assert all(isinstance(size, int) and size >= 1 for size in meta["spec"]["shape"])
    assert isinstance(meta["progress"]["step"], int) and meta["progress"]["epoch"] >= 1
    with pytest.raises(GanforgeError, match="digest"):  # hand-made files carry no digest
        read_checkpoint(path)

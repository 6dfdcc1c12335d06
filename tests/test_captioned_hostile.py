"""captioned-folder against damaged releases: an image whose own caption file is missing (or is a FIFO) never
borrows another class's captions, a malformed split pickle is damaged data naming the file, and a list of names
that is not UTF-8 names its file."""

from __future__ import annotations

import os
import pickle
import struct

import pytest
from PIL import Image

from ganforge.errors import GanforgeError
from ganforge_datasets.text_release import captioned_folder


def release(root):
    """Two classes in class folders, one image each named alike (x), each with its own caption file."""
    for kind, colour in (("001.Red", (200, 30, 30)), ("002.Blue", (30, 30, 200))):
        image = root / "images" / kind / "x.jpg"
        image.parent.mkdir(parents=True)
        Image.new("RGB", (16, 16), colour).save(image)
        text = root / "text" / kind / "x.txt"
        text.parent.mkdir(parents=True)
        text.write_text(f"a {kind[4:].lower()} bird\n")
    (root / "train").mkdir()
    (root / "train" / "filenames.txt").write_text("001.Red/x\n002.Blue/x\n")
    return root


def test_an_image_without_its_caption_file_does_not_borrow_another_class(tmp_path):
    root = release(tmp_path)
    (root / "text" / "001.Red" / "x.txt").unlink()
    with pytest.raises(GanforgeError, match="no captions for image 001.Red/x"):
        captioned_folder(str(root), "train", size=8)
    data = captioned_folder(str(root), "all", size=8)  # every image that has captions: the blue one alone
    assert len(data) == 1 and data.captions.texts == ["a blue bird"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_caption_file_that_is_a_fifo_is_refused_not_waited_on_or_replaced(tmp_path):
    root = release(tmp_path)
    (root / "text" / "001.Red" / "x.txt").unlink()
    os.mkfifo(root / "text" / "001.Red" / "x.txt")
    with pytest.raises(GanforgeError, match="not a regular file"):
        captioned_folder(str(root), "train", size=8)


@pytest.mark.parametrize(
    "content",
    [
        b"\x80\x02X" + struct.pack("<I", 2**31) + b"abc",  # a string of 2 GB, in 3 bytes
        b"\x80\x04\x8e" + struct.pack("<Q", 2**40) + b"abc",  # BINBYTES8 of 2^40 bytes: a MemoryError when read
        os.urandom(64),
    ],
    ids=["2GB-string", "2^40-bytes", "random"],
)
def test_a_malformed_split_pickle_is_damaged_data_naming_the_file(tmp_path, content):
    root = release(tmp_path)
    (root / "train" / "filenames.txt").unlink()
    (root / "train" / "filenames.pickle").write_bytes(content)
    with pytest.raises(GanforgeError) as refused:
        captioned_folder(str(root), "train", size=8)
    assert "filenames.pickle" in str(refused.value) and "memory" not in str(refused.value)


def test_names_that_are_not_utf8_name_their_file(tmp_path):
    root = release(tmp_path)
    (root / "train" / "filenames.txt").write_bytes(b"001.Red/x\n\xff\xfe\n")
    with pytest.raises(GanforgeError, match="filenames.txt"):
        captioned_folder(str(root), "train", size=8)
    (root / "train" / "filenames.txt").unlink()
    (root / "train" / "filenames.pickle").write_bytes(pickle.dumps([b"001.Red/x", b"\xff\xfe"], protocol=2))
    with pytest.raises(GanforgeError, match="filenames.pickle"):
        captioned_folder(str(root), "train", size=8)

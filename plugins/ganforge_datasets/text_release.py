"""Captioned images in the layout the StackGAN and AttnGAN releases use (CUB-200 birds, Oxford-102 flowers).

::

    ROOT/
        images/<name>.jpg            any image format; <name> may hold class folders (CUB: 001.Black_footed_Albatross/...)
        text/<name>.txt              the image's captions, one per line (blank lines skipped)
        train/filenames.txt          the names of the train split, one per line, without extension
        test/filenames.txt           (or filenames.pickle, as the releases ship them)

``data.images`` and ``data.text`` rename the two folders (the releases' CUB images live in
``CUB_200_2011/images``, Oxford-102's in ``jpg`` with captions in ``text_c10``). A caption file is found at
``text/<name>.txt`` or, failing that, as the only ``<basename>.txt`` anywhere under ``text/`` (Oxford-102 keeps
captions in class folders beside flat images). Classes, where there are any, are the first folder of the image's
name, else of its caption file's path; they are numbered in sorted order over the whole image folder, so train and
test splits agree.

The releases' ``filenames.pickle`` is a pickled list of strings. Unpickling can run arbitrary code, so it is read
with an unpickler that refuses every global (no class, no function can be named) and the result must be a list of
strings; a plain ``filenames.txt`` beside it is preferred. Images are resized to ``data.size`` (bicubic): 64 for
StackGAN's stage II at stage-I 32, or 256 for the paper's.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path, PurePosixPath
from typing import Literal

import torch

from ganforge.data import Captions, DataSpec, TensorData
from ganforge.errors import GanforgeError
from ganforge.files import describe, read_regular, read_text
from ganforge.images import read_image
from ganforge_datasets.folder import EXTENSIONS

SPLITS = ("train", "test")


class _ListsOfStrings(pickle.Unpickler):
    """An unpickler that can build only built-in values (lists, strings, bytes, numbers): any global is refused."""

    def find_class(self, module: str, name: str):  # noqa: ANN201 - refuses everything
        raise pickle.UnpicklingError(f"refusing to load the global {module}.{name}")


MAX_LIST_BYTES = 64 << 20  # a split list of a million names is a few tens of megabytes


def read_names_pickle(path: Path) -> list[str]:
    """The list of strings pickled in ``path``, read without running any code from it."""
    try:
        value = _ListsOfStrings(io.BytesIO(read_regular(path, MAX_LIST_BYTES)), encoding="latin1").load()
    except OSError as exc:
        raise GanforgeError(f"{path} cannot be read ({describe(exc)}); write the names into filenames.txt instead") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError, MemoryError, OverflowError, RecursionError) as exc:
        # a length field of 2^40 asks for memory no list of names needs: damaged data, not a size to lower
        raise GanforgeError(f"{path} is damaged: not a plain pickled list of file names ({type(exc).__name__}: {str(exc)[:100]}); write the names into filenames.txt instead") from None
    if not isinstance(value, list) or not all(isinstance(item, (str, bytes)) for item in value):
        raise GanforgeError(f"{path} holds a {type(value).__name__}, not a list of file names; write the names into filenames.txt instead")
    try:
        return [item.decode("utf-8") if isinstance(item, bytes) else item for item in value]
    except UnicodeDecodeError as exc:
        raise GanforgeError(f"{path} lists a name that is not UTF-8 ({describe(exc)}); write the names into filenames.txt as UTF-8") from None


def _safe_name(name: str, source: Path) -> str:
    path = PurePosixPath(name.strip().replace("\\", "/"))
    if not path.parts or path.is_absolute() or ".." in path.parts:
        raise GanforgeError(f"{source} lists {name!r}, which is not a path inside the image folder; fix the list")
    return path.as_posix()


def split_names(root: Path, split: str) -> list[str]:
    """The image names of ``split`` from ``root/<split>/filenames.txt`` (preferred) or ``filenames.pickle``."""
    text, pickled = root / split / "filenames.txt", root / split / "filenames.pickle"
    if text.is_file():
        try:
            lines = [line for line in read_text(text, MAX_LIST_BYTES).splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise GanforgeError(f"{text} cannot be read as a list of names ({describe(exc)}); save it as UTF-8 text, one name per line") from None
        names = [_safe_name(line, text) for line in lines]
        source = text
    elif pickled.is_file():
        names = [_safe_name(name, pickled) for name in read_names_pickle(pickled)]
        source = pickled
    else:
        raise GanforgeError(
            f"{root} has no {split}/filenames.txt or {split}/filenames.pickle listing its {split} split; "
            "add one, or use every captioned image with --set data.split=all"
        )
    if not names:
        raise GanforgeError(f"{source} lists no images; add the names of the {split} split, one per line")
    return names


def _index(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    """Files under ``folder`` with one of ``suffixes``, by their path relative to it without the suffix."""
    return {p.relative_to(folder).with_suffix("").as_posix(): p for p in sorted(folder.rglob("*")) if p.suffix.lower() in suffixes and p.is_file()}


def _caption_file(name: str, texts: dict[str, Path], by_stem: dict[str, list[str]], text_dir: Path) -> tuple[Path, str]:
    """The caption file of image ``name`` and its path relative to the caption folder.

    Only a flat image (no class folder in its name, as Oxford-102's) is matched by basename: an image in a class
    folder whose own caption file is missing would otherwise borrow another class's captions."""
    if name in texts:
        return texts[name], name
    own = text_dir / f"{name}.txt"
    if os.path.lexists(own):
        raise GanforgeError(f"the captions of image {name}, {own}, are not a regular file (a FIFO, a directory or a broken link); replace them with a text file")
    found = by_stem.get(PurePosixPath(name).name, []) if len(PurePosixPath(name).parts) == 1 else []
    if len(found) == 1:
        return texts[found[0]], found[0]
    where = f"{len(found)} files named {PurePosixPath(name).name}.txt" if found else "no such file"
    raise GanforgeError(f"no captions for image {name}: expected {text_dir / name}.txt ({where} under {text_dir}); add one caption per line")


def _read_captions(path: Path) -> list[str]:
    try:
        lines = read_text(path).splitlines()  # a regular file: a FIFO would wait forever
    except (OSError, UnicodeDecodeError) as exc:
        raise GanforgeError(f"cannot read the captions in {path} ({describe(exc)}); save it as UTF-8 text, one caption per line") from None
    captions = [" ".join(line.split()) for line in lines if line.strip()]
    if not captions:
        raise GanforgeError(f"{path} holds no caption; write one caption per line")
    return captions


def _has_captions(name: str, texts: dict[str, Path], by_stem: dict[str, list[str]], text_dir: Path) -> bool:
    try:
        _caption_file(name, texts, by_stem, text_dir)
    except GanforgeError:
        return False
    return True


def _class_of(name: str) -> str | None:
    parts = PurePosixPath(name).parts
    return parts[0] if len(parts) > 1 else None


def captioned_folder(
    root: str | None = None,  # the release's folder, holding images/, text/, train/ and test/
    split: Literal["train", "test", "all"] = "train",  # a split's filenames list, or every captioned image
    images: str = "images",  # the image folder under root (CUB: CUB_200_2011/images; Oxford-102: jpg)
    text: str = "text",  # the caption folder under root (Oxford-102: text_c10)
    size: int = 64,  # the side, in pixels, images are resized to
    mode: Literal["rgb", "grey"] = "rgb",  # the channels images are converted to
) -> TensorData:
    """Captioned images in the StackGAN/AttnGAN release layout under ``root`` (see the module docstring).

    ``split`` ``all`` takes every image that has captions, without split lists; ``size`` is the side images are
    resized to; ``mode`` the channels they are converted to.
    """
    if root is None:
        raise GanforgeError("dataset 'captioned-folder' needs the release's folder; pass --data-root DIR (holding images/, text/, train/, test/)")
    directory = Path(root).expanduser()
    image_dir, text_dir = directory / images, directory / text
    for folder, key in ((image_dir, "images"), (text_dir, "text")):
        if not folder.is_dir():
            raise GanforgeError(f"{folder} is not a directory; point --data-root at the release's folder, or name the folder with --set data.{key}=...")
    if size < 8:
        raise GanforgeError(f"data.size must be at least 8 pixels, got {size}")
    pictures = _index(image_dir, EXTENSIONS)
    texts = _index(text_dir, (".txt",))
    by_stem: dict[str, list[str]] = {}
    for key in texts:
        by_stem.setdefault(PurePosixPath(key).name, []).append(key)
    if split == "all":
        names = [name for name in pictures if _has_captions(name, texts, by_stem, text_dir)]
        if not names:
            raise GanforgeError(f"no image under {image_dir} has a caption file under {text_dir}; see the layout in 'ganforge list dataset captioned-folder'")
    else:
        names = split_names(directory, split)
    missing = [name for name in names if name not in pictures]
    if missing:
        raise GanforgeError(f"the {split} split lists {missing[0]}, which has no image under {image_dir} ({len(missing)} missing); fix the list or add the images")

    captions: list[str] = []
    offsets = [0]
    classes_seen: list[str | None] = []
    for name in names:
        path, relative = _caption_file(name, texts, by_stem, text_dir)
        captions += _read_captions(path)
        offsets.append(len(captions))
        classes_seen.append(_class_of(name) or _class_of(relative))

    channels = 1 if mode == "grey" else 3
    data = torch.stack([read_image(pictures[name], (channels, size, size)) for name in names])
    every_class = sorted({c for c in (_class_of(n) for n in pictures) if c} or {c for c in (_class_of(k) for k in texts) if c})
    labels = None
    if len(every_class) >= 2 and all(c in every_class for c in classes_seen):
        numbers = {name: index for index, name in enumerate(every_class)}
        labels = torch.tensor([numbers[c] for c in classes_seen])
    spec = DataSpec(tuple(data.shape[1:]), num_classes=len(every_class) if labels is not None else 0, captioned=True)
    return TensorData(data, spec, labels=labels, captions=Captions(captions, torch.tensor(offsets)))

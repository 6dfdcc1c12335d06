"""Your own images from a directory, all of one size, with subdirectories as classes when every image is in one.

Every file is checked before any is decoded: a folder with no images, an unreadable file, or two images of
different sizes is one :class:`GanforgeError` line naming the files, rather than a crash halfway through loading.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy
import torch
from PIL import Image, UnidentifiedImageError

from ganforge.data import DataSpec, TensorData
from ganforge.errors import GanforgeError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def image_folder(
    root: str | None = None,  # directory of images (--data-root); first-level subdirectories are classes
    mode: Literal["auto", "grey", "rgb"] = "auto",  # auto: one channel if every image is grey, else three
) -> TensorData:
    """Images (PNG, JPEG, ...) under ``root``, all one size; each first-level subdirectory is a class if all images sit in one.

    ``mode`` ``auto`` keeps one channel when every image is greyscale and makes three otherwise; ``grey`` and
    ``rgb`` convert every image to that.
    """
    if root is None:
        raise GanforgeError("dataset 'image-folder' needs a directory of images; pass --data-root DIR")
    directory = Path(root).expanduser()
    if not directory.is_dir():
        raise GanforgeError(f"data root {root} does not exist or is not a directory; pass an existing --data-root")
    files = sorted(p for p in directory.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())
    if not files:
        raise GanforgeError(f"no images ({', '.join(EXTENSIONS)}) found under {directory}; point --data-root at a folder of images")

    sizes, grey = {}, True
    for path in files:
        try:
            with Image.open(path) as image:
                sizes[path] = image.size
                grey = grey and image.mode in _GREY_MODES
        except (UnidentifiedImageError, OSError) as exc:
            raise GanforgeError(f"{path} is not a readable image ({exc}); remove or replace it") from None
    first = files[0]
    for path in files:
        if sizes[path] != sizes[first]:
            (w1, h1), (w2, h2) = sizes[first], sizes[path]
            raise GanforgeError(
                f"images under {directory} differ in size: {first} is {w1}x{h1} but {path} is {w2}x{h2}; resize them to one size"
            )

    channels = 1 if mode == "grey" or (mode == "auto" and grey) else 3
    pixels = numpy.empty((len(files), sizes[first][1], sizes[first][0], channels), dtype=numpy.uint8)
    for index, path in enumerate(files):
        try:
            with Image.open(path) as image:
                pixels[index] = numpy.asarray(image.convert("L" if channels == 1 else "RGB")).reshape(pixels.shape[1:])
        except (OSError, ValueError) as exc:  # a file whose header reads but whose pixels do not
            raise GanforgeError(f"{path} is a damaged image ({exc}); remove or replace it") from None
    data = torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous()

    classes = {parent: index for index, parent in enumerate(sorted({path.parent for path in files}))}
    labelled = all(parent.parent == directory for parent in classes)
    labels = torch.tensor([classes[path.parent] for path in files]) if labelled else None
    names = tuple(parent.name for parent in classes) if labelled else ()
    spec = DataSpec(tuple(data.shape[1:]), num_classes=len(names), is_image=True, class_names=names)
    return TensorData(data, spec, labels=labels)

"""Captioned MNIST and Fashion-MNIST: captions written offline from the images themselves.

Each image gets one caption per template, naming its class and the attributes measured on it
(:mod:`ganforge_datasets.attributes`), each put into words by its class's thirds: "a thick seven leaning right",
"seven, thin, upright", "a wide, dark pullover". The middle third of an attribute is left unsaid by most
templates ("a seven leaning right" asks for a stroke of middle thickness), so every caption still says what it
asks for, and the text says more than the label: a model must read it.

Captions are deterministic (a function of the images and labels alone) and cached in
``$GANFORGE_CACHE_DIR/captions/`` under the SHA-256 of the images, the labels and :data:`VERSION`. The quantile
thresholds come from the split being captioned.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

import torch

from ganforge.cache import cache_dir
from ganforge.data import Captions, DataSpec, Protocol, TensorData
from ganforge_datasets.attributes import levels, measure
from ganforge_datasets.mnist import fashion_mnist, mnist

VERSION = "captions/1"  # part of the cache key: change it when measures, words or templates change

# attribute -> words for its lower, middle and upper third ("" leaves the middle unsaid)
WORDS = {
    "thickness": ("thin", "", "thick"),
    "slant": ("leaning left", "upright", "leaning right"),
    "width": ("narrow", "", "wide"),
    "brightness": ("dark", "", "light"),
}
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ITEMS = ("t-shirt", "pair of trousers", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot")


def _article(phrase: str) -> str:
    """``phrase`` with "a" or "an" before it ("an eight", "a one", "an ankle boot")."""
    first = phrase.split(" ", 1)[0]
    vowel = first[:1] in "aeiou" and not first.startswith(("one", "uni", "eu"))
    return f"{'an' if vowel else 'a'} {phrase}"


def _join(*parts: str, sep: str = " ") -> str:
    return sep.join(part for part in parts if part)


def _word(name: str, level: int) -> str:
    return WORDS[name][level + 1]


# A template turns (class name, {attribute: level}) into a caption; it names the attributes it says (its tuple).
Template = tuple[Callable[[str, dict[str, int]], str], tuple[str, ...]]

DIGIT_TEMPLATES: list[Template] = [
    (lambda c, a: _article(_join(_word("thickness", a["thickness"]), _word("width", a["width"]), c, _word("slant", a["slant"]))), ("thickness", "width", "slant")),
    (lambda c, a: _join(c, _word("thickness", a["thickness"]), _word("width", a["width"]), _word("slant", a["slant"]), sep=", "), ("thickness", "width", "slant")),
    (lambda c, a: _article(_join(("left-leaning", "upright", "right-leaning")[a["slant"] + 1], _word("thickness", a["thickness"]), c)), ("slant", "thickness")),
    (lambda c, a: f"the digit {c} in {('thin', 'medium', 'thick')[a['thickness'] + 1]} strokes, {_word('slant', a['slant'])}", ("thickness", "slant")),
]  # fmt: skip

ITEM_TEMPLATES: list[Template] = [
    (lambda c, a: _article(_join(_join(_word("width", a["width"]), _word("brightness", a["brightness"]), sep=", "), c)), ("width", "brightness")),
    (lambda c, a: _join(c, _word("width", a["width"]), _word("brightness", a["brightness"]), sep=", "), ("width", "brightness")),
    (lambda c, a: _article(_join(_word("brightness", a["brightness"]), c, f"of {('narrow', 'regular', 'wide')[a['width'] + 1]} cut")), ("brightness", "width")),
    (lambda c, a: f"{_article(c)} in {('dark', 'mid', 'light')[a['brightness'] + 1]} tones", ("brightness",)),
]  # fmt: skip


@dataclass(frozen=True)
class Style:
    """How one dataset is captioned."""

    source: str  # the uncaptioned dataset its images come from (whose evaluator scores samples)
    classes: tuple[str, ...]
    attributes: tuple[str, ...]
    templates: list[Template]


DIGIT_STYLE = Style("mnist", DIGITS, ("thickness", "slant", "width"), DIGIT_TEMPLATES)
ITEM_STYLE = Style("fashion-mnist", ITEMS, ("width", "brightness"), ITEM_TEMPLATES)


def write_captions(images: torch.Tensor, labels: torch.Tensor, style: Style) -> Captions:
    """Every image's captions, one per template, with the level each caption asks for of every attribute."""
    measured = measure(images.float().div(127.5).sub(1), style.attributes)
    asked = {name: levels(values, labels.cpu()) for name, values in measured.items()}
    texts: list[str] = []
    said: dict[str, list[float]] = {name: [] for name in style.attributes}
    for index, label in enumerate(labels.tolist()):
        level = {name: int(asked[name][index]) for name in style.attributes}
        for template, names in style.templates:
            texts.append(template(style.classes[label], level))
            for name in style.attributes:
                said[name].append(float(level[name]) if name in names else float("nan"))
    offsets = torch.arange(len(labels) + 1) * len(style.templates)
    return Captions(texts, offsets, {name: torch.tensor(values) for name, values in said.items()})


def _key(images: torch.Tensor, labels: torch.Tensor, style: Style) -> str:
    digest = hashlib.sha256(f"{VERSION}:{style.source}:".encode())
    digest.update(images.contiguous().numpy().tobytes())
    digest.update(labels.contiguous().numpy().astype("int64").tobytes())
    return digest.hexdigest()[:24]


def cached_captions(images: torch.Tensor, labels: torch.Tensor, style: Style) -> Captions:
    """:func:`write_captions`, from the cache when these very images were captioned before."""
    path = cache_dir() / "captions" / f"captioned-{style.source}-{_key(images, labels, style)}.json"
    if path.is_file():
        try:
            saved = json.loads(path.read_text())
            return Captions(
                saved["texts"],
                torch.tensor(saved["offsets"]),
                {name: torch.tensor([float("nan") if v is None else v for v in values]) for name, values in saved["attributes"].items()},
            )
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged cache file is rewritten below
    captions = write_captions(images, labels, style)
    attributes = {name: [None if v != v else v for v in values.tolist()] for name, values in captions.attributes.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as out:
        json.dump({"version": VERSION, "texts": captions.texts, "offsets": captions.offsets.tolist(), "attributes": attributes}, out)
    os.replace(temporary, path)
    return captions


def _captioned(data: TensorData, style: Style) -> TensorData:
    captions = cached_captions(data.data, data.labels, style)
    names = style.attributes
    protocol = Protocol(target=style.source, measure=lambda images: measure(images, names))
    spec = DataSpec(data.spec.shape, data.spec.num_classes, data.spec.is_image, captioned=True, class_names=data.spec.class_names)
    return TensorData(data.data, spec, labels=data.labels, protocol=protocol, captions=captions)


def captioned_mnist(
    root: str | None = None,  # a directory holding the IDX files (or a subdirectory of them named after the dataset)
    split: Literal["train", "test", "all"] = "train",  # which images are captioned (quantile thresholds come from them)
    mirror: str | None = None,  # a base URL (http:// or file://) tried first when the files must be downloaded
) -> TensorData:
    """MNIST with captions measured on each digit: its class, stroke thickness, slant and width, in words.

    ``root``, ``split`` and ``mirror`` are MNIST's settings.
    """
    return _captioned(mnist(root, split, mirror), DIGIT_STYLE)


def captioned_fashion_mnist(
    root: str | None = None,  # a directory holding the IDX files (or a subdirectory of them named after the dataset)
    split: Literal["train", "test", "all"] = "train",  # which images are captioned (quantile thresholds come from them)
    mirror: str | None = None,  # a base URL (http:// or file://) tried first when the files must be downloaded
) -> TensorData:
    """Fashion-MNIST with captions measured on each item: its class, width and brightness, in words.

    ``root``, ``split`` and ``mirror`` are Fashion-MNIST's settings.
    """
    return _captioned(fashion_mnist(root, split, mirror), ITEM_STYLE)

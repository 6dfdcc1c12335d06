"""Pictures of samples: image grids, and scatter plots for 2-D point data."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageDraw, ImageFont

from ganforge.checkpoint import write_atomic
from ganforge.data import DataSpec
from ganforge.errors import GanforgeError
from ganforge.outputs import check_suffix, writing
from ganforge.registry import natural_key

MIN_TILE = 56  # small images (28x28) are enlarged, nearest-neighbour, to at least this many pixels
WALK_MIN_TILE = 112  # in latent walks, watched rather than studied, to at least this many (28 px: four times)


def image_grid(images: torch.Tensor, columns: int | None = None, padding: int = 2, min_tile: int = MIN_TILE) -> Image.Image:
    """A grid of (N, C, H, W) images in [-1, 1], ``columns`` wide (default: as square as possible), enlarged
    nearest-neighbour by a whole factor until each image is at least ``min_tile`` pixels."""
    count, channels, height, width = images.shape
    if channels not in (1, 3):
        raise ValueError(f"can draw images with 1 or 3 channels, not {channels}")
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    pixels = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    canvas = torch.full((channels, rows * (height + padding) + padding, columns * (width + padding) + padding), 255, dtype=torch.uint8)
    for index in range(count):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        canvas[:, top : top + height, left : left + width] = pixels[index]
    array = canvas.permute(1, 2, 0).squeeze(2).contiguous().numpy()
    picture = Image.fromarray(array, mode="L" if channels == 1 else "RGB")
    scale = math.ceil(min_tile / min(height, width))
    return picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST) if scale > 1 else picture


def captioned_rows(grid: Image.Image, rows: int, captions: list[str]) -> Image.Image:
    """``grid`` (``rows`` rows of images) with ``captions[i]`` written under row i, in Pillow's default font; a caption
    wider than the grid is cut with an ellipsis."""
    font = ImageFont.load_default()
    draw = ImageDraw.Draw(grid)
    line = int(draw.textbbox((0, 0), "Ag", font=font)[3]) + 6
    row_height = grid.height / rows
    ink, paper = (0, 255) if grid.mode == "L" else ((0, 0, 0), (255, 255, 255))
    out = Image.new(grid.mode, (grid.width, grid.height + rows * line), paper)
    pen = ImageDraw.Draw(out)
    for row in range(rows):
        top, bottom = round(row * row_height), round((row + 1) * row_height)
        out.paste(grid.crop((0, top, grid.width, bottom)), (0, top + row * line))
        text = _fitted(draw, captions[row] if row < len(captions) else "", font, grid.width - 8)
        pen.text((4, bottom + row * line + 2), text, fill=ink, font=font)
    return out


def _fitted(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> str:
    """``text``, or its longest beginning that fits ``width`` pixels with an ellipsis: found by halving, so a caption
    of 100,000 characters is measured a few dozen times, not once per character."""
    if draw.textlength(text, font=font) <= width:
        return text
    fits, tries = 0, len(text) - 1  # text[:fits] + "…" fits; text[:tries + 1] + "…" is the first that may not
    while fits < tries:
        middle = (fits + tries + 1) // 2
        if draw.textlength(text[:middle].rstrip() + "…", font=font) <= width:
            fits = middle
        else:
            tries = middle - 1
    return text[:fits].rstrip() + "…" if fits else ""


LABEL_MARGIN_MAX = 160  # pixels: the widest left margin row labels get; longer labels are cut with an ellipsis


def labelled_rows(grid: Image.Image, rows: int, labels: list[str], top: int = 0) -> Image.Image:
    """``grid`` (``rows`` rows of images below ``top`` pixels of titles) with ``labels[i]`` written in a margin at
    the left of row i, centred on it in Pillow's default font; the margin is as wide as the widest label (at most
    LABEL_MARGIN_MAX pixels)."""
    font = ImageFont.load_default()
    draw = ImageDraw.Draw(grid)
    margin = min(LABEL_MARGIN_MAX, int(max(draw.textlength(label, font=font) for label in labels)) + 12)
    ink, paper = (0, 255) if grid.mode == "L" else ((0, 0, 0), (255, 255, 255))
    out = Image.new(grid.mode, (grid.width + margin, grid.height), paper)
    out.paste(grid, (margin, 0))
    pen = ImageDraw.Draw(out)
    row_height = (grid.height - top) / rows
    for row, label in enumerate(labels[:rows]):
        pen.text((margin - 6, top + (row + 0.5) * row_height), _fitted(draw, label, font, margin - 10), fill=ink, font=font, anchor="rm")
    return out


def titled_columns(grid: Image.Image, columns: int, titles: list[str]) -> Image.Image:
    """``grid`` (``columns`` columns of images) with ``titles[i]`` written above column i in Pillow's default font,
    centred on it; a title wider than its column is cut with an ellipsis."""
    font = ImageFont.load_default()
    draw = ImageDraw.Draw(grid)
    line = int(draw.textbbox((0, 0), "Ag", font=font)[3]) + 8
    ink, paper = (0, 255) if grid.mode == "L" else ((0, 0, 0), (255, 255, 255))
    out = Image.new(grid.mode, (grid.width, grid.height + line), paper)
    out.paste(grid, (0, line))
    pen = ImageDraw.Draw(out)
    column_width = grid.width / columns
    for column, title in enumerate(titles[:columns]):
        text = _fitted(draw, title, font, int(column_width) - 4)
        pen.text(((column + 0.5) * column_width, line / 2), text, fill=ink, font=font, anchor="mm")
    return out


SCATTER_MARGIN = (46, 12, 12, 34)  # left, top, right, bottom: room for the axes' numbers and their labels
SAMPLE_RED, CENTRE_BLUE, AXIS_GREY = (200, 30, 30), (30, 60, 200), (90, 90, 90)


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values between ``low`` and ``high`` for an axis: steps of 1, 2 or 5 times a power of ten."""
    span = max(high - low, 1e-9)
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(power * m for m in (1, 2, 5, 10) if power * m >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def scatter_plot(
    points: torch.Tensor, reference: torch.Tensor | None = None, size: int = 512, frame: torch.Tensor | None = None
) -> Image.Image:
    """Generated 2-D ``points`` (red) over the ``reference`` points, such as the true mixture centres (blue), with
    both axes numbered (x1, x2: the data's own coordinates) and a legend saying which is which.

    The axes fit ``frame`` (points) where given, so that the frames of an animation share them; else the points.
    """
    points = points.detach().float().cpu()[:, :2]
    everything = points if frame is None else frame.detach().float().cpu()[:, :2]
    everything = everything if reference is None else torch.cat([everything, reference.float().cpu()[:, :2]])
    everything = everything[torch.isfinite(everything).all(1)]  # a diverged G's NaN points are not drawn
    if len(everything) == 0:
        everything = torch.tensor([[-1.0, -1.0], [1.0, 1.0]])
    low, high = everything.min(0).values, everything.max(0).values
    span = float((high - low).max().clamp(min=1e-6) * 1.1)
    centre = (high + low) / 2
    left, top, right, bottom = SCATTER_MARGIN
    plot = min(size - left - right, size - top - bottom)  # a square plotting area: both axes on one scale

    def to_pixels(xy: torch.Tensor) -> list[tuple[float, float]]:
        scaled = (xy[torch.isfinite(xy).all(1)] - centre) / span * plot
        return [(left + plot / 2 + x, top + plot / 2 - y) for x, y in scaled.tolist()]

    picture = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(picture)
    for x, y in to_pixels(points):  # dots of 3 pixels: single pixels vanish from sight at 64 samples
        draw.ellipse((x - 1.5, y - 1.5, x + 1.5, y + 1.5), fill=SAMPLE_RED)
    if reference is not None:
        for x, y in to_pixels(reference):
            draw.ellipse((x - 5, y - 5, x + 5, y + 5), outline=CENTRE_BLUE, width=2)
    draw.rectangle((left, top, left + plot, top + plot), outline=AXIS_GREY)
    for axis, middle in ((0, float(centre[0])), (1, float(centre[1]))):
        for value in _ticks(middle - span / 2, middle + span / 2):
            offset = (value - middle) / span * plot
            text = f"{value:g}"
            if axis == 0:
                x = left + plot / 2 + offset
                draw.line((x, top + plot, x, top + plot + 4), fill=AXIS_GREY)
                draw.text((x - 3 * len(text), top + plot + 6), text, fill=AXIS_GREY)
            else:
                y = top + plot / 2 - offset
                draw.line((left - 4, y, left, y), fill=AXIS_GREY)
                draw.text((left - 8 - 6 * len(text), y - 5), text, fill=AXIS_GREY)
    draw.text((left + plot / 2 - 6, top + plot + 20), "x1", fill=(0, 0, 0))
    draw.text((4, top + plot / 2 - 20), "x2", fill=(0, 0, 0))
    entries = [(SAMPLE_RED, "samples G(z)", True)] + ([(CENTRE_BLUE, "mixture centres (data)", False)] if reference is not None else [])
    box_left, box_top = left + plot - 150, top + 6
    draw.rectangle((box_left, box_top, left + plot - 6, box_top + 8 + 16 * len(entries)), fill="white", outline=AXIS_GREY)
    for index, (colour, label, filled) in enumerate(entries):
        y = box_top + 12 + 16 * index
        if filled:
            draw.ellipse((box_left + 8, y - 3, box_left + 14, y + 3), fill=colour)
        else:
            draw.ellipse((box_left + 6, y - 5, box_left + 16, y + 5), outline=colour, width=2)
        draw.text((box_left + 22, y - 6), label, fill=(0, 0, 0))
    return picture


def save_samples(
    samples: torch.Tensor,
    spec: DataSpec,
    path: Path,
    reference: torch.Tensor | None = None,
    columns: int | None = None,
    captions: list[str] | None = None,
    row_labels: list[str] | None = None,
    column_titles: list[str] | None = None,
) -> Path:
    """Write ``samples`` as an image grid ``columns`` wide (image data), with ``captions`` under its rows,
    ``row_labels`` at their left and ``column_titles`` above the columns, or a scatter plot (point data) to ``path``."""
    check_suffix(path, IMAGE_SUFFIXES)
    if spec.is_image:
        picture = image_grid(samples, columns)
        columns = columns or math.ceil(math.sqrt(len(samples)))
        rows = math.ceil(len(samples) / columns)
        if captions:
            picture = captioned_rows(picture, rows, captions)
        rows_height = picture.height
        if column_titles:
            picture = titled_columns(picture, columns, column_titles)
        if row_labels:
            picture = labelled_rows(picture, rows, row_labels, top=picture.height - rows_height)
    else:
        picture = scatter_plot(samples, reference)
    picture_format = Image.registered_extensions().get(path.suffix.lower())
    if picture_format is None:
        raise GanforgeError(f"cannot write {path}: '{path.suffix}' is not a picture format; use a .png name")
    # written whole or not at all: a reader, or a run killed mid-write, never sees half a picture
    return writing(path, lambda: write_atomic(path, lambda temporary: picture.save(temporary, format=picture_format)))


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def image_files(directory: Path) -> list[Path]:
    """The image files directly in ``directory``, by name in natural order (``img2`` before ``img10``)."""
    return sorted((p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES), key=lambda p: natural_key(p.name))


def read_image(path: Path, shape: tuple[int, ...]) -> torch.Tensor:
    """The image at ``path`` as uint8 (C, H, W) of ``shape``: grey (C=1) or RGB (C=3), resized bicubically if needed."""
    channels, height, width = shape
    try:
        with Image.open(path) as opened:
            picture = opened.convert("L" if channels == 1 else "RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise GanforgeError(f"{path} is not a readable image ({exc}); remove it or replace it with a valid image file") from None
    if picture.size != (width, height):
        picture = picture.resize((width, height), Image.BICUBIC)
    pixels = torch.frombuffer(bytearray(picture.tobytes()), dtype=torch.uint8)
    return pixels.view(height, width, channels).permute(2, 0, 1).contiguous()


def write_image(image: torch.Tensor, path: Path) -> Path:
    """Write one (C, H, W) image in [-1, 1] to ``path`` at its own size (grey or RGB)."""
    pixels = ((image.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    array = pixels.permute(1, 2, 0).squeeze(2).contiguous().numpy()
    Image.fromarray(array).save(path)  # 2-D arrays become grey images, H x W x 3 ones RGB
    return path

"""What a saved generator makes: sample grids (``ganforge.sample``), latent walks (``ganforge.interpolate``) and
translated images (``ganforge.translate``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ganforge.data import DataSpec
from ganforge.errors import GanforgeError
from ganforge.images import IMAGE_SUFFIXES, WALK_MIN_TILE, image_files, image_grid, read_image, save_samples, scatter_plot, write_image
from ganforge.loading import load_with_checkpoint
from ganforge.noise import Truncation, TruncationMode, truncated
from ganforge.outputs import output_file, writing
from ganforge.registry import Registry
from ganforge.translation_page import PAGE_NAME, write_page
from ganforge.variant import Variant
from ganforge.video import check_target, write_animation
from ganforge.walk import Walk, latent_walk

SAMPLES_NAME = "samples.png"  # what 'ganforge sample' writes when --out is left out, or is a directory
MAX_WALK_FRAMES = 3_600  # five minutes at 12 frames a second
MAX_WALK_PICTURES = 100_000  # frames x walks: every frame's pictures are held until the file is written
MIN_FPS, MAX_FPS = 0.1, 100.0  # a GIF stores each frame's time in hundredths of a second, at most 655 s
SEED_MAX = 2**63 - 1  # torch's generators take a signed 64-bit seed
MAX_SAMPLES = 10_000  # samples drawn at once (all in memory, one picture): a grid of 100 x 100 is as many as one reads


@dataclass
class Samples:
    """Generated examples and what is needed to draw them."""

    values: torch.Tensor  # images in [-1, 1] (N, C, H, W) or points (N, D), on the CPU
    spec: DataSpec
    reference: torch.Tensor | None  # drawn under point samples, e.g. the true mixture centres
    columns: int | None = None  # the image grid's width (e.g. one class per row); None: as square as possible
    captions: list[str] | None = None  # text-conditioned samples: each row's caption, written under it
    row_labels: list[str] | None = None  # written at the left of each row (class-conditional samples: the class)
    column_titles: list[str] | None = None  # written above each column (image-to-image samples: what it shows)

    def save(self, path: str | Path) -> Path:
        """Write an image grid (images, with any captions under their rows, labels beside them, titles above the
        columns) or a scatter plot (points) to ``path``
        (a directory: its ``samples.png``); returns the file written."""
        target = output_file(Path(path), Path(SAMPLES_NAME), IMAGE_SUFFIXES)
        return save_samples(self.values, self.spec, target, self.reference, self.columns, self.captions, self.row_labels, self.column_titles)


def sample(
    path: str | Path,
    count: int = 64,
    device: str = "auto",
    seed: int = 0,
    label: int | None = None,
    registry: Registry | None = None,
    ema: bool = True,
    truncation: float | None = None,
    truncation_mode: TruncationMode | None = None,
    captions: list[str] | None = None,
) -> Samples:
    """``count`` samples from the generator saved at ``path`` (a checkpoint or a run directory).

    ``label`` draws every sample from that class (class-conditional variants only); ``captions`` draws ``count``
    samples of each caption, a row each (text-conditioned variants only). The generator's EMA weights are used
    where the run kept them, unless ``ema`` is False. ``truncation`` draws z from the truncated p_z
    (:class:`ganforge.noise.Truncation`; ``truncation_mode`` "resample" or "mean", default by the noise).
    """
    check_sample_count(count)
    if captions is not None:
        captions = [" ".join(caption.split()) for caption in captions]
        if label is not None:
            raise GanforgeError("--class and --caption both choose what to draw; pass one of them")
        if not captions or not all(captions):
            raise GanforgeError("a caption is empty; write what to draw, e.g. --caption 'a thin one leaning left'")
    variant, checkpoint = load_with_checkpoint(path, device, registry, ema)
    chosen = chosen_truncation(variant, truncation, truncation_mode)
    generator = torch.Generator().manual_seed(seed)
    check_label(variant, label)
    with truncated(chosen, f"variant '{variant.config.variant.name}'"):
        if captions is not None:
            inputs = variant.caption_inputs(count, captions, generator)
        elif label is None:
            inputs = variant.sample_inputs(count, generator, None)
        else:
            inputs = variant.class_inputs(count, label, generator)
    with torch.no_grad():
        values = variant.generate(inputs).float().cpu()
    reference = checkpoint.tensors.get("data.reference")
    return Samples(
        values,
        variant.spec,
        reference,
        variant.grid_columns(inputs),
        variant.row_captions(inputs),
        variant.row_labels(inputs),
        variant.column_titles(inputs),
    )


def check_sample_count(count: int) -> None:
    """Refuse a count :func:`sample` cannot draw, before anything is loaded."""
    if count < 1:
        raise GanforgeError(f"cannot draw {count} samples; ask for at least 1")
    if count > MAX_SAMPLES:
        raise GanforgeError(
            f"cannot draw {count:,} samples at once: at most {MAX_SAMPLES:,} (they are drawn together and fill one "
            "picture); draw several batches with different --seed values"
        )


def check_label(variant: Variant, label: int | None) -> None:
    """``label`` (``--class``) must be one of the model's classes."""
    classes = variant.spec.num_classes
    if label is not None and not 0 <= label < classes:
        known = f"its {classes} classes are 0-{classes - 1}" if classes else "it was trained on unlabelled data"
        raise GanforgeError(f"--class {label} is not a class of this model: {known}")


def chosen_truncation(variant: Variant, psi: float | None, mode: TruncationMode | None) -> Truncation | None:
    """The truncation asked for, checked against the variant's p_z; None without ``psi``."""
    if psi is None:
        if mode is not None:
            raise GanforgeError("--truncation-mode needs --truncation PSI")
        return None
    return Truncation.choose(psi, mode, variant.require_prior("--truncation"))


def interpolate(
    path: str | Path,
    out: str | Path,
    *,
    frames: int = 16,
    points: int = 4,
    seeds: list[int] | None = None,
    count: int = 8,
    fps: float = 12.0,
    label: int | None = None,
    seed: int = 0,
    truncation: float | None = None,
    truncation_mode: TruncationMode | None = None,
    device: str = "auto",
    ema: bool = True,
    registry: Registry | None = None,
) -> tuple[Path, Walk]:
    """Write a latent walk of the generator at ``path`` to ``out`` (.gif, or .mp4 where ffmpeg is available).

    ``count`` walks side by side (one row per class for class-conditional variants, or class ``label`` alone) pass
    through ``points`` draws of z from ``seed`` (or one point per seed of ``seeds``) and back to the first,
    ``frames`` frames from each point to the next, by slerp for normal noise and lerp for uniform
    (:mod:`ganforge.walk`). ``truncation`` truncates the points' p_z as in :func:`sample`.
    """
    out = Path(out)
    check_target(out)
    for name, value, least in (("--frames", frames, 1), ("--count", count, 1), ("--points", points, 2)):
        if value < least:
            raise GanforgeError(f"{name} {value} is too small; pass at least {least}")
    if not MIN_FPS <= fps <= MAX_FPS:
        raise GanforgeError(f"--fps {fps:g} is outside [{MIN_FPS:g}, {MAX_FPS:g}], the frame rates a GIF can hold")
    if seeds is not None and len(seeds) < 2:
        raise GanforgeError(f"--seeds names {len(seeds)} point(s); a walk needs at least 2, e.g. --seeds 0,1,2")
    for chosen_seed in [seed, *(seeds or [])]:
        if not 0 <= chosen_seed <= SEED_MAX:
            raise GanforgeError(f"{'--seeds' if seeds and chosen_seed in seeds else '--seed'} {chosen_seed} is outside [0, 2^63 - 1], the seeds torch takes")
    stops = len(seeds) if seeds is not None else points
    if count > MAX_SAMPLES:
        raise GanforgeError(f"--count {count:,} walks side by side is more than one frame holds: at most {MAX_SAMPLES:,}")
    if frames * stops > MAX_WALK_FRAMES:
        raise GanforgeError(
            f"--frames {frames:,} x {stops:,} points is {frames * stops:,} frames: at most {MAX_WALK_FRAMES:,} "
            f"(--points, --seeds) in one walk; pass fewer --frames or --points"
        )
    if frames * stops * count > MAX_WALK_PICTURES:
        raise GanforgeError(
            f"{frames * stops:,} frames of --count {count:,} walks are {frames * stops * count:,} pictures: at most "
            f"{MAX_WALK_PICTURES:,} (all are held in memory); pass a smaller --count, --frames or --points"
        )
    variant, checkpoint = load_with_checkpoint(path, device, registry, ema)
    variant.require_prior("a latent walk")
    chosen = chosen_truncation(variant, truncation, truncation_mode)
    check_label(variant, label)
    if label is not None and not variant.conditional:
        variant.class_inputs(1, label, torch.Generator())  # the variant's own one-line refusal
    with truncated(chosen, f"variant '{variant.config.variant.name}'"):
        walk = latent_walk(variant, count, frames, points, seeds, seed, label)
    if variant.spec.is_image:
        pictures = [image_grid(frame, walk.columns, min_tile=WALK_MIN_TILE) for frame in walk.frames]
    else:
        everything, reference = torch.cat(walk.frames), checkpoint.tensors.get("data.reference")
        pictures = [scatter_plot(frame, reference, frame=everything) for frame in walk.frames]
    return write_animation(pictures, out, fps), walk


def translate(
    path: str | Path, input_dir: str | Path, out_dir: str | Path, device: str = "auto", batch_size: int = 16, ema: bool = True
) -> list[Path]:
    """Translate every image in ``input_dir`` with the image-to-image model at ``path``; PNGs of the same names
    go to ``out_dir``. Images are converted to the model's channels and size first. Returns the translations written.
    The generators' EMA weights are used where the run kept them, unless ``ema`` is False.

    Beside them go ``real/`` (each source as the model saw it), ``reconstructed/`` (the translation taken back,
    where the variant has a way back: CycleGAN's F(G(a))) and ``index.html``, a page with one row per source.
    """
    input_dir, out_dir = Path(input_dir), Path(out_dir)
    if not input_dir.is_dir():
        raise GanforgeError(f"--input-dir {input_dir} is not a directory; pass a directory of images")
    files = image_files(input_dir)
    if not files:
        raise GanforgeError(f"{input_dir} holds no images ({', '.join(IMAGE_SUFFIXES)}); pass a directory of images")
    targets = [out_dir / f"{file.stem}.png" for file in files]
    if len(set(targets)) < len(targets):
        raise GanforgeError(f"{input_dir} holds images whose names differ only in their suffix; their outputs would collide")
    if out_dir.exists() and not out_dir.is_dir():
        raise GanforgeError(f"--out {out_dir} is a file; translated images need a directory")
    reals = [out_dir / "real" / target.name for target in targets]
    reconstructions = [out_dir / "reconstructed" / target.name for target in targets]
    clashes = [target for target in [*targets, *reals, *reconstructions, out_dir / PAGE_NAME] if target.exists()]
    if clashes:
        raise GanforgeError(f"{clashes[0]} exists already; choose an empty --out directory")
    variant, _ = load_with_checkpoint(path, device, ema=ema)
    if not variant.spec.is_image:
        raise GanforgeError(f"the model at {path} was trained on points, not images; it cannot translate images")
    sources = torch.stack([read_image(file, variant.spec.shape) for file in files])
    written, rows = [], []
    for start in range(0, len(files), batch_size):
        chunk = sources[start : start + batch_size].to(variant.device).float().div_(127.5).sub_(1.0)
        with torch.no_grad():
            outputs = variant.translate(chunk)
            back = variant.reconstruct(outputs)
        picked = slice(start, start + batch_size)
        shown = [(chunk.cpu(), reals[picked]), (outputs.float().cpu(), targets[picked])]
        shown += [] if back is None else [(back.float().cpu(), reconstructions[picked])]
        columns = [[writing(target, lambda: write_image(image, target)) for image, target in zip(images, paths)] for images, paths in shown]
        written += columns[1]
        rows += [list(row) for row in zip(*columns)]
    headings = ["real", "translated", "reconstructed"][: len(rows[0])]
    writing(out_dir / PAGE_NAME, lambda: write_page(out_dir, f"{Path(path).name}: translations of {input_dir.name}", headings, rows))
    return written

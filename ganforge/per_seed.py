"""One image per seed (``ganforge sample RUN --seeds 0-35 --out DIR``), as StyleGAN2-ADA's ``generate.py`` writes them.

Each image is drawn alone from a generator seeded with its seed, so seed 7 gives the same image whichever other
seeds are asked for, in whichever order, on every call: a user can name the image they liked and share it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganforge.errors import GanforgeError
from ganforge.images import write_image
from ganforge.noise import TruncationMode, truncated
from ganforge.outputs import writing

MAX_SEEDS = 10_000  # images written by one call; as many as sample -n draws
SEED_MAX = 2**63 - 1  # torch's generators take a signed 64-bit seed


def parse_seeds(text: str, option: str = "--seeds") -> list[int]:
    """``0-3,7`` as [0, 1, 2, 3, 7]: whole numbers and inclusive ranges, comma-separated, each seed once, in order."""
    seeds: list[int] = []
    for word in text.split(","):
        word = word.strip()
        first, dash, last = word.partition("-")
        try:
            low, high = int(first), int(last) if dash else int(first)
        except ValueError:
            raise GanforgeError(f"{option} {text!r}: {word!r} is not a seed or a range; pass e.g. 0-35 or 0-3,7") from None
        if not 0 <= low <= SEED_MAX or not 0 <= high <= SEED_MAX:
            raise GanforgeError(f"{option} {text!r}: {word!r} is outside 0 to {SEED_MAX}; seeds are whole numbers from 0")
        if high < low:
            raise GanforgeError(f"{option} {text!r}: the range {word!r} runs backwards; write it low-high, e.g. {high}-{low}")
        if high - low + 1 + len(seeds) > MAX_SEEDS:
            raise GanforgeError(f"{option} {text!r} names more than {MAX_SEEDS:,} seeds; write them in several calls")
        seeds.extend(range(low, high + 1))
    return list(dict.fromkeys(seeds))


def seed_file(out_dir: Path, seed: int) -> Path:
    """Where seed ``seed``'s image goes: ``seed0007.png`` (four digits at least, as generate.py names them)."""
    return out_dir / f"seed{seed:04d}.png"


def seed_inputs(variant: Any, seed: int, label: int | None, caption: str | None) -> Any:
    """The generator's inputs for one image, drawn from ``seed`` alone: with class ``label``, or ``caption``, or
    (for a conditional model given neither) a class drawn from the seed too."""
    generator = torch.Generator().manual_seed(seed)
    if caption is not None:
        return variant.caption_inputs(1, [caption], generator)
    if label is not None:
        return variant.class_inputs(1, label, generator)
    try:
        return variant.evaluation_inputs(1, generator, None)  # independent draws: a conditional model's class from the seed
    except GanforgeError as exc:  # a text-conditioned model needs its caption
        raise GanforgeError(f"{exc}; with --seeds, say what to draw with --caption TEXT") from None


def sample_seeds(
    path: str | Path,
    seeds: list[int],
    out_dir: str | Path,
    device: str = "auto",
    label: int | None = None,
    caption: str | None = None,
    ema: bool = True,
    truncation: float | None = None,
    truncation_mode: TruncationMode | None = None,
) -> list[Path]:
    """Write one PNG per seed, ``out_dir/seed0000.png`` ..., from the generator at ``path``; returns the files.

    The same seed (with the same ``label``, ``caption`` and ``truncation``) gives the same image on every call.
    """
    from ganforge.loading import load_with_checkpoint
    from ganforge.sampling import check_label, chosen_truncation

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise GanforgeError(f"--out {out_dir} is a file; --seeds writes one image per seed into a directory")
    if not seeds:
        raise GanforgeError("--seeds names no seed; pass e.g. 0-35 or 0-3,7")
    if label is not None and caption is not None:
        raise GanforgeError("--class and --caption both choose what to draw; pass one of them")
    if caption is not None:
        caption = " ".join(caption.split())
        if not caption:
            raise GanforgeError("the caption is empty; write what to draw, e.g. --caption 'a thin one leaning left'")
    variant, _ = load_with_checkpoint(path, device, None, ema)
    name = variant.config.variant.name
    if variant.translates:
        raise GanforgeError(f"variant '{name}' translates images and draws no noise; translate a folder with --input-dir DIR instead of --seeds")
    if not variant.spec.is_image:
        raise GanforgeError(f"the model at {path} draws points, not images: one image per seed shows one point; draw a scatter plot with -n instead")
    chosen = chosen_truncation(variant, truncation, truncation_mode)
    check_label(variant, label)
    written = []
    for seed in seeds:
        with truncated(chosen, f"variant '{name}'"):
            inputs = seed_inputs(variant, seed, label, caption)
        with torch.no_grad():
            image = variant.generate(inputs).float().cpu()[0]
        target = seed_file(out_dir, seed)
        written.append(writing(target, lambda: write_image(image, target)))
    return written

"""Inversion: the z (and class) whose image is closest to a given one (``ganforge project RUN --target image.png``).

StyleGAN2's projector (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN", section 5)
optimises the latent by gradient descent on a perceptual distance (LPIPS on VGG features) plus, in later versions,
pixel terms, from the average latent, with a noise regulariser and a learning rate that ramps down. ganforge's
generators take z directly (no mapping network, no noise maps), so here:

- the latent is z itself, started from the best of a few draws of p_z;
- the distance is the mean squared difference of the evaluator's features (:mod:`ganforge.evaluation.evaluator`,
  the network FID is computed on, trained on the run's dataset), each feature vector normalised to unit length as
  LPIPS normalises its channels, plus the pixel mean squared error;
- the regulariser keeps z where p_z puts its mass: for normal noise (|z|^2 / dim - 1)^2, since draws of N(0, I) lie
  on a shell of radius sqrt(dim); uniform noise is clamped into its cube;
- Adam, with a learning rate that ramps up over the first 5% of the steps and down (cosine) over the last 25%.

For a class-conditional model every class is tried for a quarter of the steps; the best one continues.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ganforge.errors import GanforgeError, GanforgeWarning
from ganforge.images import read_image, write_image
from ganforge.outputs import writing

MAX_STEPS = 100_000
STARTS = 16  # draws of z tried before the descent begins
REGULARISE = 0.01  # weight of the prior's regulariser against the distance


@dataclass
class Projection:
    """What :func:`project` found."""

    z: torch.Tensor  # (1, dim)
    label: int | None
    image: torch.Tensor  # (C, H, W) in [-1, 1]
    distance: float  # pixel MSE plus the perceptual distance (0 when the evaluator is not available)
    pixel: float
    perceptual: float | None
    random_distance: float  # the same distance for a random z (of the same class): what "close" is measured against
    files: dict[str, Path]


def _learning_rate(step: int, steps: int, peak: float) -> float:
    """StyleGAN2's projector schedule: a short ramp up, a cosine ramp down over the last quarter."""
    t = (step + 1) / max(steps, 1)
    down = 0.5 - 0.5 * math.cos(min(1.0, (1.0 - t) / 0.25 + 1e-3) * math.pi)
    return peak * down * min(1.0, t / 0.05)


class _Distance:
    """Pixel MSE plus, where an evaluator is at hand, the normalised feature distance; differentiable in the image."""

    def __init__(self, target: torch.Tensor, features: Callable[[torch.Tensor], torch.Tensor] | None):
        self.target = target
        self.features = features
        self.target_features = None if features is None else _unit(features(target.unsqueeze(0)))

    def parts(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        pixel = (images - self.target).pow(2).flatten(1).mean(1)
        if self.features is None:
            return pixel, None
        perceptual = (_unit(self.features(images)) - self.target_features).pow(2).sum(1)
        return pixel, perceptual

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        pixel, perceptual = self.parts(images)
        return pixel if perceptual is None else pixel + perceptual


def _unit(features: torch.Tensor) -> torch.Tensor:
    return features / features.norm(dim=1, keepdim=True).clamp_min(1e-8)


def _evaluator_features(variant: Any, say: Callable[[str], None], progress: Callable[[int, int], None] | None) -> Callable | None:  # noqa: E501
    """The evaluator's feature map for the run's dataset (trained on first use), or None where it has none."""
    from ganforge.evaluation.evaluator import evaluator_for

    config = variant.config
    try:
        evaluator = evaluator_for(config.data.name, variant.registry.load("dataset", config.data.name), config.data.params, say, progress)
    except GanforgeError as exc:
        warnings.warn(f"no evaluator for dataset '{config.data.name}' ({exc}); projecting on pixel distance alone", GanforgeWarning, stacklevel=3)
        return None
    network = evaluator.to(variant.device).network
    for parameter in network.parameters():
        parameter.requires_grad_(False)
    return network.features


def project(
    path: str | Path,
    target: str | Path,
    out_dir: str | Path,
    steps: int = 300,
    label: int | None = None,
    seed: int = 0,
    device: str = "auto",
    ema: bool = True,
    perceptual: bool = True,
    say: Callable[[str], None] = lambda message: None,
    progress: Callable[[int, int], None] | None = None,
) -> Projection:
    """Find the z (and class) whose image from the generator at ``path`` is closest to the image ``target``; write
    ``projected.png``, ``target.png`` (as the model sees it), ``projected_z.npy`` and ``projection.json`` (distance,
    class) into ``out_dir``."""
    from ganforge.loading import load_with_checkpoint
    from ganforge.noise import sample_noise
    from ganforge.sampling import check_label

    target, out_dir = Path(target), Path(out_dir)
    if not 1 <= steps <= MAX_STEPS:
        raise GanforgeError(f"--steps {steps} is outside 1 to {MAX_STEPS:,}; a few hundred steps are usual")
    if not target.is_file():
        raise GanforgeError(f"--target {target} is not a file; pass the image to project (PNG, JPEG, ...)")
    if out_dir.exists() and not out_dir.is_dir():
        raise GanforgeError(f"--out {out_dir} is a file; the projection writes several files into a directory")
    variant, _ = load_with_checkpoint(path, device, None, ema)
    name = variant.config.variant.name
    if not variant.spec.is_image:
        raise GanforgeError(f"the model at {path} draws points, not images; projection needs an image model")
    prior = variant.require_prior("projection")
    check_label(variant, label)
    if label is not None and not variant.conditional:
        variant.class_inputs(1, label, torch.Generator())  # the variant's own one-line refusal
    pixels = read_image(target, variant.spec.shape).float().div(127.5).sub(1).to(variant.device)
    distance = _Distance(pixels, _evaluator_features(variant, say, None) if perceptual else None)
    for network in variant.networks.values():
        network.eval()
        for parameter in network.parameters():
            parameter.requires_grad_(False)
    generator = torch.Generator().manual_seed(seed)
    classes = [label] if label is not None or not variant.conditional else list(range(variant.spec.num_classes))

    def draw(z: torch.Tensor, cls: int | None) -> torch.Tensor:
        labels = None if cls is None else torch.full((len(z),), cls, dtype=torch.long)
        return variant.generate(variant.noise_inputs(z.to(variant.device), None if labels is None else labels.to(variant.device), None)).float()

    with torch.no_grad():
        starts = sample_noise(prior, STARTS, "cpu", generator)
        random_distance = float(distance(draw(starts[:1], classes[0]))[0])
    trial_steps = steps if len(classes) == 1 else max(1, steps // 4)
    total = trial_steps * len(classes) + (steps - trial_steps) * (len(classes) > 1)
    done = [0]

    def descend(z: torch.Tensor, cls: int | None, count: int, offset: int) -> tuple[torch.Tensor, float]:
        z = z.clone().to(variant.device).requires_grad_(True)
        optimiser = torch.optim.Adam([z], lr=0.1, betas=(0.9, 0.999))
        for step in range(count):
            for group in optimiser.param_groups:
                group["lr"] = _learning_rate(offset + step, offset + count, 0.1)
            loss = distance(draw(z, cls)).sum()
            if prior.dist == "normal":
                loss = loss + REGULARISE * (z.pow(2).mean() - 1).pow(2)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            if prior.dist == "uniform":
                with torch.no_grad():
                    z.clamp_(-1, 1)
            done[0] += 1
            if progress is not None:
                progress(done[0], total)
        with torch.no_grad():
            return z.detach(), float(distance(draw(z, cls))[0])

    found = []
    for cls in classes:
        with torch.no_grad():
            start = starts[int(distance(draw(starts, cls)).argmin())].unsqueeze(0)
        found.append((*descend(start, cls, trial_steps, 0), cls))
    z, best, cls = min(found, key=lambda item: item[1])
    if len(classes) > 1 and steps > trial_steps:
        z, best = descend(z, cls, steps - trial_steps, trial_steps)
    with torch.no_grad():
        image = draw(z, cls)[0].cpu()
        pixel, feature = distance.parts(draw(z, cls))
    files = {"projected": out_dir / "projected.png", "target": out_dir / "target.png", "z": out_dir / "projected_z.npy", "record": out_dir / "projection.json"}
    record = {
        "target": str(target), "class": cls, "distance": best, "pixel_mse": float(pixel[0]),
        "perceptual": None if feature is None else float(feature[0]), "random_z_distance": random_distance,
        "steps": steps, "seed": seed, "variant": name,
    }  # fmt: skip
    writing(files["projected"], lambda: write_image(image, files["projected"]))
    writing(files["target"], lambda: write_image(pixels.cpu(), files["target"]))
    writing(files["z"], lambda: np.save(files["z"], z.cpu().numpy()))
    writing(files["record"], lambda: files["record"].write_text(json.dumps(record, indent=2) + "\n"))
    return Projection(z.cpu(), cls, image, best, float(pixel[0]), None if feature is None else float(feature[0]), random_distance, files)


def read_latent(path: Path, dim: int, option: str) -> tuple[torch.Tensor, int | None]:
    """A z written by ``ganforge project`` (``.npy`` of shape (1, dim) or (dim,)), and the class its projection.json
    beside it names, if any."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise GanforgeError(f"{option} {path} is not a .npy array ({exc}); pass the projected_z.npy 'ganforge project' wrote") from None
    if array.dtype.kind != "f" or array.size != dim or not np.isfinite(array).all():
        raise GanforgeError(f"{option} {path} holds {array.size} value(s) of type {array.dtype}; this model's z has {dim} finite floats")
    label = None
    record = path.parent / "projection.json"
    if record.is_file():
        try:
            found = json.loads(record.read_text()).get("class")
            label = found if isinstance(found, int) else None
        except (OSError, ValueError, AttributeError):
            label = None
    return torch.from_numpy(array.astype(np.float32).reshape(1, dim)), label


def walk_between(
    path: str | Path, start: Path, end: Path, out: Path, frames: int = 16, fps: float = 12.0, label: int | None = None,
    device: str = "auto", ema: bool = True,
) -> tuple[Path, int]:  # fmt: skip
    """A GIF (or MP4) from the image of z ``start`` to that of ``end`` (``.npy`` files from ``ganforge project``), by
    slerp for normal noise and lerp for uniform, ``frames`` frames; returns the file and its frame count.

    A conditional model draws class ``label``, else the class the start's projection found."""
    from ganforge.images import image_grid
    from ganforge.loading import load_with_checkpoint
    from ganforge.sampling import check_label
    from ganforge.video import check_target, write_animation
    from ganforge.walk import lerp, slerp

    check_target(out)
    if frames < 2:
        raise GanforgeError(f"--frames {frames} is too small for a walk from --from to --to; pass at least 2")
    variant, _ = load_with_checkpoint(path, device, None, ema)
    prior = variant.require_prior("a latent walk")
    a, found = read_latent(Path(start), prior.dim, "--from")
    b, _ = read_latent(Path(end), prior.dim, "--to")
    label = label if label is not None else found if variant.conditional else None
    check_label(variant, label)
    if variant.conditional and label is None:
        raise GanforgeError("this model is class-conditional: pass --class K (or --from a z whose projection.json names its class)")
    between = slerp if prior.dist == "normal" else lerp
    pictures = []
    for index in range(frames):
        z = between(a, b, index / (frames - 1))
        labels = None if label is None else torch.full((1,), label, dtype=torch.long, device=variant.device)
        with torch.no_grad():
            image = variant.generate(variant.noise_inputs(z.to(variant.device), labels, None)).float().cpu()
        pictures.append(image_grid(image, 1))
    return write_animation(pictures, out, fps), frames

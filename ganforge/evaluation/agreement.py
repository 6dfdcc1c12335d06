"""Text-image agreement: does a generated image show what its caption asks for?

* **class agreement**: the share of generated images whose class, as the evaluator sees it, is the class of the
  example the caption was written for (the caption's class);
* **attribute correlation**: for each attribute the dataset's captions ask for (``Captions.attributes``, e.g. the
  stroke thickness of captioned MNIST, as levels -1, 0, +1), Pearson's correlation between the level asked for and
  the attribute measured on the generated image (``Protocol.measure``), over the captions that say it. Where the
  data has classes, the measurement is first standardised within the class the caption names (by the mean and
  standard deviation of that class's real images), since the levels are thirds of each class: a "wide one" is
  wide for a one, narrower than most zeros;
* the **mismatched baseline**: the same generated images scored against the captions of other samples (a fixed
  random derangement), which a generator that ignores the text also reaches: chance;
* the **real reference**: the correlation of the level asked for with the attribute measured on the caption's own
  real image, the ceiling that words for thirds of the data allow.
"""

from __future__ import annotations

import torch

from ganforge.data import Captions


def pearson(x: torch.Tensor, y: torch.Tensor) -> float:
    """Pearson's correlation of two 1-D tensors; 0 when either is constant or they hold fewer than 2 values."""
    x, y = x.double(), y.double()
    if len(x) < 2:
        return 0.0
    x, y = x - x.mean(), y - y.mean()
    scale = (x.square().sum() * y.square().sum()).sqrt()
    return float((x * y).sum() / scale) if scale > 0 else 0.0


def derangement(count: int, seed: int) -> torch.Tensor:
    """A permutation of ``range(count)`` that moves every index (``count`` >= 2): a random cycle."""
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
    out = torch.empty(count, dtype=torch.long)
    out[order] = order.roll(1)
    return out


def owners(captions: Captions, ids: torch.Tensor) -> torch.Tensor:
    """The example each caption ``ids`` belongs to."""
    return torch.searchsorted(captions.offsets.cpu(), ids.cpu(), right=True) - 1


def text_agreement(
    ids: torch.Tensor,
    captions: Captions,
    labels: torch.Tensor | None,
    predicted: torch.Tensor | None,
    measured: dict[str, torch.Tensor],
    real_measured: dict[str, torch.Tensor],
    seed: int,
) -> tuple[dict[str, float], dict[str, str]]:
    """Scores and their table labels for generated images drawn from captions ``ids``.

    ``labels``: the data's labels (for the caption's class); ``predicted``: the evaluator's class of each generated
    image; ``measured``: attributes of the generated images; ``real_measured``: of every real image of the data.
    """
    ids = ids.cpu()
    shuffled = ids[derangement(len(ids), seed)]
    scores: dict[str, float] = {}
    names: dict[str, str] = {}
    if labels is not None and predicted is not None:
        labels = labels.cpu()
        asked, mismatched = labels[owners(captions, ids)], labels[owners(captions, shuffled)]
        scores["class_agreement"] = float((predicted.cpu() == asked).double().mean())
        scores["class_agreement_mismatched"] = float((predicted.cpu() == mismatched).double().mean())
        names["class_agreement"] = "class agreement (caption's class = evaluator's)"
        names["class_agreement_mismatched"] = "  with mismatched captions (chance)"
    for name, levels in sorted(captions.attributes.items()):
        if name not in measured:
            continue
        levels = levels.cpu()
        said, said_shuffled = ~levels[ids].isnan(), ~levels[shuffled].isnan()
        values = measured[name].cpu().double()
        real = real_measured[name].cpu().double() if name in real_measured else None
        if labels is not None and real is not None:  # relative to the class the caption names
            means = torch.stack([real[labels == c].mean() if (labels == c).any() else real.mean() for c in range(int(labels.max()) + 1)])
            stds = torch.stack([real[labels == c].std() if (labels == c).sum() > 1 else real.std() for c in range(int(labels.max()) + 1)]).clamp(min=1e-9)
            named, named_shuffled = labels[owners(captions, ids)], labels[owners(captions, shuffled)]
            mine, theirs = (values - means[named]) / stds[named], (values - means[named_shuffled]) / stds[named_shuffled]
            real = (real - means[labels]) / stds[labels]
        else:
            mine = theirs = values
        scores[f"{name}_correlation"] = pearson(levels[ids][said], mine[said])
        scores[f"{name}_correlation_mismatched"] = pearson(levels[shuffled][said_shuffled], theirs[said_shuffled])
        names[f"{name}_correlation"] = f"{name}: correlation asked vs measured"
        names[f"{name}_correlation_mismatched"] = "  with mismatched captions (chance)"
        if real is not None:
            own = real[owners(captions, ids)]
            scores[f"{name}_correlation_real"] = pearson(levels[ids][said], own[said])
            names[f"{name}_correlation_real"] = "  on the captions' real images (ceiling)"
    return scores, names

"""Scoring a generator against its run's data: which metrics fit which data, and the report they make.

A :class:`Judge` is prepared once per dataset (evaluator loaded or trained, real features computed) and then
scores a variant as often as asked (``ganforge eval`` once, ``--eval-every`` many times). Samples come from the
variant's :meth:`~ganforge.Variant.evaluation_inputs` (independent draws, exactly as many as asked) and
:meth:`~ganforge.Variant.evaluation_outputs` (the outputs comparable to the data: a staged GAN's last stage, an
image-to-image GAN's translations), so every variant is judged the same way.

Image-to-image (two-domain) data is judged on translations of domain A's images against domain B's, both from
the dataset's test split where it has one and training used another (held-out images).

=====================================  ==================================================  ===========================
data                                   scores                                              main metric
=====================================  ==================================================  ===========================
Gaussian mixture (``ring8``, ...)      modes captured, % high quality, reverse KL         modes, then reverse KL
images whose channels are digits       modes captured of 10^C, KL of the mode histogram    modes, then KL
(``stacked-mnist``)
labelled images (``mnist``, ...)       FID, KID, precision, recall, density, coverage,     FID
                                       classifier score
captioned images (``captioned-mnist``)  the same, and for a text-conditioned run text-     FID
                                       image agreement (class, attribute correlations),
                                       beside a mismatched-caption baseline
other points                           Frechet distance and precision/recall of the raw   Frechet distance
                                       coordinates
=====================================  ==================================================  ===========================
"""

from __future__ import annotations

import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import torch

from ganforge.config import MAX_EVAL_SAMPLES, factory_options
from ganforge.data import TensorData
from ganforge.errors import GanforgeError
from ganforge.evaluation import features as feature_scores
from ganforge.evaluation.agreement import text_agreement
from ganforge.evaluation.evaluator import Evaluator, EvaluatorInfo, evaluator_for
from ganforge.evaluation.modes import ModeReport, label_modes, mixture_modes
from ganforge.variant import Variant

MIXTURE_SAMPLES = 2_500  # PacGAN / VEEGAN
STACKED_SAMPLES = 26_000  # PacGAN's stacked-MNIST protocol
IMAGE_SAMPLES = 10_000


@dataclass
class Report:
    """The scores of one evaluation. ``scores`` is flat and JSON-ready; ``main`` orders reports (best first)."""

    protocol: str
    samples: int
    scores: dict[str, float | int]
    main: str  # the key of the main metric
    lower_is_better: bool
    evaluator: EvaluatorInfo | None = None
    labels: dict[str, str] = field(default_factory=dict)  # score key -> how tables name it

    def rank(self) -> tuple[float, ...]:
        """Sort key, smaller is better: the main metric (then the KL, for mode counts)."""
        main = self.scores[self.main]
        key = (main if self.lower_is_better else -main,)
        return key + ((self.scores["reverse_kl"],) if "reverse_kl" in self.scores and self.main == "modes" else ())

    def to_dict(self) -> dict[str, Any]:
        out = {"protocol": self.protocol, "samples": self.samples, "main": self.main, **self.scores}
        if self.evaluator is not None:
            out["evaluator"] = {"name": self.evaluator.name, **asdict(self.evaluator)}
        return out


@torch.no_grad()
def generate(variant: Variant, count: int, data: TensorData | None, seed: int = 0, batch: int = 1000) -> torch.Tensor:
    """Exactly ``count`` outputs comparable to the data, from independent inputs (networks in eval mode), in chunks,
    on the CPU. A variant whose evaluation outputs are not one example of the data's shape per input is an error."""
    return generate_with_captions(variant, count, data, seed, batch)[0]


@torch.no_grad()
def generate_with_captions(
    variant: Variant, count: int, data: TensorData | None, seed: int = 0, batch: int = 1000
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """:func:`generate`, and the caption of each output (indices into ``data.captions``) where the variant draws
    from captions (:meth:`~ganforge.Variant.evaluation_captions`), else None."""
    generator = torch.Generator().manual_seed(seed)
    modes = {name: network.training for name, network in variant.networks.items()}
    for network in variant.networks.values():
        network.eval()
    try:
        parts, captions = [], []
        for start in range(0, count, batch):
            wanted = min(batch, count - start)
            inputs = variant.evaluation_inputs(wanted, generator, data)
            captions.append(variant.evaluation_captions(inputs))
            outputs = variant.evaluation_outputs(inputs).float().cpu()
            if tuple(outputs.shape) != (wanted, *variant.spec.shape):
                raise GanforgeError(
                    f"variant '{variant.config.variant.name}' gave evaluation outputs of shape {tuple(outputs.shape)} for "
                    f"{wanted} inputs; evaluation needs one example of the data's shape {variant.spec.shape} per input "
                    "(see evaluation_inputs and evaluation_outputs in docs/plugins.md)"
                )
            parts.append(outputs)
    finally:
        for name, network in variant.networks.items():
            network.train(modes[name])
    ids = None if any(chunk is None for chunk in captions) else torch.cat([chunk.cpu() for chunk in captions])
    return torch.cat(parts), ids


def check_eval_count(count: int | None) -> None:
    """Refuse a number of samples no evaluation can use (None: the protocol's own)."""
    if count is not None and count < 2:
        raise GanforgeError(f"cannot evaluate on {count} sample(s); use -n 2 or more")
    if count is not None and count > MAX_EVAL_SAMPLES:
        raise GanforgeError(
            f"cannot evaluate on {count:,} samples: at most {MAX_EVAL_SAMPLES:,} (the samples and their distances are "
            "held in memory; 50,000 is the largest customary FID protocol)"
        )


def _images(data: torch.Tensor) -> torch.Tensor:
    return data.float().div(127.5).sub(1)


def equal_sets(real: torch.Tensor, fake: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``real`` and ``fake`` features cut to sets of equal size, as the k-NN scores (precision, recall, density,
    coverage) need, since the k-NN radii of each set depend on its size: the first real features (already a random
    choice) or a random choice of the fake ones, drawn with ``seed``, whichever set is larger."""
    if len(fake) > len(real):
        chosen = torch.randperm(len(fake), generator=torch.Generator().manual_seed(seed))[: len(real)]
        fake = fake[chosen.to(fake.device)]
    return real[: len(fake)], fake


def held_out(data: TensorData, dataset: str, params: dict[str, Any], registry) -> TensorData:
    """The data evaluation uses: for two-domain and captioned data, the dataset's test split where it has one and
    ``data`` is another split (translations are judged on images the model never saw, text-to-image on captions it
    never read); else ``data`` itself."""
    if data.spec.domains != 2 and not data.spec.captioned:
        return data
    split = factory_options(registry.load("dataset", dataset)).get("split")
    if split is None or "test" not in typing.get_args(split.annotation) or params.get("split") == "test":
        return data
    return registry.get("dataset", dataset).build({**params, "split": "test"}).to(data.data.device)


class Judge:
    """Scores samples of one dataset; :func:`judge_for` picks the subclass that fits the data."""

    default_samples = MIXTURE_SAMPLES

    def __init__(self, data: TensorData):
        self.data = data

    def __call__(self, variant: Variant, count: int | None = None, seed: int = 0) -> Report:
        count = self.default_samples if count is None else count
        check_eval_count(count)
        return self.score(generate(variant, count, self.data, seed), seed)

    def score(self, samples: torch.Tensor, seed: int) -> Report:
        raise NotImplementedError


def _mode_report(protocol: str, report: ModeReport, evaluator: EvaluatorInfo | None = None, quality: bool = True) -> Report:
    scores: dict[str, float | int] = {"modes": report.modes, "total_modes": report.total_modes}
    labels = {"modes": f"modes captured (of {report.total_modes})"}
    if quality:
        scores["high_quality"] = report.high_quality
        labels["high_quality"] = "high-quality samples (within 3 std)"
    scores["reverse_kl"] = report.reverse_kl
    labels["reverse_kl"] = "reverse KL(modes || uniform)"
    return Report(protocol, report.samples, scores, "modes", False, evaluator, labels)


class MixtureJudge(Judge):
    """PacGAN/VEEGAN mode metrics against the mixture's true centres and std."""

    def score(self, samples: torch.Tensor, seed: int) -> Report:
        report = mixture_modes(samples, self.data.reference, self.data.protocol.mode_std)
        return _mode_report("Gaussian mixture (PacGAN/VEEGAN protocol)", report)


class ChannelModesJudge(Judge):
    """Stacked MNIST: each channel classified by the source dataset's evaluator; mode = the tuple of classes."""

    default_samples = STACKED_SAMPLES

    def __init__(self, data: TensorData, evaluator: Evaluator):
        super().__init__(data)
        self.evaluator = evaluator

    def score(self, samples: torch.Tensor, seed: int) -> Report:
        count, channels = samples.shape[:2]
        _, logits = self.evaluator.features_and_logits(samples.reshape(count * channels, 1, *samples.shape[2:]))
        classes = logits.shape[1]
        digits = logits.argmax(1).view(count, channels).cpu()
        place = classes ** torch.arange(channels - 1, -1, -1)
        report = label_modes((digits * place).sum(1), classes**channels)
        return _mode_report(f"modes over {channels} stacked channels", report, self.evaluator.info, quality=False)


class ImageJudge(Judge):
    """FID, KID, precision/recall and classifier score on the evaluator's features, against real images.

    ``evaluator`` is an :class:`Evaluator` or an Inception evaluator: anything with ``features_and_logits`` and ``info``.
    """

    default_samples = IMAGE_SAMPLES

    def __init__(self, data: TensorData, evaluator: Any, reference_count: int | None = None):
        super().__init__(data)
        self.evaluator = evaluator
        reference_count = reference_count or IMAGE_SAMPLES
        real = data.data if data.other is None else data.other  # two-domain data is compared with domain B
        chosen = torch.randperm(len(real), generator=torch.Generator().manual_seed(0))[:reference_count]
        self.real, _ = evaluator.features_and_logits(_images(real[chosen.to(real.device)]))

    def score(self, samples: torch.Tensor, seed: int) -> Report:
        return self.image_report(samples, seed)[0]

    def image_report(self, samples: torch.Tensor, seed: int) -> tuple[Report, torch.Tensor]:
        """The report, and the evaluator's class logits of the samples."""
        fake, logits = self.evaluator.features_and_logits(samples)
        kid, kid_std = feature_scores.kernel_distance(self.real, fake, seed)
        real, fake_equal = equal_sets(self.real, fake, seed)
        precision, recall = feature_scores.precision_recall(real, fake_equal)
        density, coverage = feature_scores.density_coverage(real, fake_equal)
        score, score_std = feature_scores.classifier_score(logits, seed)
        class_kl, smallest_class = feature_scores.class_histogram(logits)
        scores = {
            "fid": feature_scores.frechet_distance(self.real, fake),
            "kid": kid,
            "kid_std": kid_std,
            "precision": precision,
            "recall": recall,
            "density": density,
            "coverage": coverage,
            "classifier_score": score,
            "classifier_score_std": score_std,
            "class_kl": class_kl,
            "smallest_class": smallest_class,
        }
        labels = {
            "fid": "FID",
            "kid": "KID (raw MMD², unscaled)",  # papers often print it ×100 or ×1000: say which
            "precision": "precision (k=3)",
            "recall": "recall (k=3)",
            "density": "density (k=5)",
            "coverage": "coverage (k=5)",
            "classifier_score": "classifier score (IS form)",
            "class_kl": "class histogram KL to uniform",
            "smallest_class": "smallest class's share",
        }
        return Report(f"images, {len(self.real):,} real", len(samples), scores, "fid", True, self.evaluator.info, labels), logits


class TextImageJudge(ImageJudge):
    """Captioned images: :class:`ImageJudge`'s scores and, for a variant that draws from captions, text-image
    agreement (:mod:`ganforge.evaluation.agreement`): the caption's class against the evaluator's, and the
    attributes asked for against those measured (``Protocol.measure``), beside a mismatched-caption baseline."""

    def __init__(self, data: TensorData, evaluator: Any, reference_count: int | None = None):
        super().__init__(data, evaluator, reference_count)
        measure = data.protocol.measure
        self.real_measured = {} if measure is None else measure(_images(data.data))

    def __call__(self, variant: Variant, count: int | None = None, seed: int = 0) -> Report:
        count = count or self.default_samples
        if count < 2:
            raise GanforgeError(f"cannot evaluate on {count} sample(s); use -n 2 or more")
        samples, ids = generate_with_captions(variant, count, self.data, seed)
        report, logits = self.image_report(samples, seed)
        if ids is None:  # a label-conditioned run on captioned data: images alone
            return report
        measure = self.data.protocol.measure
        measured = {} if measure is None else measure(samples)
        labelled = self.data.labels is not None and logits.shape[1] == self.data.spec.num_classes
        predicted = logits.argmax(1).cpu() if labelled else None
        scores, labels = text_agreement(ids, self.data.captions, self.data.labels, predicted, measured, self.real_measured, seed)
        report.scores.update(scores)
        report.labels.update(labels)
        report.protocol += ", text-image agreement on held-out captions"
        return report


class PointJudge(Judge):
    """Points without known modes: the same distances as for images, on the raw coordinates."""

    def __init__(self, data: TensorData, reference_count: int = 10_000):
        super().__init__(data)
        chosen = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))[:reference_count]
        self.real = data.data[chosen.to(data.data.device)].float().flatten(1).cpu()

    def score(self, samples: torch.Tensor, seed: int) -> Report:
        fake = samples.flatten(1)
        real, fake_equal = equal_sets(self.real, fake, seed)
        precision, recall = feature_scores.precision_recall(real, fake_equal)
        density, coverage = feature_scores.density_coverage(real, fake_equal)
        scores = {
            "frechet_distance": feature_scores.frechet_distance(self.real, fake),
            "precision": precision,
            "recall": recall,
            "density": density,
            "coverage": coverage,
        }
        labels = {
            "frechet_distance": "Frechet distance (raw coordinates)",
            "precision": "precision (k=3)",
            "recall": "recall (k=3)",
            "density": "density (k=5)",
            "coverage": "coverage (k=5)",
        }
        return Report("points, raw coordinates", len(samples), scores, "frechet_distance", True, None, labels)


def judge_for(
    data: TensorData,
    dataset: str,
    params: dict[str, Any],
    registry,
    device: torch.device | str = "cpu",
    say: Callable[[str], None] = lambda message: None,
    evaluator: Literal["cnn", "inception"] = "cnn",
    inception_weights: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Judge:
    """The judge for ``data`` (the dataset ``dataset`` built with ``params``), evaluator ready on ``device``.

    ``evaluator`` "inception" scores images on Inception-v3 (weights at ``inception_weights``) instead of
    ganforge's CNN; it applies to image datasets scored by FID, not to mode counts. ``say`` and ``progress``
    hear about the first-use training of ganforge's evaluator (see :func:`evaluator_for`).
    """
    data = held_out(data, dataset, params, registry)
    protocol = data.protocol
    if evaluator == "inception":
        if not data.spec.is_image or protocol.channels_of is not None:
            raise GanforgeError(f"--evaluator inception scores images by FID; dataset '{dataset}' is scored by mode coverage, use the default evaluator")
        from ganforge.evaluation.inception import InceptionEvaluator

        judge = TextImageJudge if data.spec.captioned else ImageJudge
        return judge(data, InceptionEvaluator(inception_weights).to(torch.device(device)))
    if not data.spec.is_image:
        if data.reference is not None and protocol.mode_std is not None:
            return MixtureJudge(data)
        return PointJudge(data)
    if protocol.channels_of is not None:
        factory = registry.load("dataset", protocol.channels_of)
        evaluator = evaluator_for(protocol.channels_of, factory, params, say, progress).to(torch.device(device))
        return ChannelModesJudge(data, evaluator)
    if data.spec.captioned:  # scored by the evaluator of the uncaptioned dataset its images come from, where named
        source = protocol.target or dataset
        evaluator = evaluator_for(source, registry.load("dataset", source), params, say).to(torch.device(device))
        return TextImageJudge(data, evaluator)
    if data.spec.domains == 2:  # translations are scored by an evaluator of domain B's labelled source dataset
        if protocol.target is None:
            raise GanforgeError(
                f"dataset '{dataset}' gives no labelled dataset for its domain B, so ganforge cannot train an evaluator "
                "for it; use --evaluator inception (Inception-v3 weights on disk) to score translations"
            )
        evaluator = evaluator_for(protocol.target, registry.load("dataset", protocol.target), params, say, progress).to(torch.device(device))
        return ImageJudge(data, evaluator)
    source = protocol.target or dataset  # a labelled dataset scored by another's evaluator, where it names one
    evaluator = evaluator_for(source, registry.load("dataset", source), params, say, progress).to(torch.device(device))
    return ImageJudge(data, evaluator)

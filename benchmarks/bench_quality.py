"""Image quality against issue 15's targets: ganforge's recipes beside today's figures and the published rows.

Each row trains its runs (one per seed) and scores them with ``ganforge eval``'s protocol on ganforge's evaluator,
whose name and weights' hash are printed on every row (numbers compare exactly when the hashes match):

    python benchmarks/bench_quality.py                                  # every row but stacked MNIST, 3 seeds
    python benchmarks/bench_quality.py --rows vanilla-fashion --seeds 1 # one row
    python benchmarks/bench_quality.py --rows stacked                   # stacked MNIST (about an hour a run on a busy core)
    python benchmarks/bench_quality.py --quick                          # smoke run: 2 steps a run, tiny evaluator
    python benchmarks/bench_quality.py --save out.json                  # keep the figures; --load to reprint them
    python benchmarks/bench_quality.py --rows dcgan-fashion --seed 2 --save s2.json  # one seed per process, then
    python benchmarks/bench_quality.py --load s1.json --load s2.json --load s3.json  # one table of all three

The rows (``--rows``, comma-separated): ``vanilla-fashion``, ``dcgan-fashion``, ``mnist-test`` (vanilla, dcgan and
cgan on MNIST's 10,000-image test split), ``scarce`` (dcgan on 10% of Fashion-MNIST, with and without
``augment.policy``), ``stacked``. ``--quick`` trains every run for 2 steps with a tiny evaluator in a temporary
cache and scores 200 samples: it checks the script end to end, and its figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

# DiffAugment's policy for scarce data (Zhao et al. 2020), the data-efficient recipe of the ``scarce`` row
SCARCE_RECIPE = {"augment.policy": "color,translation,cutout"}


@dataclass
class Run:
    """One configuration of a row, trained once per seed."""

    label: str  # how the table names it
    variant: str
    data: str
    settings: dict
    samples: int | None = None  # None: the protocol's (10,000 images, 26,000 for stacked MNIST)


@dataclass
class Row:
    name: str
    title: str
    today: str  # the figures for today's code
    target: str
    runs: list[Run]
    met: Callable[[dict[str, dict]], bool]  # from each run's mean scores (by label)
    published: list[str] = field(default_factory=list)


def fashion(variant: str, epochs: int, label: str, **settings) -> Run:
    return Run(label, variant, "fashion-mnist", {"train.epochs": epochs, **settings})


def mnist_test(variant: str) -> Run:
    return Run(f"{variant}, MNIST test split, 20 epochs", variant, "mnist", {"data.split": "test", "train.epochs": 20})


ROWS = [
    Row(
        "vanilla-fashion", "vanilla, Fashion-MNIST, 5 epochs, its defaults", "FID 146.9, recall 0.0014",
        "FID <= 60, recall >= 0.25, class histogram KL to uniform <= 0.05",
        [fashion("vanilla", 5, "vanilla, Fashion-MNIST, 5 epochs")],
        lambda s: all(r["fid"] <= 60 and r["recall"] >= 0.25 and r["class_kl"] <= 0.05 for r in s.values()),
        ["Lucic et al. 2018 (Table 2, best FID of a large search, Inception features, not comparable): "
         "MM GAN 29.6, NS GAN 26.5, LSGAN 30.7, WGAN 21.5, WGAN GP 24.5, DRAGAN 27.6, BEGAN 22.9, VAE 58.7"],
    ),
    Row(
        "dcgan-fashion", "dcgan, Fashion-MNIST, 5 epochs, its defaults", "FID 64.3, recall 0.49",
        "FID <= 25, precision and recall >= 0.6",
        [fashion("dcgan", 5, "dcgan, Fashion-MNIST, 5 epochs")],
        lambda s: all(r["fid"] <= 25 and r["precision"] >= 0.6 and r["recall"] >= 0.6 for r in s.values()),
    ),
    Row(
        "mnist-test", "vanilla, dcgan, cgan on the MNIST test split (10k images), 20 epochs", "vanilla collapses",
        "no collapse: every class >= 5% of samples, FID reported",
        [mnist_test("vanilla"), mnist_test("dcgan"), mnist_test("cgan")],
        lambda s: all(r["smallest_class"] >= 0.05 for r in s.values()),
    ),
    Row(
        "scarce", "dcgan with 10% of Fashion-MNIST (6,000 images), 30 epochs", "not measured",
        "data-efficient recipe: FID at least 30% lower than the same run without it",
        [
            fashion("dcgan", 30, "dcgan, 10% of Fashion-MNIST, 30 epochs", **{"data.fraction": 0.1}),
            fashion("dcgan", 30, "the same with augment.policy=color,translation,cutout", **{"data.fraction": 0.1}, **SCARCE_RECIPE),
        ],
        lambda s: len(s) == 2 and list(s.values())[1]["fid"] <= 0.7 * list(s.values())[0]["fid"],
    ),
    Row(
        "stacked", "stacked MNIST, 1,000 modes, 26,000 samples", "not measured",
        "1,000 modes, KL <= 0.06, within 60 minutes on 2 CPU cores",
        [Run("dcgan, stacked MNIST (from MNIST's test split)", "dcgan", "stacked-mnist", {"data.split": "test", "train.epochs": 5})],
        lambda s: all(r["modes"] >= 1000 and r["reverse_kl"] <= 0.06 for r in s.values()),
        ["PacGAN (Lin et al. 2018), Table 3: DCGAN 99 modes, KL 3.40; PacDCGAN2 1,000 modes, KL 0.06; "
         "PacDCGAN4 1,000 modes, KL 0.07", "R3GAN (Huang et al. 2024): 1,000 modes, KL 0.029"],
    ),
]  # fmt: skip
DEFAULT_ROWS = [row.name for row in ROWS if row.name != "stacked"]
SHOWN = {"fid": "FID", "kid": "KID", "precision": "P", "recall": "R", "class_kl": "class KL", "smallest_class": "min class",
         "classifier_score": "score", "modes": "modes", "reverse_kl": "KL"}  # fmt: skip


def train_and_score(run: Run, seed: int, args: argparse.Namespace) -> dict:
    import ganforge

    root = {"fashion-mnist": "fashion-mnist", "mnist": "mnist", "stacked-mnist": "mnist"}[run.data]
    settings = {**run.settings, "data.root": os.path.join(args.data_root, root), "train.seed": seed, "train.device": args.device}
    settings.update(args.overrides)
    if args.quick:
        settings.update({"train.max_steps": 2, "train.epochs": 1})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        result = ganforge.train(run.variant, run.data, settings=settings, out=out, overwrite=True)
        trained = time.perf_counter() - started
        report = ganforge.evaluate(out, count=200 if args.quick else run.samples, device=args.device, say=print).to_dict()
    report.update(steps=result.steps, train_s=trained, total_s=time.perf_counter() - started, seed=seed)
    return report


def summary(reports: list[dict], steps: int, evaluator: dict) -> dict:
    """Mean and std over the seeds' ``reports`` (each ``SHOWN``'s figures, ``seed`` and ``train_s``), and each seed's."""
    keys = [key for key in SHOWN if key in reports[0]]
    mean = {key: statistics.mean(r[key] for r in reports) for key in keys}
    mean["std"] = {key: statistics.stdev(r[key] for r in reports) if len(reports) > 1 else 0.0 for key in keys}
    mean.update(seeds=len(reports), steps=steps, train_s=statistics.mean(r["train_s"] for r in reports), evaluator=evaluator)
    mean["per_seed"] = [{key: r[key] for key in keys} | {"seed": r["seed"], "train_s": round(r["train_s"])} for r in reports]
    return mean


def combined(earlier: dict, later: dict) -> dict:
    """One run's figures from two --save files (seeds measured by different processes), each seed once."""
    seen = {r["seed"] for r in earlier["per_seed"]}
    reports = earlier["per_seed"] + [r for r in later["per_seed"] if r["seed"] not in seen]
    return summary(sorted(reports, key=lambda r: r["seed"]), earlier["steps"], earlier["evaluator"])


def print_table(results: dict[str, dict[str, dict]], quick: bool) -> None:
    print("\n# issue 15: ganforge's recipes against the targets (mean of the seeds; ganforge eval)")
    if quick:
        print("  --quick: 2 steps a run, a tiny evaluator: the figures below only show that the script works")
    for row in ROWS:
        measured = results.get(row.name, {})
        print(f"\n## {row.title}\n   today: {row.today}\n   target: {row.target}")
        for published in row.published:
            print(f"   published: {published}")
        for run in row.runs:
            scores = measured.get(run.label)
            if scores is None:
                print(f"   {run.label}: not measured")
                continue
            figures = ", ".join(f"{SHOWN[key]} {scores[key]:.4g}" for key in SHOWN if key in scores)
            evaluator = scores["evaluator"]
            print(
                f"   {run.label}: {figures}  ({scores['seeds']} seed(s), {scores['steps']:,} steps, "
                f"{scores['train_s']:.0f} s to train; evaluator {evaluator.get('name', '?')})"
            )
        if len(measured) == len(row.runs):
            print(f"   target {'MET' if row.met(measured) else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/data", help="holds fashion-mnist/ and mnist/")
    parser.add_argument("--rows", default=",".join(DEFAULT_ROWS), help=f"comma-separated, of {', '.join(r.name for r in ROWS)}")
    parser.add_argument("--seeds", type=int, default=3, help="train seeds 1..N")
    parser.add_argument("--seed", type=int, action="append", default=[], help="train this seed instead (repeatable): split the seeds between processes, then --load their --save files together")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="key=value into every run (a variation)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 steps a run, 1 seed, tiny evaluator in a temporary cache")
    parser.add_argument("--save", type=Path, help="write the figures measured here to this JSON file")
    parser.add_argument("--load", type=Path, action="append", default=[], help="figures from earlier --save files (repeatable)")
    args = parser.parse_args()
    chosen = [name for name in args.rows.split(",") if name]
    unknown = [name for name in chosen if name not in {row.name for row in ROWS}]
    if unknown:
        parser.error(f"--rows: unknown row {unknown[0]!r}; choose from {', '.join(row.name for row in ROWS)}")
    args.overrides = dict(item.partition("=")[::2] for item in args.overrides)
    if args.quick:
        from ganforge.evaluation import evaluator, judges

        os.environ["GANFORGE_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-quality-")  # the tiny evaluator stays out of the cache
        evaluator.TRAIN_STEPS, judges.IMAGE_SAMPLES = 4, 200
        args.seeds, args.seed = 1, args.seed[:1]

    results: dict[str, dict[str, dict]] = {}
    for path in args.load:
        for name, runs in json.loads(path.read_text()).items():
            for label, figures in runs.items():
                known = results.setdefault(name, {})
                known[label] = combined(known[label], figures) if label in known else figures
    for row in ROWS:
        if row.name not in chosen or args.load:
            continue
        for run in row.runs:
            reports = [train_and_score(run, seed, args) for seed in args.seed or range(1, args.seeds + 1)]
            results.setdefault(row.name, {})[run.label] = summary(reports, reports[0]["steps"], reports[0].get("evaluator") or {})
            seeds = ", ".join(f"seed {r['seed']} FID {r.get('fid', float('nan')):.2f}" for r in reports)
            print(f"{run.label}: {seeds} (evaluator {(reports[0].get('evaluator') or {}).get('name', '?')})")
    if args.save:
        args.save.write_text(json.dumps(results, indent=1))
    print_table(results, args.quick)


if __name__ == "__main__":
    main()

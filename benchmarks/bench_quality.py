"""Image quality per CPU-minute: ganforge's recipes against issue 32's targets, beside the published rows.

Each row trains its runs (one per seed) and scores them with ``ganforge eval``'s protocol on ganforge's evaluator,
whose name and weights' hash are printed on every row (numbers compare exactly when the hashes match; MNIST's and
Fashion-MNIST's evaluators ship with ganforge, so every installation prints the same hashes):

    python benchmarks/bench_quality.py                                  # every row but stacked MNIST, 3 seeds
    python benchmarks/bench_quality.py --rows quickstart --seeds 1      # one row, seed 0
    python benchmarks/bench_quality.py --rows stacked                   # stacked MNIST (an hour a run)
    python benchmarks/bench_quality.py --quick                          # smoke run: 2 steps a run, 200 samples
    python benchmarks/bench_quality.py --save out.json                  # keep the figures; --load to reprint them
    python benchmarks/bench_quality.py --rows quickstart --seed 1 --save s1.json  # one seed per process, then
    python benchmarks/bench_quality.py --load s0.json --load s1.json --load s2.json  # one table of all three

The rows (``--rows``, comma-separated): ``r3gan-fashion`` (r3gan on Fashion-MNIST for 20 minutes),
``quickstart`` (the Quickstart's vanilla on MNIST's test split, its defaults), ``stacked`` (r3gan on stacked MNIST
for 60 minutes), ``scarce`` (dcgan on 1% of Fashion-MNIST for 5,000 steps, without and with
DiffAugment, each with D's overfitting gap at the end), ``evaluator`` (a short run scored by ``ganforge eval`` in
two processes, on 1 and on 2 threads: the evaluator hash each prints). Rows that need what this installation
lacks (a variant, a setting) say so instead of a figure. ``--quick`` trains every run for 2 steps and scores 200
samples: it checks the script end to end, and its figures mean nothing.
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

from ganforge.errors import GanforgeError

# DiffAugment's policy for scarce data (Zhao et al. 2020), the data-efficient recipe of the ``scarce`` row
SCARCE_RECIPE = {"augment.policy": "color,translation,cutout"}
# 1% of Fashion-MNIST (600 images), the same number of steps with and without augmentation (about 533 epochs)
SCARCE = {"data.fraction": 0.01, "train.epochs": 100_000, "train.max_steps": 5_000}
THREADS = (1, 2)  # the evaluator row scores one run in a process of each of these thread counts


@dataclass
class Run:
    """One configuration of a row, trained once per seed."""

    label: str  # how the table names it
    variant: str
    data: str
    settings: dict
    samples: int | None = None  # None: the protocol's (10,000 images, 26,000 for stacked MNIST)
    threads: tuple[int, ...] = ()  # the evaluator row: score a short run once per thread count, in processes of their own


@dataclass
class Row:
    name: str
    title: str
    today: str  # the figures for the code before it
    target: str
    runs: list[Run]
    met: Callable[[dict[str, dict]], bool]  # from each run's mean scores (by label)
    published: list[str] = field(default_factory=list)


def shipped_hash(dataset: str) -> str:
    from ganforge.evaluation.evaluator import SHIPPED

    return SHIPPED[dataset]


ROWS = [
    Row(
        "r3gan-fashion", "`ganforge run r3gan --data fashion-mnist --minutes 20`",
        "dcgan, 5 epochs in 11.5 min: FID 43.6, P 0.54, R 0.63",
        "FID <= 20, precision and recall >= 0.65, class KL <= 0.02 (3 seeds)",
        [Run("r3gan, Fashion-MNIST, 20 minutes", "r3gan", "fashion-mnist", {"train.minutes": 20})],
        lambda s: all(r["fid"] <= 20 and min(r["precision"], r["recall"]) >= 0.65 and r["class_kl"] <= 0.02 for r in s.values()),
        ["Lucic et al. 2018 (Table 2, best FID of a large search, Inception features, not comparable): "
         "MM GAN 29.6, NS GAN 26.5, LSGAN 30.7, WGAN 21.5, WGAN GP 24.5, DRAGAN 27.6, BEGAN 22.9, VAE 58.7"],
    ),
    Row(
        "quickstart", "`ganforge run vanilla --data mnist --set data.split=test`, its defaults (the Quickstart)",
        "smallest class 0.0-0.01%, recall 0.0 (collapsed)", "every class >= 5% of samples, recall >= 0.3 (3 seeds)",
        [Run("vanilla, MNIST test split, its defaults", "vanilla", "mnist", {"data.split": "test"})],
        lambda s: all(seed["smallest_class"] >= 0.05 and seed["recall"] >= 0.3 for r in s.values() for seed in r["per_seed"]),
    ),
    Row(
        "stacked", "stacked MNIST, r3gan, 60 minutes, 26,000 samples", "dcgan: 994 of 1,000 modes, KL 0.336 in 69 minutes",
        "1,000 modes, KL <= 0.05",
        [Run("r3gan, stacked MNIST (from MNIST's test split), 60 minutes", "r3gan", "stacked-mnist", {"data.split": "test", "train.minutes": 60})],
        lambda s: all(r["modes"] >= 1000 and r["reverse_kl"] <= 0.05 for r in s.values()),
        ["PacGAN (Lin et al. 2018), Table 3: DCGAN 99 modes, KL 3.40; PacDCGAN2 1,000 modes, KL 0.06; "
         "PacDCGAN4 1,000 modes, KL 0.07", "R3GAN (Huang et al. 2024): 1,000 modes, KL 0.029"],
    ),
    Row(
        "scarce", "dcgan on 1% of Fashion-MNIST (600 images), 5,000 steps, without and with DiffAugment",
        "10% for 30 epochs: FID 68.3 without, 94.6 with (worse)",
        "FID at least 30% lower with augmentation, D's overfitting gap (r_t training - held-out) shown in both",
        [
            Run("dcgan, 1% of Fashion-MNIST", "dcgan", "fashion-mnist", dict(SCARCE)),
            Run("the same with augment.policy=color,translation,cutout", "dcgan", "fashion-mnist", {**SCARCE, **SCARCE_RECIPE}),
        ],
        lambda s: len(s) == 2 and list(s.values())[1]["fid"] <= 0.7 * list(s.values())[0]["fid"]
        and all("rt_gap" in r for r in s.values()),
        ["Zhao et al. 2020 (DiffAugment, Inception features, not comparable): CIFAR-10 with 10% of the data, "
         "StyleGAN2 FID 36.0 without, 14.5 with"],
    ),
    Row(
        "evaluator", "the same `ganforge eval` hash in processes of 1 and 2 threads", "differs between installations",
        "identical, and equal to the README's (the shipped file's)",
        [Run("vanilla, MNIST test split, 2 steps, scored on 1 and 2 threads", "vanilla", "mnist",
             {"data.split": "test", "train.max_steps": 2}, samples=1000, threads=THREADS)],
        lambda s: all(r["hashes"] == [shipped_hash("mnist")] * len(THREADS) for r in s.values()),
    ),
]  # fmt: skip
DEFAULT_ROWS = [row.name for row in ROWS if row.name != "stacked"]
SHOWN = {"fid": "FID", "kid": "KID", "precision": "P", "recall": "R", "class_kl": "class KL", "smallest_class": "min class",
         "classifier_score": "score", "modes": "modes", "reverse_kl": "KL", "rt_train": "r_t train",
         "rt_held_out": "r_t held-out", "rt_gap": "D's gap"}  # fmt: skip


def train_and_score(run: Run, seed: int, args: argparse.Namespace) -> dict:
    import ganforge

    root = {"fashion-mnist": "fashion-mnist", "mnist": "mnist", "stacked-mnist": "mnist"}[run.data]
    settings = {**run.settings, "data.root": os.path.join(args.data_root, root), "train.seed": seed, "train.device": args.device}
    settings.update(args.overrides)
    if args.quick:
        settings.update({"train.max_steps": 2, "train.epochs": 1})
        settings.pop("train.minutes", None)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        result = ganforge.train(run.variant, run.data, settings=settings, out=out, overwrite=True)
        trained = time.perf_counter() - started
        count = 200 if args.quick else run.samples
        if run.threads:
            report = scored_in_processes(out, count, run.threads, args.device)
        else:
            report = ganforge.evaluate(out, count=count, device=args.device, say=print).to_dict()
        report.update(last_overfitting(Path(out) / "metrics.jsonl"))
    report.update(steps=result.steps, train_s=trained, total_s=time.perf_counter() - started, seed=seed)
    return report


def scored_in_processes(run_dir: str, count: int | None, threads: tuple[int, ...], device: str) -> dict:
    """``ganforge eval --json`` on ``run_dir`` in one fresh process per thread count: the hash and FID each prints."""
    import subprocess
    import sys

    reports = []
    for count_threads in threads:
        command = [sys.executable, "-m", "ganforge", "eval", run_dir, "--json", "--device", device]
        command += ["-n", str(count)] if count else []
        environment = {**os.environ, "OMP_NUM_THREADS": str(count_threads), "MKL_NUM_THREADS": str(count_threads)}
        reports.append(json.loads(subprocess.run(command, env=environment, capture_output=True, text=True, check=True).stdout))
    return {
        "fid": reports[0]["fid"],
        "fids": [r["fid"] for r in reports],
        "hashes": [r["evaluator"]["weights_sha256"] for r in reports],
        "evaluator": reports[0]["evaluator"],
    }


def last_overfitting(metrics: Path) -> dict:
    """D's r_t on training and held-out reals at the run's last logged step, where the run measured them."""
    records = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    probed = [r for r in records if "rt_gap" in r]
    return {key: probed[-1][key] for key in ("rt_train", "rt_held_out", "rt_gap")} if probed else {}


def summary(reports: list[dict], steps: int, evaluator: dict) -> dict:
    """Mean and std over the seeds' ``reports`` (each ``SHOWN``'s figures, ``seed`` and ``train_s``), and each seed's."""
    keys = [key for key in SHOWN if key in reports[0]]
    mean = {key: statistics.mean(r[key] for r in reports) for key in keys}
    mean["std"] = {key: statistics.stdev(r[key] for r in reports) if len(reports) > 1 else 0.0 for key in keys}
    mean.update(seeds=len(reports), steps=steps, train_s=statistics.mean(r["train_s"] for r in reports), evaluator=evaluator)
    mean["per_seed"] = [{key: r[key] for key in keys} | {"seed": r["seed"], "train_s": round(r["train_s"])} for r in reports]
    if "hashes" in reports[0]:  # the evaluator row: every process's hash, of every seed
        mean["hashes"] = sorted({h for r in reports for h in r["hashes"]}) if len({h for r in reports for h in r["hashes"]}) > 1 else reports[0]["hashes"]
        mean["fids"] = reports[0]["fids"]
        for entry, report in zip(mean["per_seed"], reports):
            entry.update(hashes=report["hashes"], fids=report["fids"])
    return mean


def combined(earlier: dict, later: dict) -> dict:
    """One run's figures from two --save files (seeds measured by different processes), each seed once."""
    seen = {r["seed"] for r in earlier["per_seed"]}
    reports = earlier["per_seed"] + [r for r in later["per_seed"] if r["seed"] not in seen]
    return summary(sorted(reports, key=lambda r: r["seed"]), earlier["steps"], earlier["evaluator"])


def print_table(results: dict[str, dict[str, dict]], quick: bool) -> None:
    print("\n# issue 32: quality per CPU-minute, ganforge's recipes against the targets (mean of the seeds; ganforge eval)")
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
            if "hashes" in scores:
                figures = f"hashes {', '.join(h[:12] for h in scores['hashes'])} (threads {', '.join(map(str, THREADS))}), FIDs {', '.join(f'{f:.4g}' for f in scores['fids'])}"
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
    parser.add_argument("--seeds", type=int, default=3, help="train seeds 0..N-1 (0: what the commands do by default)")
    parser.add_argument("--seed", type=int, action="append", default=[], help="train this seed instead (repeatable): split the seeds between processes, then --load their --save files together")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="key=value into every run (a variation)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 steps a run, 1 seed, 200 samples against 200 real images")
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

        os.environ["GANFORGE_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-quality-")  # a tiny evaluator stays out of the cache
        evaluator.TRAIN_STEPS, judges.IMAGE_SAMPLES = 4, 200  # (for datasets whose evaluator does not ship)
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
            try:
                reports = [train_and_score(run, seed, args) for seed in args.seed or range(args.seeds)]
            except GanforgeError as exc:  # a variant or setting this installation lacks
                print(f"{run.label}: not measured: {exc}")
                continue
            results.setdefault(row.name, {})[run.label] = summary(reports, reports[0]["steps"], reports[0].get("evaluator") or {})
            seeds = ", ".join(f"seed {r['seed']} FID {r.get('fid', float('nan')):.2f}" for r in reports)
            print(f"{run.label}: {seeds} (evaluator {(reports[0].get('evaluator') or {}).get('name', '?')})")
    if args.save:
        args.save.write_text(json.dumps(results, indent=1))
    print_table(results, args.quick)


if __name__ == "__main__":
    main()

"""Image quality at fixed training lengths: FID, KID, precision and recall on ganforge's evaluator, several seeds.

For each variant (default: vanilla, plus dcgan when a plugin provides it) and dataset (Fashion-MNIST, and MNIST's
test split, which is all of MNIST some machines have), trains one run per seed, then scores 10,000 samples
(``-n``) against the dataset with ``ganforge eval``'s protocol. Every table names the evaluator and its weights'
hash, so numbers from two machines are comparable exactly when the hashes match.

    python benchmarks/bench_quality.py --data-root ../shared/data            # 5 epochs, 3 seeds (slow on a CPU)
    python benchmarks/bench_quality.py --data-root ../shared/data --max-steps 300 --samples 2000   # reduced

Stacked MNIST (``--stacked``) trains dcgan on ``stacked-mnist`` and reports modes out of 1,000 and the KL of the
mode histogram over 26,000 samples, against PacGAN's Table 3; it needs the dcgan plugin and, in practice, a GPU.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import ganforge
from ganforge.registry import get_registry

DATASETS = {"fashion-mnist": {"data.split": "train"}, "mnist": {"data.split": "test"}}
STACKED_PUBLISHED = [("DCGAN (PacGAN paper, Table 3)", 99.0, 3.40), ("PacDCGAN4 (PacGAN paper, Table 3)", 1000.0, 0.07)]
COLUMNS = ("fid", "kid", "precision", "recall", "classifier_score")


def run_and_score(variant: str, data: str, settings: dict, samples: int | None, device: str) -> tuple[dict, float, int]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        result = ganforge.train(variant, data, settings=settings, out=out, overwrite=True)
        report = ganforge.evaluate(out, count=samples, device=device, say=print)
    return report.to_dict(), time.perf_counter() - started, result.steps


def table(title: str, rows: list[dict], columns: tuple[str, ...]) -> None:
    print(f"\n{title}")
    print("  " + " ".join(f"{c:>17}" for c in columns))
    values = {c: [row[c] for row in rows] for c in columns}
    mean = "  " + " ".join(f"{statistics.mean(values[c]):>17.4f}" for c in columns)
    spread = "  " + " ".join(f"{(statistics.stdev(values[c]) if len(rows) > 1 else 0.0):>17.4f}" for c in columns)
    print(mean + f"   mean of {len(rows)} seed(s)")
    print(spread + "   std over seeds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/data", help="holds fashion-mnist/ and mnist/")
    parser.add_argument("--variant", action="append", help="repeatable; default vanilla and dcgan (if installed)")
    parser.add_argument("--data", action="append", choices=sorted(DATASETS), help="repeatable; default both")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--max-steps", type=int, default=None, help="stop each run early (a reduced benchmark)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--samples", "-n", type=int, default=None, help="samples scored per run (default 10,000)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--stacked", action="store_true", help="dcgan on stacked-mnist instead (GPU advised)")
    args = parser.parse_args()

    installed = set(get_registry().names("variant"))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; epochs {args.epochs}, max steps {args.max_steps}")
    if args.stacked:
        if "dcgan" not in installed:
            raise SystemExit("stacked MNIST needs the dcgan variant, which no installed plugin provides")
        settings = {"data.root": os.path.join(args.data_root, "mnist"), "data.split": "test", "train.epochs": args.epochs, "train.device": args.device}
        if args.max_steps:
            settings["train.max_steps"] = args.max_steps
        rows = []
        for seed in range(1, args.seeds + 1):
            report, seconds, steps = run_and_score("dcgan", "stacked-mnist", {**settings, "train.seed": seed}, args.samples, args.device)
            rows.append(report)
            print(f"  seed {seed}: {report['modes']} modes, KL {report['reverse_kl']:.3f} ({steps:,} steps, {seconds:.0f} s)")
        for name, modes, kl in STACKED_PUBLISHED:
            print(f"  {name:36} {modes:>7.0f} modes  KL {kl:.2f}")
        table(f"ganforge dcgan, stacked-mnist, evaluator {rows[0]['evaluator']['name']}", rows, ("modes", "reverse_kl"))
        return

    variants = args.variant or [v for v in ("vanilla", "dcgan") if v in installed]
    skipped = {"dcgan"} - installed if not args.variant else set()
    if skipped:
        print("dcgan: skipped, no installed plugin provides it")
    for variant in variants:
        for data in args.data or list(DATASETS):
            settings = {**DATASETS[data], "data.root": os.path.join(args.data_root, data), "train.epochs": args.epochs, "train.device": args.device}
            if args.max_steps:
                settings["train.max_steps"] = args.max_steps
            rows = []
            for seed in range(1, args.seeds + 1):
                report, seconds, steps = run_and_score(variant, data, {**settings, "train.seed": seed}, args.samples, args.device)
                rows.append(report)
                print(f"  {variant} {data} seed {seed}: FID {report['fid']:.3f} ({steps:,} steps, {seconds:.0f} s)")
            evaluator = rows[0]["evaluator"]
            title = (
                f"{variant} on {data} ({settings['data.split']} split), {rows[0]['samples']:,} samples per run; "
                f"evaluator {evaluator['name']} ({evaluator['trained_on']}, accuracy {evaluator['accuracy']:.2%})"
            )
            table(title, rows, COLUMNS)


if __name__ == "__main__":
    main()

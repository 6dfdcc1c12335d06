"""Mode coverage on the 2-D mixtures: ganforge's `pacgan` recipe against PacGAN's Table 1 (Lin et al. 2018).

Trains the `pacgan` variant with its shipped defaults (only the seed changes) on ring8 and grid25, once per seed,
then scores 2,500 samples of each with `ganforge eval`'s protocol: modes captured, % of samples within 3 standard
deviations of their nearest centre, and KL(mode histogram of those samples || uniform). Prints the published rows
beside the mean (and spread) over seeds, and whether the target is met.

    python benchmarks/bench_modes.py                 # 5 seeds x {ring8, grid25}, 2 runs at a time
    python benchmarks/bench_modes.py --seeds 1 --data ring8 --set train.epochs=5   # a quick look

Runs go in parallel worker processes (``--workers``, default: the CPU count), each on one thread, which is the
fastest use of a small CPU for networks this small.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

PUBLISHED = {  # PacGAN Table 1: mean over 10 runs, 2,500 samples
    "ring8": [("GAN (PacGAN paper)", 6.3, 98.2, 0.45), ("PacGAN4 (PacGAN paper)", 7.8, 95.9, 0.07)],
    "grid25": [("GAN (PacGAN paper)", 17.3, 94.8, 0.70), ("PacGAN4 (PacGAN paper)", 24.8, 93.6, 0.04)],
}
TARGET = {"ring8": (8.0, 97.0, 0.05), "grid25": (25.0, 95.0, 0.03)}  # modes (all seeds), HQ % >=, reverse KL <=
SAMPLES = 2_500


def one_run(job: tuple[str, int, dict[str, str]]) -> dict:
    """Train pacgan on ``data`` with ``seed`` and score it; runs in a worker process."""
    import torch

    import ganforge

    data, seed, settings = job
    torch.set_num_threads(1)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        result = ganforge.train("pacgan", data, settings={**settings, "train.seed": seed}, out=out, overwrite=True)
        report = ganforge.evaluate(out, count=SAMPLES, device="cpu", seed=seed)
    return {
        "data": data,
        "seed": seed,
        "steps": result.steps,
        "seconds": time.perf_counter() - started,
        "modes": report.scores["modes"],
        "high_quality": 100 * report.scores["high_quality"],
        "reverse_kl": report.scores["reverse_kl"],
    }


def summarise(data: str, runs: list[dict]) -> None:
    print(f"\n{data}: {SAMPLES:,} samples per run")
    print(f"  {'':36} {'modes':>7} {'HQ %':>7} {'reverse KL':>11}")
    for name, modes, hq, kl in PUBLISHED[data]:
        print(f"  {name:36} {modes:>7.1f} {hq:>7.1f} {kl:>11.2f}")
    modes, hq, kl = ([run[key] for run in runs] for key in ("modes", "high_quality", "reverse_kl"))
    spread = lambda values: statistics.stdev(values) if len(values) > 1 else 0.0  # noqa: E731
    name = f"ganforge pacgan (mean of {len(runs)} seeds)"
    print(f"  {name:36} {statistics.mean(modes):>7.1f} {statistics.mean(hq):>7.1f} {statistics.mean(kl):>11.3f}")
    print(f"  {'  std over seeds':36} {spread(modes):>7.1f} {spread(hq):>7.1f} {spread(kl):>11.3f}")
    want_modes, want_hq, want_kl = TARGET[data]
    print(f"  {'target':36} {want_modes:>7.1f} {'>=' + str(want_hq):>7} {'<=' + str(want_kl):>11}")
    met = statistics.mean(modes) >= want_modes and statistics.mean(hq) >= want_hq and statistics.mean(kl) <= want_kl
    print(f"  target {'MET' if met else 'NOT met'}")
    for run in runs:
        print(
            f"    seed {run['seed']}: {run['modes']:>2} modes, {run['high_quality']:5.1f}% HQ, KL {run['reverse_kl']:.3f}"
            f"  ({run['steps']:,} steps, {run['seconds']:.0f} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="runs per dataset, seeds 1..N")
    parser.add_argument("--data", action="append", choices=sorted(TARGET), help="repeatable; default both")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override the recipe")
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.set)
    datasets = args.data or sorted(TARGET, reverse=True)

    load_before = os.getloadavg()
    print(f"pacgan recipe (ganforge list variant; defaults in plugins/ganforge_vanilla/pacgan.py), overrides {settings or 'none'}")
    print(f"{len(datasets) * args.seeds} runs on {args.workers} worker(s); load average before: {load_before[0]:.1f} on {os.cpu_count()} CPUs")
    started = time.perf_counter()
    jobs = [(data, seed, settings) for data in datasets for seed in range(1, args.seeds + 1)]
    with ProcessPoolExecutor(args.workers) as pool:
        runs = list(pool.map(one_run, jobs))
    for data in datasets:
        summarise(data, [run for run in runs if run["data"] == data])
    minutes, seconds = divmod(time.perf_counter() - started, 60)
    print(f"\nwall time {int(minutes)}m{seconds:02.0f}s; load average now {os.getloadavg()[0]:.1f} (1 min), {os.getloadavg()[1]:.1f} (5 min)")


if __name__ == "__main__":
    main()

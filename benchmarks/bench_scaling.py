"""Data-parallel scaling: N processes against 1, images/s through the real command line.

**CPU** (the default): on a machine of N cores, 1 process with N threads (``OMP_NUM_THREADS=N``) against N gloo
processes of 1 thread each (``ganforge run --nproc N``), dcgan on Fashion-MNIST at batch 64 per process (so the
N-process job trains an effective batch of 64 N: images/s is what compares). **GPU** (``--device cuda``): 1 process
on one GPU against N processes on N GPUs (NCCL); the scaling efficiency is images/s(N) / (N * images/s(1)).

Each run is a fresh ``ganforge run`` for ``--steps`` steps, logging every ``--log-every``; its images/s is the
median of its logged intervals after the first (which holds the warm-up), so start-up and data loading are not
timed. The two settings alternate ``--repeats`` times (which goes first alternates too), so drift in the machine's
speed hits both alike; the table gives every repeat and the medians.

    python benchmarks/bench_scaling.py                           # 2 processes vs 2 threads, dcgan, batch 64
    python benchmarks/bench_scaling.py --repeats 7 --one-thread --json scaling.json
    python benchmarks/bench_scaling.py --device cuda --nproc 8    # 1 -> 8 GPUs
    python benchmarks/bench_scaling.py --variant vanilla --data ring8 --steps 8 --repeats 1   # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def images_per_s(command: list[str], env: dict[str, str], out: Path) -> float:
    """Run ``command`` (a ganforge run into ``out``); the median images/s of its logged intervals after the first."""
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    rates = [r["images_per_s"] for r in records if "images_per_s" in r][1:]
    if not rates:
        raise SystemExit(f"{out}: fewer than two logged intervals; raise --steps or lower --log-every")
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="dcgan")
    parser.add_argument("--data", default="fashion-mnist")
    parser.add_argument("--data-root", default=None, help="default: $GANFORGE_SHARED_DATA/<data> when it exists")
    parser.add_argument("--batch-size", type=int, default=64, help="per process")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--nproc", type=int, default=2, help="processes (CPU: also the one process's threads)")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one-thread", action="store_true", help="CPU: also 1 process of 1 thread, to tell thread contention apart")
    parser.add_argument("--set", dest="settings", action="append", default=[], help="key=value, passed on to every run")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    root = args.data_root
    shared = os.environ.get("GANFORGE_SHARED_DATA")
    if root is None and shared and (Path(shared) / args.data).is_dir():
        root = str(Path(shared) / args.data)
    common = [
        sys.executable, "-m", "ganforge", "run", args.variant, "--data", args.data, "--device", args.device,
        "--batch-size", str(args.batch_size), "--max-steps", str(args.steps), "--set", f"train.log_every={args.log_every}",
        *(["--data-root", root] if root else []), *(arg for setting in args.settings for arg in ("--set", setting)),
    ]  # fmt: skip
    threads = str(args.nproc) if args.device == "cpu" else "1"
    sides = {
        "one": ([], {"OMP_NUM_THREADS": threads}),
        "many": (["--nproc", str(args.nproc)], {"OMP_NUM_THREADS": "1"}),
    }
    if args.one_thread and args.device == "cpu":
        sides["one thread"] = ([], {"OMP_NUM_THREADS": "1"})
    results: dict[str, list[float]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory() as work:
        for repeat in range(args.repeats):
            for side in list(sides) if repeat % 2 == 0 else list(sides)[::-1]:
                extra, env = sides[side]
                out = Path(work) / f"{side.replace(' ', '-')}-{repeat}"
                results[side].append(images_per_s([*common, *extra, "--out", str(out)], {**os.environ, **env}, out))
                print(f"repeat {repeat + 1} {side:>4}: {results[side][-1]:,.0f} images/s", flush=True)

    one, many = statistics.median(results["one"]), statistics.median(results["many"])
    if args.device == "cpu":
        label = f"{args.nproc} gloo processes of 1 thread vs 1 process of {args.nproc} threads"
        ratio_name, ratio = "ratio", many / one
    else:
        label = f"{args.nproc} GPUs vs 1 GPU"
        ratio_name, ratio = "scaling efficiency", many / (args.nproc * one)
    spread = {side: (min(values), max(values)) for side, values in results.items()}
    print(f"\n{args.variant} on {args.data}, batch {args.batch_size} per process, {args.device}: {label}")
    print(f"  1 process   median {one:,.0f} images/s  (range {spread['one'][0]:,.0f}-{spread['one'][1]:,.0f})")
    print(f"  {args.nproc} processes median {many:,.0f} images/s  (range {spread['many'][0]:,.0f}-{spread['many'][1]:,.0f})")
    if "one thread" in results:
        alone = statistics.median(results["one thread"])
        print(f"  1 process of 1 thread median {alone:,.0f} images/s  (range {min(results['one thread']):,.0f}-{max(results['one thread']):,.0f})")
    print(f"  {ratio_name}: {ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"setting": vars(args) | {"json": str(args.json)}, **results,
                                         "median_one": one, "median_many": many, ratio_name: ratio}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()

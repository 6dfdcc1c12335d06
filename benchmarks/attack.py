"""The CLI attack at scale: COUNT random cases from SEED (see tests/attack.py), with a table of what happened.

    python benchmarks/attack.py --cases 2000 --seed 1

Prints one line per case that was not clean (exit code other than 0 or 2, a traceback, a file changed outside
what the command line names, or a case running past its time limit) and the table docs/reliability.md quotes.
Exit code 1 when any case was not clean. Single-threaded torch, like the test suite.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import torch  # noqa: E402

from attack import attack_world, make_case, run_case, train_tiny_run  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--first", type=int, default=0, help="index of the first case (to split one seed's cases over processes)")
    parser.add_argument("--seconds", type=float, default=60.0, help="time limit of one case")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    counts: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    errors: Counter[str] = Counter()  # how the refused cases were refused: their error line's first words
    with tempfile.TemporaryDirectory(prefix="ganforge-attack-") as scratch:
        trained = train_tiny_run(Path(scratch) / "trained")
        for index in range(args.first, args.first + args.cases):
            rng = random.Random(args.seed * 1_000_003 + index)
            world = attack_world(trained, Path(scratch) / f"case{index}")
            case = make_case(rng, world)
            outcome = run_case(case, world, args.seconds)
            kinds[case.kind] += 1
            counts["tried"] += 1
            counts["clean"] += outcome.clean
            counts["tracebacks"] += bool(outcome.traceback)
            counts["changed outside"] += bool(outcome.outside)
            counts["lost"] += any(str(world.precious) in path for path in outcome.outside)
            counts["hung"] += outcome.hung
            counts["not one line"] += outcome.messy
            counts["other exit codes"] += not outcome.hung and not outcome.traceback and not outcome.expected_exit
            counts["exit 0"] += outcome.exit_code == 0
            counts["exit 2"] += outcome.exit_code == 2
            errors[" ".join(outcome.output.strip().splitlines()[-1].split()[:5]) if outcome.exit_code == 2 and outcome.output.strip() else "-"] += 1
            if not outcome.clean:
                print(f"case {index}: {outcome.describe()}", flush=True)
            import shutil

            shutil.rmtree(world.root, ignore_errors=True)
    minutes = (time.perf_counter() - started) / 60
    print(f"\npython benchmarks/attack.py --cases {args.cases} --seed {args.seed} --first {args.first}  ({minutes:.1f} min)")
    print("| cases tried | clean | tracebacks | files changed outside | of them a user's file | refused in more than one line | hung | other exit codes | exit 0 / exit 2 |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {counts['tried']:,} | {counts['clean']:,} | {counts['tracebacks']} | {counts['changed outside']} | {counts['lost']} | {counts['not one line']} | "
        f"{counts['hung']} | {counts['other exit codes']} | {counts['exit 0']:,} / {counts['exit 2']:,} |"
    )
    print("cases by kind: " + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())))
    print("most common refusals: " + "; ".join(f"{count} x {error}" for error, count in errors.most_common(12) if error != "-"))
    return 0 if counts["clean"] == counts["tried"] else 1


if __name__ == "__main__":
    sys.exit(main())

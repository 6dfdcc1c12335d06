"""Text-to-image StackGAN (issue 19): training cost per step, and what a trained run draws from its captions.

    python benchmarks/bench_text.py speed   [--steps 30] [--batch 64]
    python benchmarks/bench_text.py quality --data captioned-mnist --split test [--seeds 0 1 2] [-n 10000]
    python benchmarks/bench_text.py quality --quick     # smoke run: 4 steps, a tiny evaluator, 200 samples

``speed`` times stackgan's training step on captioned MNIST with the ``onehot`` label embedding (today's stackgan)
and with the text encoders (and the refiner's matching loss, ``stages.match_weight``), alternating runs in one
process so that a busy machine slows both alike; it prints milliseconds per step (the median of ``--repeats``
runs, each after warm-up steps) and the ratio to onehot.

``quality`` trains a text-conditioned stackgan per seed with the settings of ``--config``
(``examples/configs/stackgan-captions.toml``: ``text-gru``, 44 epochs, stage I the first 90%) and any ``--set``, then scores
``-n`` samples with ``ganforge eval``'s judge (FID on the evaluator CNN, class agreement and attribute correlations
on the test split's captions, beside the mismatched-caption baseline), and the FID of stage I's images upsampled
to full resolution (bilinear), so that the two stages compare at one size. Every figure is a mean over the seeds
(± their standard deviation).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import ganforge
from ganforge import api
from ganforge.config_file import read_config_file
from ganforge.device import Precision
from ganforge.evaluation.judges import generate_with_captions, judge_for
from ganforge.registry import get_registry

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CONFIG = Path(__file__).resolve().parents[1] / "examples" / "configs" / "stackgan-captions.toml"
EMBEDDINGS = {
    "onehot": {},
    "text-gru (word)": {"embedding.name": "text-gru"},
    "text-gru (char)": {"embedding.name": "text-gru", "embedding.unit": "char"},
    "text-gru (word), match": {"embedding.name": "text-gru", "stages.match_weight": 1.0},  # the recipe's refiner loss
}


def speed(args: argparse.Namespace) -> None:
    base = {"data.root": str(args.root / "mnist"), "data.split": "test", "train.batch_size": args.batch, "train.device": "cpu"}
    config = ganforge.configure("stackgan", "captioned-mnist", base)
    data = api.load_dataset(config)
    models = {}
    for name, extra in EMBEDDINGS.items():
        config = ganforge.configure("stackgan", "captioned-mnist", {**base, **extra})
        model = api.prepare_training(config, data.spec, torch.device("cpu"))
        models[name] = model
    precision = Precision(torch.device("cpu"))
    generator = torch.Generator().manual_seed(0)
    times: dict[str, dict[int, list[float]]] = {name: {1: [], 2: []} for name in models}
    for _ in range(args.repeats):
        for stage in (1, 2):
            for name, model in models.items():
                model.position = 0.0 if stage == 1 else 0.9
                batches = [data.batch(torch.randperm(len(data), generator=generator)[: args.batch]) for _ in range(args.steps + 3)]
                for batch in batches[:3]:
                    model.train_step(batch, precision)
                started = time.perf_counter()
                for batch in batches[3:]:
                    model.train_step(batch, precision)
                times[name][stage].append((time.perf_counter() - started) / args.steps * 1000)
    print(f"stackgan on captioned-mnist, batch {args.batch}, {args.steps} steps x {args.repeats} runs, {torch.get_num_threads()} thread(s)")
    print(f"{'embedding':<24} {'stage I ms/step':>16} {'ratio':>6} {'stage II ms/step':>17} {'ratio':>6}")
    reference = {stage: statistics.median(times["onehot"][stage]) for stage in (1, 2)}
    for name in models:
        one, two = (statistics.median(times[name][stage]) for stage in (1, 2))
        print(f"{name:<24} {one:>16.1f} {one / reference[1]:>6.2f} {two:>17.1f} {two / reference[2]:>6.2f}")


def stage_one_fid(model, judge, count: int, seed: int) -> float:
    """FID of stage I's images upsampled to the data's size, on the same inputs evaluation draws."""
    original = model.evaluation_outputs
    size = model.spec.shape[-1]
    model.evaluation_outputs = lambda inputs: F.interpolate(model.draw(inputs, 1), size=(size, size), mode="bilinear", align_corners=False)
    try:
        samples, _ = generate_with_captions(model, count, judge.data, seed)
    finally:
        model.evaluation_outputs = original
    return judge.image_report(samples, seed)[0].scores["fid"]


def quality(args: argparse.Namespace) -> None:
    source = "mnist" if args.data == "captioned-mnist" else "fashion-mnist"
    if args.quick:
        from ganforge.evaluation import evaluator, judges

        os.environ["GANFORGE_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-text-")  # the tiny evaluator stays out of the cache
        evaluator.TRAIN_STEPS, judges.IMAGE_SAMPLES = 4, 200
        args.count = 200
    variant, recipe = read_config_file(args.config)
    recipe = {key: value for key, value in recipe.items() if key != "data.name"}
    rows: list[dict[str, float]] = []
    for seed in args.seeds:
        settings = {
            **recipe, "data.root": str(args.root / source), "data.split": args.split, "train.seed": seed,
            "train.device": "cpu", "train.log_every": 50, "train.batch_size": args.batch,
            **dict(item.split("=", 1) for item in args.set),
        }  # fmt: skip
        if args.quick:
            settings.update({"train.max_steps": 4, "train.epochs": 1})
        out = Path(tempfile.mkdtemp(prefix=f"bench-text-{args.data}-{seed}-"))
        started = time.perf_counter()
        result = ganforge.train(variant or "stackgan", args.data, settings=settings, out=out, overwrite=True)
        minutes = (time.perf_counter() - started) / 60
        model = ganforge.load(result.checkpoint, device="cpu")
        data = api.load_dataset(model.config)
        judge = judge_for(data, model.config.data.name, model.config.data.params, get_registry())
        report = judge(model, args.count, seed)
        scores = {key: value for key, value in report.scores.items() if isinstance(value, float)}
        scores["stage1_fid"] = stage_one_fid(model, judge, args.count, seed)
        scores["minutes"] = minutes
        print(f"seed {seed}: {result.steps} steps in {minutes:.1f} min, run {out}", flush=True)
        rows.append(scores)
    keys = ["fid", "stage1_fid", "class_agreement", "class_agreement_mismatched"]
    keys += sorted(key for key in rows[0] if key.endswith(("_correlation", "_correlation_mismatched", "_correlation_real")))
    print(f"\n{args.data} ({args.split} split), {args.config.name} {' '.join(args.set)}, {args.count} samples, seeds {args.seeds}")
    for key in keys:
        values = [row[key] for row in rows]
        spread = f" ± {statistics.stdev(values):.3f}" if len(values) > 1 else ""
        print(f"  {key:<34} {statistics.mean(values):.3f}{spread}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["speed", "quality"])
    parser.add_argument("--root", type=Path, default=SHARED, help="the folder holding mnist/ and fashion-mnist/")
    parser.add_argument("--data", default="captioned-mnist", choices=["captioned-mnist", "captioned-fashion-mnist"])
    parser.add_argument("--split", default="test", choices=["train", "test", "all"])
    parser.add_argument("--steps", type=int, default=30, help="speed: timed steps per run")
    parser.add_argument("--config", type=Path, default=CONFIG, help="quality: the run's settings file")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("-n", "--count", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="quality smoke run: 4 steps, a tiny evaluator in a temporary cache, 200 samples")
    parser.add_argument("--set", action="append", default=[], help="extra key=value settings for quality runs")
    args = parser.parse_args()
    speed(args) if args.what == "speed" else quality(args)


if __name__ == "__main__":
    main()

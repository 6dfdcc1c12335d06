"""Vanilla GAN: ganforge's trainer against a plain hand-written PyTorch loop, in one process.

Both train the same MLP generator and discriminator (the classes ganforge's vanilla plugin uses, same seed, same
Adam settings) on the same uint8 data tensor. The hand-written loop is the usual eager style: tensor slicing,
``BCEWithLogits`` against ones/zeros, ``.item()`` logging every step. The two alternate, repeat after repeat, and
the medians are compared, so that drift in the machine's speed hits both alike. Data loading is outside the timing;
ganforge's epoch includes its end-of-epoch sample grid and checkpoint.

    python benchmarks/bench_vanilla.py --data-root ../shared/data/fashion-mnist            # full 60k epochs
    python benchmarks/bench_vanilla.py --data-root ../shared/data/fashion-mnist --steps 300 # quicker
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ganforge import api
from ganforge.data import DataSpec
from ganforge_vanilla.models import MLPDiscriminator, MLPGenerator

from timing import ganforge_epoch


def hand_written_epoch(images: torch.Tensor, batch_size: int, steps: int, noise_dim: int, seed: int) -> float:
    """The loop a user would write without a framework; returns its wall time in seconds."""
    torch.manual_seed(seed)
    spec = DataSpec((1, 28, 28), 10, True)
    generator, discriminator = MLPGenerator(noise_dim, spec), MLPDiscriminator(spec)
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ones, zeros = torch.ones(batch_size), torch.zeros(batch_size)
    history = []
    start = time.perf_counter()
    order = torch.randperm(len(images))
    for step in range(steps):
        real = images[order[step * batch_size : (step + 1) * batch_size]].float() / 127.5 - 1
        fake = generator(torch.randn(batch_size, noise_dim))
        real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
        loss_d = F.binary_cross_entropy_with_logits(real_logits, ones) + F.binary_cross_entropy_with_logits(fake_logits, zeros)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.binary_cross_entropy_with_logits(discriminator(fake), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        history.append((loss_d.item(), loss_g.item(), torch.sigmoid(real_logits).mean().item(), torch.sigmoid(fake_logits).mean().item()))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/data/fashion-mnist")
    parser.add_argument("--batch-size", type=int, action="append", help="repeatable; default 64")
    parser.add_argument("--steps", type=int, default=None, help="steps per timed run (default: one full epoch)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    print(f"{'batch':>5} {'steps':>6} {'hand-written s':>15} {'ganforge s':>11} {'ratio':>6}  (ganforge / hand-written time, median of {args.repeats})")
    for batch_size in args.batch_size or [64]:
        settings = {"data.root": args.data_root, "train.batch_size": batch_size, "train.epochs": 1, "train.log_every": 50}
        if args.steps:
            settings["train.max_steps"] = args.steps
        config = api.configure("vanilla", "fashion-mnist", settings)
        data = api.load_dataset(config)
        steps = args.steps or len(data) // batch_size
        hand, ours = [], []
        with tempfile.TemporaryDirectory() as workdir:
            for repeat in range(args.repeats):
                hand.append(hand_written_epoch(data.data, batch_size, steps, config.noise.dim, seed=repeat))
                ours.append(ganforge_epoch(config, data, steps, Path(workdir) / str(repeat)))
        hand_s, ours_s = statistics.median(hand), statistics.median(ours)
        print(f"{batch_size:>5} {steps:>6} {hand_s:>15.2f} {ours_s:>11.2f} {ours_s / hand_s:>6.3f}")
        print(f"      runs: hand-written {[round(t, 2) for t in hand]}, ganforge {[round(t, 2) for t in ours]}")


if __name__ == "__main__":
    main()

"""DCGAN: ganforge's trainer against a plain hand-written PyTorch loop over the same networks, in one process.

Both train the DCGAN generator and discriminator that ganforge's dcgan plugin uses (28x28 Fashion-MNIST, width 64,
same seed, Adam 2e-4 / (0.5, 0.999), batch 128) on the same uint8 data tensor, with the same algorithm as the
vanilla recipe: per step one D update on a real minibatch and G(z) for fresh z (G under no_grad), then one G
update on G(z') for fresh z' (Goodfellow et al.'s Algorithm 1 with k = 1). The hand-written loop is the usual
eager style: tensor slicing, ``BCEWithLogits`` against ones/zeros, ``.item()`` logging every step. The two
alternate, repeat after repeat, and the medians are compared, so that drift in the machine's speed hits both
alike. Data loading is outside the timing; ganforge's epoch includes its end-of-epoch sample grid and checkpoint.

``--reuse-fake`` times the PyTorch-tutorial shortcut as well (the G step reuses the D step's G(z), saving one G
forward pass per step); it is a different algorithm, reported for context only.

    python benchmarks/bench_dcgan.py --data-root ../shared/data/fashion-mnist              # full 60k epochs
    python benchmarks/bench_dcgan.py --data-root ../shared/data/fashion-mnist --steps 100  # a part of an epoch
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
from ganforge_dcgan.models import DCGANDiscriminator, DCGANGenerator

from timing import ganforge_epoch


def hand_written_epoch(images: torch.Tensor, batch_size: int, steps: int, noise_dim: int, seed: int, reuse_fake: bool) -> float:
    """The loop a user would write without a framework; returns its wall time in seconds."""
    torch.manual_seed(seed)
    spec = DataSpec((1, 28, 28), 10, True)
    generator, discriminator = DCGANGenerator(noise_dim, spec), DCGANDiscriminator(spec)
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ones, zeros = torch.ones(batch_size), torch.zeros(batch_size)
    history = []
    start = time.perf_counter()
    order = torch.randperm(len(images))
    for step in range(steps):
        real = images[order[step * batch_size : (step + 1) * batch_size]].float() / 127.5 - 1
        if reuse_fake:
            fake = generator(torch.randn(batch_size, noise_dim))
            fake_for_d = fake.detach()
        else:
            with torch.no_grad():
                fake_for_d = generator(torch.randn(batch_size, noise_dim))
        real_logits, fake_logits = discriminator(real), discriminator(fake_for_d)
        loss_d = F.binary_cross_entropy_with_logits(real_logits, ones) + F.binary_cross_entropy_with_logits(fake_logits, zeros)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        if not reuse_fake:
            fake = generator(torch.randn(batch_size, noise_dim))
        loss_g = F.binary_cross_entropy_with_logits(discriminator(fake), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        history.append((loss_d.item(), loss_g.item(), torch.sigmoid(real_logits).mean().item(), torch.sigmoid(fake_logits).mean().item()))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/data/fashion-mnist")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=None, help="steps per timed run (default: one full epoch)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--reuse-fake", action="store_true", help="also time the tutorial loop that reuses G(z) for G's step")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    settings = {"data.root": args.data_root, "train.batch_size": args.batch_size, "train.epochs": 1, "train.log_every": 50}
    if args.steps:
        settings["train.max_steps"] = args.steps
    config = api.configure("dcgan", "fashion-mnist", settings)
    data = api.load_dataset(config)
    steps = args.steps or len(data) // args.batch_size
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU; dcgan on Fashion-MNIST, batch {args.batch_size}, {steps} steps per run")
    loops = {"hand-written": False, **({"hand-written, reused G(z)": True} if args.reuse_fake else {})}
    times: dict[str, list[float]] = {name: [] for name in [*loops, "ganforge"]}
    with tempfile.TemporaryDirectory() as workdir:
        for repeat in range(args.repeats):
            for name, reuse in loops.items():
                times[name].append(hand_written_epoch(data.data, args.batch_size, steps, config.noise.dim, repeat, reuse))
            times["ganforge"].append(ganforge_epoch(config, data, steps, Path(workdir) / str(repeat)))
    ours = statistics.median(times["ganforge"])
    for name, runs in times.items():
        median = statistics.median(runs)
        ratio = "" if name == "ganforge" else f"  ganforge / this = {ours / median:.3f}"
        print(f"{name:>26}: median {median:7.2f} s  runs {[round(t, 2) for t in runs]}{ratio}")


if __name__ == "__main__":
    main()

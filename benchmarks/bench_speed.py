"""Speed: ganforge against a plain hand-written PyTorch loop in the same process, and how dcgan's cost grows.

**overhead**: vanilla (MLP) and dcgan on Fashion-MNIST at batch 64 and 256. Both sides train the same networks
(the classes ganforge's plugins use, built with the recipe's settings and the same seed) on the same uint8 data
tensor with the same algorithm: per step one D update on a real minibatch and G(z) for fresh z with G frozen, then
one G update on G(z') for fresh z' with D frozen (Goodfellow et al.'s Algorithm 1, k = 1). The hand-written loop is
the usual eager style: tensor slicing, ``binary_cross_entropy_with_logits`` against ones/zeros, ``torch.optim.Adam``
with its defaults (``--fused-hand``: fused, to isolate ganforge's own overhead), ``.item()`` logging every step, fp32. ganforge runs with its defaults for the device (on CUDA:
bf16 autocast, channels-last conv nets, fused Adam; on the CPU: fp32, fused Adam). The two alternate repeat after
repeat (which goes first alternates too), so drift in the machine's speed hits both alike; images/s are medians.
Timing covers the training steps (from before the first to after the last); each side's end-of-run writing
(ganforge's sample grid, checkpoint and curves) is outside it.

**growth**: ganforge's dcgan alone, images/s and peak memory against the batch size (32..1024) and the image size
(28, 32 and 64: Fashion-MNIST resized), each cell in a fresh process, its first step (warm-up) untimed.

Peak memory: on CUDA, ``torch.cuda.max_memory_allocated`` over the run; on the CPU, the growth of the process's
peak resident memory (VmHWM) over its size once the data and networks exist, measured in a fresh process per cell (on
random data of the same size, so that decompressing the dataset does not set the peak).

    python benchmarks/bench_speed.py                                  # both tables
    python benchmarks/bench_speed.py --table overhead --repeats 7
    python benchmarks/bench_speed.py --device cuda --compile default  # GPU, ganforge with torch.compile
    python benchmarks/bench_speed.py --device cuda --table device --json speed.json   # the GPU check's table
    python benchmarks/bench_speed.py --table levers --threads 1 # issue 15: EMA, DiffAugment, ADA against none
    python benchmarks/bench_speed.py --table cpu-levers --threads 2  # channels-last and torch.compile on the CPU

**cpu-levers**: per variant at its recipe's batch, the hand-written eager loop with fused Adam against ganforge
with its defaults, with channels-last conv nets (oneDNN's NHWC kernels), with ``torch.compile`` (inductor's C++
backend, which also fuses the elementwise tails of each layer: batch norm, activations) and with both. The runs
rotate order repeat after repeat; images/s are medians; a compiled run's first steps (compiling, or loading
inductor's on-disk cache when an earlier run compiled the same graphs) are timed apart as its warm-up, and
``epoch x`` amortises that warm-up over one epoch of Fashion-MNIST. Thread settings are the ``--threads`` of the
whole table, the same for every side.

**device** (what ``benchmarks/device_check.sh`` runs on a GPU): per cell (vanilla at batch 64 and 256, dcgan at 128
and 512 by default), the hand-written eager fp32 loop against ganforge's defaults for the device, ganforge with
``--compile`` and with ``--cuda-graphs``: images/s over ``--steps`` steps after an untimed warm-up (one step, three
for the compiled modes, which compile and record there) and the peak memory of each run (CUDA: allocated, reset
before each run, the dataset on the device included; the CPU cannot reset its peak, so it shows none). One run per
side, no alternation: a first look at a GPU, not the overhead study above.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ganforge import api
from ganforge.data import DataSpec, TensorData
from ganforge.device import Precision, resolve_device
from ganforge.rundir import RunDir
from ganforge.trainer import SilentReporter, Trainer
from ganforge_dcgan.models import DCGANDiscriminator, DCGANGenerator
from ganforge_vanilla.models import MLPDiscriminator, MLPGenerator

# The recipes' default networks: ganforge builds these classes with these defaults too.
NETWORKS = {"vanilla": (MLPGenerator, MLPDiscriminator), "dcgan": (DCGANGenerator, DCGANDiscriminator)}

IMAGES_PER_RUN = {"vanilla": 25_600, "dcgan": 15_360}  # per timed run: 400 / 100 vanilla steps of 64 / 256, 240 / 60 dcgan steps
GROWTH_IMAGES = 2_048  # per growth cell, after the warm-up step (at least 2 timed steps)
BATCHES = (32, 64, 128, 256, 512, 1024)
SIZES = (28, 32, 64)


def fashion_mnist(root: str, size: int = 28, random: bool = False) -> TensorData:
    """The 60,000 training images at ``size`` x ``size`` (bilinear), or random images of that shape."""
    spec = DataSpec((1, size, size), 10)
    if random:
        return TensorData(torch.empty((60_000, 1, size, size), dtype=torch.uint8).random_(0, 256), spec)  # no int64 transient
    data = api.load_dataset(api.configure("dcgan", "fashion-mnist", {"data.root": root})).data
    if size != 28:
        data = F.interpolate(data.float(), size=(size, size), mode="bilinear", align_corners=False).round().clamp(0, 255).to(torch.uint8)
    return TensorData(data, spec)


def settings_for(variant: str, batch: int, steps: int, device: str, compile_mode: str) -> dict:
    return {"train.batch_size": batch, "train.epochs": 1, "train.max_steps": steps, "train.device": device, "train.compile": compile_mode}


def hand_written(variant: str, data: TensorData, batch: int, steps: int, device: torch.device, seed: int, fused: bool = False) -> float:
    """Seconds for ``steps`` steps of the loop a user would write without a framework."""
    config = api.configure(variant, "fashion-mnist", {"train.batch_size": batch})
    torch.manual_seed(seed)
    generator_class, discriminator_class = NETWORKS[variant]
    generator = generator_class(config.noise.dim, data.spec, **config.generator.params).to(device)  # the recipe's networks
    discriminator = discriminator_class(data.spec, **config.discriminator.params).to(device)
    adam = dict(lr=config.optim.lr, betas=(config.optim.beta1, config.optim.beta2), fused=fused or None)
    opt_g, opt_d = torch.optim.Adam(generator.parameters(), **adam), torch.optim.Adam(discriminator.parameters(), **adam)
    images, noise_dim = data.data, config.noise.dim
    ones, zeros = torch.ones(batch, device=device), torch.zeros(batch, device=device)
    history = []
    synchronize(device)
    start = time.perf_counter()
    order = torch.randperm(len(images), device=device)
    for step in range(steps):
        real = images[order[step * batch : (step + 1) * batch]].float() / 127.5 - 1
        with torch.no_grad():
            fake = generator(torch.randn(batch, noise_dim, device=device))
        real_logits, fake_logits = discriminator(real), discriminator(fake)
        loss_d = F.binary_cross_entropy_with_logits(real_logits, ones) + F.binary_cross_entropy_with_logits(fake_logits, zeros)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        for p in discriminator.parameters():
            p.requires_grad_(False)
        loss_g = F.binary_cross_entropy_with_logits(discriminator(generator(torch.randn(batch, noise_dim, device=device))), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        for p in discriminator.parameters():
            p.requires_grad_(True)
        history.append((loss_d.item(), loss_g.item(), torch.sigmoid(real_logits).mean().item(), torch.sigmoid(fake_logits).mean().item()))
    synchronize(device)
    return time.perf_counter() - start


class StepClock(SilentReporter):
    """Times the training steps of a ganforge run: from its first step's start to its last step's end; with ``skip``
    warm-up steps, from the end of those, whose own time is ``warm_seconds``."""

    def __init__(self, device: torch.device, skip: int = 0):
        self.device, self.skip, self.seen = device, skip, 0
        self.start = self.end = self.warm_seconds = 0.0

    def epoch_started(self, epoch: int, epochs: int, steps: int) -> None:
        self.total = steps
        synchronize(self.device)
        self.start = time.perf_counter()

    def stepped(self) -> None:
        self.seen += 1
        if self.seen == self.skip:  # warm-up over: time from here
            synchronize(self.device)
            self.warm_seconds = time.perf_counter() - self.start
            self.start = time.perf_counter()
        if self.seen == self.total:
            synchronize(self.device)
            self.end = time.perf_counter()
            self.peak_mib = peak_mib(self.device)  # before the end-of-run writing, which the hand-written loop does not do

    @property
    def seconds(self) -> float:
        return self.end - self.start


def ganforge_run(
    variant: str, data: TensorData, batch: int, steps: int, device: torch.device, compile_mode: str, workdir: Path, skip: int = 0, extra: dict | None = None
) -> StepClock:
    """The timing of ``steps`` steps (less ``skip`` warm-up steps) through ganforge's own trainer, ``extra`` settings added."""
    config = api.configure(variant, "fashion-mnist", {**settings_for(variant, batch, steps, str(device), compile_mode), **(extra or {})})
    model = api.prepare_training(config, data.spec, device)
    clock = StepClock(device, skip)
    Trainer(model, data, config, RunDir.create(workdir), Precision.for_device(device, config.train.amp), clock).fit()
    return clock


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_memory(args: argparse.Namespace, side: str, variant: str, batch: int, size: int, steps: int) -> dict:
    """Run one cell in a fresh process; its images/s (warm-up step untimed) and peak memory growth in MiB."""
    command = [sys.executable, __file__, "--probe", json.dumps([side, variant, batch, size, steps]), "--device", args.device, "--compile", args.compile]
    command += ["--threads", str(args.threads)] if args.threads else []
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"probe {side} {variant} batch {batch} size {size} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def probe(args: argparse.Namespace) -> None:
    side, variant, batch, size, steps = json.loads(args.probe)
    device = resolve_device(args.device)
    data = fashion_mnist(args.data_root, size, random=True).to(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    baseline = resident_mib()
    with tempfile.TemporaryDirectory() as workdir:
        if side == "hand":
            seconds, timed = hand_written(variant, data, batch, steps, device, seed=0), steps
            peak = peak_mib(device)
        else:
            clock = ganforge_run(variant, data, batch, steps, device, args.compile, Path(workdir) / "run", skip=1)
            seconds, timed, peak = clock.seconds, steps - 1, clock.peak_mib
    print(json.dumps({"images_per_s": timed * batch / seconds, "peak_mib": peak - (0 if device.type == "cuda" else baseline)}))


def resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mib(device: torch.device) -> float:
    """The process's peak memory so far: allocated on the GPU, or resident on the CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    with open("/proc/self/status") as status:  # VmHWM: this address space's peak (ru_maxrss would include the parent's, from before exec)
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def overhead_table(args: argparse.Namespace, device: torch.device) -> None:
    data = fashion_mnist(args.data_root).to(device)
    print(f"\noverhead: images/s, median of {args.repeats} alternating repeats; ratio = ganforge / hand-written (>= 1.00: no overhead)")
    print(f"{'variant':>8} {'batch':>5} {'steps':>5} {'hand img/s':>11} {'ganforge img/s':>15} {'ratio':>6} {'pairs':>13} {'hand MiB':>9} {'ganforge MiB':>13}")
    for variant in args.variants:
        for batch in args.batches:
            steps = max(IMAGES_PER_RUN[variant] * args.scale // batch, 2)
            hand, ours = [], []
            with tempfile.TemporaryDirectory() as workdir:
                for repeat in range(args.repeats):
                    run_hand = lambda: hand.append(batch * steps / hand_written(variant, data, batch, steps, device, repeat, args.fused_hand))  # noqa: E731
                    run_ours = lambda: ours.append(batch * steps / ganforge_run(variant, data, batch, steps, device, args.compile, Path(workdir) / str(repeat)).seconds)  # noqa: E731
                    for run in (run_hand, run_ours) if repeat % 2 == 0 else (run_ours, run_hand):
                        run()
            pairs = [o / h for o, h in zip(ours, hand)]
            memory = [peak_memory(args, side, variant, batch, 28, min(steps, 5))["peak_mib"] for side in ("hand", "ganforge")]
            print(
                f"{variant:>8} {batch:>5} {steps:>5} {statistics.median(hand):>11,.0f} {statistics.median(ours):>15,.0f} "
                f"{statistics.median(ours) / statistics.median(hand):>6.3f} {min(pairs):>6.3f}-{max(pairs):<6.3f} {memory[0]:>9,.0f} {memory[1]:>13,.0f}",
                flush=True,
            )
            print(f"{'':>14} runs: hand {[round(x) for x in hand]}, ganforge {[round(x) for x in ours]}", flush=True)


# issue 15's levers, against the core as it was before them (no moving average)
LEVERS = {
    "no EMA": {"ema.decay": None},
    "EMA (default)": {},
    "EMA + DiffAugment": {"augment.policy": "color,translation,cutout"},
    "EMA + ADA": {"augment.policy": "color,translation,cutout", "augment.adaptive": True},
}


def levers_table(args: argparse.Namespace, device: torch.device) -> None:
    """ganforge's images/s with each of issue 15's levers, against none of them: the median of alternating repeats
    (the order rotates every repeat), as a ratio to ``no EMA``."""
    data = fashion_mnist(args.data_root).to(device)
    print(f"\nlevers: ganforge images/s, median of {args.repeats} repeats in rotating order; ratio to 'no EMA' (1.00: no cost)")
    for variant in args.variants:
        for batch in args.batches:
            steps = max(IMAGES_PER_RUN[variant] * args.scale // batch, 2)
            speeds: dict[str, list[float]] = {name: [] for name in LEVERS}
            with tempfile.TemporaryDirectory() as workdir:
                for repeat in range(args.repeats):
                    names = list(LEVERS)[repeat % len(LEVERS) :] + list(LEVERS)[: repeat % len(LEVERS)]
                    for name in names:
                        clock = ganforge_run(variant, data, batch, steps, device, args.compile, Path(workdir) / f"{repeat}-{len(speeds[name])}-{hash(name)}", extra=LEVERS[name])
                        speeds[name].append(batch * steps / clock.seconds)
            base = statistics.median(speeds["no EMA"])
            cells = ", ".join(f"{name} {statistics.median(values):,.0f} ({statistics.median(values) / base:.3f})" for name, values in speeds.items())
            print(f"{variant:>8} {batch:>5} {steps:>5} steps: {cells}", flush=True)
            print(f"{'':>14} runs: " + "; ".join(f"{name} {[round(x) for x in values]}" for name, values in speeds.items()), flush=True)


# The CPU levers: ganforge's settings for each, added to its defaults. Each is measured against the hand-written
# eager loop with fused Adam (the fastest loop people write by hand), same networks, same threads.
CPU_LEVERS = {
    "defaults": {},
    "channels-last": {"train.channels_last": True},
    "compile": {"train.compile": "default"},
    "compile + channels-last": {"train.compile": "default", "train.channels_last": True},
}
COMPILE_WARM_UP = 3  # untimed steps of a compiled run: inductor compiles D's and G's passes in the first two


def cpu_levers_table(args: argparse.Namespace, device: torch.device) -> None:
    """Each CPU lever's images/s over the hand-written eager loop with fused Adam, in rotating order, medians. A
    compiled run's warm-up (compiling, or loading inductor's cache) is timed apart and amortised over one epoch of
    Fashion-MNIST at the recipe's batch: ``epoch x`` is the ratio of whole-epoch times, warm-up included."""
    data = fashion_mnist(args.data_root, random=args.random_data).to(device)
    variants = [variant for variant in args.variants if variant in NETWORKS]
    print(f"\ncpu-levers: images/s, median of {args.repeats} repeats in rotating order; x = over the hand-written eager loop with fused Adam", flush=True)
    for variant in variants:
        batch = api.configure(variant, "fashion-mnist").train.batch_size  # what `ganforge run` uses
        steps = max(IMAGES_PER_RUN[variant] * args.scale // batch, 2)
        epoch_steps = len(data) // batch
        load = os.getloadavg()[0]
        speeds: dict[str, list[float]] = {name: [] for name in ["hand-written", *CPU_LEVERS]}
        warm: dict[str, list[float]] = {name: [] for name in CPU_LEVERS}
        with tempfile.TemporaryDirectory() as workdir:
            for repeat in range(args.repeats):
                names = list(speeds)[repeat % len(speeds) :] + list(speeds)[: repeat % len(speeds)]
                for name in names:
                    if name == "hand-written":
                        hand_written(variant, data, batch, 2, device, seed=repeat, fused=True)  # warm-up: the allocator, oneDNN's choices
                        speeds[name].append(batch * steps / hand_written(variant, data, batch, steps, device, repeat, fused=True))
                        continue
                    skip = COMPILE_WARM_UP if "train.compile" in CPU_LEVERS[name] else 1
                    clock = ganforge_run(variant, data, batch, steps + skip, device, "off", Path(workdir) / f"{repeat}-{name}", skip=skip, extra=CPU_LEVERS[name])
                    speeds[name].append(batch * steps / clock.seconds)
                    warm[name].append(clock.warm_seconds)
        hand = statistics.median(speeds["hand-written"])
        hand_epoch = epoch_steps * batch / hand
        print(f"{variant} batch {batch}, {steps} timed steps per run, load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end", flush=True)
        print(f"  {'':<26} {'img/s':>7} {'x':>6} {'warm-up s':>10} {'epoch x':>8}   runs")
        print(f"  {'hand-written, fused Adam':<26} {hand:>7,.0f} {1:>6.2f} {'':>10} {1:>8.2f}   {[round(x) for x in speeds['hand-written']]}")
        for name in CPU_LEVERS:
            speed, warm_up = statistics.median(speeds[name]), statistics.median(warm[name])
            epoch = hand_epoch / (warm_up + epoch_steps * batch / speed)
            print(f"  {name:<26} {speed:>7,.0f} {speed / hand:>6.2f} {warm_up:>10.1f} {epoch:>8.2f}   {[round(x) for x in speeds[name]]} warm-ups {[round(x, 1) for x in warm[name]]}", flush=True)


def growth_table(args: argparse.Namespace) -> None:
    print(f"\ngrowth: ganforge dcgan, images/s | peak MiB, each cell a fresh process, {GROWTH_IMAGES:,} images timed after one warm-up step")
    print(f"{'batch':>5} " + " ".join(f"{f'{size}x{size}':>22}" for size in SIZES))
    for batch in BATCHES:
        cells = []
        for size in SIZES:
            steps = 1 + max(GROWTH_IMAGES // batch, 2)
            cell = peak_memory(args, "ganforge", "dcgan", batch, size, steps)
            cells.append(f"{cell['images_per_s']:>10,.0f} | {cell['peak_mib']:>7,.0f}")
        print(f"{batch:>5} " + " ".join(f"{cell:>22}" for cell in cells), flush=True)


MODES = {"defaults": "off", "compile": "default", "cuda-graphs": "reduce-overhead"}  # column -> train.compile
WARM_UP = {"off": 1, "default": 3, "reduce-overhead": 3}  # untimed steps: compiling and CUDA-graph recording happen there


def device_table(args: argparse.Namespace, device: torch.device, header: str) -> None:
    data = fashion_mnist(args.data_root, random=args.random_data).to(device)
    print(f"\ndevice: images/s | peak MiB, {args.steps} timed steps per run after the warm-up; x = images/s over the hand-written loop's", flush=True)
    print(f"{'variant':>8} {'batch':>5} " + " ".join(f"{column:>24}" for column in ["hand-written fp32", *args.modes]), flush=True)
    rows = []
    for cell in args.cells:
        variant, batch = cell.split(":")[0], int(cell.split(":")[1])
        row = {"variant": variant, "batch": batch, "steps": args.steps}
        with tempfile.TemporaryDirectory() as workdir:
            hand_written(variant, data, batch, 2, device, seed=0)  # warm-up: cuDNN's choices, the allocator
            reset_peak(device)
            seconds = hand_written(variant, data, batch, args.steps, device, seed=0)
            row["hand"] = {"images_per_s": args.steps * batch / seconds, "peak_mib": cell_peak(device)}
            for column in args.modes:
                mode = MODES[column]
                reset_peak(device)
                clock = ganforge_run(variant, data, batch, args.steps + WARM_UP[mode], device, mode, Path(workdir) / column, skip=WARM_UP[mode])
                row[column] = {"images_per_s": args.steps * batch / clock.seconds, "peak_mib": clock.peak_mib if device.type == "cuda" else None}
        rows.append(row)
        hand = row["hand"]["images_per_s"]
        cells = [f"{row['hand']['images_per_s']:>10,.0f} | {fmt_mib(row['hand']['peak_mib'])}"]
        cells += [f"{row[c]['images_per_s']:>8,.0f} {row[c]['images_per_s'] / hand:>4.2f}x | {fmt_mib(row[c]['peak_mib'])}" for c in args.modes]
        print(f"{variant:>8} {batch:>5} " + " ".join(f"{cell:>24}" for cell in cells), flush=True)
        if args.json:  # rewritten after every row, so that a run cut short keeps what it measured
            Path(args.json).write_text(json.dumps({"header": header, "torch": torch.__version__, "device": str(device), "rows": rows}, indent=1))


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def cell_peak(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def fmt_mib(value: float | None) -> str:
    return f"{value:>6,.0f}" if value is not None else f"{'-':>6}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-mnist"))
    parser.add_argument("--table", choices=["overhead", "growth", "both", "device", "levers", "cpu-levers"], default="both")
    parser.add_argument("--variants", nargs="+", default=["vanilla", "dcgan"])
    parser.add_argument("--batches", nargs="+", type=int, default=[64, 256])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scale", type=int, default=1, help="multiply the images per timed run")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--compile", default="off", choices=["off", "default", "reduce-overhead", "max-autotune"], help="ganforge's train.compile")
    parser.add_argument("--fused-hand", action="store_true", help="give the hand-written loop fused Adam too: the ratio is then ganforge's own overhead")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--cells", nargs="+", default=["vanilla:64", "vanilla:256", "dcgan:128", "dcgan:512"], help="device table: variant:batch")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES), help="device table: ganforge's columns")
    parser.add_argument("--steps", type=int, default=200, help="device table: timed steps per run")
    parser.add_argument("--random-data", action="store_true", help="random images of Fashion-MNIST's shape (no dataset files needed)")
    parser.add_argument("--json", help="device table: also write it to this JSON file")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.probe:
        return probe(args)

    device = resolve_device(args.device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    load = os.getloadavg()[0]
    hand_adam = "fused Adam" if args.fused_hand or args.table == "cpu-levers" else "default Adam"
    header = f"torch {torch.__version__} · {where} · {torch.get_num_threads()} threads · ganforge compile={args.compile} · hand-written loop: {hand_adam} · load average {load:.1f}"
    if args.table == "device":
        cuda = f" · CUDA {torch.version.cuda} · capability {'.'.join(map(str, torch.cuda.get_device_capability(device)))}" if device.type == "cuda" else ""
        header = f"torch {torch.__version__} · {where}{cuda} · {torch.get_num_threads()} threads · precision {Precision.for_device(device, True).name} by default"
        print(header, flush=True)
        return device_table(args, device, header)
    print(header)
    if args.table in ("overhead", "both"):
        overhead_table(args, device)
    if args.table in ("growth", "both"):
        growth_table(args)
    if args.table == "levers":
        levers_table(args, device)
    if args.table == "cpu-levers":
        cpu_levers_table(args, device)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

"""Per-step cost of issue 15's levers in one process, alternating (4 rounds of 10 steps, medians, one thread): a
train_step alone, the generator's EMA update (on by default), and a train_step with DiffAugment in front of D
(augment.policy=color,translation,cutout, opt-in). Random images of Fashion-MNIST's shape; no dataset needed.

    python benchmarks/bench_levers.py

``bench_speed.py --table levers`` times whole runs with each lever instead (slower, and as noisy on a shared machine).
"""
import time, torch, ganforge
from ganforge import api
from ganforge.augment import Augmentation
from ganforge.config import AugmentConfig
from ganforge.data import DataSpec, Batch
from ganforge.device import Precision
from ganforge.evaluation.ema import GeneratorAverage
torch.set_num_threads(1)
for variant, batch in (("vanilla", 64), ("dcgan", 128)):
    config = ganforge.configure(variant, "fashion-mnist", {"train.batch_size": batch})
    model = api.build_variant(config, DataSpec((1, 28, 28), 10), torch.device("cpu"))
    model.configure_optimizers()
    average = GeneratorAverage(model, 0.999, 0.05)
    p = Precision(torch.device("cpu"))
    x = torch.rand(batch, 1, 28, 28) * 2 - 1
    b = Batch(x, None)
    for _ in range(3): model.train_step(b, p)
    plain, ema, aug = [], [], []
    for r in range(4):
        t = time.perf_counter()
        for _ in range(10): model.train_step(b, p)
        plain.append((time.perf_counter() - t) / 10)
        t = time.perf_counter()
        for _ in range(10): average.update()
        ema.append((time.perf_counter() - t) / 10)
        pipe = Augmentation(AugmentConfig(policy="color,translation,cutout"), model.discriminators, DataSpec((1, 28, 28), 10), batch, torch.device("cpu"))
        t = time.perf_counter()
        for _ in range(10): model.train_step(b, p)
        aug.append((time.perf_counter() - t) / 10)
        pipe.detach()
    med = lambda v: sorted(v)[len(v) // 2]
    print(f"{variant} batch {batch}: step {med(plain)*1e3:.1f} ms; EMA update {med(ema)*1e3:.2f} ms ({med(ema)/med(plain):.1%}); step with DiffAugment {med(aug)*1e3:.1f} ms ({med(aug)/med(plain)-1:+.1%})")
    print("   steps", [round(v*1e3) for v in plain], "ema", [round(v*1e3, 2) for v in ema], "augmented", [round(v*1e3) for v in aug])

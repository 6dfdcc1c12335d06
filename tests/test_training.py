"""Training through the library API on tiny settings: the run directory, checkpoints, sampling, precision."""

import json

import pytest
import torch
from safetensors import safe_open

import ganforge
from ganforge.device import Precision, resolve_device
from ganforge.errors import GanforgeError
from ganforge.rundir import RunDir

from conftest import TINY


def tiny(**extra):
    return {**TINY, **extra}


def test_a_run_leaves_config_metrics_samples_and_checkpoints(tmp_path):
    result = ganforge.train("vanilla", "ring8", settings=tiny(**{"data.size": 640, "train.epochs": 2}), out=tmp_path / "run")
    run = result.run_dir
    assert (result.steps, result.epochs) == (40, 2)
    config = json.loads(run.config_path.read_text())
    assert config["variant"] == "vanilla" and config["data"]["name"] == "ring8"

    records = [json.loads(line) for line in run.metrics_path.read_text().splitlines()]
    assert [r["step"] for r in records] == [5, 10, 15, 20, 25, 30, 35, 40]
    for record in records:
        assert {"step", "epoch", "loss_d", "loss_g", "d_real", "d_fake", "images_per_s"} <= record.keys()
        assert 0 < record["d_real"] < 1 and 0 < record["d_fake"] < 1 and record["images_per_s"] > 0

    assert [p.name for p in sorted(run.samples_dir.iterdir())] == ["epoch_001.png", "epoch_002.png"]
    assert [p.name for p in run.checkpoints()] == ["step_00000020.safetensors", "step_00000040.safetensors"]
    with safe_open(str(result.checkpoint), "pt") as handle:
        meta = handle.metadata()
        names = set(handle.keys())
    assert meta["format"] == "ganforge.checkpoint/1"
    assert json.loads(meta["config"])["generator"]["name"] == "mlp"
    assert {"step": 40, "epoch": 2, "position": 20}.items() <= json.loads(meta["progress"]).items()
    assert any(n.startswith("network.generator.") for n in names)
    assert any(n.startswith("network.discriminator.") for n in names)
    assert any(n.startswith("optimizer.generator.") for n in names)
    assert any(n.startswith("optimizer.discriminator.") for n in names)


def test_max_steps_stops_mid_epoch_and_still_saves(tmp_path):
    result = ganforge.train("vanilla", "ring8", settings=tiny(**{"data.size": 640, "train.max_steps": 7}), out=tmp_path)
    assert (result.steps, result.epochs) == (7, 1)
    assert result.checkpoint.name == "step_00000007.safetensors"


def test_same_seed_same_weights_and_other_seed_differs(tmp_path):
    def weights(seed, name):
        settings = tiny(**{"data.size": 320, "train.seed": seed, "train.epochs": 1})
        result = ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path / name)
        return ganforge.load(result.checkpoint).networks["generator"].state_dict()

    first, again, other = weights(1, "a"), weights(1, "b"), weights(2, "c")
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_discriminator_learns_to_separate_at_first(tmp_path):
    """Early on D(x) rises above D(G(z)): the discriminator's step works against an untrained G."""
    settings = tiny(**{"data.size": 3200, "train.epochs": 1, "train.log_every": 100})
    result = ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path)
    assert result.last_metrics["d_real"] > result.last_metrics["d_fake"]


def test_k_discriminator_steps_use_k_minibatches_per_generator_step(tmp_path):
    settings = tiny(**{"data.size": 640, "optim.d_steps": 2, "train.epochs": 1})
    result = ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path)
    assert result.steps == 640 // (32 * 2)


def test_each_network_is_frozen_while_the_other_updates(tmp_path):
    """A D step leaves G's weights alone; a G step leaves D's weights alone."""
    config = ganforge.configure("vanilla", "ring8", tiny(**{"data.size": 64}))
    variant = ganforge.api.build_variant(config, ganforge.api.load_dataset(config).spec, torch.device("cpu"))
    variant.configure_optimizers()
    g, d = variant.networks["generator"], variant.networks["discriminator"]
    g_before = [p.clone() for p in g.parameters()]
    d_before = [p.clone() for p in d.parameters()]
    d_after_d_step, d_grads = [], []
    real_d_step, real_g_step = variant.optimizers["discriminator"].step, variant.optimizers["generator"].step

    def discriminator_step(*args, **kwargs):
        d_grads.extend(p.grad.clone() for p in d.parameters())
        return real_d_step(*args, **kwargs)

    def generator_step(*args, **kwargs):
        d_after_d_step.extend(p.clone() for p in d.parameters())
        assert all(torch.equal(a, b) for a, b in zip(g_before, g.parameters())), "D's step changed G"
        assert all(torch.equal(a, p.grad) for a, p in zip(d_grads, d.parameters())), "G's step sent gradients into D"
        return real_g_step(*args, **kwargs)

    variant.optimizers["discriminator"].step = discriminator_step
    variant.optimizers["generator"].step = generator_step
    variant.train_step(ganforge.api.load_dataset(config).batch(torch.arange(32)), Precision(torch.device("cpu")))
    assert not all(torch.equal(a, b) for a, b in zip(d_before, d_after_d_step)), "D did not update"
    assert all(torch.equal(a, b) for a, b in zip(d_after_d_step, d.parameters())), "G's step changed D"
    assert not all(torch.equal(a, b) for a, b in zip(g_before, g.parameters())), "G did not update"


def test_uniform_noise_lies_in_the_unit_cube():
    from ganforge.noise import NoiseConfig, sample_noise

    z = sample_noise(NoiseConfig(dim=5, dist="uniform"), 1000)
    assert z.shape == (1000, 5) and z.min() >= -1 and z.max() <= 1 and z.std() > 0.5


def test_sample_from_run_directory_and_checkpoint(tmp_path):
    result = ganforge.train("vanilla", "ring8", settings=tiny(**{"data.size": 320, "train.epochs": 1}), out=tmp_path / "run")
    samples = ganforge.sample(tmp_path / "run", count=10, device="cpu")
    assert samples.values.shape == (10, 2) and samples.reference.shape == (8, 2)
    again = ganforge.sample(result.checkpoint, count=10, device="cpu")
    assert torch.equal(samples.values, again.values)
    assert samples.save(tmp_path / "plot.png").stat().st_size > 0


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_mixed_precision_step_path(tmp_path, dtype):
    """The autocast and GradScaler path that CUDA runs, exercised on the CPU."""
    config = ganforge.configure("vanilla", "ring8", tiny(**{"data.size": 64}))
    data = ganforge.api.load_dataset(config)
    variant = ganforge.api.build_variant(config, data.spec, torch.device("cpu"))
    variant.configure_optimizers()
    precision = Precision(torch.device("cpu"), dtype)
    before = [p.clone() for p in variant.networks["generator"].parameters()]
    for _ in range(20):  # fp16's scaler skips its first steps while it lowers the scale from 2**16
        metrics = variant.train_step(data.batch(torch.arange(32)), precision)
    assert all(torch.isfinite(v) for v in metrics.values())
    assert not all(torch.equal(a, b) for a, b in zip(before, variant.networks["generator"].parameters()))
    assert (len(precision.scalers) == 2) == (dtype is torch.float16)


def test_precision_policy():
    assert Precision.for_device(torch.device("cpu"), amp=True).name == "fp32"
    assert Precision.for_device(torch.device("cpu"), amp=False).name == "fp32"


def test_device_errors():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(GanforgeError, match="not a device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(GanforgeError, match="no CUDA GPU is available here"):
            resolve_device("cuda")


def test_refuses_to_overwrite_a_run_unless_asked(tmp_path):
    settings = tiny(**{"data.size": 64, "train.epochs": 1})
    ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path)
    kept = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    with pytest.raises(GanforgeError, match="not empty; choose another --out, or pass --overwrite"):
        ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == kept
    ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path, overwrite=True)


def test_dataset_smaller_than_a_batch_is_a_clear_error(tmp_path):
    with pytest.raises(GanforgeError, match="fewer than one step uses"):
        ganforge.train("vanilla", "ring8", settings=tiny(**{"data.size": 10}), out=tmp_path)
    assert not tmp_path.exists() or not any(RunDir(tmp_path).checkpoints())

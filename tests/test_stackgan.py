"""StackGAN: conditioning augmentation and its KL term by hand, the stage networks at every size, and a run that
trains stage I, then stage II with stage I fixed."""

import math

import pytest
import torch
from PIL import Image
from safetensors import safe_open
from torch import nn
from typer.testing import CliRunner

import ganforge
from ganforge import hookimpl, testing
from ganforge.cli import app
from ganforge.data import DataSpec, TensorData
from ganforge.errors import GanforgeError
from ganforge_stackgan.conditioning import ConditioningAugmentation, kl_divergence
from ganforge_stackgan.embeddings import OneHotEmbedding
from ganforge_stackgan.models import Stage1Generator, Stage2Generator, StageDiscriminator

from variant_helpers import first, metric_series, real_data, tiny_run

TINY = {
    "generator.width": 4, "generator.condition_dim": 4, "refiner.width": 4, "refiner.condition_dim": 4, "refiner.residual_blocks": 1,
    "discriminator.width": 4, "discriminator.compressed_dim": 4, "noise.dim": 8,
    "train.batch_size": 16, "train.log_every": 2, "train.sample_count": 10,
}  # fmt: skip


def test_kl_divergence_against_hand_computed_value():
    """½ Σ (μ² + σ² − 1 − log σ²): for μ = (1, 0), σ² = (1, 4) that is ½ (1 + 3 − log 4); zero for N(0, I)."""
    mean, log_variance = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(4.0)]])
    assert kl_divergence(mean, log_variance).item() == pytest.approx(0.5 * (1 + 3 - math.log(4)))
    assert kl_divergence(torch.zeros(3, 5), torch.zeros(3, 5)).item() == 0.0
    two = kl_divergence(torch.tensor([[1.0, 0.0], [0.0, 0.0]]), torch.zeros(2, 2))
    assert two.item() == pytest.approx(0.25)  # averaged over the minibatch: (½ + 0) / 2


def test_conditioning_augmentation_samples_around_the_learned_mean():
    torch.manual_seed(0)
    augment = ConditioningAugmentation(embedding_dim=3, condition_dim=2)
    with torch.no_grad():
        augment.fc.weight.zero_()
        augment.fc.bias.copy_(torch.tensor([2.0, -1.0, math.log(0.25), 0.0]))  # μ = (2, −1), σ = (0.5, 1)
    embedding = torch.ones(20000, 3)
    condition, mean, log_variance = augment(embedding)
    assert condition.mean(0).tolist() == pytest.approx([2.0, -1.0], abs=0.03)
    assert condition.std(0).tolist() == pytest.approx([0.5, 1.0], abs=0.03)
    assert mean[0].tolist() == [2.0, -1.0] and log_variance[0].tolist() == pytest.approx([math.log(0.25), 0.0])
    fixed, _, _ = augment(embedding[:1], epsilon=torch.tensor([[2.0, -3.0]]))
    assert fixed[0].tolist() == pytest.approx([2.0 + 0.5 * 2.0, -1.0 - 3.0])  # μ + σ ⊙ ε for a given ε


@pytest.mark.parametrize("shape, upscale", [((1, 28, 28), 2), ((3, 32, 32), 2), ((3, 64, 64), 2), ((3, 64, 64), 4), ((3, 32, 32), 4)])
def test_stage_shapes_for_every_supported_size(shape, upscale):
    spec = DataSpec(shape, num_classes=10)
    low = DataSpec((shape[0], shape[1] // upscale, shape[2] // upscale), num_classes=10)
    embed = OneHotEmbedding(spec)
    labels = torch.tensor([0, 3, 9])
    stage1 = Stage1Generator(8, embed.dim, low, width=4, condition_dim=4)
    stage2 = Stage2Generator(embed.dim, spec, low, width=4, condition_dim=4, residual_blocks=1)
    small, mean, log_variance = stage1(torch.randn(3, 8), embed(labels))
    assert small.shape == (3, *low.shape) and mean.shape == log_variance.shape == (3, 4)
    full, _, _ = stage2(small, embed(labels))
    assert full.shape == (3, *shape)
    assert StageDiscriminator(low, embed.dim, width=4)(small, embed(labels)).shape == (3,)
    assert StageDiscriminator(spec, embed.dim, width=4)(full, embed(labels)).shape == (3,)


def test_a_stage_one_too_small_for_its_conv_stack_is_a_clear_error():
    data = TensorData(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), DataSpec((1, 28, 28), 10), torch.zeros(4, dtype=torch.long))
    with pytest.raises(GanforgeError, match="7x7 images: .* lower stages.upscale"):
        ganforge.api.build_variant(ganforge.configure("stackgan", None, {"stages.upscale": 4}), data.spec, torch.device("cpu"))


def test_unlabelled_data_is_refused():
    spec = DataSpec((1, 28, 28), domains=2)
    data = TensorData(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), spec, other=torch.zeros(4, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(GanforgeError, match="stackgan conditions on embeddings of the labels"):
        ganforge.api.build_variant(ganforge.configure("stackgan"), data.spec, torch.device("cpu"))


def test_trains_stage_one_then_stage_two_on_real_digits(tmp_path, mnist_root):
    data = first(real_data("stackgan", {"data.root": str(mnist_root), "data.split": "test"}), 64)
    result = tiny_run("stackgan", data, {**TINY, "train.epochs": 4}, tmp_path / "run")
    assert metric_series(result, "stage") == [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0]  # half the epochs each
    assert {"kl", "loss_d", "loss_g", "d_real", "d_fake"} <= result.last_metrics.keys()
    sizes = [Image.open(path).size for path in result.samples]
    assert sizes[0] == sizes[1] != sizes[2] == sizes[3]  # grids of 14x14 stage-I images, then of 28x28 ones
    checkpoints = result.run_dir.checkpoints()
    # stage I's moving average at the end of stage I becomes its weights for all of stage II (live and averaged alike)
    assert checkpoints[0].name == "step_00000008.safetensors"  # the end of stage I (4 steps per epoch)
    stage1_weights = ganforge.load(checkpoints[0], device="cpu").networks["generator"].state_dict()
    for ema in (False, True):
        final = ganforge.load(checkpoints[-1], device="cpu", ema=ema)
        assert all(torch.equal(stage1_weights[k], v) for k, v in final.networks["generator"].state_dict().items())  # stage I fixed
    assert ganforge.sample(checkpoints[0], count=10, device="cpu").values.shape == (10, 1, 14, 14)
    samples = ganforge.sample(tmp_path / "run", count=10, device="cpu")
    assert samples.values.shape == (10, 1, 28, 28) and samples.columns == 1  # one row per class
    assert torch.equal(samples.values, ganforge.sample(tmp_path / "run", count=10, device="cpu").values)  # fixed inputs
    out = tmp_path / "seven.png"
    result = CliRunner().invoke(app, ["sample", str(tmp_path / "run"), "--class", "7", "-n", "4", "--out", str(out), "--device", "cpu"])
    assert result.exit_code == 0, result.output


def test_discriminator_learns_to_reject_wrong_labels(mnist_root):
    """The matching-aware D: after a few stage-I steps it rates real digits with their own label above mislabelled ones."""
    data = first(real_data("stackgan", {"data.root": str(mnist_root), "data.split": "test"}), 16 * 12)
    config = ganforge.configure("stackgan", None, {**TINY, "optim.lr": 2e-3})
    model = ganforge.api.build_variant(config, data.spec, torch.device("cpu"))
    model.configure_optimizers()
    precision = ganforge.api.Precision(torch.device("cpu"))
    for i in range(12):
        model.train_step(data.batch(torch.arange(i * 16, i * 16 + 16)), precision)
    batch = data.batch(torch.arange(64))
    discriminator, embed = model.networks["discriminator_1"].eval(), model.networks["embedding"]
    real = torch.nn.functional.avg_pool2d(batch.data, 2)
    with torch.no_grad():
        right = discriminator(real, embed(batch.labels)).mean()
        wrong = discriminator(real, embed((batch.labels + 1) % 10)).mean()
    assert right > wrong


class CaptionTable(nn.Module):
    """A stand-in for pretrained text embeddings: a fixed vector per caption index (here, per label)."""

    def __init__(self, spec: DataSpec, dim: int = 6, seed: int = 0):
        super().__init__()
        self.dim = dim
        self.register_buffer("table", torch.randn(spec.num_classes, dim, generator=torch.Generator().manual_seed(seed)))

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        return self.table[labels]


class TextEmbeddingPlugin:
    """A third-party plugin that adds an embedding, as a text-embedding package would."""

    @hookimpl
    def register_embeddings(self, register):
        register("caption-table", CaptionTable)


def test_an_embedding_from_another_plugin_conditions_stackgan(tmp_path):
    registry = testing.registry_with(TextEmbeddingPlugin(), builtins=True)
    data = testing.tiny_data((1, 16, 16), count=32, num_classes=4)
    settings = {**TINY, "embedding.name": "caption-table", "embedding.dim": 5, "train.epochs": 2, "train.batch_size": 8}
    result = tiny_run("stackgan", data, settings, tmp_path, registry)
    assert metric_series(result, "stage")[-1] == 2.0
    with safe_open(str(result.checkpoint), "pt") as handle:
        table = handle.get_tensor("network.embedding.table")
    assert table.shape == (4, 5)  # saved with the run, and never trained
    assert torch.equal(table, CaptionTable(data.spec, dim=5).table)

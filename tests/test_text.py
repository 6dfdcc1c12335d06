"""Text-to-image (issue 19): the captioned-data contract, the release-layout reader, captioned MNIST's measured
attributes, the text embeddings, and StackGAN conditioned on captions from training to --caption samples and eval."""

from __future__ import annotations

import json
import math
import pickle
import shutil

import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file
from typer.testing import CliRunner

import ganforge
from ganforge import hookimpl, testing
from ganforge.cli import app
from ganforge.data import Captions, DataSpec, TensorData
from ganforge.errors import GanforgeError
from ganforge.evaluation import evaluator as evaluator_module
from ganforge.evaluation import judges
from ganforge.evaluation.agreement import derangement, pearson, text_agreement
from ganforge_datasets import attributes
from ganforge_datasets.captioned import DIGIT_STYLE, ITEM_STYLE, write_captions
from ganforge_datasets.text_release import captioned_folder
from ganforge_stackgan.matching import ImageEncoder, matching_loss
from ganforge_stackgan.text import TextGRU
from ganforge_stackgan.word_vectors import WordVectorMean, save_word_vectors

from variant_helpers import STACKGAN_TINY, metric_series, tiny_run

runner = CliRunner()
TEXT = {**STACKGAN_TINY, "embedding.name": "text-gru", "embedding.dim": 8, "embedding.embed_dim": 4, "embedding.hidden": 8,
        "train.batch_size": 8, "train.log_every": 1, "train.sample_count": 4}  # fmt: skip


# --- the release layout (StackGAN / AttnGAN: images/, text/, train/ and test/ split lists) -------------------------


def release_folder(root, size=16, per_class=4):
    """CUB's layout in miniature: two classes of images in class folders, a caption file each, split lists."""
    names = []
    for label, kind in enumerate(["001.Red_bird", "002.Blue_bird"]):
        for index in range(per_class):
            name = f"{kind}/{kind[4:]}_{index:04d}"
            image = root / "images" / f"{name}.jpg"
            image.parent.mkdir(parents=True, exist_ok=True)
            colour = (200, 30, 30) if label == 0 else (30, 30, 200)
            Image.new("RGB", (size + 4 * index, size), colour).save(image)
            text = root / "text" / f"{name}.txt"
            text.parent.mkdir(parents=True, exist_ok=True)
            text.write_text(f"a {'red' if label == 0 else 'blue'} bird number {index}\n\nthis bird is {'red' if label == 0 else 'blue'}\n")
            names.append(name)
    (root / "train").mkdir()
    (root / "train" / "filenames.txt").write_text("\n".join(names[0:3] + names[4:7]) + "\n")
    (root / "test").mkdir()
    (root / "test" / "filenames.pickle").write_bytes(pickle.dumps([names[3], names[7]], protocol=2))
    return root


def test_the_release_layout_reader_reads_images_captions_classes_and_both_split_lists(tmp_path):
    root = release_folder(tmp_path / "birds")
    train = captioned_folder(str(root), "train", size=16)
    assert train.data.shape == (6, 3, 16, 16) and train.spec.captioned and train.spec.num_classes == 2
    assert train.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert train.captions.of(0) == ["a red bird number 0", "this bird is red"]  # blank lines skipped
    assert train.captions.of(5) == ["a blue bird number 2", "this bird is blue"]
    assert train.data[0, 0].float().mean() > 150 and train.data[5, 2].float().mean() > 150  # red, then blue
    test = captioned_folder(str(root), "test", size=16)  # from the pickled list, read without running code
    assert test.labels.tolist() == [0, 1] and test.captions.of(1)[0] == "a blue bird number 3"
    assert len(captioned_folder(str(root), "all", size=16)) == 8


class Boom:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_a_pickled_split_list_that_names_any_code_is_refused(tmp_path, capsys):
    root = release_folder(tmp_path / "birds")
    (root / "test" / "filenames.pickle").write_bytes(pickle.dumps([Boom()]))
    with pytest.raises(GanforgeError, match=r"filenames.pickle is damaged: not a plain pickled list of file names .*refusing to load the global builtins.print"):
        captioned_folder(str(root), "test")
    assert "must never run" not in capsys.readouterr().out
    (root / "test" / "filenames.pickle").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(GanforgeError, match="holds a dict, not a list of file names"):
        captioned_folder(str(root), "test")


def test_release_layout_mistakes_are_one_line_naming_the_file(tmp_path):
    root = release_folder(tmp_path / "birds")
    missing = root / "text" / "002.Blue_bird" / "Blue_bird_0001.txt"
    missing.unlink()
    with pytest.raises(GanforgeError, match="no captions for image 002.Blue_bird/Blue_bird_0001: expected .*Blue_bird_0001.txt"):
        captioned_folder(str(root), "train")
    (root / "train" / "filenames.txt").write_text("../../etc/passwd\n")
    with pytest.raises(GanforgeError, match="not a path inside the image folder"):
        captioned_folder(str(root), "train")
    with pytest.raises(GanforgeError, match="text_c10 is not a directory.*--set data.text="):
        captioned_folder(str(root), "train", text="text_c10")


def test_captions_kept_in_class_folders_beside_flat_images_are_found_by_name(tmp_path):
    """Oxford-102's layout: jpg/image_00001.jpg with its captions in text_c10/class_00001/image_00001.txt."""
    for index, label in enumerate([1, 1, 2]):
        (tmp_path / "jpg").mkdir(exist_ok=True)
        Image.new("L", (8, 8), 100 * label).save(tmp_path / "jpg" / f"image_{index:05d}.jpg")
        text = tmp_path / "text_c10" / f"class_{label:05d}" / f"image_{index:05d}.txt"
        text.parent.mkdir(parents=True, exist_ok=True)
        text.write_text(f"flower {index}\n")
    data = captioned_folder(str(tmp_path), "all", images="jpg", text="text_c10", size=8, mode="grey")
    assert data.captions.texts == ["flower 0", "flower 1", "flower 2"] and data.labels.tolist() == [0, 0, 1]


# --- captioned MNIST: attributes measured on constructed images -----------------------------------------------------


def canvas():
    return torch.full((1, 1, 28, 28), -1.0)


def bar(width: int, shear: float = 0.0, brightness: float = 1.0, rows: tuple[int, int] = (4, 24)) -> torch.Tensor:
    """A vertical bar ``width`` pixels wide; ``shear`` moves its top right by that many pixels per row upwards."""
    image = canvas()
    for row in range(*rows):
        left = round(12 + shear * (rows[1] - 1 - row))
        image[0, 0, row, left : left + width] = 2 * brightness - 1
    return image


def test_thickness_is_the_stroke_width():
    assert attributes.thickness(bar(2)).item() == pytest.approx(2 * 40 / 44)  # 2A / P: A = 2x20, P = 2x20 + 2x2
    assert attributes.thickness(bar(5)).item() == pytest.approx(2 * 100 / 50)
    assert attributes.thickness(bar(5)) > 2 * attributes.thickness(bar(2))
    assert attributes.thickness(canvas()).item() == 0.0


def test_slant_is_the_shear_and_its_sign_says_which_way_the_image_leans():
    assert attributes.slant(bar(3)).item() == pytest.approx(0.0, abs=1e-6)
    right, left = attributes.slant(bar(3, shear=0.4, rows=(6, 20))).item(), attributes.slant(bar(3, shear=-0.4, rows=(6, 20))).item()
    assert right == pytest.approx(0.4, abs=0.05) and left == pytest.approx(-0.4, abs=0.05)


def test_width_and_brightness():
    assert attributes.width(bar(6)).item() == pytest.approx(6.0, abs=0.05)  # a uniform rectangle's own width
    assert attributes.brightness(bar(4, brightness=0.5)).item() == pytest.approx(0.5)
    assert attributes.brightness(bar(4)).item() == pytest.approx(1.0)


def test_captions_put_the_measured_attributes_into_words_deterministically():
    thin, thick = bar(1), bar(6)
    upright, leaning = bar(3), bar(3, shear=0.5, rows=(6, 20))
    images = ((torch.cat([thin, bar(3), thick, upright, leaning, bar(3, shear=-0.5, rows=(6, 20))]) + 1) * 127.5).round().to(torch.uint8)
    labels = torch.tensor([1, 1, 1, 7, 7, 7])
    captions = write_captions(images, labels, DIGIT_STYLE)
    assert len(captions.texts) == 6 * len(DIGIT_STYLE.templates)
    assert captions.of(0)[0].startswith("a thin") and "thick" in captions.of(2)[0] and "one" in captions.of(2)[0]
    assert "leaning right" in captions.of(4)[0] and "leaning left" in captions.of(5)[0] and "seven" in captions.of(5)[0]
    assert captions.attributes["thickness"][captions.offsets[2]].item() == 1.0  # what the caption asks for
    assert captions.attributes["width"][int(captions.offsets[0]) + 2].isnan()  # a template that does not say width
    again = write_captions(images, labels, DIGIT_STYLE)
    assert again.texts == captions.texts
    items = write_captions(images, labels, ITEM_STYLE)
    assert items.of(0)[0].startswith("a ") and "pair of trousers" in items.of(0)[0]


def test_levels_are_thirds_within_each_class():
    values = torch.tensor([1.0, 2.0, 3.0, 10.0, 20.0, 30.0])
    assert attributes.levels(values, torch.tensor([0, 0, 0, 1, 1, 1])).tolist() == [-1, 0, 1, -1, 0, 1]


def test_captioned_mnist_is_cached_and_the_same_on_every_load(mnist_root):
    first = ganforge.api.load_dataset(ganforge.configure("stackgan", "captioned-mnist", {"data.root": str(mnist_root), "data.split": "test"}))
    second = ganforge.api.load_dataset(ganforge.configure("stackgan", "captioned-mnist", {"data.root": str(mnist_root), "data.split": "test"}))
    assert len(first.captions.texts) == 40_000 and first.captions.texts == second.captions.texts
    assert first.protocol.target == "mnist" and set(first.captions.attributes) == {"thickness", "slant", "width"}


# --- embeddings ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["word", "char"])
def test_the_trainable_text_encoder_gives_vectors_and_gradients_to_every_weight(unit):
    encoder = TextGRU(DataSpec((1, 8, 8), captioned=True), dim=6, unit=unit, embed_dim=4, hidden=5, max_length=12)
    tokens = encoder.tokenize(["a thin one leaning left", "Thick EIGHT", "an extraordinarily long caption that is cut off here"])
    assert tokens.dtype == torch.int32 and tokens.shape == (3, 9 if unit == "word" else 12)  # the longest, cut at 12
    assert (tokens[1] > 0).sum() == (2 if unit == "word" else 11)
    assert torch.equal(tokens, encoder.tokenize(["a thin one leaning left", "thick eight", "an extraordinarily long caption that is cut off here"]))
    vectors = encoder(tokens)
    assert vectors.shape == (3, 6) and torch.isfinite(vectors).all()
    vectors.square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.parameters())
    short = tokens[1:2, : int((tokens[1] > 0).sum())]
    padded = torch.cat([short, torch.zeros(1, 5, dtype=torch.int32)], dim=1)
    assert torch.allclose(encoder(padded), encoder(short), atol=1e-6)  # padding changes nothing


def test_the_pretrained_encoder_averages_known_word_vectors_from_safetensors_or_glove_text(tmp_path):
    vectors = torch.tensor([[1.0, 0.0], [0.0, 2.0], [4.0, 4.0]])
    save_word_vectors(tmp_path / "vectors.safetensors", ["thin", "one", "left"], vectors)
    (tmp_path / "glove.txt").write_text("3 2\nthin 1 0\none 0 2\nleft 4 4\n")
    spec = DataSpec((1, 8, 8), captioned=True)
    for path in ("vectors.safetensors", "glove.txt"):
        encoder = WordVectorMean(spec, str(tmp_path / path))
        out = encoder(encoder.tokenize(["a thin one", "Left!", "unknown words only"]))
        assert encoder.dim == 2 and list(encoder.parameters()) == []
        assert out.tolist() == [[0.5, 1.0], [4.0, 4.0], [0.0, 0.0]]
    with pytest.raises(GanforgeError, match="word-vector file .*missing.txt not found; pass --set embedding.path=FILE"):
        WordVectorMean(spec, str(tmp_path / "missing.txt"))


def test_a_checkpoint_refuses_word_vectors_other_than_those_it_was_trained_with(tmp_path):
    save_word_vectors(tmp_path / "a.safetensors", ["one", "two"], torch.eye(2))
    save_word_vectors(tmp_path / "b.safetensors", ["one", "two"], 2 * torch.eye(2))
    spec = DataSpec((1, 8, 8), captioned=True)
    state = WordVectorMean(spec, str(tmp_path / "a.safetensors")).state_dict()
    assert list(state) == ["digest"]  # the vectors themselves stay in their file
    WordVectorMean(spec, str(tmp_path / "a.safetensors")).load_state_dict(state)
    with pytest.raises(GanforgeError, match="not those this run was trained with"):
        WordVectorMean(spec, str(tmp_path / "b.safetensors")).load_state_dict(state)


# --- text-image agreement --------------------------------------------------------------------------------------------


def test_agreement_scores_a_generator_that_reads_its_captions_and_the_mismatched_baseline_at_chance():
    assert pearson(torch.tensor([1.0, 2, 3]), torch.tensor([2.0, 4, 6])) == pytest.approx(1.0)
    moved = derangement(50, seed=3)
    assert sorted(moved.tolist()) == list(range(50)) and not (moved == torch.arange(50)).any()
    count = 400
    levels = torch.tensor([-1.0, 0.0, 1.0]).repeat(count // 3 + 1)[:count]
    captions = Captions([f"caption {i}" for i in range(count)], torch.arange(count + 1), {"thickness": levels})
    labels = torch.arange(count) % 10
    ids = torch.arange(count)
    scores, names = text_agreement(ids, captions, labels, labels.clone(), {"thickness": levels * 2 + 3}, {"thickness": levels}, seed=0)
    assert scores["class_agreement"] == 1.0 and scores["thickness_correlation"] == pytest.approx(1.0, abs=0.01)
    assert scores["class_agreement_mismatched"] < 0.25 and abs(scores["thickness_correlation_mismatched"]) < 0.2
    assert set(names) == set(scores)


def test_attributes_are_correlated_within_the_class_the_caption_names():
    """Levels are thirds of each class: a wide one (width 6) is narrower than a narrow zero (width 14). Pooled over
    classes the widths barely follow the words; measured against their own class they follow them exactly."""
    levels = torch.tensor([-1.0, 0.0, 1.0] * 20)
    labels = torch.tensor([0] * 30 + [1] * 30)
    widths = torch.where(labels == 0, 15.0, 5.0) + levels
    captions = Captions([str(i) for i in range(60)], torch.arange(61), {"width": levels})
    scores, _ = text_agreement(torch.arange(60), captions, labels, labels, {"width": widths}, {"width": widths}, seed=0)
    assert pearson(levels, widths) < 0.2 and scores["width_correlation"] == pytest.approx(1.0, abs=1e-6)
    assert scores["width_correlation_real"] == pytest.approx(1.0, abs=1e-6)


# --- StackGAN conditioned on text -----------------------------------------------------------------------------------


def test_the_matching_loss_prefers_each_image_with_its_own_caption_and_counts_repeated_captions_as_one():
    torch.manual_seed(0)
    images, texts = torch.randn(6, 5), torch.randn(6, 5)
    tokens = torch.arange(1, 7)[:, None]  # six different captions
    log_scale = torch.tensor(math.log(10.0))
    paired = matching_loss(images, images + 0.01 * texts, tokens, log_scale)
    shuffled = matching_loss(images, (images + 0.01 * texts).roll(1, 0), tokens, log_scale)
    assert paired < 0.1 < shuffled
    repeated = torch.tensor([[1], [1], [2], [3], [4], [5]])  # images 0 and 1 carry the same caption
    swapped = images[[1, 0, 2, 3, 4, 5]]
    assert torch.allclose(matching_loss(swapped, images, repeated, log_scale), matching_loss(images, images, repeated, log_scale))
    assert not torch.allclose(matching_loss(swapped, images, tokens, log_scale), matching_loss(images, images, tokens, log_scale))


def test_matching_teaches_the_text_encoder_what_the_words_say_about_the_image():
    """Images dark or light in one half or the other; after matching, each image picks the right one of the 4 captions."""
    torch.manual_seed(0)
    spec = DataSpec((1, 8, 8), captioned=True)
    encoder, images_encoder = TextGRU(spec, dim=16, embed_dim=8, hidden=16), ImageEncoder(spec, 16, width=8)
    captions = [f"{shade} on the {side}" for shade in ("dark", "light") for side in ("left", "right")]
    tokens = encoder.tokenize(captions)

    def draw(kinds):
        images = torch.full((len(kinds), 1, 8, 8), -1.0)
        for row, kind in enumerate(kinds.tolist()):
            columns = slice(0, 4) if kind % 2 == 0 else slice(4, 8)
            images[row, 0, :, columns] = -0.2 if kind < 2 else 1.0
        return images + 0.1 * torch.randn_like(images)

    optimizer = torch.optim.Adam([*encoder.parameters(), *images_encoder.parameters()], lr=3e-3)
    for _ in range(150):
        kinds = torch.randint(4, (32,))
        loss = matching_loss(images_encoder(draw(kinds)), encoder(tokens[kinds]), tokens[kinds], images_encoder.log_scale)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    kinds = torch.arange(4).repeat(25)
    with torch.no_grad():
        scores = F.normalize(images_encoder(draw(kinds)), dim=1) @ F.normalize(encoder(tokens), dim=1).T
    assert (scores.argmax(1) == kinds).float().mean() > 0.95  # chance: 0.25


def test_text_stackgan_learns_its_encoder_by_matching_not_through_the_discriminator(tmp_path):
    data = testing.tiny_data((1, 16, 16), count=16, num_classes=4, captioned=True)
    model = ganforge.api.prepare_training(ganforge.configure("stackgan", None, TEXT), data.spec, torch.device("cpu"))
    encoders = {id(p) for name in ("embedding", "image_encoder") for p in model.networks[name].parameters()}
    assert encoders and {id(p) for group in model.optimizers["matching"].param_groups for p in group["params"]} == encoders
    for name, optimizer in model.optimizers.items():
        if name != "matching":
            assert not encoders & {id(p) for group in optimizer.param_groups for p in group["params"]}, name
    result = tiny_run("stackgan", data, {**TEXT, "train.epochs": 2}, tmp_path / "run")
    matching = metric_series(result, "loss_match")
    assert len(matching) == 4 and all(math.isfinite(value) and value > 0 for value in matching)


def test_text_stackgan_trains_its_encoder_in_stage_one_and_keeps_it_fixed_in_stage_two(tmp_path):
    data = testing.tiny_data((1, 16, 16), count=16, num_classes=4, captioned=True)
    result = tiny_run("stackgan", data, {**TEXT, "train.epochs": 2}, tmp_path / "run")
    assert metric_series(result, "stage") == [1.0, 1.0, 2.0, 2.0]
    checkpoints = result.run_dir.checkpoints()
    initial = ganforge.api.build_variant(ganforge.configure("stackgan", None, TEXT), data.spec, torch.device("cpu"))
    after_one, after_two = (ganforge.load(path, device="cpu").networks["embedding"].state_dict() for path in checkpoints)
    assert any(not torch.equal(initial.networks["embedding"].state_dict()[k], v) for k, v in after_one.items())  # learned
    assert all(torch.equal(after_one[k], v) for k, v in after_two.items())  # fixed with stage I
    samples = ganforge.sample(result.run_dir.path, count=4, device="cpu")
    assert samples.captions and len(samples.captions) == 2 and samples.columns == 2  # the training grid's captions
    assert all(caption in data.captions.texts for caption in samples.captions)


def stage_two_step(match_weight: float, data: TensorData) -> tuple[float, dict[str, torch.Tensor], object]:
    """One stage-II step of a text stackgan with ``stages.match_weight``, from the same weights and draws each time:
    its generator loss, the refiner's weights after it, and the model."""
    config = ganforge.configure("stackgan", None, {**TEXT, "stages.match_weight": match_weight})
    torch.manual_seed(0)
    model = ganforge.api.prepare_training(config, data.spec, torch.device("cpu"))
    model.position = 0.9
    metrics = model.train_step(data.batch(torch.arange(8)), ganforge.device.Precision(torch.device("cpu")))
    return float(metrics["loss_g"]), {k: v.clone() for k, v in model.networks["refiner"].state_dict().items()}, model


def test_the_refiner_is_also_trained_to_match_its_images_to_their_captions_by_the_fixed_encoders():
    data = tiny_captioned()
    base, refiner_base, _ = stage_two_step(0.0, data)
    once, _, _ = stage_two_step(1.0, data)
    twice, refiner_twice, model = stage_two_step(2.0, data)
    added = once - base
    assert added > 0 and twice - base == pytest.approx(2 * added, rel=1e-4)  # λ times a matching loss, nothing else
    assert any(not torch.equal(refiner_base[k], v) for k, v in refiner_twice.items())  # and its gradient moves the refiner
    encoder = [p for name in ("embedding", "image_encoder") for p in model.networks[name].parameters()]
    assert encoder and all(p.grad is None for p in encoder)  # the encoders stay as stage I left them


def test_the_matching_weight_needs_a_text_encoder_that_learned_matching():
    data = testing.tiny_data((1, 16, 16), count=16, num_classes=4)
    config = ganforge.configure("stackgan", None, {**STACKGAN_TINY, "stages.match_weight": 1.0})
    with pytest.raises(GanforgeError, match="stages.match_weight .* embedding 'onehot' trains none; use --set embedding.name=text-gru"):
        ganforge.api.build_variant(config, data.spec, torch.device("cpu"))


def test_sample_draws_rows_of_the_captions_given_with_each_caption_under_its_row(tmp_path):
    data = testing.tiny_data((1, 16, 16), count=16, num_classes=4, captioned=True)
    result = tiny_run("stackgan", data, {**TEXT, "train.epochs": 1}, tmp_path / "run")
    (tmp_path / "captions.txt").write_text("a red class 1\n\na blue class 3\n")
    out = tmp_path / "grid.png"
    shown = runner.invoke(app, ["sample", str(result.run_dir.path), "--captions", str(tmp_path / "captions.txt"), "--caption", "a green class 0", "-n", "5", "--out", str(out), "--device", "cpu"])
    assert shown.exit_code == 0, shown.output
    assert "Wrote 15 samples" in shown.output
    samples = ganforge.sample(result.run_dir.path, count=5, device="cpu", captions=["a green class 0", "a red class 1", "a blue class 3"])
    assert samples.values.shape == (15, 1, 16, 16) and samples.columns == 5
    plain = ganforge.api.Samples(samples.values, samples.spec, None, 5).save(tmp_path / "plain.png")
    with Image.open(out) as grid, Image.open(plain) as bare:
        assert grid.width == bare.width and grid.height > bare.height  # a line of text under each of the 3 rows
        strip = torch.tensor(list(grid.crop((0, grid.height - 14, grid.width // 3, grid.height)).tobytes()))
        assert (strip < 128).any()  # dark pixels: the caption's letters
    assert torch.equal(samples.values[0::5], ganforge.sample(result.run_dir.path, count=5, device="cpu", captions=["a green class 0", "a red class 1", "a blue class 3"]).values[0::5])


def test_caption_mistakes_are_one_line_errors(tmp_path):
    data = testing.tiny_data((1, 16, 16), count=16, num_classes=4, captioned=True)
    text_run = tiny_run("stackgan", data, {**TEXT, "train.epochs": 1}, tmp_path / "text").run_dir.path
    labels = testing.tiny_data((1, 16, 16), count=16, num_classes=4)
    label_run = tiny_run("stackgan", labels, {**STACKGAN_TINY, "train.batch_size": 8, "train.epochs": 1}, tmp_path / "labels").run_dir.path
    cases = [
        ([str(label_run), "--caption", "a one"], "conditioned on class labels (embedding 'onehot'), not text"),
        ([str(text_run), "--class", "1"], "conditioned on captions, not classes"),
        ([str(text_run), "--caption", "  "], "a caption is empty"),
        ([str(text_run), "--captions", str(tmp_path / "none.txt")], "cannot read captions from"),
        ([str(text_run), "--caption", "a one", "--class", "1"], "--class and --caption both choose"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["sample", *args, "--device", "cpu", "--out", str(tmp_path / "x.png")])
        assert result.exit_code == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.output
    with pytest.raises(GanforgeError, match="embedding 'text-gru' reads captions, but dataset .* has none"):
        ganforge.api.build_variant(ganforge.configure("stackgan", None, TEXT), labels.spec, torch.device("cpu"))


def test_a_text_stackgan_on_the_release_layout_trains_samples_and_evaluates_with_text_image_agreement(tmp_path, monkeypatch):
    monkeypatch.setattr(evaluator_module, "TRAIN_STEPS", 4)
    root = release_folder(tmp_path / "birds", size=16, per_class=10)
    for split, numbers in (("train", range(6)), ("test", range(6, 10))):
        (root / split / "filenames.txt").write_text("\n".join(f"{k}/{k[4:]}_{i:04d}" for k in ["001.Red_bird", "002.Blue_bird"] for i in numbers))
    settings = [f"--set={key}={value}" for key, value in {**TEXT, "data.size": 16}.items()]
    run = tmp_path / "run"
    trained = runner.invoke(app, ["run", "stackgan", "--data", "captioned-folder", "--data-root", str(root), "--epochs", "2", "--out", str(run), *settings])
    assert trained.exit_code == 0, trained.output
    shown = runner.invoke(app, ["sample", str(run), "--caption", "a red bird", "-n", "3", "--out", str(tmp_path / "red.png"), "--device", "cpu"])
    assert shown.exit_code == 0, shown.output
    evaluated = runner.invoke(app, ["eval", str(run), "-n", "16", "--json", "--device", "cpu"])
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(evaluated.stdout)
    assert report["samples"] == 16 and math.isfinite(report["fid"])
    assert 0 <= report["class_agreement"] <= 1 and 0 <= report["class_agreement_mismatched"] <= 1
    assert "text-image agreement on held-out captions" in report["protocol"]


def tiny_captioned(count: int = 32) -> TensorData:
    return testing.tiny_data((1, 16, 16), count=count, num_classes=4, captioned=True)


class TinyCaptioned:
    @hookimpl
    def register_datasets(self, register):
        register("tiny-captioned", tiny_captioned)


def test_text_stackgan_keeps_the_variant_contract_and_resumes_bit_for_bit(tmp_path):
    testing.check_variant("stackgan", data=tiny_captioned(), settings={key: value for key, value in TEXT.items() if key != "train.batch_size"})
    registry = testing.registry_with(TinyCaptioned(), builtins=True)
    settings = {**TEXT, "train.epochs": 2, "train.checkpoint_every": 3, "train.device": "cpu", "train.keep_checkpoints": 50}
    whole = ganforge.train("stackgan", "tiny-captioned", settings=settings, out=tmp_path / "whole", registry=registry)
    shutil.copytree(tmp_path / "whole", tmp_path / "cut")
    for path in (tmp_path / "cut" / "checkpoints").glob("step_*.safetensors"):
        if int(path.stem.split("_")[1]) > 3:
            path.unlink()
    resumed = ganforge.resume(tmp_path / "cut", registry=registry)
    ours, theirs = load_file(resumed.checkpoint), load_file(whole.checkpoint)
    assert any(key.startswith("network.embedding.") for key in theirs)
    assert [key for key in theirs if key != "metrics.sums" and not torch.equal(ours[key], theirs[key])] == []


@pytest.mark.slow
def test_captioned_mnist_text_stackgan_evaluates_every_attribute(tmp_path, mnist_root, monkeypatch):
    monkeypatch.setattr(evaluator_module, "TRAIN_STEPS", 4)
    settings = {**TEXT, "data.root": str(mnist_root), "data.split": "test", "train.max_steps": 3}
    result = ganforge.train("stackgan", "captioned-mnist", settings=settings, out=tmp_path / "run")
    report = ganforge.evaluate(result.run_dir.path, count=64, device="cpu")
    for name in ("thickness", "slant", "width"):
        assert {f"{name}_correlation", f"{name}_correlation_mismatched", f"{name}_correlation_real"} <= report.scores.keys()
        assert report.scores[f"{name}_correlation_real"] > 0.5  # words for thirds of the data describe real images
    assert report.evaluator.dataset == "mnist"  # the uncaptioned dataset's evaluator: FIDs comparable with mnist runs


def test_a_stackgan_conditioned_on_pretrained_word_vectors_trains_and_samples(tmp_path):
    words = ["a", "red", "green", "blue", "grey", "class", "0", "1", "2", "3"]
    save_word_vectors(tmp_path / "vectors.safetensors", words, torch.randn(len(words), 6, generator=torch.Generator().manual_seed(0)))
    data = testing.tiny_data((1, 16, 16), count=16, num_classes=4, captioned=True)
    settings = {**TEXT, "embedding.name": "word-vectors", "embedding.path": str(tmp_path / "vectors.safetensors"), "train.epochs": 2}
    settings = {key: value for key, value in settings.items() if not key.startswith("embedding.") or key in ("embedding.name", "embedding.path")}
    result = tiny_run("stackgan", data, settings, tmp_path / "run")
    samples = ganforge.sample(result.run_dir.path, count=3, device="cpu", captions=["a blue class 2"])
    assert samples.values.shape == (3, 1, 16, 16) and samples.captions == ["a blue class 2"]
    with pytest.raises(GanforgeError, match="has no word embedding 'word-vectors' can read"):
        ganforge.sample(result.run_dir.path, count=3, device="cpu", captions=["purple elephants"])


@pytest.mark.slow
def test_bench_text_quick_trains_the_documented_recipe_and_prints_every_agreement_score(mnist_root):
    """``benchmarks/bench_text.py quality --quick`` (4 steps of examples/configs/stackgan-captions.toml, tiny evaluator)."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_text.py"
    done = subprocess.run(
        [sys.executable, str(script), "quality", "--quick", "--root", str(mnist_root.parent)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "stackgan-captions.toml" in done.stdout
    for key in ("fid", "stage1_fid", "class_agreement", "class_agreement_mismatched", "slant_correlation", "thickness_correlation"):
        assert any(line.split()[:1] == [key] for line in done.stdout.splitlines()), key

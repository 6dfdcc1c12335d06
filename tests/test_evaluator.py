"""The evaluator network: deterministic training, the cache, and the fallback when there is no train split."""

from typing import Literal

import pytest
import torch

from ganforge.data import DataSpec, TensorData
from ganforge.errors import GanforgeError
from ganforge.evaluation import evaluator as evaluator_module
from ganforge.evaluation.evaluator import evaluator_for, evaluator_path, load_evaluator, train_classifier, weights_sha256


def tiny_labelled(count: int, seed: int) -> TensorData:
    """Two classes anyone can tell apart: a bright left half or a bright right half, on 12x12 grey."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(2, (count,), generator=generator)
    images = torch.randint(0, 60, (count, 1, 12, 12), generator=generator, dtype=torch.uint8)
    for index, label in enumerate(labels.tolist()):
        images[index, :, :, label * 6 : label * 6 + 6] += 180
    return TensorData(images, DataSpec((1, 12, 12), 2, True), labels)


def tiny_dataset(split: Literal["train", "test"] = "train") -> TensorData:
    return tiny_labelled(256 if split == "train" else 64, seed=0 if split == "train" else 1)


def test_training_is_deterministic():
    data = tiny_dataset()
    first = train_classifier(data.data, data.labels, 2, steps=6)
    second = train_classifier(data.data, data.labels, 2, steps=6)
    assert weights_sha256(first) == weights_sha256(second)
    assert weights_sha256(first) != weights_sha256(train_classifier(data.data, data.labels, 2, steps=6, seed=1))


def test_training_leaves_global_torch_state_alone():
    torch.manual_seed(7)
    expected = torch.rand(3)
    threads = torch.get_num_threads()
    torch.manual_seed(7)
    data = tiny_dataset()
    train_classifier(data.data, data.labels, 2, steps=2)
    assert torch.equal(torch.rand(3), expected) and torch.get_num_threads() == threads
    assert not torch.are_deterministic_algorithms_enabled()


def test_evaluator_is_trained_once_cached_and_reproduced(monkeypatch):
    monkeypatch.setattr(evaluator_module, "TRAIN_STEPS", 30)
    first = evaluator_for("tiny", tiny_dataset, {})
    path = evaluator_path("tiny", "train", evaluator_module.data_fingerprint(tiny_dataset("train")))
    assert path.is_file()
    assert first.info.trained_on == "train split, 256 images" and first.info.tested_on == "test split, 64 images"
    assert first.info.accuracy > 0.9
    assert first.info.name.startswith("ganforge-cnn/2:tiny@") and first.info.name.endswith(first.info.weights_sha256[:12])

    cached = evaluator_for("tiny", tiny_dataset, {})  # no training: straight from the cache
    assert cached.info == first.info
    path.unlink()
    assert evaluator_for("tiny", tiny_dataset, {}).info.weights_sha256 == first.info.weights_sha256


def test_without_a_train_split_it_learns_from_part_of_the_test_split(monkeypatch):
    monkeypatch.setattr(evaluator_module, "TRAIN_STEPS", 4)

    def test_only(split: Literal["train", "test"] = "train") -> TensorData:
        if split == "train":
            raise GanforgeError("train split not found")
        return tiny_labelled(100, seed=1)

    evaluator = evaluator_for("testonly", test_only, {})
    assert evaluator.info.trained_on == "first 80% of the test split (no train split available), 80 images"
    assert evaluator.info.tested_on == "last 20% of the test split, 20 images"
    assert len(list(evaluator_path("testonly", "test-fallback", "").parent.glob("testonly-test-fallback-*"))) == 1


def test_a_tampered_cache_file_is_refused(monkeypatch):
    monkeypatch.setattr(evaluator_module, "TRAIN_STEPS", 2)
    evaluator_for("tiny", tiny_dataset, {})
    path = evaluator_path("tiny", "train", evaluator_module.data_fingerprint(tiny_dataset("train")))
    path.write_bytes(path.read_bytes()[:-8] + b"\x00" * 8)  # flip the last weights' bytes
    with pytest.raises(GanforgeError, match="is damaged .*do not match the digest.*; delete it and ganforge retrains it"):
        load_evaluator(path)
    path.write_bytes(b"garbage")
    with pytest.raises(GanforgeError, match="corrupt"):
        evaluator_for("tiny", tiny_dataset, {})


def test_unlabelled_images_cannot_have_an_evaluator(monkeypatch):
    def unlabelled() -> TensorData:
        return TensorData(torch.zeros(10, 1, 8, 8, dtype=torch.uint8), DataSpec((1, 8, 8), 0, True))

    with pytest.raises(GanforgeError, match="has no class labels"):
        evaluator_for("plain", unlabelled, {})


def test_training_the_evaluator_reports_its_progress(monkeypatch):
    """First-use `ganforge eval` trains the evaluator for minutes: it says how far it is, up to the last step."""
    monkeypatch.setattr(evaluator_module, "TRAIN_STEPS", 30)
    seen = []
    evaluator_for("tiny-progress", tiny_dataset, {}, progress=lambda done, total: seen.append((done, total)))
    assert len(seen) >= 3 and seen[-1] == (30, 30) and all(total == 30 for _, total in seen)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_the_eval_command_shows_the_evaluators_progress_in_a_log(monkeypatch):
    """Piped to a file, the progress of the evaluator's training comes as plain lines."""
    import io

    from rich.console import Console

    from ganforge.console import StepProgress

    console = Console(file=io.StringIO(), force_terminal=False, width=80)
    now = [0.0]
    with StepProgress(console, "Training the evaluator", interval=30, clock=lambda: now[0]) as progress:
        for done in range(1, 1201):
            now[0] = done / 10
            progress(done, 1200)
    lines = console.file.getvalue().splitlines()
    assert lines[0].startswith("Training the evaluator: step 300/1200 (25%)") and "ETA 0:01:30" in lines[0], lines
    assert lines[-1].startswith("Training the evaluator: step 1200/1200 (100%)") and len(lines) == 4, lines


def test_folders_at_different_roots_get_evaluators_of_their_own(tmp_path, monkeypatch):
    """Every image-folder is 'image-folder': the cache tells folders apart by their data, not by that name.
    A folder of 2 classes and one of 3 each get an evaluator of their own classes; a copy of a folder elsewhere
    (the same images and labels) reuses the evaluator trained for it."""
    import shutil

    from ganforge_datasets.folder import image_folder
    from variant_helpers import labelled_folder

    monkeypatch.setattr(evaluator_module, "TRAIN_STEPS", 4)
    two = labelled_folder(tmp_path / "two", classes=2, per_class=10)
    three = labelled_folder(tmp_path / "three", classes=3, per_class=10)
    trained: list[str] = []
    first = evaluator_for("image-folder", image_folder, {"root": str(two)}, say=trained.append)
    second = evaluator_for("image-folder", image_folder, {"root": str(three)}, say=trained.append)
    assert first.network.classifier.out_features == 2 and second.network.classifier.out_features == 3
    assert first.info.weights_sha256 != second.info.weights_sha256 and len(trained) == 2
    shutil.copytree(two, tmp_path / "elsewhere")
    again = evaluator_for("image-folder", image_folder, {"root": str(tmp_path / "elsewhere")}, say=trained.append)
    assert again.info == first.info and len(trained) == 2  # from the cache
# The evaluators that ship with ganforge, as docs/evaluation.md and benchmarks/README.md name them
DOCUMENTED = {"fashion-mnist": "922cf1f0578a", "mnist": "bb57479245e8"}


def refuses_to_train(split: Literal["train", "test"] = "train") -> TensorData:
    raise AssertionError("a shipped evaluator must be loaded, never trained")


@pytest.mark.parametrize("dataset", sorted(evaluator_module.SHIPPED))
def test_shipped_evaluators_load_with_the_documented_hash(dataset):
    evaluator = evaluator_for(dataset, refuses_to_train, {})
    assert evaluator.info.weights_sha256 == evaluator_module.SHIPPED[dataset] == weights_sha256(evaluator.network)
    assert evaluator.info.name == f"ganforge-cnn/2:{dataset}@{DOCUMENTED[dataset]}"
    assert evaluator.info.accuracy > 0.89 and evaluator.network.classifier.out_features == 10
    assert not list(evaluator_path(dataset, "train", "").parent.glob(f"{dataset}-*"))  # nothing trained, nothing cached


def test_the_documents_quote_the_shipped_hashes():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for page in ("docs/evaluation.md", "benchmarks/README.md"):
        text = (root / page).read_text()
        for dataset, short in DOCUMENTED.items():
            assert f"{dataset}@{short}" in text, (page, dataset)


def test_a_damaged_shipped_evaluator_says_reinstall(tmp_path, monkeypatch):
    copy = tmp_path / "weights"
    copy.mkdir()
    original = evaluator_module.shipped_path("mnist")
    (copy / original.name).write_bytes(original.read_bytes()[:-8] + b"\x00" * 8)
    monkeypatch.setattr(evaluator_module, "SHIPPED_DIR", copy)
    with pytest.raises(GanforgeError, match="ganforge's evaluator file .* is damaged .*; reinstall ganforge"):
        evaluator_for("mnist", refuses_to_train, {})


@pytest.mark.parametrize("threads", [1, 2])
def test_eval_names_the_shipped_evaluator_whatever_the_threads(threads, tmp_path, mnist_root, monkeypatch):
    import json

    from typer.testing import CliRunner

    import ganforge
    from ganforge.cli import app
    from ganforge.evaluation import judges

    from conftest import TINY

    monkeypatch.setattr(judges, "IMAGE_SAMPLES", 300)
    out = tmp_path / "run"
    ganforge.train("vanilla", "mnist", settings={**TINY, "data.root": str(mnist_root), "data.split": "test", "train.max_steps": 2}, out=out)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        table = CliRunner().invoke(app, ["eval", str(out), "-n", "200", "--device", "cpu"])
        report = json.loads(CliRunner().invoke(app, ["eval", str(out), "-n", "200", "--device", "cpu", "--json"]).stdout)
    finally:
        torch.set_num_threads(before)
    assert table.exit_code == 0, table.output
    assert f"ganforge-cnn/2:mnist@{DOCUMENTED['mnist']}" in table.stdout.replace("\n", " ")
    assert report["evaluator"]["weights_sha256"] == evaluator_module.SHIPPED["mnist"]

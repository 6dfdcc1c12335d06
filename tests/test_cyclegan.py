"""CycleGAN: its networks at every size, the objective against hand-computed values, the image pool, the unpaired datasets (folders, the releases' download and safe extraction), and folder translation."""

import json
import zipfile

import pytest
import torch
from PIL import Image
from safetensors import safe_open
from torch import nn
from typer.testing import CliRunner

import ganforge
from ganforge.cli import app
from ganforge.data import DataSpec, TensorData
from ganforge.errors import GanforgeError
from ganforge_cyclegan.models import PatchGANDiscriminator, ResnetGenerator, UNetGenerator, patch_size
from ganforge_cyclegan.pool import ImagePool
from ganforge_datasets import releases

from variant_helpers import build, first, metric_series, real_data, tiny_run

TINY = {"generator.width": 4, "generator.blocks": 1, "discriminator.width": 4, "discriminator.layers": 2, "train.batch_size": 8, "train.log_every": 2, "train.sample_count": 3}


def pair_data(count=16, size=16, channels=1, seed=0):
    """Two unpaired domains of random images: A dark-ish, B light-ish."""
    generator = torch.Generator().manual_seed(seed)
    a = torch.randint(0, 128, (count, channels, size, size), generator=generator, dtype=torch.uint8)
    b = torch.randint(128, 256, (count + 3, channels, size, size), generator=generator, dtype=torch.uint8)
    return TensorData(a, DataSpec((channels, size, size), domains=2), other=b)


# --- networks -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (3, 64, 64), (3, 256, 256)])
def test_generators_keep_the_shape_and_patchgan_judges_patches(shape):
    spec, x = DataSpec(shape), torch.randn(1, *shape)
    for generator in (ResnetGenerator(spec, width=2, blocks=1), UNetGenerator(spec, width=2)):
        assert generator(x).shape == x.shape
    patches = PatchGANDiscriminator(spec, width=2)(x)
    assert patches.shape[:2] == (1, 1)
    if shape[1] == 256:
        assert patches.shape[2:] == (30, 30)  # the 70x70 PatchGAN's map on a 256x256 image


def test_sizes_follow_the_paper():
    assert sum(isinstance(m, nn.Module) and type(m).__name__ == "ResidualBlock" for m in ResnetGenerator(DataSpec((3, 128, 128)), 2).modules()) == 6
    assert sum(type(m).__name__ == "ResidualBlock" for m in ResnetGenerator(DataSpec((3, 256, 256)), 2).modules()) == 9
    assert len(UNetGenerator(DataSpec((3, 256, 256)), 2).down) == 8 and len(UNetGenerator(DataSpec((1, 28, 28)), 2).down) == 2
    with pytest.raises(ValueError, match="cannot be halved 3 times"):
        UNetGenerator(DataSpec((1, 28, 28)), 2, depth=3)


def blocks_and_widths(network: nn.Module) -> tuple[int, list[int]]:
    convs = [m.out_channels for m in network.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    return sum(type(m).__name__ == "ResidualBlock" for m in network.modules()), convs


def test_networks_are_sized_from_the_image():
    """The paper's networks from 128 pixels up; on small images a 16-filter generator with 3 blocks and a PatchGAN
    whose patch fits in the image; the paper's networks at any size from examples/configs/cyclegan-paper.toml."""
    assert patch_size(3) == 70 and patch_size(2) == 34 and patch_size(1) == 16  # the paper's 70x70 patches
    for size, blocks, width, layers in [(28, 3, 16, 1), (64, 3, 16, 2), (128, 6, 64, 3), (256, 9, 64, 3)]:
        spec = DataSpec((1, size, size))
        found_blocks, convs = blocks_and_widths(ResnetGenerator(spec))
        assert (found_blocks, convs[0]) == (blocks, width)
        patchgan = PatchGANDiscriminator(spec)
        strided = [m for m in patchgan.modules() if isinstance(m, nn.Conv2d) and m.stride == (2, 2)]
        assert len(strided) == layers and strided[0].out_channels == (64 if size >= 128 else 32)
        assert patch_size(layers) <= size < patch_size(layers + 1) or layers == 3
    shown = CliRunner().invoke(app, ["config", "--config", "examples/configs/cyclegan-paper.toml", "--json"])
    assert shown.exit_code == 0, shown.output
    values = {row["key"]: row["value"] for row in json.loads(shown.stdout)["settings"]}
    assert (values["generator.width"], values["generator.blocks"], values["discriminator.width"], values["discriminator.layers"]) == (64, 6, 64, 3)
    small = ResnetGenerator(DataSpec((1, 28, 28)))
    assert sum(p.numel() for p in small.parameters()) * 20 < sum(p.numel() for p in ResnetGenerator(DataSpec((1, 28, 28)), width=64, blocks=6).parameters())


# --- the objective ------------------------------------------------------------------------------------------------


class Shift(nn.Module):
    """x + shift, with a parameter so that an optimizer has something to hold."""

    def __init__(self, shift):
        super().__init__()
        self.shift = nn.Parameter(torch.tensor(shift))

    def forward(self, x):
        return x + self.shift


class Constant(nn.Module):
    def __init__(self, value):
        super().__init__()
        self.value = nn.Parameter(torch.tensor(value))

    def forward(self, x):
        return self.value.expand(len(x), 1, 2, 2)


def test_generator_objective_against_hand_computed_terms():
    """G = x + 0.1, F = x + 0.2, both Ds output 0: cycle = 2 · 0.3, identity = 0.1 + 0.2, LSGAN term (0 − 1)² per D."""
    data = pair_data()
    model = build("cyclegan", data, {**TINY, "optim.lr": 0.0})
    model.networks.update(generator_ab=Shift(0.1), generator_ba=Shift(0.2), discriminator_a=Constant(0.0), discriminator_b=Constant(0.0))
    model.configure_optimizers()
    metrics = model.train_step(data.batch(torch.arange(8)), ganforge.api.Precision(torch.device("cpu")))
    assert metrics["cycle"].item() == pytest.approx(0.6, abs=1e-6)
    assert metrics["identity"].item() == pytest.approx(0.3, abs=1e-6)
    assert metrics["adversarial"].item() == pytest.approx(2.0)
    assert metrics["loss_g"].item() == pytest.approx(2.0 + 10 * 0.6 + 0.5 * 10 * 0.3, abs=1e-5)
    assert metrics["loss_d"].item() == pytest.approx(0.5 * ((0 - 1) ** 2 + 0**2) * 2)  # halved, both Ds


def test_cycle_loss_falls_on_real_digits_and_fashion(fashion_root, mnist_root):
    data = first(real_data("cyclegan", {"data.root": str(mnist_root.parent), "data.split": "test"}), 96, 96)
    assert data.spec.domains == 2 and data.other is not None
    model = build("cyclegan", data, {**TINY, "optim.lr": 1e-3, "generator.width": 8})
    precision = ganforge.api.Precision(torch.device("cpu"))
    cycles = [model.train_step(data.batch(torch.arange(i * 8, i * 8 + 8) % 96), precision)["cycle"].item() for i in range(12)]
    assert sum(cycles[-3:]) < sum(cycles[:3])


# --- the pool and the schedule ------------------------------------------------------------------------------------


def test_image_pool_fills_then_mixes_old_and_new():
    torch.manual_seed(0)
    pool = ImagePool(4)
    first_batch = torch.arange(3.0).view(3, 1, 1, 1)
    assert torch.equal(pool.query(first_batch), first_batch) and pool.count == 3
    second = torch.tensor([3.0, 4.0]).view(2, 1, 1, 1)
    shown = pool.query(second)
    assert shown[0].item() == 3.0 and pool.count == 4  # the 4th slot fills with image 3, which is shown as is
    assert shown[1].item() in {0.0, 1.0, 2.0, 3.0, 4.0}
    newer = torch.full((200, 1, 1, 1), 9.0)
    shown = pool.query(newer)
    old = (shown != 9.0).sum().item()
    assert 60 < old < 140  # about half come from the pool
    assert ImagePool(0).query(newer) is not None and torch.equal(ImagePool(0).query(newer), newer)


def test_image_pool_state_round_trip():
    pool = ImagePool(5)
    pool.query(torch.randn(3, 1, 2, 2))
    restored = ImagePool(5)
    restored.load_state(pool.state(), torch.device("cpu"))
    assert restored.count == 3 and torch.equal(restored.images[:3], pool.images[:3])


def test_a_run_checkpoints_the_pool_and_samples_translations(tmp_path):
    result = tiny_run("cyclegan", pair_data(), {**TINY, "train.epochs": 2}, tmp_path / "run")
    with safe_open(str(result.checkpoint), "pt") as handle:
        names = set(handle.keys())
        meta = handle.metadata()
    assert {"variant.pool_a.images", "variant.pool_b.images", "variant.pool_a.count"} <= names
    rates = [group["lr"] for group in json.loads(meta["optimizers"])["generators"]["param_groups"]]
    assert rates == pytest.approx([2e-4 * 0.5])  # the last of 4 steps, half-way through the decay of the second half
    grid = Image.open(result.samples[-1])
    assert grid.width > grid.height  # 3 rows of a, G(a), F(G(a)), b, F(b), G(F(b))
    assert set(metric_series(result, "cycle")) and "identity" in result.last_metrics


def test_one_domain_data_is_refused():
    data = TensorData(torch.zeros(4, 1, 16, 16, dtype=torch.uint8), DataSpec((1, 16, 16), 10), torch.zeros(4, dtype=torch.long))
    with pytest.raises(GanforgeError, match="cyclegan translates between two domains"):
        build("cyclegan", data, TINY)


# --- translating a folder -----------------------------------------------------------------------------------------


def test_sample_translates_a_folder(tmp_path):
    tiny_run("cyclegan", pair_data(size=16, channels=3), {**TINY, "train.max_steps": 1}, tmp_path / "run")
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(photos / "red.jpg")
    Image.new("L", (16, 16), 80).save(photos / "grey.png")
    (photos / "notes.txt").write_text("not an image")
    runner = CliRunner()
    result = runner.invoke(app, ["sample", str(tmp_path / "run"), "--input-dir", str(photos), "--out", str(tmp_path / "out"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "Translated 2 images" in result.stdout and "index.html" in result.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["grey.png", "index.html", "real", "reconstructed", "red.png"]
    assert Image.open(tmp_path / "out" / "red.png").size == (16, 16) and Image.open(tmp_path / "out" / "red.png").mode == "RGB"
    again = runner.invoke(app, ["sample", str(tmp_path / "run"), "--input-dir", str(photos), "--out", str(tmp_path / "out")])
    assert again.exit_code == 2 and "exists already" in again.stderr
    no_out = runner.invoke(app, ["sample", str(tmp_path / "run"), "--input-dir", str(photos)])
    assert no_out.exit_code == 2 and "--input-dir needs --out DIR" in no_out.stderr
    noise = runner.invoke(app, ["sample", str(tmp_path / "run"), "--device", "cpu"])
    assert noise.exit_code == 2 and "pass --input-dir DIR" in noise.stderr


def test_sample_writes_a_page_of_real_translated_and_reconstructed_images(tmp_path):
    import html
    import re
    from urllib.parse import unquote

    tiny_run("cyclegan", pair_data(size=16), {**TINY, "train.max_steps": 1}, tmp_path / "run")
    photos = tmp_path / "photos"
    photos.mkdir()
    hostile = '<img src=x onerror="alert(1)">&.png'
    for name in ("a.png", "b 2.png", hostile):
        Image.new("L", (16, 16), 90).save(photos / name)
    result = CliRunner().invoke(app, ["sample", str(tmp_path / "run"), "--input-dir", str(photos), "--out", str(tmp_path / "out"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "index.html").read_text()
    rows = re.findall(r"<tr>(.*?)</tr>", page)
    assert [re.findall(r"<th>(.*?)</th>", rows[0])] == [["real", "translated", "reconstructed"]]
    assert len(rows) == 4  # the heading, then one row per input image
    for row, name in zip(rows[1:], [hostile, "a.png", "b 2.png"]):  # natural order: "<" sorts first
        sources = re.findall(r'<img src="([^"]*)"', row)
        assert [unquote(html.unescape(s)) for s in sources] == [f"{folder}{name}" for folder in ("real/", "", "reconstructed/")]
        assert all((tmp_path / "out" / unquote(html.unescape(s))).is_file() for s in sources)  # relative to the page
        assert re.findall(r"<p>(.*?)</p>", row) == [html.escape(name, quote=True)] * 3  # captioned with the file name
    assert hostile not in page and "onerror=\"" not in page  # the hostile name stays text


def test_a_broken_image_is_named_and_nothing_is_written(tmp_path):
    tiny_run("cyclegan", pair_data(), {**TINY, "train.max_steps": 1}, tmp_path / "run")
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("L", (16, 16)).save(photos / "a.png")
    (photos / "b.png").write_bytes(b"\x89PNG broken")
    result = CliRunner().invoke(app, ["sample", str(tmp_path / "run"), "--input-dir", str(photos), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "b.png is not a readable image" in result.stderr
    assert not (tmp_path / "out").exists()


def test_translation_needs_an_image_to_image_variant(tmp_path):
    settings = {"data.size": 64, "train.epochs": 1, "train.batch_size": 32, "generator.hidden": 8, "discriminator.hidden": 8}
    ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path / "run")
    (tmp_path / "in").mkdir()
    Image.new("L", (8, 8)).save(tmp_path / "in" / "x.png")
    result = CliRunner().invoke(app, ["sample", str(tmp_path / "run"), "--input-dir", str(tmp_path / "in"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "cannot translate images" in result.stderr


# --- datasets -----------------------------------------------------------------------------------------------------


def write_layout(root, sizes=((20, 12), (8, 8))):
    for folder in ("trainA", "trainB", "testA", "testB"):
        (root / folder).mkdir(parents=True)
        for index, size in enumerate(sizes):
            Image.new("RGB" if folder.endswith("A") else "L", size, (index * 50,) * 3 if folder.endswith("A") else 200).save(root / folder / f"{index}.png")
    Image.new("RGB", (8, 8)).save(root / "trainB" / "extra.jpg")


def test_unpaired_folders_read_the_release_layout(tmp_path):
    write_layout(tmp_path / "mine")
    data = ganforge.api.load_dataset(ganforge.configure("cyclegan", "unpaired-folders", {"data.root": str(tmp_path / "mine"), "data.size": 16}))
    assert data.data.shape == (2, 3, 16, 16) and data.other.shape == (3, 3, 16, 16) and data.spec.domains == 2
    grey = ganforge.api.load_dataset(
        ganforge.configure("cyclegan", "unpaired-folders", {"data.root": str(tmp_path / "mine"), "data.size": 8, "data.channels": "grey", "data.split": "test"})
    )
    assert grey.data.shape == (2, 1, 8, 8) and grey.other.shape == (2, 1, 8, 8)
    (tmp_path / "half" / "trainA").mkdir(parents=True)
    Image.new("L", (8, 8)).save(tmp_path / "half" / "trainA" / "only.png")
    with pytest.raises(GanforgeError, match="has no trainB/ directory"):
        ganforge.api.load_dataset(ganforge.configure("cyclegan", "unpaired-folders", {"data.root": str(tmp_path / "half")}))
    with pytest.raises(GanforgeError, match="unpaired-folders needs --data-root DIR"):
        ganforge.api.load_dataset(ganforge.configure("cyclegan", "unpaired-folders"))


@pytest.fixture
def offline(monkeypatch):
    """The authors' server is never contacted from the tests."""
    monkeypatch.setattr(releases, "SERVER", "http://127.0.0.1:9/")


def release_zip(path, name="horse2zebra", extra=()):
    source = path.parent / "source"
    write_layout(source / name)
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted((source / name).rglob("*")):
            archive.write(file, f"{name}/{file.relative_to(source / name)}")
        for member, content in extra:
            archive.writestr(member, content)
    return path


def test_release_downloads_over_http_checks_and_extracts_into_the_cache(tmp_path, served, offline, monkeypatch):
    directory, url = served
    monkeypatch.setenv("GANFORGE_CACHE_DIR", str(tmp_path / "cache"))
    release_zip(directory / "horse2zebra.zip")
    config = ganforge.configure("cyclegan", "horse2zebra", {"data.mirror": url, "data.size": 16})
    data = ganforge.api.load_dataset(config)
    assert data.data.shape == (2, 3, 16, 16) and data.other.shape == (3, 3, 16, 16)
    cached = tmp_path / "cache" / "cyclegan" / "horse2zebra"
    assert (cached / "trainA" / "0.png").is_file() and not list(cached.parent.glob("*.zip"))
    (directory / "horse2zebra.zip").unlink()  # the second time the cache is enough
    assert ganforge.api.load_dataset(config).other.shape == (3, 3, 16, 16)


def test_release_from_file_url(tmp_path, offline, monkeypatch):
    monkeypatch.setenv("GANFORGE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "mirror").mkdir()
    release_zip(tmp_path / "mirror" / "apple2orange.zip", name="apple2orange")
    config = ganforge.configure("cyclegan", "apple2orange", {"data.mirror": (tmp_path / "mirror").as_uri(), "data.size": 8, "data.split": "test"})
    assert ganforge.api.load_dataset(config).data.shape == (2, 3, 8, 8)


def test_corrupt_archive_is_rejected(tmp_path, served, offline, monkeypatch):
    directory, url = served
    monkeypatch.setenv("GANFORGE_CACHE_DIR", str(tmp_path / "cache"))
    content = bytearray(release_zip(tmp_path / "good.zip").read_bytes())
    content[len(content) // 3] ^= 0xFF  # flip a byte inside a member
    (directory / "horse2zebra.zip").write_bytes(content)
    with pytest.raises(GanforgeError, match="CycleGAN dataset horse2zebra not found .* (CRC|zip)"):
        ganforge.api.load_dataset(ganforge.configure("cyclegan", "horse2zebra", {"data.mirror": url}))
    assert not (tmp_path / "cache" / "cyclegan" / "horse2zebra").exists()


@pytest.mark.parametrize("member", ["../escaped.txt", "/etc/escaped.txt", "horse2zebra/../../escaped.txt"])
def test_archive_with_path_traversal_is_refused(tmp_path, offline, monkeypatch, member):
    monkeypatch.setenv("GANFORGE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "mirror").mkdir()
    release_zip(tmp_path / "mirror" / "horse2zebra.zip", extra=[(member, "gotcha")])
    with pytest.raises(GanforgeError, match="unsafe member"):
        ganforge.api.load_dataset(ganforge.configure("cyclegan", "horse2zebra", {"data.mirror": (tmp_path / "mirror").as_uri()}))
    assert not list(tmp_path.rglob("escaped.txt"))
    assert not (tmp_path / "cache" / "cyclegan" / "horse2zebra").exists()


def test_archive_without_the_layout_is_refused(tmp_path, offline, monkeypatch):
    monkeypatch.setenv("GANFORGE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "mirror").mkdir()
    with zipfile.ZipFile(tmp_path / "mirror" / "maps.zip", "w") as archive:
        archive.writestr("maps/readme.txt", "no images here")
    with pytest.raises(GanforgeError, match="lacks the trainA/, trainB/ folders"):
        ganforge.api.load_dataset(ganforge.configure("cyclegan", "maps", {"data.mirror": (tmp_path / "mirror").as_uri()}))


def test_offline_pair_and_releases_are_listed():
    names = {c.name for c in ganforge.registry.get_registry().components("dataset")}
    assert {"digits2fashion", "unpaired-folders", "horse2zebra", "monet2photo", "summer2winter_yosemite"} <= names

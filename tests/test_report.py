"""A run's page, ``report.html`` (issue 16): self-contained, written at the end of every run, its command trains
the same run again, and a real browser shows its pictures."""

from __future__ import annotations

import html
import html.parser
import re
import shlex
import shutil
import subprocess

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

import ganforge
from ganforge.cli import app
from ganforge.registry import get_registry

from conftest import TINY

runner = CliRunner()
SETTINGS = {**TINY, "data.size": 128, "train.epochs": 3, "eval.every": 6}  # 4 steps an epoch


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "run"
    ganforge.train("vanilla", "ring8", settings={**SETTINGS, "optim.lr": 1e-3, "loss.mode": "minimax"}, out=out)
    return out


def test_every_run_ends_with_a_self_contained_page(run):
    page = (run / "report.html").read_text()
    sources = re.findall(r"src='([^']*)'", page)
    assert sources and all(source.startswith("data:image/png;base64,") for source in sources)  # nothing outside the file
    assert "href=" not in page and "http" not in page.replace("http-equiv", "")
    epochs = sorted((run / "samples").glob("epoch_*.png"))
    assert len(epochs) == 3 and page.count("<figcaption>epoch") == 3  # the strip: every epoch's grid
    assert "id=epoch min=0 max=2" in page  # the slider over them
    assert "id=curves" in page and "<h2>Evaluation</h2>" in page and "<td>6</td>" in page and "<td>12</td>" in page
    assert '&quot;mode&quot;: &quot;minimax&quot;' in page  # the config, escaped


def test_the_pages_command_trains_the_same_run_again(run, tmp_path):
    page = (run / "report.html").read_text()
    command = re.search(r"<pre id=command>(.*?)</pre>", page).group(1)
    import html

    words = shlex.split(html.unescape(command))
    assert words[:5] == ["ganforge", "run", "vanilla", "--data", "ring8"]
    assert "--set" in words and "loss.mode=minimax" in words and "optim.lr=0.001" in words
    again = tmp_path / "again"
    result = runner.invoke(app, [*words[1:], "--out", str(again)])
    assert result.exit_code == 0, result.output
    ours, theirs = (load_file(sorted((path / "checkpoints").glob("step_*"))[-1]) for path in (run, again))
    networks = [name for name in ours if name.startswith("network.")]
    assert networks and all(torch.equal(ours[name], theirs[name]) for name in networks)
    from_config = shlex.split(html.unescape(re.search(r"<code id=from-config>(.*?)</code>", page).group(1)))
    assert from_config == ["ganforge", "run", "--config", str(run / "config.json")]
    result = runner.invoke(app, [*from_config[1:], "--out", str(tmp_path / "from-config")])
    assert result.exit_code == 0, result.output
    theirs = load_file(sorted((tmp_path / "from-config" / "checkpoints").glob("step_*"))[-1])
    assert all(torch.equal(ours[name], theirs[name]) for name in networks)


def test_the_command_writes_the_page_on_demand_where_asked(run, tmp_path):
    out = tmp_path / "page.html"
    result = runner.invoke(app, ["report", str(run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}" in result.stdout and out.read_text().startswith("<!doctype html>")


def test_a_page_that_cannot_go_where_asked_is_one_line(run, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["report", str(run), "--out", str(tmp_path / "notes.txt" / "page.html")])
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1 and "notes.txt is a file" in result.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_folder_that_is_not_a_run_is_one_line(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1 and "holds no config.json" in result.stderr
    assert list(tmp_path.iterdir()) == []


BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def exact(pixels: torch.Tensor, colour: tuple[int, int, int]) -> int:
    return int((pixels == torch.tensor(colour)).all(-1).sum())


@pytest.mark.slow
@pytest.mark.skipif(BROWSER is None, reason="no headless browser: apt-get install chromium")
def test_a_real_browser_shows_the_samples_and_the_curves(run, tmp_path):
    from PIL import Image

    shot = tmp_path / "shot.png"
    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--screenshot={shot}",
               "--window-size=1200,1800", (run / "report.html").resolve().as_uri()]  # fmt: skip
    subprocess.run(command, capture_output=True, timeout=120, check=True)
    seen = torch.from_numpy(__import__("numpy").asarray(Image.open(shot).convert("RGB")).copy()).int()
    grid = torch.from_numpy(__import__("numpy").asarray(Image.open(run / "samples" / "epoch_003.png").convert("RGB")).copy()).int()
    # the scatter's sample dots and mixture centres, in colours nothing else on the page uses, drawn 1:1
    for colour in ((200, 30, 30), (30, 60, 200)):
        assert exact(grid, colour) > 50
        assert exact(seen, colour) >= 0.9 * exact(grid, colour), colour
    near_blue = ((seen - torch.tensor((31, 119, 180))).abs().sum(-1) < 30).sum()  # matplotlib's first line colour
    assert near_blue > 100  # the curves picture


def test_the_command_names_the_data_folder_with_its_flag(tmp_path):
    from ganforge.report import reproduce_command

    config = ganforge.configure("vanilla", "mnist", {"data.root": str(tmp_path / "my data"), "data.split": "test", "train.seed": 3})
    words = shlex.split(reproduce_command(config.to_dict()))
    assert words[words.index("--data-root") + 1] == str(tmp_path / "my data")  # quoted where it has a space
    assert "data.split=test" in words and "train.seed=3" in words and not any(w.startswith("data.root=") for w in words)


@pytest.mark.slow
@pytest.mark.skipif(BROWSER is None, reason="no headless browser: apt-get install chromium")
def test_the_slider_shows_the_epoch_it_is_moved_to(run, tmp_path):
    page = tmp_path / "moved.html"
    page.write_text((run / "report.html").read_text().replace("</body>", "<script>show(0)</script></body>"))
    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout
    assert re.search(r'<span id="label">epoch 001</span>', dom)
    first = re.search(r"<figure><img alt='epoch 001' src='([^']*)'", (run / "report.html").read_text()).group(1)
    assert re.search(r'<img id="grid" alt="samples" src="([^"]*)"', dom).group(1) == first


@pytest.mark.parametrize("variant", [c.name for c in get_registry().components("variant")])
def test_for_every_variant_the_command_resolves_to_the_same_config(variant):
    """Whatever the variant and its data, the page's command, parsed as the CLI parses it, gives the run's config."""
    from ganforge.config import RunConfig, parse_assignments
    from ganforge.report import reproduce_command

    config = ganforge.configure(variant, None, {"train.seed": 7, "train.epochs": 3, "ema.decay": 0.99, "schedule.hold": 0.25})
    words = shlex.split(reproduce_command(config.to_dict()))
    data = words[words.index("--data") + 1]
    settings = parse_assignments([words[i + 1] for i, word in enumerate(words) if word == "--set"])
    again = ganforge.configure(words[2], data, settings)
    assert RunConfig.flatten(again.to_dict()) == RunConfig.flatten(config.to_dict())


HOSTILE = "</pre><script>alert(1)</script><img src=x onerror=alert(2)>' onmouseover='alert(3)\" onfocus=\"alert(4)"


class _Markup(html.parser.HTMLParser):
    """Every tag and attribute of a page, and the text of its scripts."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def test_every_value_on_the_page_is_escaped(run, tmp_path):
    """Hostile text in the error of a failed run, a sample's file name, the run's folder name, config values and
    metrics (keys, main, epoch, values) shows as text: no tag, attribute or script of its own reaches the page."""
    import json

    from ganforge.report import SLIDER, render

    hostile_name = HOSTILE.replace("/", "|")  # a file or folder name cannot hold "/"
    copy = tmp_path / f"run{hostile_name}"
    shutil.copytree(run, copy)
    (copy / "status.json").write_text(json.dumps({"state": "failed", "error": HOSTILE}))
    shutil.copy(copy / "samples" / "epoch_003.png", copy / "samples" / f"epoch_004{hostile_name}.png")
    config = json.loads((copy / "config.json").read_text())
    config["data"]["root"] = HOSTILE
    config["loss"]["mode"] = HOSTILE
    (copy / "config.json").write_text(json.dumps(config))
    records = [json.loads(line) for line in (copy / "metrics.jsonl").read_text().splitlines()]
    last_training = next(r for r in reversed(records) if not r.get("eval"))
    last_eval = next(r for r in reversed(records) if r.get("eval"))
    extra = [{**last_training, "step": last_training["step"] + 1, "epoch": HOSTILE},
             {**last_eval, "step": last_eval["step"] + 1, "epoch": HOSTILE, "main": HOSTILE, HOSTILE: 1.5, "evaluator": HOSTILE}]  # fmt: skip
    with (copy / "metrics.jsonl").open("a") as log:
        log.writelines(json.dumps(record) + "\n" for record in extra)

    page = render(copy)
    markup = _Markup()
    markup.feed(page)
    allowed = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "b", "pre", "code", "input", "span",
               "img", "div", "figure", "figcaption", "script", "table", "tr", "th", "td"}  # fmt: skip
    assert {tag for tag, _ in markup.tags} <= allowed
    attributes = {name for _, attrs in markup.tags for name, _ in attrs}
    assert attributes <= {"charset", "class", "id", "min", "max", "value", "style", "type", "alt", "src"}, attributes
    assert markup.scripts == [SLIDER]
    assert all(value is None or not value.startswith("x") for tag, attrs in markup.tags if tag == "img" for name, value in attrs if name == "src")
    escaped = html.escape(HOSTILE)
    # each field is on the page, as text: the error, the loss mode (config block and command), the metric's name
    assert page.count(escaped) >= 3 and html.escape(hostile_name) in page
    assert f"alt='epoch 004{html.escape(hostile_name)}'" in page

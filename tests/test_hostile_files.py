"""Hostile files in and around a run directory: the run lock, ``report``, ``runs`` and ``--config`` meet symlinks out of
the run, FIFOs, devices, damaged JSON, non-UTF-8 bytes, unreadable and read-only folders. Each ends in a page, a
listing, or one ``error:`` line with exit code 2, never a traceback, a hang, or a file written outside the run."""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ganforge.cli import app

from attack import train_tiny_run
from hang_guard import within

runner = CliRunner()
SECRET = b"my ssh key, never to be shown\n"
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_tiny_run(tmp_path_factory.mktemp("hostile") / "trained")


@pytest.fixture
def run(trained, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "secret"
    path.write_bytes(SECRET)
    return path


def invoke(argv: list[str], seconds: float = 60):
    with within(seconds):
        result = runner.invoke(app, argv, prog_name="ganforge")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2), result.output
    return result


def refused(argv: list[str], *words: str, seconds: float = 60) -> str:
    """``argv`` ends in exit code 2 with one ``error:`` line holding every one of ``words``; that line."""
    result = invoke(argv, seconds)
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("warning:")]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (result.exit_code, result.output)
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# --- the run lock ---------------------------------------------------------------------------------------------------


def test_resume_does_not_write_through_a_lock_linked_to_a_users_file(run, secret):
    (run / ".ganforge.lock").unlink(missing_ok=True)
    (run / ".ganforge.lock").symlink_to(secret)
    refused(["resume", str(run), "--max-steps", "6", "--device", "cpu"], ".ganforge.lock", "not a regular file")
    assert secret.read_bytes() == SECRET


def test_run_out_does_not_write_through_a_lock_linked_to_a_users_file(tmp_path, secret):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".ganforge.lock").symlink_to(secret)
    refused(["run", "vanilla", "--data", "ring8", "--max-steps", "2", "--out", str(out)], ".ganforge.lock")
    assert secret.read_bytes() == SECRET


def test_a_dangling_lock_link_creates_nothing_outside_the_run(run, tmp_path):
    (run / ".ganforge.lock").unlink(missing_ok=True)
    elsewhere = tmp_path / "elsewhere"
    (run / ".ganforge.lock").symlink_to(elsewhere)
    refused(["resume", str(run), "--max-steps", "6", "--device", "cpu"], ".ganforge.lock")
    assert not elsewhere.exists()


@needs_fifo
def test_a_lock_that_is_a_fifo_is_refused_without_hanging(run):
    (run / ".ganforge.lock").unlink(missing_ok=True)
    os.mkfifo(run / ".ganforge.lock")
    refused(["resume", str(run), "--max-steps", "6", "--device", "cpu"], ".ganforge.lock", seconds=20)


def test_a_regular_lock_still_works(run):
    result = invoke(["resume", str(run), "--epochs", "3", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert (run / ".ganforge.lock").is_file() and not (run / ".ganforge.lock").is_symlink()


# --- report.html ----------------------------------------------------------------------------------------------------


def test_the_page_leaves_out_a_sample_linked_outside_the_run(run, secret, tmp_path):
    (run / "samples" / "epoch_999.png").symlink_to(secret)
    result = invoke(["report", str(run), "--out", str(tmp_path / "page.html")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "page.html").read_text()
    assert base64.b64encode(SECRET).decode() not in page
    assert "epoch 001" in page or "epoch 002" in page  # the run's own samples are still there


@needs_fifo
def test_a_fifo_named_like_a_sample_does_not_hang_the_page(run, tmp_path):
    os.mkfifo(run / "samples" / "epoch_998.png")
    result = invoke(["report", str(run), "--out", str(tmp_path / "page.html")], seconds=20)
    assert result.exit_code == 0, result.output


def test_a_directory_named_like_a_sample_is_left_out(run, tmp_path):
    (run / "samples" / "epoch_997.png").mkdir()
    result = invoke(["report", str(run), "--out", str(tmp_path / "page.html")])
    assert result.exit_code == 0, result.output


def test_dev_zero_linked_as_a_sample_is_not_read(run, tmp_path):
    (run / "samples" / "epoch_996.png").symlink_to("/dev/zero")
    result = invoke(["report", str(run), "--out", str(tmp_path / "page.html")], seconds=20)
    assert result.exit_code == 0, result.output


DAMAGED_STATUS = [[1, 2], "text", 3, {"state": ["x"]}, {"state": "failed", "error": {"a": 1}}]


@pytest.mark.parametrize("status", [*DAMAGED_STATUS, "deep"], ids=lambda s: str(s)[:20])
def test_a_damaged_status_file_still_gives_a_page(run, tmp_path, status):
    text = "[" * 100_000 + "]" * 100_000 if status == "deep" else json.dumps(status)
    (run / "status.json").write_text(text)
    result = invoke(["report", str(run), "--out", str(tmp_path / "page.html")])
    assert result.exit_code == 0, result.output


CONFIGS = [
    lambda c: {**c, "variant": 7},
    lambda c: {**c, "train": 5},
    lambda c: {**c, "data": {**c["data"], "name": ["x"]}},
    lambda c: [c],
    lambda c: {**c, "extra": "value"},
    lambda c: {**c, "generator": {**c["generator"], "hidden": {"deep": [1]}}},
]


@pytest.mark.parametrize("change", range(len(CONFIGS)))
def test_a_damaged_config_gives_a_page_or_one_line(run, tmp_path, change):
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps(CONFIGS[change](config)))
    invoke(["report", str(run), "--out", str(tmp_path / "page.html")])


def test_a_deeply_nested_config_is_one_line(run, tmp_path):
    (run / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    refused(["report", str(run), "--out", str(tmp_path / "page.html")], "config.json")


def test_non_utf8_metrics_and_config_give_a_page_or_one_line(run, tmp_path):
    with (run / "metrics.jsonl").open("ab") as metrics:
        metrics.write(b'{"step": 9, "epoch": "\xff\xfe"}\n\xff\xff\n')
    assert invoke(["report", str(run), "--out", str(tmp_path / "page.html")]).exit_code == 0
    assert "is not JSON" in (tmp_path / "page.html").read_text()  # the page says the log is damaged
    (run / "config.json").write_bytes(b'{"variant": "\xff"}')
    refused(["report", str(run), "--out", str(tmp_path / "page.html")], "config.json")


def unreadable(monkeypatch, *paths: Path) -> None:
    """Opening ``paths`` fails as for a file without read permission (root, who runs this suite in some places, is
    let through by chmod 0)."""
    refused_paths = {str(p) for p in paths}
    real_open = os.open

    def guarded_open(path, *args, **kwargs):
        if str(path) in refused_paths:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)


def test_unreadable_run_files_give_a_page_or_one_line(run, tmp_path, monkeypatch):
    first_grid = sorted((run / "samples").glob("epoch_*.png"))[0]
    unreadable(monkeypatch, run / "status.json", run / "metrics.jsonl", first_grid)
    assert invoke(["report", str(run), "--out", str(tmp_path / "page.html")]).exit_code == 0
    assert "cannot be read" in (tmp_path / "page.html").read_text()
    unreadable(monkeypatch, run / "config.json")
    refused(["report", str(run), "--out", str(tmp_path / "page.html")], "config.json", "Permission denied")


def test_the_run_is_not_written_when_the_page_goes_elsewhere(run, tmp_path):
    """A read-only run (or anyone's run) is only read when --out puts the page elsewhere."""
    (run / "curves.png").unlink(missing_ok=True)
    before = sorted(p.name for p in run.iterdir())
    result = invoke(["report", str(run), "--out", str(tmp_path / "page.html")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in run.iterdir()) == before
    assert "id=curves" in (tmp_path / "page.html").read_text()


def test_a_read_only_run_without_out_is_told_to_pass_out(run, monkeypatch):
    import ganforge.checkpoint

    def read_only(path, write):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(ganforge.checkpoint, "write_atomic", read_only)
    line = refused(["report", str(run)], "pass --out")
    assert "report.html" in line


def test_markup_in_the_epoch_and_the_path_is_escaped(trained, tmp_path):
    run = tmp_path / "<b onmouseover=alert(1)>run"
    shutil.copytree(trained, run)
    with (run / "metrics.jsonl").open("a") as metrics:
        metrics.write(json.dumps({"step": 99, "epoch": "<script>alert(1)</script>", "loss_d": 1.0, "loss_g": 1.0}) + "\n")
    (run / "status.json").write_text(json.dumps({"state": "failed", "error": f"in {run}: <img src=x onerror=alert(1)>"}))
    assert invoke(["report", str(run), "--out", str(tmp_path / "page.html")]).exit_code == 0
    page = (tmp_path / "page.html").read_text()
    assert "<script>alert(1)" not in page and "<b onmouseover" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)" in page


# --- ganforge runs --------------------------------------------------------------------------------------------------


def runs_of(root: Path, *extra: str):
    return invoke(["runs", str(root), *extra], seconds=20)


def test_markup_in_a_config_value_is_printed_as_it_is(run):
    config = json.loads((run / "config.json").read_text())
    for variant, shown in (("[/]", "[/]"), ("[b]x[/]", "[b]")):  # "[b]" would otherwise be a style, not text
        (run / "config.json").write_text(json.dumps({**config, "variant": variant}))
        result = runs_of(run.parent)
        assert result.exit_code == 0, result.output
        assert shown in result.output


@pytest.mark.parametrize(
    "name, content",
    [
        ("config.json", b"[" * 100_000 + b"]" * 100_000),
        ("status.json", b"[" * 100_000 + b"]" * 100_000),
        ("metrics.jsonl", b"[" * 100_000 + b"]" * 100_000 + b"\n"),
        ("metrics.jsonl", b'{"step": 1, "epoch": 1}\n\xff\xfe\n{"step": 2}\n'),
        ("metrics.jsonl", b'{"step": 4, "eval": true, "best": true, "main": ["modes"], "modes": 3}\n'),
        ("metrics.jsonl", b'{"step": 4, "eval": true, "best": true, "main": "fid", "fid": NaN}\n{"step": 5, "loss_d": Infinity}\n'),
        ("status.json", json.dumps({"state": "running", "pid": 10**30, "host": os.uname().nodename}).encode()),
        ("status.json", json.dumps({"state": "running", "pid": -1, "host": os.uname().nodename}).encode()),
        ("status.json", json.dumps({"state": {"x": 1}, "step": "many"}).encode()),
        ("config.json", b'{"variant": "\xff", "data": {"name": "ring8"}}'),
    ],
    ids=lambda v: v if isinstance(v, str) else str(v[:12]),
)
def test_a_damaged_run_is_listed_and_the_json_is_json(run, name, content):
    (run / name).write_bytes(content)
    result = runs_of(run.parent)
    assert result.exit_code == 0, result.output
    assert "run" in result.output
    text = runs_of(run.parent, "--json").stdout
    listed = json.loads(text, parse_constant=lambda word: pytest.fail(f"--json printed {word}, which is not JSON"))
    assert [entry["path"] for entry in listed] == [str(run)]


@needs_fifo
@pytest.mark.parametrize("name", ["config.json", "metrics.jsonl", "status.json"])
def test_a_fifo_in_a_run_is_listed_as_damaged_without_hanging(run, name):
    (run / name).unlink()
    os.mkfifo(run / name)
    result = runs_of(run.parent, "--json")
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.stdout)
    assert entry["status"] == "damaged" and name in entry["problem"]


def test_an_unreadable_run_folder_is_listed_as_damaged(run, monkeypatch):
    real_listdir = os.listdir

    def listdir(path="."):
        if str(path) == str(run):
            raise PermissionError(13, "Permission denied", str(path))
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", listdir)
    unreadable(monkeypatch, run / "config.json", run / "status.json", run / "metrics.jsonl")
    result = runs_of(run.parent, "--json")
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.stdout)
    assert entry["status"] == "damaged"


# --- config files ---------------------------------------------------------------------------------------------------


@needs_fifo
@pytest.mark.parametrize("command", ["run", "config"])
def test_a_fifo_as_config_file_is_refused_without_hanging(tmp_path, command):
    fifo = tmp_path / "settings.toml"
    os.mkfifo(fifo)
    refused([command, "vanilla", "--config", str(fifo)], "regular file", seconds=20)


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_a_deeply_nested_config_file_is_one_line(tmp_path, suffix):
    path = tmp_path / f"settings{suffix}"
    path.write_text("[" * 100_000 + "]" * 100_000 if suffix == ".json" else "a = " + "[" * 100_000 + "]" * 100_000)
    refused(["config", "vanilla", "--config", str(path)], str(path))


def test_a_config_file_linked_to_dev_zero_is_refused(tmp_path):
    path = tmp_path / "settings.json"
    path.symlink_to("/dev/zero")
    refused(["config", "vanilla", "--config", str(path)], "regular file", seconds=20)


def test_a_huge_config_file_is_refused(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"train": {"epochs": 1}, "x": "' + "a" * (20 * 2**20) + '"}')
    refused(["config", "vanilla", "--config", str(path)], "MB")


def test_resume_drops_a_metrics_line_that_is_not_utf8(run):
    with (run / "metrics.jsonl").open("ab") as metrics:
        metrics.write(b"\xb9\xff not text\n")
    result = invoke(["resume", str(run), "--epochs", "3", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert b"\xb9" not in (run / "metrics.jsonl").read_bytes()


@pytest.mark.parametrize("target", ["dangling", "users"])
def test_resume_does_not_append_through_a_linked_metrics_log(run, secret, tmp_path, target):
    (run / "metrics.jsonl").unlink()
    elsewhere = secret if target == "users" else tmp_path / "created-through-a-link"
    (run / "metrics.jsonl").symlink_to(elsewhere)
    refused(["resume", str(run), "--epochs", "3", "--device", "cpu"], "metrics.jsonl", "link")
    assert secret.read_bytes() == SECRET and not (tmp_path / "created-through-a-link").exists()


def test_resume_refuses_a_directory_where_status_json_goes_in_one_line(run):
    (run / "status.json").unlink()
    (run / "status.json").mkdir()
    refused(["resume", str(run), "--epochs", "3", "--device", "cpu"], "status.json", "is a directory")

"""A run directory's data is never lost or damaged: by --overwrite, a second writer, a failed start, a full disk,
a run of skipped updates or a crafted checkpoint (issue 18). Every refusal is one line on stderr, exit code 2.

Process-killing tests are in test_kill_writes.py (slow).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import ganforge
from ganforge import checkpoint as checkpoint_module
from ganforge.checkpoint import read_checkpoint, read_file, write_checkpoint
from ganforge.cli import app
from ganforge.errors import GanforgeError
from ganforge.rundir import RunDir
from ganforge.runlock import LOCK_NAME, RunLock
from ganforge_datasets import releases
from ganforge_losses.bce import BCELoss

from conftest import TINY

# 2 epochs of 20 steps, a checkpoint every 5: about a second
SETTINGS = {**TINY, "data.size": 640, "train.epochs": 2, "train.checkpoint_every": 5, "train.device": "cpu"}
SETS = [arg for key, value in SETTINGS.items() for arg in ("--set", f"{key}={value}")]
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(arg) for arg in args])


def one_line_error(result, *fragments: str) -> str:
    """The single error line of a refused command, checked for each fragment."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def files_of(directory: Path) -> dict[str, bytes]:
    """Every regular file under ``directory`` with its bytes (the lock file aside: it records its last holder)."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file() and p.name != LOCK_NAME}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    ganforge.train("vanilla", "ring8", settings=SETTINGS, out=out)
    return out


@pytest.fixture
def run(finished, tmp_path) -> Path:
    """A private copy of a finished 40-step run."""
    return Path(shutil.copytree(finished, tmp_path / "run"))


# --overwrite ----------------------------------------------------------------------------------------------------


def test_overwrite_refuses_a_directory_that_holds_no_ganforge_run(tmp_path):
    mine = tmp_path / "mine"
    (mine / "checkpoints").mkdir(parents=True)
    (mine / "checkpoints" / "mine.safetensors").write_bytes(os.urandom(256))
    (mine / "metrics.jsonl").write_text('{"my": "results"}\n')
    before = files_of(mine)
    for overwrite in ([], ["--overwrite"]):
        result = invoke("run", "vanilla", "--data", "ring8", *SETS, "--out", mine, *overwrite)
        one_line_error(result, f"output directory {mine} is not empty and holds no ganforge run", "choose another --out")
    assert files_of(mine) == before


def test_overwrite_replaces_only_what_ganforge_wrote(run):
    (run / "notes.txt").write_text("my notes")
    (run / "checkpoints" / "mine.safetensors").write_bytes(b"my own weights")
    result = invoke("run", "vanilla", "--data", "ring8", *SETS, "--epochs", "1", "--out", run, "--overwrite")
    assert result.exit_code == 0, result.output
    assert (run / "notes.txt").read_text() == "my notes"
    assert (run / "checkpoints" / "mine.safetensors").read_bytes() == b"my own weights"
    assert [p.name for p in RunDir(run).checkpoints()] == [f"step_{s:08d}.safetensors" for s in (10, 15, 20)]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_001.png"]


# one writer per run directory -----------------------------------------------------------------------------------


def test_a_second_writer_is_refused_naming_the_process_that_holds_the_run(run, tmp_path):
    before = files_of(run)
    with RunLock(run):  # this process is "the run being trained"
        holder = f"is being written by process {os.getpid()}"
        one_line_error(invoke("resume", run, "--epochs", "3"), holder, "wait for it to finish or stop it")
        one_line_error(invoke("run", "vanilla", "--resume", run, "--epochs", "3"), holder)
        one_line_error(invoke("run", "vanilla", "--data", "ring8", *SETS, "--out", run, "--overwrite"), holder)
        assert files_of(run) == before
        # readers need no lock
        assert invoke("sample", run, "-n", "8", "--out", tmp_path / "grid.png").exit_code == 0
        assert invoke("plot", run, "--out", tmp_path / "curves.png").exit_code == 0
        assert invoke("eval", run, "-n", "200", "--json").exit_code == 0
    assert invoke("resume", run, "--epochs", "3").exit_code == 0  # released: the next writer goes in


def test_a_lock_left_by_a_killed_process_is_taken_over_whatever_pid_it_names(run):
    # The kernel drops an flock when its holder dies, so a lock file naming a dead process, or a live one that
    # got its PID (here: this very process), holds nothing.
    (run / LOCK_NAME).write_text(f"{os.getpid()}\thost\t2026-01-01 00:00:00\tganforge resume {run}\n")
    result = invoke("resume", run, "--epochs", "3")
    assert result.exit_code == 0, result.output
    assert RunDir(run).checkpoints()[-1].name == "step_00000060.safetensors"


# a failed start leaves nothing behind ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [["--batch-size", "100000"], ["--set", "data.size=1"], ["--set", "ema.decay=1.5"]], ids=["batch", "size", "ema"])
def test_a_refused_start_leaves_nothing_and_the_corrected_command_works(tmp_path, bad):
    out = tmp_path / "run"
    result = invoke("run", "vanilla", "--data", "ring8", *SETS, *bad, "--out", out)
    one_line_error(result)
    assert not out.exists()
    out.mkdir()  # an empty directory given as --out behaves the same
    one_line_error(invoke("run", "vanilla", "--data", "ring8", *SETS, *bad, "--out", out))
    assert not list(out.iterdir())
    if bad[0] == "--batch-size":
        assert invoke("run", "vanilla", "--data", "ring8", *SETS, "--epochs", "1", "--out", out).exit_code == 0


def test_ctrl_c_right_after_config_json_leaves_no_run_that_cannot_be_resumed(tmp_path, monkeypatch):
    written = RunDir.write_config

    def write_then_interrupted(self, config_json):
        written(self, config_json)
        assert self.config_path.is_file()
        raise KeyboardInterrupt

    monkeypatch.setattr(RunDir, "write_config", write_then_interrupted)
    out = tmp_path / "nested" / "run"
    with pytest.raises(KeyboardInterrupt):
        ganforge.train("vanilla", "ring8", settings=SETTINGS, out=out)
    assert not (tmp_path / "nested").exists()
    monkeypatch.undo()
    assert ganforge.train("vanilla", "ring8", settings={**SETTINGS, "train.epochs": 1}, out=out).steps == 20


def test_resume_of_a_run_killed_before_its_first_checkpoint_says_what_to_do(run):
    for stale in [*(run / "checkpoints").iterdir(), *(run / "samples").iterdir()]:
        stale.unlink()
    one_line_error(invoke("resume", run), f"the run in {run} stopped before its first checkpoint", "--overwrite")
    assert invoke("run", "vanilla", "--data", "ring8", *SETS, "--epochs", "1", "--out", run, "--overwrite").exit_code == 0


# a full disk ----------------------------------------------------------------------------------------------------


def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def fail_on_call(number: int, original, failure=disk_full):
    """``original``, except that its ``number``-th call raises (after writing half of what it writes, if it can)."""
    calls = [0]

    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == number:
            return failure(*args, **kwargs)
        return original(*args, **kwargs)

    return wrapper


def assert_kept_and_resumable(run: Path, newest: int) -> None:
    checkpoints = RunDir(run).checkpoints()
    assert checkpoints[-1].name == f"step_{newest:08d}.safetensors"
    for path in checkpoints:
        read_checkpoint(path)  # every one intact
    assert not [p for p in run.rglob("*.tmp")]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]  # every line whole
    assert records and all(isinstance(r["step"], int) for r in records)


def test_disk_full_while_writing_a_checkpoint(tmp_path, monkeypatch):
    from safetensors import SafetensorError

    original = checkpoint_module.save_file

    def half_a_checkpoint_then_full(tensors, filename, metadata=None):
        original(tensors, filename, metadata=metadata)
        os.truncate(filename, os.path.getsize(filename) // 2)
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")  # as safetensors says it

    monkeypatch.setattr(checkpoint_module, "save_file", fail_on_call(3, original, half_a_checkpoint_then_full))
    out = tmp_path / "run"
    result = invoke("run", "vanilla", "--data", "ring8", *SETS, "--out", out)
    newest = out / "checkpoints" / "step_00000010.safetensors"
    one_line_error(result, f"the disk holding {out} is full", f"the checkpoints saved before are intact (newest: {newest})", f"ganforge resume {out}")
    assert_kept_and_resumable(out, 10)
    monkeypatch.undo()
    assert invoke("resume", out).exit_code == 0
    assert RunDir(out).checkpoints()[-1].name == "step_00000040.safetensors"


def test_disk_full_while_appending_to_metrics_leaves_no_half_line(tmp_path, monkeypatch):
    original_write = os.write
    calls = [0]

    def write(fd, data):
        if os.readlink(f"/proc/self/fd/{fd}").endswith("metrics.jsonl"):
            calls[0] += 1
            if calls[0] == 5:
                original_write(fd, bytes(data)[: len(data) // 2])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original_write(fd, data)

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to find which file a descriptor writes")
    monkeypatch.setattr(os, "write", write)
    out = tmp_path / "run"
    result = invoke("run", "vanilla", "--data", "ring8", *SETS, "--out", out)
    monkeypatch.undo()
    one_line_error(result, "is full", "intact (newest: ")
    assert_kept_and_resumable(out, 20)
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [5, 10, 15, 20]


def test_disk_full_while_writing_samples(tmp_path, monkeypatch):
    def half_a_picture_then_full(self, fp, *args, **kwargs):
        Path(fp).write_bytes(b"\x89PNG half")
        disk_full()

    monkeypatch.setattr(Image.Image, "save", fail_on_call(2, Image.Image.save, half_a_picture_then_full))
    out = tmp_path / "run"
    one_line_error(invoke("run", "vanilla", "--data", "ring8", *SETS, "--out", out), "is full", "intact (newest: ")
    monkeypatch.undo()
    assert_kept_and_resumable(out, 35)
    assert [p.name for p in (out / "samples").iterdir()] == ["epoch_001.png"]
    Image.open(out / "samples" / "epoch_001.png").verify()


def test_disk_full_at_the_start_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(RunDir, "write_config", disk_full)
    out = tmp_path / "run"
    one_line_error(invoke("run", "vanilla", "--data", "ring8", *SETS, "--out", out), f"the disk holding {out} is full", "nothing of this run was kept")
    assert not out.exists()


def test_disk_full_while_drawing_the_curves_at_the_end(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    monkeypatch.setattr(Figure, "savefig", disk_full)
    out = tmp_path / "run"
    one_line_error(invoke("run", "vanilla", "--data", "ring8", *SETS, "--out", out), "is full", "intact (newest: ")
    assert_kept_and_resumable(out, 40)


# non-finite updates ---------------------------------------------------------------------------------------------


def test_the_last_good_checkpoint_was_saved_before_the_skips_began_and_resumes(tmp_path, monkeypatch):
    """A bad update that goes through (D's weights blown up, finite) and then non-finite losses for as long as the
    weights stay blown up: what --lr 1e9 does. The checkpoint saved during the streak holds the blown-up weights."""
    from ganforge_vanilla.recipe import Vanilla

    original_loss, original_step, steps = BCELoss.discriminator_loss, Vanilla.train_step, [0]
    discriminator = {}

    def train_step(self, batch, precision):
        steps[0] += 1
        discriminator["weights"] = list(self.networks["discriminator"].parameters())
        if steps[0] == 23:  # the bad update that went through
            with torch.no_grad():
                for weight in discriminator["weights"]:
                    weight.mul_(1e9)
        return original_step(self, batch, precision)

    def discriminator_loss(self, real_logits, fake_logits):
        loss = original_loss(self, real_logits, fake_logits)
        blown = any(weight.abs().max() > 1e6 for weight in discriminator["weights"])
        return loss * float("nan") if blown else loss

    monkeypatch.setattr(Vanilla, "train_step", train_step)
    monkeypatch.setattr(BCELoss, "discriminator_loss", discriminator_loss)
    out = tmp_path / "run"
    result = invoke("run", "vanilla", "--data", "ring8", *SETS, "--set", "train.max_nonfinite_steps=4", "--out", out)
    good = out / "checkpoints" / "step_00000020.safetensors"
    one_line_error(result, "training stopped at step 26", f"the last good checkpoint, saved before these skips began (from step 23), is {good}")
    during = read_checkpoint(out / "checkpoints" / "step_00000025.safetensors").tensors
    assert max(t.abs().max() for n, t in during.items() if n.startswith("network.discriminator")) > 1e6
    # going back to it: the blown-up update is behind us, and the resumed run trains to its end
    (out / "checkpoints" / "step_00000025.safetensors").rename(out / "step_00000025.safetensors.aside")
    result = invoke("resume", out)
    assert result.exit_code == 0, result.output
    assert RunDir(out).checkpoints()[-1].name == "step_00000040.safetensors"


def test_the_last_good_checkpoint_is_never_pruned_during_a_streak(tmp_path, monkeypatch):
    original, calls = BCELoss.discriminator_loss, [0]

    def discriminator_loss(self, real_logits, fake_logits):
        calls[0] += 1
        loss = original(self, real_logits, fake_logits)
        return loss * float("nan") if calls[0] >= 12 else loss

    monkeypatch.setattr(BCELoss, "discriminator_loss", discriminator_loss)
    settings = {**SETTINGS, "train.checkpoint_every": 1, "train.keep_checkpoints": 1, "train.max_nonfinite_steps": 6}
    with pytest.raises(GanforgeError, match="the last good checkpoint, saved before these skips began .from step 12., is .*step_00000011"):
        ganforge.train("vanilla", "ring8", settings=settings, out=tmp_path / "run")
    assert (tmp_path / "run" / "checkpoints" / "step_00000011.safetensors").is_file()


# crafted and odd checkpoints ------------------------------------------------------------------------------------


def rewrite(path: Path, edit) -> None:
    """Change a checkpoint's metadata or tensors and write it back with a valid digest, as a crafted file would."""
    checkpoint = read_file(path)
    meta, tensors = checkpoint.meta, checkpoint.tensors
    edit(meta, tensors)
    write_checkpoint(path, tensors, meta)


def test_a_checkpoint_at_an_absurd_position_is_refused_before_anything_is_written(run):
    newest = RunDir(run).checkpoints()[-1]
    rewrite(newest, lambda meta, tensors: meta["progress"].update(epoch=10**6))
    before = files_of(run)
    line = one_line_error(invoke("resume", run, "--epochs", "3"), f"checkpoint {newest} records step 40, epoch 1000000", "use another checkpoint")
    assert "999999" not in line and files_of(run) == before


def invoke_unless_blocked(*args: str, timeout: float = 60) -> tuple[int, str]:
    """``invoke(*args)`` in a forked child, killed if it blocks (on a FIFO, say): its exit code and stderr."""
    report = Path(tempfile.mkstemp(suffix=".json")[1])
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        try:
            result = invoke(*args)
            report.write_text(json.dumps([result.exit_code, result.stderr]))
        finally:
            os._exit(0)
    deadline = time.monotonic() + timeout
    while os.waitpid(child, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            pytest.fail(f"'ganforge {args[0]}' blocked for {timeout} s")
        time.sleep(0.05)
    code, stderr = json.loads(report.read_text())
    report.unlink()
    return code, stderr


def test_a_fifo_named_like_a_checkpoint_neither_hangs_resume_nor_sample(run, tmp_path):
    fifo = run / "checkpoints" / "step_99999999.safetensors"
    os.mkfifo(fifo)
    code, stderr = invoke_unless_blocked("sample", run, "-n", "4", "--out", tmp_path / "grid.png")
    assert code == 0 and f"warning: {fifo} is not a regular file" in stderr, stderr
    code, stderr = invoke_unless_blocked("sample", fifo, "--out", tmp_path / "other.png")
    assert code == 2 and stderr.startswith(f"error: {fifo} is not a regular file") and len(stderr.strip().splitlines()) == 1, stderr
    code, stderr = invoke_unless_blocked("resume", run, "--epochs", "3")
    assert code == 0 and f"warning: {fifo} is not a regular file" in stderr, stderr
    assert RunDir(run).checkpoints()[-1].name == "step_00000060.safetensors" and fifo.exists()


@pytest.mark.parametrize("weights, flags", [("ema", []), ("network", ["--no-ema"])])
def test_sampling_a_checkpoint_of_nan_weights_warns_naming_the_file(run, tmp_path, weights, flags):
    """The weights sampled (the moving average by default, the live ones with --no-ema) are the ones checked."""
    newest = RunDir(run).checkpoints()[-1]
    rewrite(newest, lambda meta, tensors: tensors[f"{weights}.generator.net.0.weight"].fill_(float("nan")))
    result = invoke("sample", newest, "-n", "4", "--out", tmp_path / "grid.png", *flags)
    assert result.exit_code == 0
    assert f"warning: checkpoint {newest}: " in result.stderr and "of network 'generator' are NaN or infinite" in result.stderr


@pytest.mark.parametrize("spec", [{"scale": "big"}, {"scale": float("inf")}, {"domains": "two"}, {"domains": 0}])
def test_a_digest_valid_checkpoint_with_a_malformed_spec_is_one_line(run, tmp_path, spec):
    newest = RunDir(run).checkpoints()[-1]
    rewrite(newest, lambda meta, tensors: meta["spec"].update(spec))
    one_line_error(invoke("sample", newest, "--out", tmp_path / "grid.png"), f"checkpoint {newest} has a malformed 'spec' entry")
    if "scale" in spec and isinstance(spec["scale"], str):  # resume sets it aside like any damaged checkpoint
        result = invoke("resume", run, "--epochs", "3")
        assert result.exit_code == 0 and f"warning: checkpoint {newest} has a malformed 'spec' entry" in result.stderr


def test_plot_skips_the_line_being_written(run, tmp_path):
    with (run / "metrics.jsonl").open("a") as log:
        log.write('{"step": 41, "loss_d": 0.')  # a writer killed, or still writing
    assert invoke("plot", run, "--out", tmp_path / "curves.png").exit_code == 0


# release archives -----------------------------------------------------------------------------------------------


def release_zip(path: Path, extra: list[tuple[str, bytes]] = ()) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder in ("trainA", "trainB", "testA", "testB"):
            for index in range(2):
                picture = Image.new("RGB", (8, 8), (index * 80, 40, 200))
                target = path.parent / f"{folder}{index}.png"
                picture.save(target)
                archive.write(target, f"horse2zebra/{folder}/{index}.png")
        for member, content in extra:
            archive.writestr(member, content)
    return path


@pytest.fixture
def mirror(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(releases, "SERVER", "http://127.0.0.1:9/")
    monkeypatch.setenv("GANFORGE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "mirror").mkdir()
    return tmp_path / "mirror"


def load_horse2zebra(mirror: Path):
    return ganforge.api.load_dataset(ganforge.configure("cyclegan", "horse2zebra", {"data.mirror": mirror.as_uri(), "data.size": 8}))


def test_a_zip_bomb_is_refused_before_it_is_inflated(mirror, tmp_path):
    release_zip(mirror / "horse2zebra.zip", extra=[("horse2zebra/trainA/2.png", bytes(8 << 20))])  # 8 MB of zeros
    with pytest.raises(GanforgeError, match=r"member 'horse2zebra/trainA/2.png' would inflate from [\d,]+ to 8,388,608 bytes .*zip bomb"):
        load_horse2zebra(mirror)
    assert not list((tmp_path / "cache").rglob("*"))[1:]  # at most the empty cyclegan/ folder


def test_a_release_that_fails_to_read_leaves_nothing_in_the_cache(mirror, tmp_path):
    release_zip(mirror / "horse2zebra.zip", extra=[("horse2zebra/trainB/9.png", b"not a picture at all")])
    for _ in range(2):  # the same error again: no damaged copy in the cache stands in the way
        with pytest.raises(GanforgeError, match="9.png is not a readable image.*nothing was kept in the cache"):
            load_horse2zebra(mirror)
        assert not (tmp_path / "cache" / "cyclegan" / "horse2zebra").exists()
        assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    release_zip(mirror / "horse2zebra.zip")
    assert load_horse2zebra(mirror).data.shape == (2, 3, 8, 8)

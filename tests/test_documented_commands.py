"""Every `ganforge` command README.md and docs/*.md show is run by a test: found in the markdown, so that a command
added to the docs without a test fails here.

Three kinds: a *synopsis* (`ganforge eval RUN_DIR [-n N] [--json]`, with placeholders) is checked against the
command's --help, every option it names accepted; a concrete command is run as shown, shortened (2 steps,
the MNIST test split) by :func:`test_each_concrete_command_runs_as_shown` (slow), in the order the page shows
them, in one directory, so that `ganforge resume runs/fm` finds the run the line before made; or a test
elsewhere runs it as shown (:data:`RUN_ELSEWHERE`, where it needs what that test sets up: a pip install, two
processes, a plugin).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ganforge.cli import app

from conftest import real_data

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND = re.compile(r"^(ganforge [a-z-]|ganforge --help|python -m ganforge |torchrun .*-m ganforge )")
PLACEHOLDER = re.compile(r"\b(?:[A-Z][A-Z_]+|N|K|X|D|PSI|C)\b|\[|\.\.\.|<|\\?\|")
runner = CliRunner()

# command as shown -> the test that runs it as shown (module::function)
RUN_ELSEWHERE = {
    "ganforge run vanilla --set generator.width=3": "test_documented.py::test_each_error_the_docs_show_is_what_the_command_prints",
    "ganforge run vanilla --data ring8 --eval-every 500 --set ema.decay=0.999": "test_documented.py::test_the_evaluation_pages_command_runs",
    "ganforge run vanilla --data ring8 --set loss.name=fgan --set loss.divergence=reverse-kl --batch-size 64": "test_documented.py::test_the_fgan_commands_and_code_run_as_shown",
    "ganforge run vanilla --data ring8 --set loss.name=fgan --set loss.divergence=reverse-kl --batch-size 64 --set generator.name=mlp-residual": "test_documented.py::test_the_fgan_commands_and_code_run_as_shown",
    "ganforge list loss": "test_documented.py::test_the_fgan_commands_and_code_run_as_shown",
    "ganforge list '*residual*'": "test_documented.py::test_the_fgan_commands_and_code_run_as_shown",
    "ganforge interpolate runs/<run> --out walk.gif": "test_documented.py::test_each_after_training_command_runs_as_shown",
    "ganforge sample runs/<run> --truncation 0.7 --out truncated.png": "test_documented.py::test_each_after_training_command_runs_as_shown",
    "ganforge eval runs/<run> --truncation 0.5,1,none": "test_documented.py::test_each_after_training_command_runs_as_shown",
    "ganforge export runs/<run> --format onnx --out generator.onnx": "test_documented.py::test_each_after_training_command_runs_as_shown",
    "ganforge report runs/<run>": "test_documented.py::test_each_after_training_command_runs_as_shown",
    "ganforge new-plugin my-loss --kind loss --out .": "test_cli_plugins.py::test_generated_packages_install_with_pip_pass_their_tests_and_train",
    "ganforge list loss my-loss": "test_cli_plugins.py::test_generated_packages_install_with_pip_pass_their_tests_and_train",
    "ganforge run vanilla --data ring8 --set loss.name=my-loss": "test_cli_plugins.py::test_generated_packages_install_with_pip_pass_their_tests_and_train",
    "ganforge run vanilla --data ring8 --set tensorboard.enabled=true": "test_tensorboard_plugin.py::test_writes_scalars_config_and_samples_per_epoch",
    "ganforge run vanilla --data ring8 --set mlflow.enabled=true --set mlflow.tracking_uri=http://127.0.0.1:5000": "test_mlflow_plugin.py::test_a_run_is_tracked_and_a_resume_continues_the_same_mlflow_run",
    "ganforge run vanilla --data ring8 --nproc 2 --checkpoint-every 45 --out runs/r2": "test_scale_out.py::test_a_two_process_job_killed_at_a_random_step_resumes_bit_identical",
    "ganforge resume runs/r2 --nproc 2": "test_scale_out.py::test_a_two_process_job_killed_at_a_random_step_resumes_bit_identical",
    "torchrun --standalone --nproc_per_node=2 -m ganforge run vanilla --data ring8 --device cpu": "test_distributed.py::test_two_processes_hold_identical_weights_after_every_step",
    "torchrun --standalone --nproc_per_node=8 -m ganforge run dcgan --data fashion-mnist --batch-size 64": "test_distributed.py::test_nproc_launches_torchrun_from_the_cli",
}


def _commands_in(line: str) -> list[str]:
    text = line.strip()
    text = text[2:] if text.startswith("$ ") else text
    text = re.split(r"\s{2,}#", text)[0].strip()
    return [part.strip() for part in text.split("&&") if COMMAND.match(part.strip())]


def documented_commands() -> list[tuple[str, int, str]]:
    """(page, line, command) for every command shown: in fenced or indented code blocks and in inline code."""
    found = []
    for page in PAGES:
        lines = page.read_text().splitlines()
        fence = None
        for number, line in enumerate(lines, 1):
            if line.startswith("```"):
                fence = None if fence is not None else line[3:].strip()
                continue
            if fence is not None:
                if fence != "python":
                    found += [(page.name, number, c) for c in _commands_in(line)]
            elif line.startswith("    "):
                found += [(page.name, number, c) for c in _commands_in(line)]
            else:
                found += [(page.name, number, c) for span in re.findall(r"`([^`]+)`", line) for c in _commands_in(span)]
    return found


def error_examples() -> set[str]:
    """Commands shown as ``$ ganforge ...`` with the ``error:`` line they print under them: run, and their output
    compared, by test_documented.py::test_each_error_the_docs_show_is_what_the_command_prints."""
    shown = set()
    for page in PAGES:
        lines = page.read_text().splitlines()
        shown |= {line[2:] for line, after in zip(lines, lines[1:]) if line.startswith("$ ganforge ") and after.startswith("error:")}
    return shown


def is_synopsis(command: str) -> bool:
    """Placeholders, or a command named in passing (`ganforge eval`, `ganforge sample --class`): not a command line."""
    if command in RUN_ELSEWHERE:
        return False
    words = shlex.split(command.replace("'", ""))
    in_passing = len(words) <= 2 or all(word.startswith("-") for word in words[2:]) or words[:2] == ["python", "-m"]
    return in_passing or bool(PLACEHOLDER.search(command.replace("runs/<run>", "runs/RUN")))


def concrete_by_page() -> dict[str, list[str]]:
    pages: dict[str, list[str]] = {}
    for page, _, command in documented_commands():
        if command in error_examples() or is_synopsis(command) or command in RUN_ELSEWHERE:
            continue
        if command not in pages.setdefault(page, []):
            pages[page].append(command)
    return pages


def test_the_docs_show_commands_of_every_kind():
    commands = {command for _, _, command in documented_commands()}
    assert len(commands) > 40
    assert any(is_synopsis(c) for c in commands) and any(not is_synopsis(c) for c in commands)
    assert "ganforge config VARIANT [--data D] [--set key=value] [--config FILE] [--json]" in commands
    assert "ganforge run --config ring8.toml --set loss.r1_gamma=1" in commands


def test_every_command_the_docs_show_is_run_by_a_test():
    """A command in RUN_ELSEWHERE must be shown by the docs, and its test must exist."""
    shown = {command for _, _, command in documented_commands()}
    assert set(RUN_ELSEWHERE) <= shown, set(RUN_ELSEWHERE) - shown
    for command, test in RUN_ELSEWHERE.items():
        module, function = test.split("::")
        assert f"def {function}(" in (ROOT / "tests" / module).read_text(), test
    for pages in concrete_by_page().values():  # run in this process, which cannot start processes of its own
        assert not [command for command in pages if "--nproc" in command], "name the test that runs it in RUN_ELSEWHERE"
    assert "ganforge trian" in error_examples()
    for command in shown:
        assert command in error_examples() or is_synopsis(command) or command in RUN_ELSEWHERE or any(command in c for c in concrete_by_page().values())


SYNOPSES = sorted({command for _, _, command in documented_commands() if is_synopsis(command) and command not in error_examples()})


@pytest.mark.parametrize("command", SYNOPSES)
def test_each_synopsis_names_a_command_and_options_it_takes(command):
    words = shlex.split(command.replace("'", ""))
    if words[0] == "torchrun" or words[:3] == ["python", "-m", "ganforge"]:
        words = words[words.index("ganforge") :] if "ganforge" in words else words[words.index("-m") + 1 :]
    sub = [w for w in words[1:2] if re.fullmatch(r"[a-z][a-z-]*", w)]  # a command, not an option (--version)
    result = runner.invoke(app, [*sub, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, (command, result.output)
    for option in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", command.split(" -m ganforge ")[-1]):
        assert option in result.stdout, (command, option)


# --- concrete commands, run as shown (shortened) ---------------------------------------------------------------------

MNIST_FAMILY = {"mnist", "fashion-mnist", "digits2fashion", "stacked-mnist", "captioned-mnist", "captioned-fashion-mnist", None}  # None: the variant's default, mnist


def shortened(args: list[str], steps: int) -> list[str]:
    """A `run` or `resume` as shown, stopped after ``steps`` generator steps in all; MNIST data from its test split
    (the shared copy may lack the train images)."""
    if args[0] not in ("run", "resume"):
        return args
    extra = ["--max-steps", str(steps)]
    data = args[args.index("--data") + 1] if "--data" in args else None
    if args[0] == "run" and "--resume" not in args and "--config" not in args and data in MNIST_FAMILY:
        extra += ["--set", "data.split=test"] * ("data.split=test" not in args)
    return args + extra


@pytest.fixture
def documented_directory(tmp_path, monkeypatch):
    """A working directory as the docs assume it: the TOML file docs/commands.md shows, images to translate, the data at hand."""
    from variant_helpers import write_images

    shown = next(text for text in (page.read_text() for page in PAGES) if "```toml\n" in text)  # the settings file
    toml = shown[shown.index("```toml\n") + len("```toml\n") :]
    (tmp_path / "ring8.toml").write_text(toml[: toml.index("```")])
    write_images(tmp_path / "photos", 3, 28, seed=0)
    (tmp_path / "examples").symlink_to(ROOT / "examples")  # settings files the docs pass to --config
    monkeypatch.setenv("GANFORGE_DATA_DIR", str(real_data("mnist", "fashion-mnist")))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("page", sorted(concrete_by_page()))
def test_each_concrete_command_runs_as_shown(page, documented_directory, monkeypatch):
    from ganforge.evaluation import evaluator as evaluator_module
    from ganforge.evaluation import judges

    monkeypatch.setattr(evaluator_module, "TRAIN_STEPS", 4)  # first-use evaluators, trained for a few steps only
    monkeypatch.setattr(judges, "IMAGE_SAMPLES", 200)
    commands = concrete_by_page()[page]
    assert commands
    steps = 2
    for command in commands:
        args = shlex.split(command)[1:]
        if args[0] == "resume" or "--resume" in args:
            steps += 2  # each continuation goes 2 steps further than the run it continues
        result = runner.invoke(app, shortened(args, steps))
        assert result.exit_code == 0, (command, result.output)
        if "--out" in args:  # what it was asked to write is there
            assert Path(args[args.index("--out") + 1]).exists(), command

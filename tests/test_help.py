"""--help reads as prose at any width: each description fills its lines, breaking only where the next word would
not fit, in the command list of ``ganforge --help`` and on each command's own page."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ganforge.cli import app

WIDTHS = (80, 120)


def help_text(*args: str, width: int) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], prog_name="ganforge", env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return result.stdout


def command_rows(text: str) -> dict[str, tuple[list[str], int]]:
    """The rows of the Commands panel: command name -> (its description's lines, the description column's width)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("╭─ Commands"))
    rows: dict[str, tuple[list[str], int]] = {}
    name = None
    for line in lines[start + 1 :]:
        if line.startswith("╰"):
            break
        inner = line[1 : line.rindex("│")]  # between the panel's borders
        if inner[1] != " ":  # a new command: ' name   description'
            name = inner.split()[0]
            column = inner.index(" ", 1)
            column += len(inner[column:]) - len(inner[column:].lstrip())
            rows[name] = ([], len(inner) - column - 1)  # one space of padding on the right
        rows[name][0].append(inner[column:].rstrip())
    return rows


def description_lines(text: str) -> list[str]:
    """A command page's description: the lines between 'Usage:' and the first panel."""
    lines = text.splitlines()
    usage = next(i for i, line in enumerate(lines) if line.strip().startswith("Usage:"))
    panel = next(i for i, line in enumerate(lines) if line.startswith("╭"))
    return [line.strip() for line in lines[usage + 1 : panel] if line.strip()]


def breaks_early(lines: list[str], width: int) -> list[str]:
    """The lines broken although the next line's first word would have fitted on them."""
    return [line for line, after in zip(lines, lines[1:]) if len(line) + 1 + len(after.split()[0]) <= width]


def test_the_helpers_see_rows_and_early_breaks():
    rows = command_rows(help_text(width=80))
    assert {"run", "sample", "interpolate", "report", "runs"} <= set(rows)
    assert all(lines and lines[0] for lines, _ in rows.values())
    assert breaks_early(["a latent walk through", "p_z"], width=40) == ["a latent walk through"]
    assert breaks_early(["a latent walk through", "p_z"], width=24) == []


@pytest.mark.parametrize("width", WIDTHS)
def test_the_command_list_wraps_each_description_as_prose(width):
    rows = command_rows(help_text(width=width))
    assert len(rows) >= 10
    for name, (lines, column_width) in rows.items():
        assert not breaks_early(lines, column_width), (name, lines)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("command", ["interpolate", "report", "export", "runs", "run", "sample", "eval"])
def test_a_commands_page_wraps_its_description_as_prose(command, width):
    lines = description_lines(help_text(command, width=width))
    assert lines
    assert not breaks_early(lines, width - 2), lines  # a space of margin on either side

"""The CSV logger's hooks: the ``csv`` config section, and a row per metrics line (``on_log``).

A row holds the step, the epoch and every number of the line; a nested value (the learning rates, ``lr``) becomes
one column per entry (``lr.generator``). A key that first appears later (a penalty switched on at resume) widens
the header: the file is rewritten with the new column, earlier rows leaving it empty. A resumed run keeps the rows
up to the step it resumes from and drops those after it, as metrics.jsonl does.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganforge.plugin import hookimpl

CSV_NAME = "metrics.csv"


@dataclass
class CSVSettings:
    """Settings of the ``csv`` section, added to every run by the CSV logger plugin."""

    enabled: bool = False  # write every metrics line as a row of <run>/metrics.csv


@dataclass
class _Table:
    path: Path
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: dict[str, Any]) -> None:
        new = [key for key in row if key not in self.columns]
        self.rows.append(row)
        if new or not self.path.exists():
            self.columns += new
            self.rewrite()
            return
        with self.path.open("a", newline="") as handle:
            csv.DictWriter(handle, fieldnames=self.columns, restval="").writerow(row)

    def rewrite(self) -> None:
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=self.columns, restval="")
        writer.writeheader()
        writer.writerows(self.rows)
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        temporary.write_text(text.getvalue())
        os.replace(temporary, self.path)


_tables: dict[Path, _Table] = {}


def flat(record: dict[str, Any]) -> dict[str, Any]:
    """The record's values as columns: nested dictionaries (``lr``) one column per entry."""
    row: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            row.update({f"{key}.{inner}": item for inner, item in value.items()})
        else:
            row[key] = value
    return row


def _open(run_dir: Path, step: int) -> _Table:
    """The run's table: rows already in metrics.csv before ``step`` (a resumed run), else none."""
    table = _Table(Path(run_dir) / CSV_NAME)
    if table.path.is_file():
        with table.path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            table.columns = list(reader.fieldnames or [])
            table.rows = [row for row in reader if row.get("step", "").isdigit() and int(row["step"]) < step]
        table.rewrite()
    return table


@hookimpl
def config_sections():
    return {"csv": CSVSettings}


@hookimpl
def on_log(run_dir, config, record, step):
    if not config.csv.enabled:
        return
    if run_dir not in _tables:
        _tables[run_dir] = _open(run_dir, step)
    _tables[run_dir].add(flat({"step": step, **record}))


@hookimpl
def on_run_end(run_dir):
    _tables.pop(run_dir, None)

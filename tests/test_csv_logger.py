"""The CSV logger plugin: ``--set csv.enabled=true`` writes every metrics line to ``<run>/metrics.csv``."""

from __future__ import annotations

import csv
import json

from typer.testing import CliRunner

import ganforge
from ganforge.cli import app
from ganforge_csvlog.plugin import flat

from conftest import TINY

SETTINGS = {**TINY, "data.size": 64, "train.batch_size": 16, "train.log_every": 2}


def rows(run):
    with (run / "metrics.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_metrics_line_is_a_row(tmp_path):
    ganforge.train("vanilla", "ring8", settings={**SETTINGS, "train.max_steps": 8, "csv.enabled": "true"}, out=tmp_path / "run")
    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    table = rows(tmp_path / "run")
    assert [int(row["step"]) for row in table] == [record["step"] for record in logged] and table
    first = table[0]
    assert float(first["loss_d"]) == logged[0]["loss_d"] and float(first["d_fake"]) == logged[0]["d_fake"]
    assert flat({"step": 1, "lr": {"generator": 0.1, "discriminator": 0.2}}) == {"step": 1, "lr.generator": 0.1, "lr.discriminator": 0.2}


def test_off_by_default_and_a_resumed_run_continues_its_table(tmp_path):
    ganforge.train("vanilla", "ring8", settings={**SETTINGS, "train.max_steps": 4}, out=tmp_path / "off")
    assert not (tmp_path / "off" / "metrics.csv").exists()
    run = tmp_path / "run"
    ganforge.train("vanilla", "ring8", settings={**SETTINGS, "train.epochs": 2, "train.max_steps": 4, "csv.enabled": "true"}, out=run)
    assert [row["step"] for row in rows(run)] == ["2", "4"]
    result = CliRunner().invoke(app, ["resume", str(run), "--max-steps", "8", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert [int(row["step"]) for row in rows(run)] == [2, 4, 6, 8]  # one table, no step twice

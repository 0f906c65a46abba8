"""benchmarks/wider.py: a thin script over the library; run on two real images."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def benchmark_app() -> typer.Typer:
    spec = importlib.util.spec_from_file_location("wider_benchmark", PROJECT_ROOT / "benchmarks" / "wider.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app = typer.Typer()
    app.command()(module.main)
    return app


@pytest.mark.slow
def test_benchmark_writes_wider_files_and_prints_every_figure(wider_pack, tmp_path):
    out = tmp_path / "run"
    arguments = [str(wider_pack), "--detector", "centerface", "--out", str(out), "--limit", "2"]
    result = CliRunner().invoke(benchmark_app(), arguments)
    assert result.exit_code == 0, result.output
    txts = sorted(out.rglob("*.txt"))
    assert len(txts) == 2 and txts[0].parent.name == "0--Parade"
    lines = txts[0].read_text().splitlines()
    assert lines[0] == txts[0].stem and int(lines[1]) == len(lines) - 2
    assert min(float(line.split()[4]) for line in lines[2:]) >= 0.1  # recorded from the low threshold
    assert len(json.loads((out / "times.json").read_text())) == 2
    for text in ("recall by face height", "recall by perceived skin type", "official WIDER AP", "seconds per image"):
        assert text in result.output
    again = CliRunner().invoke(benchmark_app(), arguments)  # resumable: nothing to run again
    assert again.exit_code == 0 and [t.stat().st_mtime_ns for t in sorted(out.rglob("*.txt"))] == \
        [t.stat().st_mtime_ns for t in txts]

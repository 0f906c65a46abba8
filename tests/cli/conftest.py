"""Run the `unseen` command's real entry point in-process: exit status and messages as a
user sees them (the error boundary in `unseen.cli.main` included)."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from unseen.cli import main


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def run_main(monkeypatch, capsys):
    def run(*args: str) -> Ran:
        monkeypatch.setattr(sys, "argv", ["unseen", *map(str, args)])
        monkeypatch.setenv("COLUMNS", "200")
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        captured = capsys.readouterr()
        return Ran(code=code, out=captured.out, err=captured.err)

    return run

"""Fuzz one of unseen's entry points with Atheris (``pip install -e '.[fuzz]'``).

    python fuzz/seeds.py fuzz-corpus                       # small valid files to start from
    nice -n 15 python fuzz/run.py image fuzz-corpus/image -max_total_time=300 -rss_limit_mb=3072
    nice -n 15 python fuzz/run.py video fuzz-corpus/video -max_total_time=300 -rss_limit_mb=3072
    nice -n 15 python fuzz/run.py table fuzz-corpus/table -max_total_time=300 -rss_limit_mb=3072

Arguments after the target's name are libFuzzer's; new inputs are added to the corpus
folder and a failing input is written as ``crash-*`` in the current folder. Replay one with
``python fuzz/run.py image crash-...`` (a file instead of a folder runs it once).
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

import targets  # noqa: E402


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in targets.TARGETS:
        sys.exit(f"usage: python fuzz/run.py {{{','.join(targets.TARGETS)}}} CORPUS_FOLDER [libFuzzer options]")
    target = targets.TARGETS[sys.argv.pop(1)]
    atheris.instrument_all()
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

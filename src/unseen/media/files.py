"""Atomic writes: a file appears whole under its final name, or not at all (text, JSON,
CSV tables, or any bytes a callable writes)."""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import math
import os
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unseen.errors import ConfigError, OutputError

PARTIAL = re.compile(r"^\..+\.[0-9a-f]{12}\.partial$")
"""Names of the temporary files `write_atomic` writes before renaming them."""

FOLDER_FULL_OR_READ_ONLY = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})
"""Write errors after which nothing more can be written to the same folder."""


def write_atomic(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(temporary_path)`` then rename it onto ``path`` (same folder, same disk).

    The data is flushed to the disk before the rename, so a crash (or a power cut) leaves
    the old ``path`` or the new one, never a half-written one; at most a hidden
    ``.*.partial`` file stays behind (`remove_partials` clears them). An OSError (a full
    disk, a read-only folder) propagates with nothing written under ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary_path = path.parent / f".{path.name}.{secrets.token_hex(6)}.partial"
    # Created like any new file (permissions follow the umask), but never over an existing one.
    os.close(os.open(temporary_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        write(temporary_path)
        _flush_to_disk(temporary_path)
        os.replace(temporary_path, path)
    finally:
        temporary_path.unlink(missing_ok=True)
    return path


def _flush_to_disk(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_partials(folder: str | Path) -> list[Path]:
    """Delete the temporary files a killed `write_atomic` left under ``folder``; returns them.

    Only for a folder no other run is writing into (one run per output folder). One that
    cannot be deleted (a read-only folder) is left, for the write that follows to report.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for candidate in folder.rglob(".*.partial"):
        if PARTIAL.match(candidate.name) and candidate.is_file():
            try:
                candidate.unlink(missing_ok=True)
            except OSError:
                continue
            removed.append(candidate)
    return removed


def output_error(path: str | Path, error: OSError) -> OutputError:
    """The error to raise when ``path`` could not be written: it names the file and the
    reason, and says that nothing was written under that name."""
    reason = error.strerror or str(error)
    return OutputError(f"{path}: cannot write it ({reason}); nothing was written under that name and no original "
                       "was changed" + ("; free some space, or choose another output folder"
                                        if error.errno in FOLDER_FULL_OR_READ_ONLY else ""))


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json_atomic(path: str | Path, data: Any) -> Path:
    return write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _cell(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return "" if not math.isfinite(float(value)) else repr(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return "" if value is None else value


def write_csv_table(path: str | Path, rows: Sequence[Mapping[str, Any]], *,
                    columns: Sequence[str] | None = None) -> Path:
    """Write ``rows`` (mappings with the same keys) as CSV; NaN/inf/None become empty cells.

    ``columns`` fixes the order (default: the first row's keys). Floats keep full precision.
    """
    if columns is None:
        if not rows:
            raise ConfigError("write_csv_table: no rows and no columns given")
        columns = list(rows[0].keys())
    missing = [c for row in rows for c in columns if c not in row]
    if missing:
        raise ConfigError(f"write_csv_table: rows lack column(s) {sorted(set(missing))}")

    def write(temporary: Path) -> None:
        with temporary.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_cell(row[c]) for c in columns])

    return write_atomic(path, write)


def file_digest(path: str | Path) -> bytes:
    """SHA-256 of a file, read in 1 MiB blocks (videos and tables need not fit in memory)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()

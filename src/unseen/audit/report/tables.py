"""CSV tables for spreadsheets: one header row, one row per record, written atomically."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unseen.errors import ConfigError
from unseen.media.files import write_atomic


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

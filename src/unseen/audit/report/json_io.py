"""JSON for machines: plain numbers (fractions, not percents), NaN/inf as null with a reason."""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from unseen.media.files import write_json_atomic

NULLS_KEY = "null_values"
"""Top-level key listing every number written as null: ``{"path": ..., "was": "nan"|"inf"|"-inf"}``."""


def to_jsonable(value: Any, *, nulls: list[dict[str, str]] | None = None, path: str = "") -> Any:
    """A copy of ``value`` that `json.dumps` accepts and that is valid JSON (no NaN tokens).

    numpy scalars and arrays become numbers and lists; enums their value; dataclasses and
    mappings objects; tuples lists. A non-finite float becomes ``None`` and, when ``nulls``
    is given, ``{"path": "a.b[2]", "was": "inf"}`` is appended to it.
    """
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value, nulls=nulls, path=path)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isfinite(number):
            return number
        if nulls is not None:
            nulls.append({"path": path, "was": "nan" if math.isnan(number) else ("inf" if number > 0 else "-inf")})
        return None
    if isinstance(value, (str, type(None))):
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist(), nulls=nulls, path=path)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, nulls=nulls, path=f"{path}.{k}" if path else str(k))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, nulls=nulls, path=f"{path}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"to_jsonable: cannot represent {type(value).__name__} at {path or 'top level'}")


def report_document(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` made JSON-safe, with the list of nulls under `NULLS_KEY`."""
    nulls: list[dict[str, str]] = []
    document = to_jsonable(data, nulls=nulls)
    document[NULLS_KEY] = nulls
    return document


def write_report_json(path: str | Path, data: Mapping[str, Any]) -> Path:
    """Write `report_document(data)` atomically (strict JSON: no NaN or Infinity tokens)."""
    return write_json_atomic(path, report_document(data))

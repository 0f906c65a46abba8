"""Reading comparisons tables (CSV or Parquet) into `Comparisons`.

`TableColumns` says which columns mean what: scores (one per model, similarity or
distance), whether a pair is mated, group labels of both sides, and subject ids (given, or
derived from file names). A second table (e.g. labels) may be joined on key columns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unseen.audit.recognition.comparisons import CROSS, Comparisons, Provenance, ScoreScale
from unseen.errors import ConfigError, InputFileError
from unseen.media.files import file_digest

DEFAULT_SUBJECT_PATTERN = r"^(?:.*/)?(?P<subject>[^/]+)/[^/]+$|^(?:.*/)?(?P<stem>.+)_[^_/]+$"
"""Subject id from a file name: the folder if the path has one (``n007216/00017.jpg``),
else the name up to its last underscore (``m.0bxsfw_0001.jpg`` -> ``m.0bxsfw``)."""


@dataclass(frozen=True)
class TableColumns:
    """Which columns of a comparisons table mean what.

    ``scores``: one column per model; ``"name:distance"`` overrides ``scale`` for one column.
    ``groups``: one entry per attribute; ``"race"`` uses one column for both sides,
    ``"race_a:race_b"`` names a column per side (the attribute is called after the first).
    A value written ``"A x B"`` in a shared column (FaVFA's convention) means side a is A
    and side b is B. ``subjects``: ``("id_a", "id_b")`` columns, or with
    ``subjects_from_files`` the two file-name columns a subject id is derived from by
    ``subject_pattern`` (first non-empty named or numbered group).
    """

    scores: tuple[str, ...]
    mated: str | None = None
    groups: tuple[str, ...] = ()
    subjects: tuple[str, str] | None = None
    subjects_from_files: bool = False
    subject_pattern: str = DEFAULT_SUBJECT_PATTERN
    scale: ScoreScale = ScoreScale.SIMILARITY
    ordered: bool = False
    label_sources: tuple[tuple[str, str], ...] = ()
    join: Path | None = None
    join_on: tuple[str, ...] = ()


def _read_table(path: Path):
    import pandas as pd  # lazy

    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except Exception as error:  # pandas raises many kinds; all mean "cannot read this file"
        raise InputFileError(f"{path}: cannot read as a table ({type(error).__name__}: {error})") from None

def _require(frame, columns: Sequence[str], what: str, path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(f"{what}: column(s) {missing} not in {path.name}; it has {list(frame.columns)}")


def subject_ids(names: Sequence[str], *, pattern: str = DEFAULT_SUBJECT_PATTERN) -> list[str]:
    """Subject ids derived from file names by ``pattern`` (see `DEFAULT_SUBJECT_PATTERN`)."""
    regex = re.compile(pattern)
    out = []
    for name in names:
        match = regex.search(str(name))
        groups = [g for g in (match.groups() if match else ()) if g]
        if not groups:
            raise ConfigError(f"--subject-pattern: {pattern!r} finds no subject id in {name!r}")
        out.append(groups[0])
    return out


def mated_values(column) -> np.ndarray:
    text = column.astype(str).str.strip().str.lower()
    truthy = text.isin(["1", "1.0", "true", "yes", "y", "same", "mated", "genuine"])
    falsy = text.isin(["0", "0.0", "false", "no", "n", "different", "nonmated", "non-mated", "impostor"])
    if not bool((truthy | falsy).all()):
        bad = sorted(set(text[~(truthy | falsy)]))[:5]
        raise ConfigError(f"--mated: expected 1/0 or true/false values, found {bad}")
    return truthy.to_numpy()


def read_comparisons(path: str | Path, *, columns: TableColumns) -> Comparisons:
    """Read a CSV or Parquet comparisons table into `Comparisons` (see `TableColumns`)."""
    path = Path(path)
    frame = _read_table(path)
    notes = []
    if columns.join is not None:
        other = _read_table(Path(columns.join))
        keys = list(columns.join_on)
        if not keys:
            raise ConfigError("--on: name the key column(s) to join the two tables on")
        _require(frame, keys, "--on", path)
        _require(other, keys, "--on", Path(columns.join))
        before = len(frame), len(other)
        frame = frame.merge(other, on=keys, how="inner", suffixes=("", "_joined"))
        notes.append(f"joined {path.name} ({before[0]} rows) with {Path(columns.join).name} ({before[1]} rows) "
                     f"on {', '.join(keys)}: {len(frame)} rows matched; the others were left out")
    if not columns.scores:
        raise ConfigError("--score: name at least one score column")
    names, scales = [], []
    suffixes = tuple(f":{scale.value}" for scale in ScoreScale)
    for spec in columns.scores:  # "column" or "column:distance" / "column:similarity"
        name, _, scale = spec.rpartition(":") if spec.endswith(suffixes) else (spec, "", "")
        names.append(name)
        scales.append(ScoreScale.parse(scale, "--score-scale") if scale else columns.scale)
    _require(frame, names, "--score", path)
    labels_a: dict[str, list] = {}
    labels_b: dict[str, list] = {}
    for spec in columns.groups:
        side_a, _, side_b = spec.partition(":")
        _require(frame, [side_a] + ([side_b] if side_b else []), "--group", path)
        values_a = frame[side_a].tolist()
        if side_b:
            values_b = frame[side_b].tolist()
        elif all(isinstance(v, str) and CROSS in v for v in values_a):
            split = [v.split(CROSS, 1) for v in values_a]
            values_a, values_b = [s[0].strip() for s in split], [s[1].strip() for s in split]
            notes.append(f"column {side_a!r} holds 'A x B' values: read as side a / side b")
        else:
            values_b = values_a
        labels_a[side_a], labels_b[side_a] = values_a, values_b
    if not labels_a:
        raise ConfigError("--group: name at least one group column (e.g. --group race)")
    subjects_a = subjects_b = None
    if columns.subjects is not None:
        _require(frame, list(columns.subjects), "--subject" if not columns.subjects_from_files else "--subjects-from",
                 path)
        subjects_a, subjects_b = (frame[c].astype(str).tolist() for c in columns.subjects)
        if columns.subjects_from_files:
            subjects_a = subject_ids(subjects_a, pattern=columns.subject_pattern)
            subjects_b = subject_ids(subjects_b, pattern=columns.subject_pattern)
            notes.append(f"subject ids derived from file names in {columns.subjects[0]!r}/{columns.subjects[1]!r}")
    if columns.mated is not None:
        _require(frame, [columns.mated], "--mated", path)
        mated = mated_values(frame[columns.mated])
    elif subjects_a is not None:
        mated = np.array([a == b for a, b in zip(subjects_a, subjects_b)])
        notes.append("mated = same subject id on both sides")
    else:
        raise ConfigError("--mated: name the column saying whether a pair shows the same person "
                          "(or give subject ids)")
    raw = frame[names].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(raw)):
        bad = int((~np.isfinite(raw)).any(axis=1).sum())
        raise InputFileError(f"{path.name}: {bad} row(s) have a missing or non-numeric score")
    if subjects_a is not None:
        inconsistent = mated & (np.asarray(subjects_a) != np.asarray(subjects_b))
        if inconsistent.any():
            notes.append(f"{int(inconsistent.sum())} mated pair(s) have different subject ids on the two sides")
    provenance = Provenance(source=path.name, sha256=file_digest(path).hex(), label_sources=columns.label_sources,
                            notes=tuple(notes))
    return Comparisons.build(scores=raw, mated=mated, labels_a=labels_a, labels_b=labels_b,
                             subjects_a=subjects_a, subjects_b=subjects_b, models=names,
                             scales=scales, ordered=columns.ordered,
                             provenance=provenance)

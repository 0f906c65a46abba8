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
from unseen.audit.set_aside import RowProblem, SetAside
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
    found = subject_ids_or_none(names, pattern=pattern)
    for name, subject in zip(names, found):
        if subject is None:
            raise ConfigError(f"--subject-pattern: {pattern!r} finds no subject id in {name!r}")
    return [str(subject) for subject in found]


def subject_ids_or_none(names: Sequence[str], *, pattern: str = DEFAULT_SUBJECT_PATTERN) -> list[str | None]:
    """Like `subject_ids`, with None where ``pattern`` finds no subject id."""
    regex = re.compile(pattern)
    out: list[str | None] = []
    for name in names:
        match = regex.search(str(name))
        groups = [g for g in (match.groups() if match else ()) if g]
        out.append(groups[0] if groups else None)
    return out


TRUE_WORDS = ("1", "1.0", "true", "yes", "y", "same", "mated", "genuine")
FALSE_WORDS = ("0", "0.0", "false", "no", "n", "different", "nonmated", "non-mated", "impostor")


def mated_flags(column) -> tuple[np.ndarray, np.ndarray]:
    """(mated, readable): each value read as 1/0, true/false, same/different...; ``readable``
    False where it is none of them (an empty cell included)."""
    text = column.astype("string").fillna("").str.strip().str.lower()
    truthy = text.isin(TRUE_WORDS).to_numpy()
    falsy = text.isin(FALSE_WORDS).to_numpy()
    return truthy, truthy | falsy


def mated_values(column) -> np.ndarray:
    mated, readable = mated_flags(column)
    if not readable.all():
        text = column.astype("string").fillna("").str.strip().str.lower()
        bad = sorted(set(text[~readable]))[:5]
        raise ConfigError(f"--mated: expected 1/0 or true/false values, found {bad}")
    return mated


LINE = "__unseen_line__"
"""Column added to a table as it is read: each row's line in its file (header = line 1)."""
LEFT_OUT = "left out"


class RowChecks:
    """Rows of one table set aside as they are checked: ``keep`` marks the rest, ``found``
    names each set-aside row (its line, problem, detail)."""

    def __init__(self, frame, file: str) -> None:
        self.frame, self.file = frame, file
        self.keep = np.ones(len(frame), bool)
        self.found: list[tuple[int, RowProblem, str, str]] = []

    def set_aside(self, rows: np.ndarray, problem: RowProblem, detail, action: str = LEFT_OUT) -> None:
        rows = np.asarray(rows, bool) & self.keep
        lines = self.frame[LINE].to_numpy()
        for row in np.flatnonzero(rows):
            self.found.append((int(lines[row]), problem, detail(int(row)), action))
        self.keep &= ~rows

    def numbers(self, column: str) -> np.ndarray:
        """The column as float64, its empty, non-numeric and infinite cells set aside."""
        import pandas as pd

        raw = self.frame[column]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        empty = raw.isna().to_numpy() | (raw.astype("string").str.strip() == "").fillna(True).to_numpy()
        self.set_aside(empty, RowProblem.MISSING_VALUE, lambda r: f"no {column!r}")
        self.set_aside(np.isnan(values), RowProblem.NOT_A_NUMBER, lambda r: f"{column} {str(raw.iloc[r])!r}")
        self.set_aside(np.isinf(values), RowProblem.INFINITE, lambda r: f"{column} {str(raw.iloc[r])!r}")
        return values

    def texts(self, column: str, what: str) -> np.ndarray:
        """The column as text, its empty cells set aside (``what`` names the value)."""
        raw = self.frame[column]
        text = raw.astype("string").fillna("").str.strip()
        self.set_aside((text == "").to_numpy(), RowProblem.MISSING_VALUE, lambda r: f"no {what} in {column!r}")
        return text.to_numpy(dtype=object).astype(str)

    def result(self, strict: bool) -> SetAside:
        return SetAside.of(self.file, sorted(self.found, key=lambda item: item[0])).check_strict(strict)

    def require_some(self, what: str) -> None:
        if len(self.keep) and not self.keep.any():
            first = SetAside.of(self.file, self.found[:1])
            raise InputFileError(f"{self.file}: none of its {len(self.keep)} {what} can be used; first: "
                                 f"{first.describe(0)}")


def _with_lines(frame, path: Path):
    """``frame`` with the `LINE` column (a Parquet file's rows are numbered from 1)."""
    first = 1 if path.suffix.lower() in (".parquet", ".pq") else 2
    frame = frame.reset_index(drop=True)
    frame[LINE] = np.arange(len(frame)) + first
    return frame


def _join_labels(frame, path: Path, columns: TableColumns, checks: list[SetAside], strict: bool):
    """``frame`` with the label table's columns; a score row without labels is set aside, as
    is a label row repeating an earlier row's key (it would count the score row twice)."""
    joined = Path(columns.join)
    other = _with_lines(_read_table(joined), joined)
    keys = list(columns.join_on)
    if not keys:
        raise ConfigError("--on: name the key column(s) to join the two tables on")
    _require(frame, keys, "--on", path)
    _require(other, keys, "--on", joined)
    labels = RowChecks(other, str(joined))
    repeated = other.duplicated(subset=keys).to_numpy()
    labels.set_aside(repeated, RowProblem.DUPLICATE, lambda r: "key " + ", ".join(
        f"{k} {other[k].iloc[r]!r}" for k in keys) + " again; the first row is kept")
    checks.append(labels.result(strict))
    other = other[labels.keep].drop(columns=[LINE])
    merged = frame.merge(other, on=keys, how="left", suffixes=("", "_joined"), indicator=True)
    rows = RowChecks(merged, str(path))
    rows.set_aside((merged["_merge"] == "left_only").to_numpy(), RowProblem.MISSING_VALUE,
                   lambda r: f"no row of {joined.name} has its key (" + ", ".join(
                       f"{k} {merged[k].iloc[r]!r}" for k in keys) + ")")
    rows.require_some("rows with labels")
    checks.append(rows.result(strict))
    note = (f"joined {path.name} ({len(frame)} rows) with {joined.name} ({len(other)} rows) on {', '.join(keys)}: "
            f"{int(rows.keep.sum())} rows matched")
    return merged[rows.keep].drop(columns=["_merge"]).reset_index(drop=True), note


def read_comparisons(path: str | Path, *, columns: TableColumns, strict: bool = False) -> Comparisons:
    """Read a CSV or Parquet comparisons table into `Comparisons` (see `TableColumns`).

    Rows that cannot be used are set aside and named (`Provenance.set_aside`): a missing,
    non-numeric or infinite score in any score column (the row is left out for every model,
    so all are audited on the same pairs), an unreadable mated value, a missing subject id
    (or a file name the subject pattern finds none in), an image compared with itself or a
    pair of images compared again (when subject ids come from file names), a row the label
    table has no row for, and a label row repeating a key. An empty group label is kept as
    "no label". ``strict`` raises InputFileError on the first of them instead.
    """
    path = Path(path)
    frame = _with_lines(_read_table(path), path)
    notes, checks = [], []
    if columns.join is not None:
        frame, note = _join_labels(frame, path, columns, checks, strict)
        notes.append(note)
    if not columns.scores:
        raise ConfigError("--score: name at least one score column")
    names, scales = [], []
    suffixes = tuple(f":{scale.value}" for scale in ScoreScale)
    for spec in columns.scores:  # "column" or "column:distance" / "column:similarity"
        name, _, scale = spec.rpartition(":") if spec.endswith(suffixes) else (spec, "", "")
        names.append(name)
        scales.append(ScoreScale.parse(scale, "--score-scale") if scale else columns.scale)
    _require(frame, names, "--score", path)
    for spec in columns.groups:
        side_a, _, side_b = spec.partition(":")
        _require(frame, [side_a] + ([side_b] if side_b else []), "--group", path)
    if not columns.groups:
        raise ConfigError("--group: name at least one group column (e.g. --group race)")
    if columns.subjects is not None:
        _require(frame, list(columns.subjects), "--subject" if not columns.subjects_from_files else "--subjects-from",
                 path)
    if columns.mated is not None:
        _require(frame, [columns.mated], "--mated", path)
    elif columns.subjects is None:
        raise ConfigError("--mated: name the column saying whether a pair shows the same person "
                          "(or give subject ids)")
    rows = RowChecks(frame, str(path))
    raw = np.column_stack([rows.numbers(name) for name in names]) if len(frame) else np.zeros((0, len(names)))
    subjects = _subjects(rows, columns, notes)
    mated = _mated(rows, columns, subjects, notes)
    if columns.subjects is not None and columns.subjects_from_files:
        _repeated_pairs(rows, columns)
    rows.require_some("rows")
    checks.append(rows.result(strict))
    keep = rows.keep
    frame, raw, mated = frame[keep].reset_index(drop=True), raw[keep], mated[keep]
    subjects_a = subjects_b = None
    if subjects is not None:
        subjects_a, subjects_b = (list(np.asarray(side)[keep]) for side in subjects)
    labels_a, labels_b = _labels(frame, columns.groups, notes)
    if subjects_a is not None:
        inconsistent = mated & (np.asarray(subjects_a) != np.asarray(subjects_b))
        if inconsistent.any():
            notes.append(f"{int(inconsistent.sum())} mated pair(s) have different subject ids on the two sides")
    set_aside = SetAside.merge(checks)
    provenance = Provenance(source=path.name, sha256=file_digest(path).hex(), label_sources=columns.label_sources,
                            notes=tuple(notes), set_aside=set_aside)
    return Comparisons.build(scores=raw, mated=mated, labels_a=labels_a, labels_b=labels_b,
                             subjects_a=subjects_a, subjects_b=subjects_b, models=names,
                             scales=scales, ordered=columns.ordered,
                             provenance=provenance)


def _subjects(rows: RowChecks, columns: TableColumns, notes: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    if columns.subjects is None:
        return None
    what = "file name" if columns.subjects_from_files else "subject id"
    sides = [rows.texts(column, what) for column in columns.subjects]
    if not columns.subjects_from_files:
        return sides[0], sides[1]
    derived = []
    for column, names in zip(columns.subjects, sides):
        found = subject_ids_or_none(names, pattern=columns.subject_pattern)
        none = np.array([f is None for f in found], bool)
        if none[rows.keep].all() and rows.keep.any():
            raise ConfigError(f"--subject-pattern: {columns.subject_pattern!r} finds no subject id in {column!r} "
                              f"(e.g. {names[rows.keep][0]!r})")
        rows.set_aside(none, RowProblem.MISSING_VALUE,
                       lambda r, names=names, column=column: f"no subject id found in {column} {str(names[r])!r}")
        derived.append(np.array([f or "" for f in found], dtype=object).astype(str))
    notes.append(f"subject ids derived from file names in {columns.subjects[0]!r}/{columns.subjects[1]!r}")
    return derived[0], derived[1]


def _mated(rows: RowChecks, columns: TableColumns, subjects, notes: list[str]) -> np.ndarray:
    if columns.mated is None:
        notes.append("mated = same subject id on both sides")
        return np.asarray(subjects[0]) == np.asarray(subjects[1])
    mated, readable = mated_flags(rows.frame[columns.mated])
    if len(readable) and not readable[rows.keep].any() and rows.keep.any():
        mated_values(rows.frame[columns.mated][rows.keep])  # raises, listing what the column holds
    column = rows.frame[columns.mated]
    empty = (column.astype("string").fillna("").str.strip() == "").to_numpy()
    rows.set_aside(empty, RowProblem.MISSING_VALUE, lambda r: f"no {columns.mated!r}")
    rows.set_aside(~readable, RowProblem.UNREADABLE_VALUE,
                   lambda r: f"{columns.mated} {str(column.iloc[r])!r} is not 1/0 or true/false")
    return mated


def _repeated_pairs(rows: RowChecks, columns: TableColumns) -> None:
    """With file names on both sides: an image compared with itself, and a pair of images
    compared again, are set aside (either would count one comparison as two people's or twice)."""
    a = rows.frame[columns.subjects[0]].astype("string").fillna("").str.strip()
    b = rows.frame[columns.subjects[1]].astype("string").fillna("").str.strip()
    rows.set_aside((a == b).to_numpy(), RowProblem.SELF_PAIR, lambda r: f"{a.iloc[r]!r} on both sides")
    first, second = (a, b) if columns.ordered else (a.where(a <= b, b), b.where(a <= b, a))
    keys = first + "\0" + second
    kept = np.flatnonzero(rows.keep)
    repeated = np.zeros(len(rows.keep), bool)
    repeated[kept] = keys.iloc[kept].duplicated().to_numpy()
    rows.set_aside(repeated, RowProblem.DUPLICATE,
                   lambda r: f"{a.iloc[r]!r} and {b.iloc[r]!r} compared again; the first row is kept")


def _labels(frame, groups: Sequence[str], notes: list[str]) -> tuple[dict[str, list], dict[str, list]]:
    labels_a: dict[str, list] = {}
    labels_b: dict[str, list] = {}
    for spec in groups:
        side_a, _, side_b = spec.partition(":")
        values_a = frame[side_a].tolist()
        if side_b:
            values_b = frame[side_b].tolist()
        elif values_a and all(isinstance(v, str) and CROSS in v for v in values_a):
            split = [v.split(CROSS, 1) for v in values_a]
            values_a, values_b = [s[0].strip() for s in split], [s[1].strip() for s in split]
            notes.append(f"column {side_a!r} holds 'A x B' values: read as side a / side b")
        else:
            values_b = values_a
        labels_a[side_a], labels_b[side_a] = values_a, values_b
    return labels_a, labels_b

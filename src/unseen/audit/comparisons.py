"""The comparisons table: one row per comparison, with scores, mated flag, subjects, groups.

`Comparisons` is the one type every verification analysis reads. Build it in code with
`Comparisons.build`, from a CSV/Parquet table with `read_comparisons`, or from images with
`unseen.audit.scoring`. Scores are stored on a *similarity* scale (higher = more alike);
distances are negated on the way in and `ScoreScale` turns thresholds back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unseen.choices import Choice
from unseen.errors import ConfigError, InputFileError, unknown_choice
from unseen.media.files import file_digest

CROSS = " x "
"""Joins attribute names and values of an intersection: ``race x gender``, ``Asian x Female``."""

UNKNOWN_SUBJECT = -1


class ScoreScale(Choice):
    """How the input's score column reads: similarity (higher = same) or distance (lower = same)."""

    SIMILARITY = "similarity"
    DISTANCE = "distance"

    def to_similarity(self, values: Any) -> Any:
        return -np.asarray(values, dtype=np.float64) if self is ScoreScale.DISTANCE else np.asarray(values, np.float64)

    def from_similarity(self, value: float) -> float:
        return -value if self is ScoreScale.DISTANCE else value

    @property
    def accept_rule(self) -> str:
        return "distance <= threshold" if self is ScoreScale.DISTANCE else "score >= threshold"


@dataclass(frozen=True)
class Grouping:
    """One attribute's group codes for both sides of every comparison (-1 = no label)."""

    attribute: str
    names: tuple[str, ...]
    code_a: np.ndarray
    code_b: np.ndarray


@dataclass(frozen=True)
class Provenance:
    """Where the table came from and how its labels were obtained (printed in every report)."""

    source: str = ""
    sha256: str = ""
    label_sources: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()

    def label_source(self, attribute: str) -> str:
        for name, how in self.label_sources:
            if name == attribute:
                return how
        parts = attribute.split(CROSS)
        if len(parts) > 1:
            return "; ".join(f"{p}: {self.label_source(p)}" for p in parts)
        return "not stated"

    def with_notes(self, *notes: str) -> Provenance:
        return Provenance(self.source, self.sha256, self.label_sources, self.notes + tuple(notes))


def _codes(values: Sequence[Any]) -> tuple[tuple[str, ...], np.ndarray]:
    """Sorted distinct labels (as text) and each value's code; missing or empty -> -1."""
    import pandas as pd

    text = pd.Series(np.asarray(values, dtype=object)).astype("string")
    text = text.mask(text.str.len() == 0)
    codes, names = pd.factorize(text, sort=True, use_na_sentinel=True)
    return tuple(str(n) for n in names), codes.astype(np.int64)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Comparisons:
    """Comparisons of two face samples, side ``a`` (enrolled) and side ``b`` (probe).

    - ``scores``: ``(n, k)`` similarities, one column per model named in ``models``;
    - ``mated``: ``(n,)`` True when both sides show the same person;
    - ``subject_a``/``subject_b``: codes into ``subject_names`` (``-1`` everywhere when the
      data carries no subject ids: intervals can then only be pair-level, and are too narrow);
    - ``labels_a``/``labels_b``: ``(n, n_attributes)`` codes into ``group_names[i]`` (-1 = none);
    - ``scales``: how each model's input column read (to print thresholds in its own scale);
    - ``ordered``: side ``a`` really is the enrolled sample (else the cross-group matrix
      pools both directions).
    """

    scores: np.ndarray
    models: tuple[str, ...]
    mated: np.ndarray
    subject_a: np.ndarray
    subject_b: np.ndarray
    subject_names: tuple[str, ...]
    attributes: tuple[str, ...]
    labels_a: np.ndarray
    labels_b: np.ndarray
    group_names: tuple[tuple[str, ...], ...]
    scales: tuple[ScoreScale, ...]
    ordered: bool = False
    provenance: Provenance = field(default_factory=Provenance)

    def __post_init__(self) -> None:
        scores = np.asarray(self.scores, dtype=np.float64)
        if scores.ndim == 1:
            scores = scores[:, None]
        n = len(scores)
        if scores.ndim != 2 or scores.shape[1] != len(self.models):
            raise ConfigError(f"Comparisons.scores: expected shape (n, {len(self.models)}), got {scores.shape}")
        if not np.all(np.isfinite(scores)):
            raise ConfigError("Comparisons.scores: every score must be a finite number")
        mated = np.asarray(self.mated, dtype=bool)
        checks = {"mated": mated.shape == (n,),
                  "subject_a": np.shape(self.subject_a) == (n,), "subject_b": np.shape(self.subject_b) == (n,),
                  "labels_a": np.shape(self.labels_a) == (n, len(self.attributes)),
                  "labels_b": np.shape(self.labels_b) == (n, len(self.attributes))}
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"Comparisons.{name}: expected {n} rows matching the scores, "
                                  f"got shape {np.shape(getattr(self, name))}")
        if len(self.group_names) != len(self.attributes) or len(self.scales) != len(self.models):
            raise ConfigError("Comparisons: one group-name list per attribute and one scale per model")
        object.__setattr__(self, "scores", _frozen(scores))
        object.__setattr__(self, "mated", _frozen(mated))
        for name in ("subject_a", "subject_b"):
            object.__setattr__(self, name, _frozen(np.asarray(getattr(self, name), np.int64)))
        for name in ("labels_a", "labels_b"):
            object.__setattr__(self, name, _frozen(np.asarray(getattr(self, name), np.int64)))

    # -- construction -------------------------------------------------------------------
    @classmethod
    def build(cls, *, scores: Any, mated: Any, labels_a: dict[str, Sequence[Any]],
              labels_b: dict[str, Sequence[Any]] | None = None, subjects_a: Sequence[Any] | None = None,
              subjects_b: Sequence[Any] | None = None, models: Sequence[str] = ("score",),
              scales: Sequence[ScoreScale | str] | None = None, ordered: bool = False,
              provenance: Provenance | None = None) -> Comparisons:
        """From plain sequences: ``labels_a={"race": [...]}`` (``labels_b`` defaults to the
        same, i.e. both sides share the label); ``scores`` in each model's own scale."""
        scales = tuple(ScoreScale.parse(s, "--score-scale") for s in (scales or [ScoreScale.SIMILARITY] * len(models)))
        raw = np.asarray(scores, dtype=np.float64)
        raw = raw[:, None] if raw.ndim == 1 else raw
        if raw.ndim != 2 or raw.shape[1] != len(models):
            raise ConfigError(f"scores: expected one column per model ({len(models)}), got shape {raw.shape}")
        similarity = np.column_stack([scales[i].to_similarity(raw[:, i]) for i in range(len(models))])
        labels_b = labels_a if labels_b is None else labels_b
        if set(labels_a) != set(labels_b):
            raise ConfigError(f"labels_b: expected the attributes {sorted(labels_a)}, got {sorted(labels_b)}")
        attributes = tuple(labels_a)
        n = len(similarity)
        codes_a = np.zeros((n, len(attributes)), np.int64)
        codes_b = np.zeros((n, len(attributes)), np.int64)
        group_names = []
        for i, attribute in enumerate(attributes):
            both = list(labels_a[attribute]) + list(labels_b[attribute])
            if len(both) != 2 * n:
                raise ConfigError(f"labels for {attribute!r}: expected {n} values per side, got "
                                  f"{len(labels_a[attribute])} and {len(labels_b[attribute])}")
            names, codes = _codes(both)
            codes_a[:, i], codes_b[:, i] = codes[:n], codes[n:]
            group_names.append(names)
        if subjects_a is None:
            subject_a = subject_b = np.full(n, UNKNOWN_SUBJECT)
            subject_names: tuple[str, ...] = ()
        else:
            subjects_b = subjects_a if subjects_b is None else subjects_b
            subject_names, codes = _codes(list(subjects_a) + list(subjects_b))
            if np.any(codes < 0):
                raise ConfigError("subjects: a subject id is missing in some rows")
            subject_a, subject_b = codes[:n], codes[n:]
        return cls(scores=similarity, models=tuple(models), mated=np.asarray(mated, bool),
                   subject_a=subject_a, subject_b=subject_b, subject_names=subject_names,
                   attributes=attributes, labels_a=codes_a, labels_b=codes_b,
                   group_names=tuple(group_names), scales=scales, ordered=ordered,
                   provenance=provenance or Provenance())

    # -- access -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.scores)

    @property
    def has_subjects(self) -> bool:
        return len(self.subject_names) > 0

    @property
    def n_mated(self) -> int:
        return int(self.mated.sum())

    def score(self, model: str) -> np.ndarray:
        return self.scores[:, self._model_index(model)]

    def scale(self, model: str) -> ScoreScale:
        return self.scales[self._model_index(model)]

    def _model_index(self, model: str) -> int:
        if model not in self.models:
            raise unknown_choice("model", model, list(self.models))
        return self.models.index(model)

    def grouping(self, attribute: str) -> Grouping:
        """Codes of ``attribute``, or of an intersection such as ``"race x gender"``."""
        parts = attribute.split(CROSS)
        for part in parts:
            if part not in self.attributes:
                raise unknown_choice("attribute", part, list(self.attributes))
        if len(parts) == 1:
            i = self.attributes.index(attribute)
            return Grouping(attribute, self.group_names[i], self.labels_a[:, i], self.labels_b[:, i])
        sizes = [len(self.group_names[self.attributes.index(p)]) for p in parts]
        code_a = np.zeros(len(self), np.int64)
        code_b = np.zeros(len(self), np.int64)
        missing_a = np.zeros(len(self), bool)
        missing_b = np.zeros(len(self), bool)
        for part, size in zip(parts, sizes):
            i = self.attributes.index(part)
            code_a = code_a * size + np.maximum(self.labels_a[:, i], 0)
            code_b = code_b * size + np.maximum(self.labels_b[:, i], 0)
            missing_a |= self.labels_a[:, i] < 0
            missing_b |= self.labels_b[:, i] < 0
        combos = np.array(np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij")).reshape(len(parts), -1).T
        names = tuple(CROSS.join(self.group_names[self.attributes.index(p)][c] for p, c in zip(parts, combo))
                      for combo in combos)
        return Grouping(attribute, names, np.where(missing_a, -1, code_a), np.where(missing_b, -1, code_b))

    def subset(self, mask: np.ndarray) -> Comparisons:
        """Only the rows where ``mask`` is True (subjects and group names kept)."""
        mask = np.asarray(mask)
        return Comparisons(scores=self.scores[mask], models=self.models, mated=self.mated[mask],
                           subject_a=self.subject_a[mask], subject_b=self.subject_b[mask],
                           subject_names=self.subject_names, attributes=self.attributes,
                           labels_a=self.labels_a[mask], labels_b=self.labels_b[mask],
                           group_names=self.group_names, scales=self.scales, ordered=self.ordered,
                           provenance=self.provenance)


# -- reading tables ------------------------------------------------------------------------
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


def _mated_values(column) -> np.ndarray:
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
    for spec in columns.scores:  # "column" or "column:distance" / "column:similarity"
        name, _, scale = spec.rpartition(":") if spec.endswith((":distance", ":similarity")) else (spec, "", "")
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
        mated = _mated_values(frame[columns.mated])
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

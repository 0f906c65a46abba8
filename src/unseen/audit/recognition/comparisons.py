"""The comparisons table: one row per comparison, with scores, mated flag, subjects, groups.

`Comparisons` is the one type every verification analysis reads. Build it in code with
`Comparisons.build`, from a CSV/Parquet table with `unseen.audit.recognition.readers`, or
from images with `unseen.audit.recognition.pairs`. Scores are stored on a *similarity* scale (higher = more alike);
distances are negated on the way in and `ScoreScale` turns thresholds back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unseen.audit.set_aside import SetAside
from unseen.choices import Choice
from unseen.errors import ConfigError, unknown_choice

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
    """Where the table came from and how its labels were obtained (printed in every report);
    ``set_aside``: the rows its reader could not use, each named with why."""

    source: str = ""
    sha256: str = ""
    label_sources: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    set_aside: SetAside = field(default_factory=SetAside)

    def label_source(self, attribute: str) -> str:
        for name, how in self.label_sources:
            if name == attribute:
                return how
        parts = attribute.split(CROSS)
        if len(parts) > 1:
            return "; ".join(f"{p}: {self.label_source(p)}" for p in parts)
        return "not stated"


def label_codes(values: Sequence[Any]) -> tuple[tuple[str, ...], np.ndarray]:
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
            names, codes = label_codes(both)
            codes_a[:, i], codes_b[:, i] = codes[:n], codes[n:]
            group_names.append(names)
        if subjects_a is None:
            subject_a = subject_b = np.full(n, UNKNOWN_SUBJECT)
            subject_names: tuple[str, ...] = ()
        else:
            subjects_b = subjects_a if subjects_b is None else subjects_b
            subject_names, codes = label_codes(list(subjects_a) + list(subjects_b))
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
        names, code_a = attribute_codes(attribute, self.attributes, self.group_names, self.labels_a)
        _, code_b = attribute_codes(attribute, self.attributes, self.group_names, self.labels_b)
        return Grouping(attribute, names, code_a, code_b)


def attribute_codes(attribute: str, attributes: Sequence[str], group_names: Sequence[Sequence[str]],
                    labels: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    """Group names of ``attribute`` (one of ``attributes``, or an intersection such as
    ``"race x gender"``) and each row's code from ``labels`` (``(n, len(attributes))`` codes
    into ``group_names``; -1 where a part is missing)."""
    parts = attribute.split(CROSS)
    for part in parts:
        if part not in attributes:
            raise unknown_choice("attribute", part, list(attributes))
    if len(parts) == 1:
        i = list(attributes).index(attribute)
        return tuple(group_names[i]), np.asarray(labels[:, i], np.int64)
    index = [list(attributes).index(p) for p in parts]
    sizes = [len(group_names[i]) for i in index]
    codes = np.zeros(len(labels), np.int64)
    missing = np.zeros(len(labels), bool)
    for i, size in zip(index, sizes):
        codes = codes * size + np.maximum(labels[:, i], 0)
        missing |= labels[:, i] < 0
    combos = np.array(np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij")).reshape(len(parts), -1).T
    names = tuple(CROSS.join(group_names[i][c] for i, c in zip(index, combo)) for combo in combos)
    return names, np.where(missing, -1, codes)

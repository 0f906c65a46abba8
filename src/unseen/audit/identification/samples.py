"""The probe and gallery tables: one row per sample (a photo or template), with its id, the
subject it shows and its group labels.

Probes are the photos searched; the gallery is what they are searched against. A probe whose
subject has no other sample in the gallery is a *non-mated* search: any candidate it returns
at the threshold is a false one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unseen.audit.recognition.comparisons import CROSS
from unseen.audit.recognition.manifest import NO_LABEL, Manifest
from unseen.errors import ConfigError, InputFileError


@dataclass(frozen=True, eq=False)
class Samples:
    """``ids`` and ``subjects`` ``(n,)`` text, ``labels`` ``(n, n_attributes)`` text ('' = no
    label); ``role`` says which table this is (``probes`` or ``gallery``) in messages."""

    ids: np.ndarray
    subjects: np.ndarray
    attributes: tuple[str, ...]
    labels: np.ndarray
    role: str = "samples"
    label_sources: tuple[tuple[str, str], ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids, dtype=str)
        subjects = np.asarray(self.subjects, dtype=str)
        labels = np.asarray(self.labels, dtype=str).reshape(len(ids), len(self.attributes))
        if ids.ndim != 1 or subjects.shape != ids.shape:
            raise ConfigError(f"{self.role}: expected one subject per id, got {subjects.shape} for {ids.shape}")
        values, counts = np.unique(ids, return_counts=True)
        if np.any(counts > 1):
            raise InputFileError(f"{self.role} ({self.source or 'given in code'}): id {str(values[counts > 1][0])!r} "
                                 f"is listed {int(counts.max())} times; each sample needs its own id")
        if np.any(np.char.str_len(subjects) == 0):
            raise InputFileError(f"{self.role} ({self.source or 'given in code'}): "
                                 f"{int((np.char.str_len(subjects) == 0).sum())} row(s) have no subject id")
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "subjects", subjects)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "attributes", tuple(self.attributes))

    def __len__(self) -> int:
        return len(self.ids)

    def group_labels(self, attribute: str) -> np.ndarray:
        """Each sample's label for ``attribute`` or an intersection such as ``"race x gender"``
        (`NO_LABEL` where a part is missing)."""
        parts = attribute.split(CROSS)
        unknown = [part for part in parts if part not in self.attributes]
        if unknown:
            raise ConfigError(f"--group: {unknown[0]!r} is not a column of the {self.role} table "
                              f"({self.source or 'given in code'}); it has {list(self.attributes)}")
        columns = [self.labels[:, self.attributes.index(part)] for part in parts]
        missing = np.any([column == "" for column in columns], axis=0)
        joined = columns[0].astype(object)
        for column in columns[1:]:
            joined = joined + CROSS + column.astype(object)
        return np.where(missing, NO_LABEL, joined).astype(str)

    def label_source(self, attribute: str) -> str:
        sources = dict(self.label_sources)
        parts = attribute.split(CROSS)
        return "; ".join(f"{p}: {sources.get(p, 'not stated')}" if len(parts) > 1 else sources.get(p, "not stated")
                         for p in parts)

    def rows(self) -> list[dict[str, str]]:
        """The table as rows (``id``, ``subject``, one column per attribute), for `read_samples`."""
        return [{"id": i, "subject": s, **dict(zip(self.attributes, labels))}
                for i, s, labels in zip(self.ids, self.subjects, self.labels)]


def samples_from_manifest(manifest: Manifest, *, role: str) -> Samples:
    """An images-mode manifest as a sample table: the id of each photo is its path."""
    return Samples(ids=np.array([str(p) for p in manifest.paths]), subjects=manifest.subjects,
                   attributes=manifest.attributes, labels=manifest.labels, role=role,
                   label_sources=manifest.label_sources, source=manifest.source)


def read_table(path: Path, what: str):
    """A CSV or Parquet file as a pandas frame of text (empty cells stay '')."""
    import pandas as pd  # lazy

    if not path.is_file():
        raise InputFileError(f"{what} {path}: no such file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as error:  # pandas raises many kinds; all mean "cannot read this file"
        raise InputFileError(f"{what} {path}: cannot read as a table ({type(error).__name__}: {error})") from None


def _text(column) -> np.ndarray:
    return column.astype("string").fillna("").str.strip().to_numpy(dtype=str)


def read_samples(path: str | Path, *, role: str, groups: Sequence[str], id_column: str = "id",
                 subject_column: str | None = "subject", one_sample_per_subject: bool = False,
                 label_sources: tuple[tuple[str, str], ...] = ()) -> Samples:
    """Read a probe or gallery table (CSV or Parquet): ``id_column``, ``subject_column`` and
    the ``groups`` label columns. ``one_sample_per_subject``: no subject column; every
    sample shows a different person (its id is its subject)."""
    path = Path(path)
    option = f"--{role}"
    frame = read_table(path, option)
    if not groups:
        raise ConfigError("--group: name at least one label column of the probe and gallery tables")
    wanted = [id_column, *groups] + ([subject_column] if subject_column and not one_sample_per_subject else [])
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ConfigError(f"{option}: column(s) {missing} not in {path.name}; it has {list(frame.columns)}")
    if len(frame) == 0:
        raise InputFileError(f"{option} {path}: the table lists no samples")
    ids = _text(frame[id_column])
    subjects = ids if one_sample_per_subject or not subject_column else _text(frame[subject_column])
    empty = np.flatnonzero((np.char.str_len(ids) == 0) | (np.char.str_len(subjects) == 0))
    if len(empty):
        raise InputFileError(f"{option} {path.name}: {len(empty)} row(s) have no id or no subject "
                             f"(first: row {int(empty[0]) + 2} of the file)")
    labels = np.column_stack([_text(frame[g]) for g in groups])
    return Samples(ids=ids, subjects=subjects, attributes=tuple(groups), labels=labels, role=role,
                   label_sources=label_sources, source=path.name)

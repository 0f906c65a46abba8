"""The pairs of one analysis (one model, one attribute), split and coded by cell once.

Non-mated pairs are coded by *cell* (row group * G + column group; one cell per unordered
pair of groups when the comparisons have no enrol / probe order), mated pairs by group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from unseen.audit.recognition.comparisons import Comparisons, Grouping


@dataclass(frozen=True)
class PairData:
    """The pairs of one analysis, split and indexed once. When ``listed_from`` is finite only
    the non-mated pairs at or above it are listed (all pairs were scored in a stream, see
    `unseen.audit.verification.streaming`); the weighting's totals still count every pair."""

    score: np.ndarray
    mated: np.ndarray
    cell: np.ndarray          # non-mated: cell code (row * G + column), -1 if a side has no label
    group: np.ndarray         # mated: group code when both sides agree, else -1
    subject_a: np.ndarray
    subject_b: np.ndarray
    n_groups: int
    n_subjects: int
    listed_from: float = -np.inf  # non-mated pairs scoring below this are not listed (only counted in totals)

    @property
    def n_cells(self) -> int:
        return self.n_groups * self.n_groups

    @property
    def diagonal(self) -> np.ndarray:
        return same_group_cells(self.n_groups)


def same_group_cells(n_groups: int) -> np.ndarray:
    """The cell of each group's same-group pairs (row = column)."""
    return np.arange(n_groups) * n_groups + np.arange(n_groups)


def pair_data(comparisons: Comparisons, model: str, grouping: Grouping) -> PairData:
    g = len(grouping.names)
    a, b = grouping.code_a, grouping.code_b
    labelled = (a >= 0) & (b >= 0)
    if comparisons.ordered:
        cell = np.where(labelled, a * g + b, -1)
    else:  # unordered pairs: (g, h) and (h, g) are the same cell, kept at the upper triangle
        cell = np.where(labelled, np.minimum(a, b) * g + np.maximum(a, b), -1)
    group = np.where(labelled & (a == b), a, -1)
    return PairData(comparisons.score(model), comparisons.mated, cell, group, comparisons.subject_a,
                     comparisons.subject_b, g, len(comparisons.subject_names))


class PairSet:
    """Some pairs of a `PairData` (``index``), each with a label in ``range(n_labels)``:
    what a weighted count per label needs, built once and reused by every block of
    replicates (an indicator matrix for pair weights, bilinear forms for subject weights)."""

    def __init__(self, data: PairData, index: np.ndarray, label: np.ndarray, n_labels: int) -> None:
        self.data = data
        self.index = index
        self.label = label
        self.n_labels = n_labels
        self._indicator: sparse.csr_matrix | None = None
        self._forms: list | None = None

    def indicator(self) -> sparse.csr_matrix:
        """``(len(index), n_labels)``: 1 where pair i has label j."""
        if self._indicator is None:
            self._indicator = sparse.csr_matrix(
                (np.ones(len(self.index)), (np.arange(len(self.index)), self.label)),
                shape=(len(self.index), self.n_labels))
        return self._indicator

    def subject_forms(self) -> list:
        """Per label: ``(pairs of two different subjects as an (S, S) count matrix, pairs
        within one subject as an (S,) count vector)``, or None when the label has no pair."""
        if self._forms is None:
            s = self.data.n_subjects
            a, b = self.data.subject_a[self.index], self.data.subject_b[self.index]
            same = a == b
            self._forms = []
            for label in range(self.n_labels):
                mine = self.label == label
                if not mine.any():
                    self._forms.append(None)
                    continue
                across = mine & ~same
                matrix = sparse.coo_matrix((np.ones(int(across.sum())), (a[across], b[across])), shape=(s, s)).tocsr()
                within = np.bincount(a[mine & same], minlength=s).astype(np.float64)
                self._forms.append((matrix, within))
        return self._forms

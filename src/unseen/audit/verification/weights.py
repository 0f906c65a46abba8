"""What a bootstrap replicate is: a weight for every pair, and weighted totals per cell.

The observed data weighs each pair once (`UnitWeighting`). A pair-level replicate draws
pairs with replacement (`PairCounts`); a subject-level one draws whole people, so a pair of
two drawn subjects counts ``w_a * w_b`` times (`SubjectCounts`), and per-cell totals are
bilinear forms of the subject counts: 1,000 replicates stay matrix products.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import sparse

from unseen.audit.recognition.comparisons import Comparisons, Grouping
from unseen.audit.stats.uncertainty import ClusterBootstrap
from unseen.audit.verification.config import BootstrapUnit, VerificationConfig
from unseen.audit.verification.cells import PairData, PairSet


class Weighting(Protocol):
    """Pair weights and per-cell totals for one block of replicates."""

    @property
    def replicates(self) -> int:
        """Rows of every weight and total array."""

    def weights(self, index: np.ndarray) -> np.ndarray | None:
        """``(R, len(index))`` weights of those pairs (None: weight 1 each, one row)."""

    def cell_totals(self) -> np.ndarray:
        """``(R, n_cells)`` weighted non-mated pairs with both sides labelled, per cell."""

    def set_totals(self, pairs: PairSet) -> np.ndarray:
        """``(R, pairs.n_labels)`` weighted pairs of ``pairs`` per label."""

    def unlabelled_total(self, index: np.ndarray) -> np.ndarray:
        """``(R,)`` weighted non-mated pairs with a side unlabelled (``index``: those listed)."""


@dataclass
class UnitWeighting:
    """The observed data: weight 1 per pair. ``unlabelled``: non-mated pairs with a side
    unlabelled, where not all are listed (else counted from the listed ones)."""

    totals: np.ndarray
    replicates: int = 1
    unlabelled: float | None = None

    def weights(self, index: np.ndarray) -> None:
        return None

    def cell_totals(self) -> np.ndarray:
        return self.totals[None, :]

    def set_totals(self, pairs: PairSet) -> np.ndarray:
        return np.bincount(pairs.label, minlength=pairs.n_labels).astype(np.float64)[None, :]

    def unlabelled_total(self, index: np.ndarray) -> np.ndarray:
        return np.array([float(len(index)) if self.unlabelled is None else float(self.unlabelled)])


@dataclass
class PairCounts:
    """Pair-level bootstrap: each pair is its own cluster."""

    counts: np.ndarray              # (R, n_pairs) over the pairs of `PairData`
    cell_matrix: sparse.csr_matrix  # (n_pairs, n_cells) indicator of non-mated cells

    @property
    def replicates(self) -> int:
        return len(self.counts)

    def weights(self, index: np.ndarray) -> np.ndarray:
        return self.counts[:, index].astype(np.float64)

    def cell_totals(self) -> np.ndarray:
        return np.asarray((self.cell_matrix.T @ self.counts.T.astype(np.float64)).T)

    def set_totals(self, pairs: PairSet) -> np.ndarray:
        return np.asarray((pairs.indicator().T @ self.counts[:, pairs.index].T.astype(np.float64)).T)

    def unlabelled_total(self, index: np.ndarray) -> np.ndarray:
        return self.counts[:, index].sum(axis=1).astype(np.float64)


@dataclass
class SubjectCounts:
    """Subject-level bootstrap: a pair of two drawn subjects counts ``w_a * w_b`` times
    (``w_a`` times when both sides are the same subject)."""

    counts: np.ndarray     # (R, n_subjects)
    data: PairData
    cell_bilinear: list    # per cell: sparse (S, S) pair-count matrix, or None

    @property
    def replicates(self) -> int:
        return len(self.counts)

    def weights(self, index: np.ndarray) -> np.ndarray:
        a = self.data.subject_a[index]
        b = self.data.subject_b[index]
        w = self.counts.astype(np.float64)
        product = w[:, a] * w[:, b]
        same = a == b
        if same.any():
            product[:, same] = w[:, a[same]]
        return product

    def cell_totals(self) -> np.ndarray:
        w = self.counts.astype(np.float64)
        totals = np.zeros((len(w), len(self.cell_bilinear)))
        for c, matrix in enumerate(self.cell_bilinear):
            if matrix is not None:
                totals[:, c] = np.einsum("rs,sr->r", w, matrix @ w.T)
        return totals

    def set_totals(self, pairs: PairSet) -> np.ndarray:
        w = self.counts.astype(np.float64)
        totals = np.zeros((len(w), pairs.n_labels))
        for label, form in enumerate(pairs.subject_forms()):
            if form is not None:
                matrix, within = form
                totals[:, label] = np.einsum("rs,sr->r", w, matrix @ w.T) + w @ within
        return totals

    def unlabelled_total(self, index: np.ndarray) -> np.ndarray:
        return self.weights(index).sum(axis=1) if len(index) else np.zeros(len(self.counts))


def _subject_strata(comparisons: Comparisons, grouping: Grouping) -> np.ndarray:
    strata = np.full(len(comparisons.subject_names), -1, np.int64)
    for side, codes in ((comparisons.subject_b, grouping.code_b), (comparisons.subject_a, grouping.code_a)):
        strata[side] = codes  # side a wins where both give a label
    return strata


def _bilinear_cells(data: PairData) -> list:
    nonmated = ~data.mated
    matrices = []
    for c in range(data.n_cells):
        index = np.flatnonzero(nonmated & (data.cell == c))
        if len(index) == 0:
            matrices.append(None)
            continue
        a, b = data.subject_a[index], data.subject_b[index]
        matrix = sparse.coo_matrix((np.ones(len(index)), (a, b)), shape=(data.n_subjects, data.n_subjects)).tocsr()
        matrices.append(matrix)
    return matrices


def chunk_size(n_items: int) -> int:
    return int(max(1, min(64, 3_000_000 // max(n_items, 1))))


def replicate_blocks(comparisons: Comparisons, grouping: Grouping, data: PairData, unit: BootstrapUnit,
                     config: VerificationConfig, *, weighted_pairs: int) -> Iterator[Weighting]:
    """The bootstrap's replicates, a block at a time (``weighted_pairs``: how many pairs the
    engine weighs per replicate, which sets the block size under subject weights)."""
    rng = np.random.default_rng(config.seed)
    if unit is BootstrapUnit.SUBJECT:
        bootstrap = ClusterBootstrap(strata=_subject_strata(comparisons, grouping))
        bilinear = _bilinear_cells(data)
        size = chunk_size(weighted_pairs + data.n_subjects)
        for counts in bootstrap.chunks(rng=rng, n_replicates=config.n_bootstrap, chunk_size=size):
            yield SubjectCounts(counts=counts, data=data, cell_bilinear=bilinear)
    else:
        strata = np.where(data.mated, -2 - np.maximum(data.group, -1), data.cell)
        bootstrap = ClusterBootstrap(strata=strata)
        cells = np.where(~data.mated & (data.cell >= 0), data.cell, 0)
        keep = (~data.mated & (data.cell >= 0)).astype(np.float64)
        indicator = sparse.csr_matrix((keep, (np.arange(len(cells)), cells)), shape=(len(cells), data.n_cells))
        size = chunk_size(len(data.score))
        for counts in bootstrap.chunks(rng=rng, n_replicates=config.n_bootstrap, chunk_size=size):
            yield PairCounts(counts=counts, cell_matrix=indicator)

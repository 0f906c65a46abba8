"""The counts core: how many (weighted) scores lie at or above a threshold, and the
threshold that keeps that share at most a target.

Every rate in the audits is a count of scores ``>= t`` (ties at the threshold count as at
or above) or ``< t``, divided by a total. Sorting once and searching answers any number of
thresholds; cumulative weights in sorted order (one row per bootstrap replicate) answer
them for every replicate at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SortedScores:
    """Scores sorted ascending, with their distinct values, for "how many >= t" queries."""

    values: np.ndarray
    order: np.ndarray
    distinct: np.ndarray
    first_index: np.ndarray

    @classmethod
    def of(cls, scores: np.ndarray) -> SortedScores:
        scores = np.asarray(scores, dtype=np.float64)
        order = np.argsort(scores, kind="stable")
        values = scores[order]
        distinct, first = np.unique(values, return_index=True)
        return cls(values, order, distinct, first)

    def __len__(self) -> int:
        return len(self.values)

    def prefix(self, weights: np.ndarray | None) -> np.ndarray:
        """``(R, n + 1)`` cumulative weights in sorted order (``weights`` is ``(R, n)``;
        None: weight 1 each, one row)."""
        if weights is None:
            return np.arange(len(self.values) + 1, dtype=np.float64)[None, :]
        sorted_weights = weights[:, self.order]
        prefix = np.zeros((len(weights), len(self.values) + 1))
        np.cumsum(sorted_weights, axis=1, out=prefix[:, 1:])
        return prefix

    def at_or_above(self, prefix: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        """Weighted count of scores ``>= t`` for one threshold per replicate: ``(R,)`` -> ``(R,)``."""
        below = np.searchsorted(self.values, thresholds, side="left")
        return prefix[:, -1] - np.take_along_axis(prefix, below[:, None], axis=1)[:, 0]

    def below(self, prefix: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        """Weighted count of scores ``< t`` for one threshold per replicate: ``(R,)`` -> ``(R,)``."""
        below = np.searchsorted(self.values, thresholds, side="left")
        return np.take_along_axis(prefix, below[:, None], axis=1)[:, 0]

    def at_or_above_grid(self, prefix: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        """Weighted count of scores ``>= t`` for thresholds shared by all replicates: ``(R, T)``."""
        below = np.searchsorted(self.values, thresholds, side="left")
        return prefix[:, -1:] - prefix[:, below]

    def below_grid(self, prefix: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        """Weighted count of scores ``< t`` for thresholds shared by all replicates: ``(R, T)``."""
        return prefix[:, np.searchsorted(self.values, thresholds, side="left")]

    def threshold_at_most(self, target: float) -> float:
        """`target_thresholds` with weight 1 per score: the one threshold for ``target``."""
        thresholds, _ = target_thresholds(self, self.prefix(None), np.array([float(len(self))]), target)
        return float(thresholds[0])


def count_at_or_above(scores: np.ndarray, thresholds: np.ndarray | float) -> np.ndarray:
    """Number of ``scores >= t`` for each threshold (ties count as at-or-above)."""
    sorted_scores = np.sort(np.asarray(scores, np.float64))
    return len(sorted_scores) - np.searchsorted(sorted_scores, np.asarray(thresholds, np.float64), side="left")


def target_thresholds(sorted_scores: SortedScores, prefix: np.ndarray, total: np.ndarray,
                      target: float) -> tuple[np.ndarray, np.ndarray]:
    """Per replicate, the smallest distinct score ``u`` with weighted count(>= u) <= target *
    total; the next number above the maximum when even that has too many ties. Also says
    where the lowest candidate already qualified (the true threshold may lie lower)."""
    if len(sorted_scores) == 0:
        nothing = np.full(len(prefix), np.inf)
        return nothing, np.zeros(len(prefix), bool)
    above = prefix[:, -1:] - prefix[:, sorted_scores.first_index]
    allowed = target * total[:, None] * (1.0 + 1e-12)
    ok = above <= allowed
    index = np.argmax(ok, axis=1)
    thresholds = sorted_scores.distinct[index]
    thresholds[~ok.any(axis=1)] = np.nextafter(sorted_scores.distinct[-1], np.inf)
    return thresholds, ok[:, 0]

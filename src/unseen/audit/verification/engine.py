"""The weighted engine: one model, one attribute, every operating point, for one block of
bootstrap replicates (or the observed data) at a time.

For each operating point it sets the threshold per replicate (re-estimated from that
replicate's weights), then counts false matches per cell and misses per group at it. Only
the non-mated *tail* above a floor needs sorting for target-FMR thresholds; a replicate
whose threshold falls below the floor says so (``hit_floor``) and the audit reruns with
the whole range. Fixed thresholds are counted directly, without the tail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from unseen.audit.stats.counts import SortedScores, target_thresholds
from unseen.audit.verification.config import OperatingPoint, ThresholdPolicy
from unseen.audit.verification.cells import PairData, PairSet
from unseen.audit.verification.weights import Weighting


@dataclass(frozen=True)
class Replicates:
    """Everything one block of replicates (or the observed data) yields for one operating point."""

    threshold: np.ndarray          # (R,)
    group_threshold: np.ndarray    # (R, G) each group's own threshold for the shift target
    cell_fm: np.ndarray            # (R, C) false matches per cell
    cell_total: np.ndarray         # (R, C)
    fnm: np.ndarray                # (R, G)
    mated_total: np.ndarray        # (R, G)
    global_fm: np.ndarray          # (R,)
    global_nm: np.ndarray          # (R,)
    global_fnm: np.ndarray         # (R,)
    global_m: np.ndarray           # (R,)
    hit_floor: np.ndarray          # (R,) the tail was too short for this replicate

    @classmethod
    def stacked(cls, blocks: Sequence[Replicates]) -> Replicates:
        """The blocks' replicates one after the other."""
        return cls(*[np.concatenate([getattr(b, f) for b in blocks]) for f in cls.__dataclass_fields__])


@dataclass(frozen=True)
class BlockCounts:
    """The weighted counts of one block, as every threshold policy reads them: cumulative
    weights in sorted order (``*_prefix``, ``(R, n + 1)``) and totals."""

    replicates: int
    cell_total: np.ndarray           # (R, C) non-mated pairs with both sides labelled, per cell
    nonmated_total: np.ndarray       # (R,) all non-mated pairs
    tail_prefix: np.ndarray          # over the non-mated tail
    cell_prefix: list[np.ndarray]    # per cell, over its part of the tail
    mated_prefix: np.ndarray         # over all mated pairs
    group_prefix: list[np.ndarray]   # per group, over its mated pairs
    mated_total: np.ndarray          # (R,)
    mated_group_total: np.ndarray    # (R, G)


@dataclass(frozen=True)
class _Errors:
    """False matches per cell, misses per group, and both over all pairs."""

    cell_fm: np.ndarray
    fnm: np.ndarray
    global_fm: np.ndarray
    global_fnm: np.ndarray


class Engine:
    """Computes `Replicates` for given weights over a (possibly tail-only) set of non-mated pairs."""

    def __init__(self, data: PairData, *, floor: float) -> None:
        self.data = data
        self.n_cells = data.n_cells
        nonmated = np.flatnonzero(~data.mated)
        self.partial = data.listed_from > -np.inf or (floor > -np.inf and bool(np.any(data.score[nonmated] < floor)))
        self.tail = nonmated[data.score[nonmated] >= floor] if self.partial else nonmated
        self.tail_sorted = SortedScores.of(data.score[self.tail])
        self.cells = [self.tail[data.cell[self.tail] == c] for c in range(self.n_cells)]
        self.cell_sorted = [SortedScores.of(data.score[idx]) for idx in self.cells]
        mated = np.flatnonzero(data.mated)
        self.mated_all = mated
        self.mated_sorted = SortedScores.of(data.score[mated])
        self.mated_groups = [mated[data.group[mated] == k] for k in range(data.n_groups)]
        self.mated_group_sorted = [SortedScores.of(data.score[idx]) for idx in self.mated_groups]
        self.nonmated_all = nonmated
        self.unlabelled = nonmated[data.cell[nonmated] < 0]
        self._fixed: dict[float, tuple[PairSet, PairSet]] = {}
        self._candidates: np.ndarray | None = None

    @property
    def weighted_pairs(self) -> int:
        """Pairs whose weights every replicate needs (the tail and the mated pairs)."""
        return len(self.tail) + len(self.mated_all)

    @property
    def candidates(self) -> np.ndarray:
        """Every distinct score and one above the largest: where whole-range policies look."""
        if self._candidates is None:
            score = self.data.score
            self._candidates = np.unique(np.r_[score, np.nextafter(score.max(), np.inf)]) if len(score) \
                else np.zeros(0)
        return self._candidates

    def fixed_errors(self, threshold: float) -> tuple[PairSet, PairSet]:
        """The errors at a fixed threshold, whatever the tail: non-mated pairs at or above it
        labelled by cell (label ``n_cells``: a side without a group), and mated pairs below
        it labelled by group (label ``n_groups``: the sides' groups differ or are missing)."""
        if threshold not in self._fixed:
            data = self.data
            false_matches = np.flatnonzero(~data.mated & (data.score >= threshold))
            cells = data.cell[false_matches]
            misses = np.flatnonzero(data.mated & (data.score < threshold))
            groups = data.group[misses]
            self._fixed[threshold] = (
                PairSet(data, false_matches, np.where(cells >= 0, cells, self.n_cells), self.n_cells + 1),
                PairSet(data, misses, np.where(groups >= 0, groups, data.n_groups), data.n_groups + 1))
        return self._fixed[threshold]

    # -- one block --------------------------------------------------------------------------
    def counts(self, weighting: Weighting) -> BlockCounts:
        """The block's weighted counts, sorted once for every operating point."""
        data = self.data
        r = weighting.replicates
        totals = weighting.cell_totals()
        nm_total = totals.sum(axis=1) + weighting.unlabelled_total(self.unlabelled)
        group_prefix = [s.prefix(weighting.weights(idx)) for s, idx in zip(self.mated_group_sorted, self.mated_groups)]
        mated_group_total = np.stack([p[:, -1] for p in group_prefix], axis=1) if group_prefix \
            else np.zeros((r, 0))
        mated_prefix = self.mated_sorted.prefix(weighting.weights(self.mated_all))
        return BlockCounts(
            replicates=r, cell_total=totals, nonmated_total=nm_total,
            tail_prefix=self.tail_sorted.prefix(weighting.weights(self.tail)),
            cell_prefix=[s.prefix(weighting.weights(idx)) for s, idx in zip(self.cell_sorted, self.cells)],
            mated_prefix=mated_prefix, group_prefix=group_prefix, mated_total=mated_prefix[:, -1],
            mated_group_total=np.broadcast_to(mated_group_total, (r, data.n_groups)))

    def run(self, weighting: Weighting, points: Sequence[OperatingPoint],
            shift_targets: Sequence[float | None], *, shifts: bool = True) -> list[Replicates]:
        """All operating points for one block of weights; ``shifts`` adds each group's own
        threshold (needed for the point estimate only)."""
        counts = self.counts(weighting)
        return [self._point(point, target, counts, weighting, shifts) for point, target in zip(points, shift_targets)]

    def _point(self, point: OperatingPoint, shift_target: float | None, counts: BlockCounts, weighting: Weighting,
               shifts: bool) -> Replicates:
        r = counts.replicates
        threshold, hit = self._threshold(point, counts)
        per_group = threshold if point.policy is ThresholdPolicy.PER_GROUP else None
        threshold_global = np.full(r, np.nan) if per_group is not None else threshold
        if point.policy is ThresholdPolicy.FIXED:  # counted directly: no tail needed
            errors = self._fixed_errors(float(point.threshold), weighting)
        else:
            errors = self._errors(per_group, threshold_global, counts)
        if per_group is not None:
            group_threshold = per_group
        else:
            group_threshold = self._group_thresholds(counts, errors, shift_target) if shifts \
                else np.full((r, self.data.n_groups), np.nan)
        return Replicates(
            threshold=threshold_global, group_threshold=group_threshold, cell_fm=errors.cell_fm,
            cell_total=counts.cell_total, fnm=errors.fnm, mated_total=counts.mated_group_total,
            global_fm=errors.global_fm, global_nm=counts.nonmated_total, global_fnm=errors.global_fnm,
            global_m=np.broadcast_to(counts.mated_total, (r,)), hit_floor=hit)

    def _group_thresholds(self, counts: BlockCounts, errors: _Errors, shift_target: float | None) -> np.ndarray:
        """Each group's own threshold for the shift target (without one: the FMR all pairs reach)."""
        if shift_target is None:
            with np.errstate(invalid="ignore", divide="ignore"):
                targets = errors.global_fm / counts.nonmated_total
        else:
            targets = np.full(counts.replicates, shift_target)
        out = np.full((counts.replicates, self.data.n_groups), np.nan)
        for k, c in enumerate(self.data.diagonal):
            out[:, k] = self._per_target(self.cell_sorted[c], counts.cell_prefix[c], counts.cell_total[:, c], targets)
        return out

    def _fixed_errors(self, threshold: float, weighting: Weighting) -> _Errors:
        false_matches, misses = self.fixed_errors(threshold)
        fm_by_label = weighting.set_totals(false_matches)
        fnm_by_label = weighting.set_totals(misses)
        return _Errors(cell_fm=fm_by_label[:, :self.n_cells], fnm=fnm_by_label[:, :self.data.n_groups],
                       global_fm=fm_by_label.sum(axis=1), global_fnm=fnm_by_label.sum(axis=1))

    def _errors(self, per_group: np.ndarray | None, threshold_global: np.ndarray, counts: BlockCounts) -> _Errors:
        """False matches per cell, misses per group, and both over all pairs, from the sorted tail."""
        data = self.data
        r = counts.replicates
        cell_fm = np.zeros((r, self.n_cells))
        for c in range(self.n_cells):
            row = c // data.n_groups
            t = per_group[:, row] if per_group is not None else threshold_global
            cell_fm[:, c] = self.cell_sorted[c].at_or_above(counts.cell_prefix[c], t)
        fnm = np.zeros((r, data.n_groups))
        for k in range(data.n_groups):
            t = per_group[:, k] if per_group is not None else threshold_global
            fnm[:, k] = self.mated_group_sorted[k].below(counts.group_prefix[k], t)
        if per_group is None:
            global_fm = self.tail_sorted.at_or_above(counts.tail_prefix, threshold_global)
            global_fnm = self.mated_sorted.below(counts.mated_prefix, threshold_global)
        else:
            global_fm = cell_fm.sum(axis=1)
            global_fnm = fnm.sum(axis=1)
        return _Errors(cell_fm=cell_fm, fnm=fnm, global_fm=global_fm, global_fnm=global_fnm)

    @staticmethod
    def _per_target(sorted_scores: SortedScores, prefix: np.ndarray, total: np.ndarray,
                    targets: np.ndarray) -> np.ndarray:
        out = np.full(len(total), np.nan)
        if len(sorted_scores) == 0:
            return out
        for value in np.unique(targets[np.isfinite(targets)]):
            rows = targets == value
            if value <= 0 or value >= 1:
                continue
            thresholds, _ = target_thresholds(sorted_scores, prefix[rows] if prefix.shape[0] > 1 else prefix,
                                              total[rows], float(value))
            out[rows] = thresholds
        return out

    # -- thresholds -------------------------------------------------------------------------
    def _threshold(self, point: OperatingPoint, counts: BlockCounts) -> tuple[np.ndarray, np.ndarray]:
        """Per replicate, the threshold (``(R, G)`` for per-group), and where it hit the floor."""
        r = counts.replicates
        policy = point.policy
        if policy is ThresholdPolicy.FIXED:
            return np.full(r, float(point.threshold)), np.zeros(r, bool)
        if policy is ThresholdPolicy.TARGET_FMR:
            thresholds, lowest_ok = target_thresholds(self.tail_sorted, counts.tail_prefix, counts.nonmated_total,
                                                      point.target_fmr)
            return thresholds, lowest_ok & self.partial
        if policy is ThresholdPolicy.PER_GROUP:
            return self._per_group_thresholds(point.target_fmr, counts)
        return self._whole_range_threshold(policy, counts), np.zeros(r, bool)

    def _per_group_thresholds(self, target: float, counts: BlockCounts) -> tuple[np.ndarray, np.ndarray]:
        out = np.zeros((counts.replicates, self.data.n_groups))
        hit = np.zeros(counts.replicates, bool)
        for k, c in enumerate(self.data.diagonal):
            if len(self.cells[c]) == 0:
                out[:, k] = np.nan
                continue
            t, lowest_ok = target_thresholds(self.cell_sorted[c], counts.cell_prefix[c], counts.cell_total[:, c],
                                             target)
            out[:, k] = t
            hit |= lowest_ok & self.partial
        return out, hit

    def _whole_range_threshold(self, policy: ThresholdPolicy, counts: BlockCounts) -> np.ndarray:
        """EER, best accuracy or accuracy minus std: every distinct score is a candidate."""
        candidates = self.candidates
        nm_total, mated_total = counts.nonmated_total, counts.mated_total
        fm = self.tail_sorted.at_or_above_grid(counts.tail_prefix, candidates)       # (R, K)
        fnm = self.mated_sorted.below_grid(counts.mated_prefix, candidates)
        with np.errstate(invalid="ignore", divide="ignore"):
            fmr = fm / nm_total[:, None]
            fnmr = fnm / mated_total[:, None] if np.all(mated_total > 0) else np.zeros_like(fm)
        if policy is ThresholdPolicy.EER:
            index = np.argmin(np.maximum(fmr, fnmr), axis=1)
        elif policy is ThresholdPolicy.BEST_ACCURACY:
            correct = (nm_total[:, None] - fm) + (mated_total[:, None] - fnm)
            index = np.argmax(correct, axis=1)
        else:  # ACCURACY_MINUS_STD
            accuracy = self._group_accuracy_curves(candidates, counts)
            objective = np.nanmean(accuracy, axis=1) - np.nanstd(accuracy, axis=1)
            index = np.argmax(objective, axis=1)
        return candidates[index]

    def _group_accuracy_curves(self, candidates: np.ndarray, counts: BlockCounts) -> np.ndarray:
        curves = []
        for k, c in enumerate(self.data.diagonal):
            fm = self.cell_sorted[c].at_or_above_grid(counts.cell_prefix[c], candidates)
            fnm = self.mated_group_sorted[k].below_grid(counts.group_prefix[k], candidates)
            n = counts.cell_total[:, c][:, None] + counts.mated_group_total[:, k][:, None]
            with np.errstate(invalid="ignore", divide="ignore"):
                curves.append((n - fm - fnm) / n)
        return np.stack(curves, axis=1)   # (R, G, K)

    # -- how much of the tail the bootstrap needs ----------------------------------------------
    def tail_floor(self, observed: Sequence[Replicates], points: Sequence[OperatingPoint], factor: float) -> float:
        """The lowest non-mated score a replicate's threshold can plausibly need: each target's
        threshold for a ``factor`` times looser target, over all pairs and per group. Fixed
        thresholds need no tail (they are counted directly). Shares are of the observed
        totals (which count the pairs below a listed floor too)."""
        if any(p.policy.needs_all_scores for p in points):
            return -np.inf
        floors = []
        for point, obs in zip(points, observed):
            if point.policy is ThresholdPolicy.FIXED:
                continue
            if point.target_fmr is not None:
                looser = min(0.5, point.target_fmr * factor)
                if len(self.tail_sorted):
                    floors.append(_threshold_over(self.tail_sorted, obs.global_nm[0], looser))
                for c in self.data.diagonal:  # each group's own threshold for a looser target
                    if len(self.cell_sorted[c]):
                        floors.append(_threshold_over(self.cell_sorted[c], obs.cell_total[0, c], looser))
            floors.extend(v for v in np.ravel(obs.group_threshold[0]) if np.isfinite(v))
        return float(np.min(floors)) if floors else np.inf


def _threshold_over(sorted_scores: SortedScores, total: float, target: float) -> float:
    """The threshold for ``target`` over ``total`` pairs of which ``sorted_scores`` are the top."""
    thresholds, _ = target_thresholds(sorted_scores, sorted_scores.prefix(None), np.array([float(total)]), target)
    return float(thresholds[0])

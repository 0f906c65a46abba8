"""Verification (1:1) audit: thresholds, per-group and cross-group FMR/FNMR, DET, d'.

The method is NIST FRVT Part 3's (AUDIT-METRICS.md): one global threshold t* set on *all*
non-mated comparisons for a target FMR (or given), then per group g

- FMR_g: non-mated pairs with both sides in g scoring >= t*, over all such pairs;
- FNMR_g: mated pairs in g scoring < t*, over all mated pairs in g;

a cross-group FMR matrix (rows enrolled group, columns probe group), each group's own
threshold for the same FMR (its *shift*), and summary measures with subject-level
bootstrap intervals in which t* is re-estimated in every replicate.

Conventions, everywhere: a comparison is a match when ``score >= threshold`` (ties at the
threshold match). `threshold_for_fmr` returns a non-mated score (or the next number above
the largest one), chosen so the FMR is *at most* the target, as bob.measure's
``far_threshold`` does; with ties the FMR reached can be below the target.

Everything is computed on weighted counts: a point estimate has weight 1 per pair, a
bootstrap replicate has weights from drawing subjects (or pairs) with replacement.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from unseen.audit import fairness, uncertainty
from unseen.audit.comparisons import Comparisons, Grouping, ScoreScale
from unseen.choices import Choice
from unseen.errors import ConfigError, unknown_choice

# --------------------------------------------------------------------------------------
# modes and configuration
# --------------------------------------------------------------------------------------


class ThresholdPolicy(Choice):
    """How the operating threshold is set. ``target-fmr`` is the method; the rest reproduce papers."""

    TARGET_FMR = "target-fmr"
    FIXED = "fixed"
    EER = "eer"
    BEST_ACCURACY = "best-accuracy"
    PER_GROUP = "per-group"
    ACCURACY_MINUS_STD = "accuracy-minus-std"

    @property
    def needs_target(self) -> bool:
        return self in (ThresholdPolicy.TARGET_FMR, ThresholdPolicy.PER_GROUP)

    @property
    def needs_all_scores(self) -> bool:
        """Policies that look at the whole score range (not only the non-mated tail)."""
        return self in (ThresholdPolicy.EER, ThresholdPolicy.BEST_ACCURACY, ThresholdPolicy.ACCURACY_MINUS_STD)


class RatesOver(Choice):
    """Denominators of the rates fed to FDR, IR and GARBE (never of the reported FMR/FNMR)."""

    NONMATED_MATED = "nonmated-mated"
    ALL_PAIRS = "all-pairs"


class BootstrapUnit(Choice):
    """What the bootstrap draws: whole subjects (right), single pairs (too narrow), or nothing."""

    SUBJECT = "subject"
    PAIR = "pair"
    NONE = "none"


@dataclass(frozen=True)
class OperatingPoint:
    """One threshold setting. ``threshold`` is on the similarity scale (FIXED only).
    ``model``: the one model this point applies to (e.g. its customary threshold); empty: all."""

    policy: ThresholdPolicy = ThresholdPolicy.TARGET_FMR
    target_fmr: float | None = 1e-4
    threshold: float | None = None
    label: str = ""
    model: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "policy", ThresholdPolicy.parse(self.policy, argument="--threshold-policy"))
        if self.policy.needs_target:
            if self.target_fmr is None or not 0.0 < self.target_fmr < 1.0:
                raise ConfigError(f"--target-fmr: expected a rate in (0, 1), got {self.target_fmr!r}")
        elif self.policy is not ThresholdPolicy.FIXED:
            object.__setattr__(self, "target_fmr", None)
        if self.policy is ThresholdPolicy.FIXED:
            if self.threshold is None or not np.isfinite(self.threshold):
                raise ConfigError("--threshold: the fixed policy needs a threshold value")
            object.__setattr__(self, "target_fmr", None)

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        if self.policy is ThresholdPolicy.TARGET_FMR:
            return f"FMR {self.target_fmr:g}"
        if self.policy is ThresholdPolicy.PER_GROUP:
            return f"per-group FMR {self.target_fmr:g}"
        if self.policy is ThresholdPolicy.FIXED:
            return f"fixed {self.threshold:g}"
        return self.policy.value


@dataclass(frozen=True)
class VerificationConfig:
    """Options that travel together through a verification audit.

    ``operating_points``: the first is the primary one (the JSON contract's ``threshold``).
    ``extra_targets``: further target FMRs analysed where the data has at least one
    expected false match there (``target * n_nonmated >= 1``); others are listed as skipped.
    ``n_bootstrap = 0`` turns intervals off. ``bootstrap_unit = None`` means subjects when the
    data has subject ids, else pairs.
    """

    operating_points: tuple[OperatingPoint, ...] = (OperatingPoint(),)
    extra_targets: tuple[float, ...] = (1e-3, 1e-5)
    rates_over: RatesOver = RatesOver.NONMATED_MATED
    n_bootstrap: int = 1000
    level: float = 0.95
    seed: int = 0
    alpha: float = fairness.DEFAULT_ALPHA
    bootstrap_unit: BootstrapUnit | None = None
    tail_factor: float = 20.0

    def __post_init__(self) -> None:
        if not self.operating_points:
            raise ConfigError("operating_points: give at least one")
        if self.n_bootstrap < 0:
            raise ConfigError(f"--bootstrap: expected >= 0 replicates, got {self.n_bootstrap}")
        object.__setattr__(self, "rates_over", RatesOver.parse(self.rates_over, argument="--rates-over"))
        if self.bootstrap_unit is not None:
            object.__setattr__(self, "bootstrap_unit",
                               BootstrapUnit.parse(self.bootstrap_unit, argument="--bootstrap-unit"))
        for target in self.extra_targets:
            if not 0.0 < target < 1.0:
                raise ConfigError(f"extra_targets: expected rates in (0, 1), got {target!r}")


# --------------------------------------------------------------------------------------
# counts-per-threshold core
# --------------------------------------------------------------------------------------


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
        """``(R, n + 1)`` cumulative weights in sorted order (``weights`` is ``(R, n)``)."""
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


def count_at_or_above(scores: np.ndarray, thresholds: np.ndarray | float) -> np.ndarray:
    """Number of ``scores >= t`` for each threshold (ties count as at-or-above)."""
    sorted_scores = np.sort(np.asarray(scores, np.float64))
    return len(sorted_scores) - np.searchsorted(sorted_scores, np.asarray(thresholds, np.float64), side="left")


def _target_thresholds(sorted_scores: SortedScores, prefix: np.ndarray, total: np.ndarray,
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


def threshold_for_fmr(*, nonmated: np.ndarray, target_fmr: float) -> float:
    """Threshold giving FMR *at most* ``target_fmr`` on ``nonmated`` scores.

    It is the smallest non-mated score ``u`` such that ``#(nonmated >= u) <= target * n``;
    when the largest score alone breaks that (too few pairs, or ties), the next number above
    it, where the FMR is 0. Ties never split: every score equal to the threshold matches.
    """
    if not 0.0 < target_fmr < 1.0:
        raise ConfigError(f"target_fmr: expected a rate in (0, 1), got {target_fmr!r}")
    scores = np.asarray(nonmated, np.float64)
    if scores.size == 0:
        raise ConfigError("nonmated: need at least one non-mated score to set a threshold")
    sorted_scores = SortedScores.of(scores)
    thresholds, _ = _target_thresholds(sorted_scores, sorted_scores.prefix(None),
                                       np.array([float(len(scores))]), target_fmr)
    return float(thresholds[0])


@dataclass(frozen=True)
class ErrorRates:
    """FMR and FNMR at one threshold, with the counts behind them."""

    threshold: float
    fmr: float
    fnmr: float
    false_matches: int
    false_non_matches: int
    n_nonmated: int
    n_mated: int


def error_rates(*, mated: np.ndarray, nonmated: np.ndarray, threshold: float) -> ErrorRates:
    """FMR = share of ``nonmated >= threshold``; FNMR = share of ``mated < threshold``.

    An empty side gives NaN for its rate.
    """
    mated = np.asarray(mated, np.float64)
    nonmated = np.asarray(nonmated, np.float64)
    false_matches = int(count_at_or_above(nonmated, threshold))
    false_non_matches = int(len(mated) - count_at_or_above(mated, threshold))
    with np.errstate(invalid="ignore", divide="ignore"):
        fmr = false_matches / len(nonmated) if len(nonmated) else float("nan")
        fnmr = false_non_matches / len(mated) if len(mated) else float("nan")
    return ErrorRates(float(threshold), fmr, fnmr, false_matches, false_non_matches, len(nonmated), len(mated))


@dataclass(frozen=True)
class DetCurve:
    """FMR and FNMR at thresholds placed at log-spaced FMR targets (detail down to 1/n)."""

    thresholds: np.ndarray
    fmr: np.ndarray
    fnmr: np.ndarray


def det_curve(*, mated: np.ndarray, nonmated: np.ndarray, n_points: int = 120) -> DetCurve:
    """DET points: thresholds at FMR targets from ``1/n_nonmated`` to 1, log-spaced."""
    nonmated = np.asarray(nonmated, np.float64)
    mated = np.asarray(mated, np.float64)
    if nonmated.size == 0:
        empty = np.zeros(0)
        return DetCurve(empty, empty, empty)
    sorted_nm = SortedScores.of(nonmated)
    targets = np.logspace(np.log10(1.0 / len(nonmated)), 0, n_points)
    targets = targets[targets < 1.0]
    thresholds = np.array([
        _target_thresholds(sorted_nm, sorted_nm.prefix(None), np.array([float(len(nonmated))]), t)[0][0]
        for t in targets])
    thresholds = np.unique(thresholds)
    fmr = count_at_or_above(nonmated, thresholds) / len(nonmated)
    fnmr = ((len(mated) - count_at_or_above(mated, thresholds)) / len(mated)) if len(mated) else np.full(
        len(thresholds), np.nan)
    return DetCurve(thresholds, fmr, fnmr)


def d_prime(*, mated: np.ndarray, nonmated: np.ndarray) -> float:
    """Decidability ``(mean_m - mean_n) / sqrt((var_m + var_n) / 2)``; NaN if a side is empty."""
    mated = np.asarray(mated, np.float64)
    nonmated = np.asarray(nonmated, np.float64)
    if len(mated) == 0 or len(nonmated) == 0:
        return float("nan")
    spread = np.sqrt((mated.var() + nonmated.var()) / 2.0)
    difference = mated.mean() - nonmated.mean()
    if spread == 0:
        return float("inf") if difference > 0 else (float("-inf") if difference < 0 else float("nan"))
    return float(difference / spread)


def roc_auc(*, mated: np.ndarray, nonmated: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a mated pair outscores a non-mated one, ties
    counting half (the Mann-Whitney statistic); NaN if a side is empty."""
    mated = np.asarray(mated, np.float64)
    nonmated = np.sort(np.asarray(nonmated, np.float64))
    if len(mated) == 0 or len(nonmated) == 0:
        return float("nan")
    below = np.searchsorted(nonmated, mated, side="left")
    tied = np.searchsorted(nonmated, mated, side="right") - below
    return float((below.sum() + 0.5 * tied.sum()) / (len(mated) * len(nonmated)))


# --------------------------------------------------------------------------------------
# the weighted engine: one model, one attribute, all operating points
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PairData:
    """The pairs of one analysis, split and indexed once."""

    score: np.ndarray
    mated: np.ndarray
    cell: np.ndarray          # non-mated: cell code (row * G + column), -1 if a side has no label
    group: np.ndarray         # mated: group code when both sides agree, else -1
    subject_a: np.ndarray
    subject_b: np.ndarray
    n_groups: int
    n_subjects: int


def _pair_data(comparisons: Comparisons, model: str, grouping: Grouping) -> _PairData:
    g = len(grouping.names)
    a, b = grouping.code_a, grouping.code_b
    labelled = (a >= 0) & (b >= 0)
    if comparisons.ordered:
        cell = np.where(labelled, a * g + b, -1)
    else:  # unordered pairs: (g, h) and (h, g) are the same cell, kept at the upper triangle
        cell = np.where(labelled, np.minimum(a, b) * g + np.maximum(a, b), -1)
    group = np.where(labelled & (a == b), a, -1)
    return _PairData(comparisons.score(model), comparisons.mated, cell, group, comparisons.subject_a,
                     comparisons.subject_b, g, len(comparisons.subject_names))


class _PairSet:
    """Some pairs of a `_PairData` (``index``), each with a label in ``range(n_labels)``:
    what a weighted count per label needs, built once and reused by every block of
    replicates (an indicator matrix for pair weights, bilinear forms for subject weights)."""

    def __init__(self, data: _PairData, index: np.ndarray, label: np.ndarray, n_labels: int) -> None:
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


class _Weighting:
    """Pair weights and per-cell totals for one block of replicates."""

    def nonmated_weights(self, index: np.ndarray) -> np.ndarray | None: ...
    def mated_weights(self, index: np.ndarray) -> np.ndarray | None: ...
    def cell_totals(self) -> np.ndarray: ...
    def set_totals(self, pairs: _PairSet) -> np.ndarray: ...
    replicates: int


@dataclass
class _UnitWeighting(_Weighting):
    """The observed data: weight 1 per pair."""

    totals: np.ndarray
    replicates: int = 1

    def nonmated_weights(self, index):
        return None

    def mated_weights(self, index):
        return None

    def cell_totals(self):
        return self.totals[None, :]

    def set_totals(self, pairs):
        return np.bincount(pairs.label, minlength=pairs.n_labels).astype(np.float64)[None, :]


@dataclass
class _PairCounts(_Weighting):
    """Pair-level bootstrap: each pair is its own cluster."""

    counts: np.ndarray            # (R, n_pairs) over the pairs of `_PairData`
    cell_matrix: sparse.csr_matrix  # (n_pairs, n_cells) indicator of non-mated cells

    @property
    def replicates(self):
        return len(self.counts)

    def nonmated_weights(self, index):
        return self.counts[:, index].astype(np.float64)

    def mated_weights(self, index):
        return self.counts[:, index].astype(np.float64)

    def cell_totals(self):
        return np.asarray((self.cell_matrix.T @ self.counts.T.astype(np.float64)).T)

    def set_totals(self, pairs):
        return np.asarray((pairs.indicator().T @ self.counts[:, pairs.index].T.astype(np.float64)).T)


@dataclass
class _SubjectCounts(_Weighting):
    """Subject-level bootstrap: a pair of two drawn subjects counts ``w_a * w_b`` times
    (``w_a`` times when both sides are the same subject)."""

    counts: np.ndarray                   # (R, n_subjects)
    data: _PairData
    cell_bilinear: list                  # per cell: sparse (S, S) pair-count matrix, or None

    @property
    def replicates(self):
        return len(self.counts)

    def _weights(self, index):
        a = self.data.subject_a[index]
        b = self.data.subject_b[index]
        w = self.counts.astype(np.float64)
        product = w[:, a] * w[:, b]
        same = a == b
        if same.any():
            product[:, same] = w[:, a[same]]
        return product

    def nonmated_weights(self, index):
        return self._weights(index)

    def mated_weights(self, index):
        return self._weights(index)

    def cell_totals(self):
        w = self.counts.astype(np.float64)
        totals = np.zeros((len(w), len(self.cell_bilinear)))
        for c, matrix in enumerate(self.cell_bilinear):
            if matrix is not None:
                totals[:, c] = np.einsum("rs,sr->r", w, matrix @ w.T)
        return totals

    def set_totals(self, pairs):
        w = self.counts.astype(np.float64)
        totals = np.zeros((len(w), pairs.n_labels))
        for label, form in enumerate(pairs.subject_forms()):
            if form is not None:
                matrix, within = form
                totals[:, label] = np.einsum("rs,sr->r", w, matrix @ w.T) + w @ within
        return totals


@dataclass(frozen=True)
class _Replicates:
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


class _Engine:
    """Computes `_Replicates` for given weights over a (possibly tail-only) set of non-mated pairs."""

    def __init__(self, data: _PairData, *, floor: float) -> None:
        self.data = data
        g = data.n_groups
        self.n_cells = g * g
        nonmated = np.flatnonzero(~data.mated)
        self.partial = floor > -np.inf and bool(np.any(data.score[nonmated] < floor))
        self.tail = nonmated[data.score[nonmated] >= floor] if self.partial else nonmated
        self.tail_sorted = SortedScores.of(data.score[self.tail])
        self.cells = [self.tail[data.cell[self.tail] == c] for c in range(self.n_cells)]
        self.cell_sorted = [SortedScores.of(data.score[idx]) for idx in self.cells]
        mated = np.flatnonzero(data.mated)
        self.mated_all = mated
        self.mated_sorted = SortedScores.of(data.score[mated])
        self.mated_groups = [mated[data.group[mated] == k] for k in range(g)]
        self.mated_group_sorted = [SortedScores.of(data.score[idx]) for idx in self.mated_groups]
        self.nonmated_all = nonmated
        self._fixed: dict[float, tuple[_PairSet, _PairSet]] = {}
        self._candidates: np.ndarray | None = None

    @property
    def candidates(self) -> np.ndarray:
        """Every distinct score and one above the largest: where whole-range policies look."""
        if self._candidates is None:
            score = self.data.score
            self._candidates = np.unique(np.r_[score, np.nextafter(score.max(), np.inf)]) if len(score) \
                else np.zeros(0)
        return self._candidates

    def fixed_errors(self, threshold: float) -> tuple[_PairSet, _PairSet]:
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
                _PairSet(data, false_matches, np.where(cells >= 0, cells, self.n_cells), self.n_cells + 1),
                _PairSet(data, misses, np.where(groups >= 0, groups, data.n_groups), data.n_groups + 1))
        return self._fixed[threshold]

    def diagonal(self) -> np.ndarray:
        g = self.data.n_groups
        return np.arange(g) * g + np.arange(g)

    def run(self, weighting: _Weighting, points: Sequence[OperatingPoint],
            shift_targets: Sequence[float | None], *, shifts: bool = True) -> list[_Replicates]:
        """All operating points for one block of weights; ``shifts`` adds each group's own
        threshold (needed for the point estimate only)."""
        data = self.data
        r = weighting.replicates
        totals = weighting.cell_totals()                       # (R, C), all non-mated pairs
        nm_total = totals.sum(axis=1)
        if np.any(data.cell[self.nonmated_all] < 0):
            unlabelled = self._unlabelled_total(weighting)
            nm_total = nm_total + unlabelled
        tail_prefix = self.tail_sorted.prefix(weighting.nonmated_weights(self.tail))
        cell_prefix = [s.prefix(weighting.nonmated_weights(idx)) for s, idx in zip(self.cell_sorted, self.cells)]
        mated_prefix = self.mated_sorted.prefix(weighting.mated_weights(self.mated_all))
        group_prefix = [s.prefix(weighting.mated_weights(idx))
                        for s, idx in zip(self.mated_group_sorted, self.mated_groups)]
        mated_group_total = np.stack([p[:, -1] for p in group_prefix], axis=1) if group_prefix \
            else np.zeros((r, 0))
        mated_total = mated_prefix[:, -1]
        mated_group_total = np.broadcast_to(mated_group_total, (r, data.n_groups))
        results = []
        for point, shift_target in zip(points, shift_targets):
            threshold, hit = self._threshold(point, r, tail_prefix, nm_total, cell_prefix, totals,
                                             mated_prefix, mated_total, group_prefix, mated_group_total)
            if point.policy is ThresholdPolicy.PER_GROUP:
                per_group = threshold
                threshold_global = np.full(r, np.nan)
            else:
                per_group = None
                threshold_global = threshold
            if point.policy is ThresholdPolicy.FIXED:  # counted directly: no tail needed
                false_matches, misses = self.fixed_errors(float(point.threshold))
                fm_by_label = weighting.set_totals(false_matches)
                fnm_by_label = weighting.set_totals(misses)
                cell_fm, global_fm = fm_by_label[:, :self.n_cells], fm_by_label.sum(axis=1)
                fnm, global_fnm = fnm_by_label[:, :data.n_groups], fnm_by_label.sum(axis=1)
            else:
                cell_fm, fnm, global_fm, global_fnm = self._errors(per_group, threshold_global, r, tail_prefix,
                                                                   cell_prefix, mated_prefix, group_prefix)
            target = shift_target
            if target is None:  # no target: the FMR all pairs reach at t*
                with np.errstate(invalid="ignore", divide="ignore"):
                    target_r = global_fm / nm_total
            else:
                target_r = np.full(r, target)
            group_threshold = np.full((r, data.n_groups), np.nan)
            diagonal = self.diagonal()
            for k in range(data.n_groups if shifts else 0):
                c = diagonal[k]
                group_threshold[:, k] = self._per_target(self.cell_sorted[c], cell_prefix[c], totals[:, c], target_r)
            results.append(_Replicates(
                threshold=threshold_global if per_group is None else np.full(r, np.nan),
                group_threshold=per_group if per_group is not None else group_threshold,
                cell_fm=cell_fm, cell_total=totals, fnm=fnm, mated_total=mated_group_total,
                global_fm=global_fm, global_nm=nm_total, global_fnm=global_fnm,
                global_m=np.broadcast_to(mated_total, (r,)), hit_floor=hit))
        return results

    def _errors(self, per_group, threshold_global, r, tail_prefix, cell_prefix, mated_prefix, group_prefix):
        """False matches per cell, misses per group, and both over all pairs, from the sorted tail."""
        data = self.data
        cell_fm = np.zeros((r, self.n_cells))
        for c in range(self.n_cells):
            row = c // data.n_groups
            t = per_group[:, row] if per_group is not None else threshold_global
            cell_fm[:, c] = self.cell_sorted[c].at_or_above(cell_prefix[c], t)
        fnm = np.zeros((r, data.n_groups))
        for k in range(data.n_groups):
            t = per_group[:, k] if per_group is not None else threshold_global
            fnm[:, k] = self.mated_group_sorted[k].below(group_prefix[k], t)
        if per_group is None:
            global_fm = self.tail_sorted.at_or_above(tail_prefix, threshold_global)
            global_fnm = self.mated_sorted.below(mated_prefix, threshold_global)
        else:
            global_fm = cell_fm.sum(axis=1)
            global_fnm = fnm.sum(axis=1)
        return cell_fm, fnm, global_fm, global_fnm

    def _unlabelled_total(self, weighting: _Weighting) -> np.ndarray:
        index = self.nonmated_all[self.data.cell[self.nonmated_all] < 0]
        weights = weighting.nonmated_weights(index)
        return np.full(weighting.replicates, float(len(index))) if weights is None else weights.sum(axis=1)

    def _per_target(self, sorted_scores, prefix, total, targets) -> np.ndarray:
        out = np.full(len(total), np.nan)
        if len(sorted_scores) == 0:
            return out
        for value in np.unique(targets[np.isfinite(targets)]):
            rows = targets == value
            if value <= 0 or value >= 1:
                continue
            thresholds, _ = _target_thresholds(sorted_scores, prefix[rows] if prefix.shape[0] > 1 else prefix,
                                               total[rows], float(value))
            out[rows] = thresholds
        return out

    def _threshold(self, point, r, tail_prefix, nm_total, cell_prefix, totals, mated_prefix, mated_total,
                   group_prefix, mated_group_total):
        no_hit = np.zeros(r, bool)
        policy = point.policy
        if policy is ThresholdPolicy.FIXED:
            return np.full(r, float(point.threshold)), no_hit
        if policy is ThresholdPolicy.TARGET_FMR:
            thresholds, lowest_ok = _target_thresholds(self.tail_sorted, tail_prefix, nm_total, point.target_fmr)
            return thresholds, lowest_ok & self.partial
        if policy is ThresholdPolicy.PER_GROUP:
            diagonal = self.diagonal()
            out = np.zeros((r, self.data.n_groups))
            hit = np.zeros(r, bool)
            for k, c in enumerate(diagonal):
                if len(self.cells[c]) == 0:
                    out[:, k] = np.nan
                    continue
                t, lowest_ok = _target_thresholds(self.cell_sorted[c], cell_prefix[c], totals[:, c], point.target_fmr)
                out[:, k] = t
                hit |= lowest_ok & self.partial
            return out, hit
        # whole-range policies: evaluate every distinct score as a candidate
        candidates = self.candidates
        fm = self.tail_sorted.at_or_above_grid(tail_prefix, candidates)       # (R, K)
        fnm = self.mated_sorted.below_grid(mated_prefix, candidates)
        with np.errstate(invalid="ignore", divide="ignore"):
            fmr = fm / nm_total[:, None]
            fnmr = fnm / mated_total[:, None] if np.all(mated_total > 0) else np.zeros_like(fm)
        if policy is ThresholdPolicy.EER:
            index = np.argmin(np.maximum(fmr, fnmr), axis=1)
        elif policy is ThresholdPolicy.BEST_ACCURACY:
            correct = (nm_total[:, None] - fm) + (mated_total[:, None] - fnm)
            index = np.argmax(correct, axis=1)
        else:  # ACCURACY_MINUS_STD
            accuracy = self._group_accuracy_curves(candidates, cell_prefix, totals, group_prefix, mated_group_total)
            objective = np.nanmean(accuracy, axis=1) - np.nanstd(accuracy, axis=1)
            index = np.argmax(objective, axis=1)
        return candidates[index], no_hit

    def _group_accuracy_curves(self, candidates, cell_prefix, totals, group_prefix, mated_group_total):
        g = self.data.n_groups
        diagonal = self.diagonal()
        curves = []
        for k in range(g):
            c = diagonal[k]
            fm = self.cell_sorted[c].at_or_above_grid(cell_prefix[c], candidates)
            fnm = self.mated_group_sorted[k].below_grid(group_prefix[k], candidates)
            n = totals[:, c][:, None] + mated_group_total[:, k][:, None]
            with np.errstate(invalid="ignore", divide="ignore"):
                curves.append((n - fm - fnm) / n)
        return np.stack(curves, axis=1)   # (R, G, K)


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupRates:
    """Per-group figures at one operating point (arrays over ``names``)."""

    names: tuple[str, ...]
    fmr: np.ndarray
    fnmr: np.ndarray
    accuracy: np.ndarray
    fmr_ci: np.ndarray
    fnmr_ci: np.ndarray
    accuracy_ci: np.ndarray
    fmr_bound_only: np.ndarray
    fnmr_bound_only: np.ndarray
    false_matches: np.ndarray
    false_non_matches: np.ndarray
    n_nonmated: np.ndarray
    n_mated: np.ndarray
    group_threshold: np.ndarray
    threshold_shift: np.ndarray
    fmr_p_holm: np.ndarray
    fnmr_p_holm: np.ndarray
    flags: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class CrossGroupFMR:
    """FMR for every (enrolled group, probe group) cell; pooled both ways when pairs are unordered."""

    names: tuple[str, ...]
    fmr: np.ndarray
    ci: np.ndarray
    false_matches: np.ndarray
    n_nonmated: np.ndarray
    ordered: bool


@dataclass(frozen=True)
class Summary:
    """Summary measures (`fairness.SUMMARY_NAMES`) with intervals; ``bounded`` marks ratios that
    used a rule-of-three bound for a zero rate (so they are lower bounds)."""

    names: tuple[str, ...]
    values: np.ndarray
    ci: np.ndarray
    bounded: np.ndarray

    def __getitem__(self, name: str) -> float:
        return float(self.values[self.names.index(name)])

    def interval(self, name: str) -> np.ndarray:
        return self.ci[self.names.index(name)]


@dataclass(frozen=True)
class OperatingPointResult:
    """One model, one attribute, one operating point."""

    model: str
    attribute: str
    point: OperatingPoint
    threshold: float
    threshold_input_scale: float
    threshold_ci: np.ndarray
    global_fmr: float
    global_fnmr: float
    n_nonmated: int
    n_mated: int
    groups: GroupRates
    cross: CrossGroupFMR
    summary: Summary
    flags: tuple[str, ...]


@dataclass(frozen=True)
class GroupScores:
    """Threshold-free figures per group: d', DET curve, score histograms."""

    names: tuple[str, ...]
    d_prime: np.ndarray
    auc: np.ndarray
    det: tuple[DetCurve, ...]
    histogram_edges: np.ndarray
    mated_histogram: np.ndarray
    nonmated_histogram: np.ndarray


@dataclass(frozen=True)
class ModelAttributeAudit:
    model: str
    attribute: str
    label_source: str
    operating_points: tuple[OperatingPointResult, ...]
    scores: GroupScores


@dataclass(frozen=True)
class VerificationAudit:
    """The whole audit: every model x attribute x operating point, and how it was made."""

    config: VerificationConfig
    results: tuple[ModelAttributeAudit, ...]
    models: tuple[str, ...]
    attributes: tuple[str, ...]
    bootstrap_unit: BootstrapUnit
    n_pairs: int
    n_mated: int
    n_subjects: int
    skipped_targets: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())
    provenance: object = None
    scales: tuple[ScoreScale, ...] = ()

    def scale(self, model: str) -> ScoreScale:
        """How ``model``'s input scores read (similarity when not recorded)."""
        return self.scales[self.models.index(model)] if self.scales else ScoreScale.SIMILARITY

    def result(self, *, model: str, attribute: str | None = None) -> ModelAttributeAudit:
        attribute = attribute or self.attributes[0]
        for item in self.results:
            if item.model == model and item.attribute == attribute:
                return item
        raise unknown_choice("model/attribute", f"{model}/{attribute}",
                             [f"{r.model}/{r.attribute}" for r in self.results])


# --------------------------------------------------------------------------------------
# the audit
# --------------------------------------------------------------------------------------


def _choose_unit(comparisons: Comparisons, config: VerificationConfig) -> BootstrapUnit:
    if config.n_bootstrap == 0:
        return BootstrapUnit.NONE
    if config.bootstrap_unit is None:
        return BootstrapUnit.SUBJECT if comparisons.has_subjects else BootstrapUnit.PAIR
    if config.bootstrap_unit is BootstrapUnit.SUBJECT and not comparisons.has_subjects:
        raise ConfigError("--bootstrap-unit subject: the data has no subject ids (give --subject-a/--subject-b "
                          "or --subjects-from)")
    return config.bootstrap_unit


def _operating_points(comparisons: Comparisons, config: VerificationConfig) -> tuple[tuple[OperatingPoint, ...],
                                                                                      tuple[str, ...]]:
    """The configured points with the supported extra targets placed after the primary one."""
    points = list(config.operating_points)
    extras = []
    skipped = []
    n_nonmated = int((~comparisons.mated).sum())
    have = {p.target_fmr for p in points if p.policy is ThresholdPolicy.TARGET_FMR}
    for target in config.extra_targets:
        if target in have:
            continue
        if target * n_nonmated >= 1:
            extras.append(OperatingPoint(policy=ThresholdPolicy.TARGET_FMR, target_fmr=target))
        else:
            skipped.append(f"FMR {target:g}: {n_nonmated:,} non-mated pairs give {target * n_nonmated:.2g} expected "
                           f"false matches (needs at least 1, and {uncertainty.trials_needed(rate=target):,} "
                           "for +-30%)")
    return (points[0], *extras, *points[1:]), tuple(skipped)


def _subject_strata(comparisons: Comparisons, grouping: Grouping) -> np.ndarray:
    strata = np.full(len(comparisons.subject_names), -1, np.int64)
    for side, codes in ((comparisons.subject_b, grouping.code_b), (comparisons.subject_a, grouping.code_a)):
        strata[side] = codes  # side a wins where both give a label
    return strata


def _bilinear_cells(data: _PairData, n_cells: int) -> list:
    nonmated = ~data.mated
    matrices = []
    for c in range(n_cells):
        index = np.flatnonzero(nonmated & (data.cell == c))
        if len(index) == 0:
            matrices.append(None)
            continue
        a, b = data.subject_a[index], data.subject_b[index]
        matrix = sparse.coo_matrix((np.ones(len(index)), (a, b)), shape=(data.n_subjects, data.n_subjects)).tocsr()
        matrices.append(matrix)
    return matrices


def _chunk_size(n_items: int) -> int:
    return int(max(1, min(64, 3_000_000 // max(n_items, 1))))


def _replicate_blocks(comparisons: Comparisons, grouping: Grouping, data: _PairData, engine: _Engine,
                      unit: BootstrapUnit, config: VerificationConfig) -> Iterator[_Weighting]:
    rng = np.random.default_rng(config.seed)
    n_cells = data.n_groups ** 2
    if unit is BootstrapUnit.SUBJECT:
        strata = _subject_strata(comparisons, grouping)
        bootstrap = uncertainty.ClusterBootstrap(strata=strata)
        bilinear = _bilinear_cells(data, n_cells)
        size = _chunk_size(len(engine.tail) + len(engine.mated_all) + data.n_subjects)
        for counts in bootstrap.chunks(rng=rng, n_replicates=config.n_bootstrap, chunk_size=size):
            yield _SubjectCounts(counts=counts, data=data, cell_bilinear=bilinear)
    else:
        strata = np.where(data.mated, -2 - np.maximum(data.group, -1), data.cell)
        bootstrap = uncertainty.ClusterBootstrap(strata=strata)
        cells = np.where(~data.mated & (data.cell >= 0), data.cell, 0)
        keep = (~data.mated & (data.cell >= 0)).astype(np.float64)
        indicator = sparse.csr_matrix((keep, (np.arange(len(cells)), cells)), shape=(len(cells), n_cells))
        size = _chunk_size(len(data.score))
        for counts in bootstrap.chunks(rng=rng, n_replicates=config.n_bootstrap, chunk_size=size):
            yield _PairCounts(counts=counts, cell_matrix=indicator)


def _stack(blocks: list[_Replicates]) -> _Replicates:
    return _Replicates(*[np.concatenate([getattr(b, f) for b in blocks]) for f in _Replicates.__dataclass_fields__])


def _rates_from(rep: _Replicates, engine: _Engine, rates_over: RatesOver) -> dict[str, np.ndarray]:
    diagonal = engine.diagonal()
    nm = rep.cell_total[:, diagonal]
    fm = rep.cell_fm[:, diagonal]
    m = rep.mated_total
    fnm = rep.fnm
    with np.errstate(invalid="ignore", divide="ignore"):
        fmr = fm / nm
        fnmr = fnm / m
        all_pairs = nm + m
        # without mated pairs a group's "accuracy" would be 1 - FMR: not an accuracy, so none
        accuracy = np.where(m > 0, (all_pairs - fm - fnm) / all_pairs, np.nan)
        if rates_over is RatesOver.ALL_PAIRS:
            fmr_fed, fnmr_fed = fm / all_pairs, fnm / all_pairs
        else:
            fmr_fed, fnmr_fed = fmr, fnmr
        cross = rep.cell_fm / rep.cell_total
    return {"fmr": fmr, "fnmr": fnmr, "accuracy": accuracy, "fmr_fed": fmr_fed, "fnmr_fed": fnmr_fed,
            "cross": cross, "nm": nm, "m": m, "fm": fm, "fnm": fnm, "all": all_pairs}


def _summaries(rates: dict[str, np.ndarray], config: VerificationConfig) -> tuple[np.ndarray, np.ndarray]:
    nm, m, all_pairs = rates["nm"], rates["m"], rates["all"]
    fed_nm = all_pairs if config.rates_over is RatesOver.ALL_PAIRS else nm
    fed_m = all_pairs if config.rates_over is RatesOver.ALL_PAIRS else m
    rate_set = fairness.RateSet(
        fmr=rates["fmr_fed"], fnmr=rates["fnmr_fed"], fmr_own=rates["fmr"], fnmr_own=rates["fnmr"],
        accuracy=rates["accuracy"],
        fmr_bound=uncertainty.zero_error_upper_bound(trials=fed_nm, level=config.level),
        fnmr_bound=uncertainty.zero_error_upper_bound(trials=fed_m, level=config.level),
        error_bound=uncertainty.zero_error_upper_bound(trials=all_pairs, level=config.level))
    return fairness.summary_measures(rate_set, alpha=config.alpha)


def _interval(replicates: np.ndarray | None, observed_zero: np.ndarray, n: np.ndarray, level: float,
              bound: np.ndarray) -> np.ndarray:
    shape = observed_zero.shape
    if replicates is None:
        out = np.full((*shape, 2), np.nan)
    else:
        out = uncertainty.percentile_interval(replicates, level=level, axis=0)
    zero = observed_zero & (n > 0)
    out[zero] = np.stack([np.zeros(int(zero.sum())), bound[zero]], axis=-1)
    return out


def _p_text(p: float, replicates: int) -> str:
    """A bootstrap p-value as the replicates can support it: never "0"."""
    return f"p < {1 / replicates:.2g}" if p == 0 and replicates > 0 else f"p = {p:.2g}"


def _group_flags(names, fm, fnm, nm, m, target, p_fmr, p_fnmr, level,
                 replicates: int) -> tuple[tuple[str, ...], ...]:
    flags = []
    for k in range(len(names)):
        items = []
        if nm[k] == 0:
            items.append("no same-group non-mated pairs: FMR cannot be measured")
        elif fm[k] == 0:
            items.append("no false match seen: FMR shown as an upper bound (rule of three)")
        elif fm[k] < uncertainty.DODDINGTON_ERRORS:
            items.append(f"only {int(fm[k])} false matches (< 30): FMR uncertain by more than +-30%")
        if target is not None and 0 < nm[k] < uncertainty.trials_needed(rate=target):
            items.append(f"{int(nm[k]):,} non-mated pairs; FMR {target:g} needs "
                         f"{uncertainty.trials_needed(rate=target):,} for +-30%")
        if m[k] == 0:
            items.append("no mated pairs: FNMR cannot be measured")
        elif fnm[k] == 0:
            items.append("no false non-match seen: FNMR shown as an upper bound (rule of three)")
        elif fnm[k] < uncertainty.DODDINGTON_ERRORS:
            items.append(f"only {int(fnm[k])} false non-matches (< 30): FNMR uncertain by more than +-30%")
        if np.isfinite(p_fmr[k]) and p_fmr[k] < 1 - level:
            items.append(f"FMR differs from all pairs' (Holm-adjusted {_p_text(p_fmr[k], replicates)})")
        if np.isfinite(p_fnmr[k]) and p_fnmr[k] < 1 - level:
            items.append(f"FNMR differs from all pairs' (Holm-adjusted {_p_text(p_fnmr[k], replicates)})")
        flags.append(tuple(items))
    return tuple(flags)


def _holm_p(rates: np.ndarray | None, overall: np.ndarray | None) -> np.ndarray:
    if rates is None or overall is None:
        return np.full(0 if rates is None else rates.shape[1], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        differences = np.log(rates) - np.log(overall)[:, None]
    differences = np.where(np.isnan(differences), np.nan, differences)
    p = uncertainty.bootstrap_p_value(differences, axis=0)
    valid = np.isfinite(p) & np.any(np.isfinite(differences), axis=0)
    out = np.full(len(p), np.nan)
    if valid.any():
        out[valid] = uncertainty.holm_adjust(p[valid])
    return out


def _assemble(model: str, attribute: str, point: OperatingPoint, observed: _Replicates,
              boot: _Replicates | None, engine: _Engine, grouping: Grouping, comparisons: Comparisons,
              config: VerificationConfig, shift_target: float | None) -> OperatingPointResult:
    names = grouping.names
    level = config.level
    obs = _rates_from(observed, engine, config.rates_over)
    reps = _rates_from(boot, engine, config.rates_over) if boot is not None else None
    fm, fnm, nm, m = obs["fm"][0], obs["fnm"][0], obs["nm"][0], obs["m"][0]
    fmr_bound = uncertainty.zero_error_upper_bound(trials=nm, level=level)
    fnmr_bound = uncertainty.zero_error_upper_bound(trials=m, level=level)
    fmr_ci = _interval(reps["fmr"] if reps else None, fm == 0, nm, level, fmr_bound)
    fnmr_ci = _interval(reps["fnmr"] if reps else None, fnm == 0, m, level, fnmr_bound)
    accuracy_ci = (uncertainty.percentile_interval(reps["accuracy"], level=level, axis=0) if reps
                   else np.full((len(names), 2), np.nan))
    per_group = point.policy is ThresholdPolicy.PER_GROUP
    threshold = float(observed.threshold[0]) if not per_group else float("nan")
    group_threshold = observed.group_threshold[0]
    shift = group_threshold - threshold if not per_group else np.full(len(names), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        global_fmr = float(observed.global_fm[0] / observed.global_nm[0])
        global_fnmr = float(observed.global_fnm[0] / observed.global_m[0]) if observed.global_m[0] > 0 else np.nan
        overall_fmr = boot.global_fm / boot.global_nm if boot is not None else None
        overall_fnmr = boot.global_fnm / boot.global_m if boot is not None else None
    p_fmr = _holm_p(reps["fmr"] if reps else None, overall_fmr) if reps else np.full(len(names), np.nan)
    p_fnmr = _holm_p(reps["fnmr"] if reps else None, overall_fnmr) if reps and m.sum() > 0 \
        else np.full(len(names), np.nan)
    flags = _group_flags(names, fm, fnm, nm, m, point.target_fmr, p_fmr, p_fnmr, level,
                         len(boot.threshold) if boot is not None else 0)
    groups = GroupRates(
        names=names, fmr=obs["fmr"][0], fnmr=obs["fnmr"][0], accuracy=obs["accuracy"][0],
        fmr_ci=fmr_ci, fnmr_ci=fnmr_ci, accuracy_ci=accuracy_ci,
        fmr_bound_only=(fm == 0) & (nm > 0), fnmr_bound_only=(fnm == 0) & (m > 0),
        false_matches=fm, false_non_matches=fnm, n_nonmated=nm.astype(np.int64), n_mated=m.astype(np.int64),
        group_threshold=group_threshold, threshold_shift=shift, fmr_p_holm=p_fmr, fnmr_p_holm=p_fnmr,
        flags=flags)
    g = len(names)
    cross_fm = observed.cell_fm[0].reshape(g, g)
    cross_n = observed.cell_total[0].reshape(g, g)
    cross_rep = reps["cross"].reshape(-1, g, g) if reps else None
    if not comparisons.ordered:  # mirror the upper triangle
        lower = np.tril_indices(g, -1)
        for array in (cross_fm, cross_n):
            array[lower] = array.T[lower]
        if cross_rep is not None:
            cross_rep = cross_rep.copy()
            cross_rep[:, lower[0], lower[1]] = cross_rep[:, lower[1], lower[0]]
    with np.errstate(invalid="ignore", divide="ignore"):
        cross_fmr = cross_fm / cross_n
    cross_bound = uncertainty.zero_error_upper_bound(trials=cross_n, level=level)
    cross_ci = _interval(cross_rep, cross_fm == 0, cross_n, level, cross_bound)
    cross = CrossGroupFMR(names, cross_fmr, cross_ci, cross_fm, cross_n.astype(np.int64), comparisons.ordered)
    values, bounded = _summaries(obs, config)
    values, bounded = values[0], bounded[0]
    if reps:
        rep_values, _ = _summaries(reps, config)
        ratio = np.array([n in fairness.RATIO_MEASURES for n in fairness.SUMMARY_NAMES])
        ci = np.empty((len(fairness.SUMMARY_NAMES), 2))
        ci[ratio] = uncertainty.log_percentile_interval(np.clip(rep_values[:, ratio], 0, None), level=level, axis=0)
        ci[~ratio] = uncertainty.percentile_interval(rep_values[:, ~ratio], level=level, axis=0)
    else:
        ci = np.full((len(fairness.SUMMARY_NAMES), 2), np.nan)
    summary = Summary(fairness.SUMMARY_NAMES, values, ci, bounded)
    threshold_ci = (uncertainty.percentile_interval(boot.threshold, level=level) if boot is not None
                    and not per_group else np.full(2, np.nan))
    point_flags = []
    if point.target_fmr is not None and point.policy is ThresholdPolicy.TARGET_FMR:
        expected = point.target_fmr * observed.global_nm[0]
        if expected < 1:
            point_flags.append(f"target FMR {point.target_fmr:g} is below 1 / {int(observed.global_nm[0]):,} non-mated "
                               "pairs: the threshold sits above every non-mated score and cannot be estimated")
        elif expected < uncertainty.DODDINGTON_ERRORS:
            point_flags.append(f"only {expected:.1f} false matches allowed at FMR {point.target_fmr:g} over "
                               f"{int(observed.global_nm[0]):,} non-mated pairs: the threshold itself is uncertain")
    if boot is not None and np.any(boot.hit_floor):
        point_flags.append("some bootstrap replicates needed scores below the kept tail")
    scale = comparisons.scale(model)
    return OperatingPointResult(
        model=model, attribute=attribute, point=point, threshold=threshold,
        threshold_input_scale=scale.from_similarity(threshold) if np.isfinite(threshold) else float("nan"),
        threshold_ci=np.sort(np.array([scale.from_similarity(v) for v in threshold_ci])),
        global_fmr=global_fmr, global_fnmr=global_fnmr, n_nonmated=int(observed.global_nm[0]),
        n_mated=int(observed.global_m[0]), groups=groups, cross=cross, summary=summary, flags=tuple(point_flags))


def _group_scores(data: _PairData, names: tuple[str, ...], bins: int = 60) -> GroupScores:
    g = data.n_groups
    nonmated = ~data.mated
    same_cell = np.arange(g) * g + np.arange(g)
    low, high = float(data.score.min()), float(data.score.max())
    edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
    d_primes, aucs, dets, mated_hist, nonmated_hist = [], [], [], [], []
    for k in range(g):
        mated_scores = data.score[data.mated & (data.group == k)]
        nonmated_scores = data.score[nonmated & (data.cell == same_cell[k])]
        d_primes.append(d_prime(mated=mated_scores, nonmated=nonmated_scores))
        aucs.append(roc_auc(mated=mated_scores, nonmated=nonmated_scores))
        dets.append(det_curve(mated=mated_scores, nonmated=nonmated_scores))
        mated_hist.append(np.histogram(mated_scores, bins=edges)[0])
        nonmated_hist.append(np.histogram(nonmated_scores, bins=edges)[0])
    return GroupScores(names, np.array(d_primes), np.array(aucs), tuple(dets), edges, np.array(mated_hist),
                       np.array(nonmated_hist))


def _sorted_threshold(sorted_scores: SortedScores, target: float) -> float:
    """`threshold_for_fmr` on scores sorted already."""
    thresholds, _ = _target_thresholds(sorted_scores, sorted_scores.prefix(None),
                                       np.array([float(len(sorted_scores))]), target)
    return float(thresholds[0])


def _tail_floor(engine_full: _Engine, observed: list[_Replicates], points: Sequence[OperatingPoint],
                factor: float) -> float:
    """The lowest non-mated score a replicate's threshold can plausibly need: each target's
    threshold for a ``factor`` times looser target, over all pairs and per group. Fixed
    thresholds need no tail (`_Engine.fixed_errors` counts them directly)."""
    if any(p.policy.needs_all_scores for p in points):
        return -np.inf
    floors = []
    for point, obs in zip(points, observed):
        if point.policy is ThresholdPolicy.FIXED:
            continue
        if point.target_fmr is not None:
            looser = min(0.5, point.target_fmr * factor)
            if len(engine_full.tail_sorted):
                floors.append(_sorted_threshold(engine_full.tail_sorted, looser))
            for c in engine_full.diagonal():  # each group's own threshold for a looser target
                if len(engine_full.cell_sorted[c]):
                    floors.append(_sorted_threshold(engine_full.cell_sorted[c], looser))
        floors.extend(v for v in np.ravel(obs.group_threshold[0]) if np.isfinite(v))
    return float(np.min(floors)) if floors else np.inf


def audit_verification(comparisons: Comparisons, *, config: VerificationConfig = VerificationConfig(),
                       attributes: Sequence[str] | None = None, models: Sequence[str] | None = None,
                       progress=None) -> VerificationAudit:
    """Run the verification audit over every model and attribute (default: all of them).

    ``attributes`` may include intersections such as ``"race x gender"``. ``progress`` is an
    optional callable ``(done, total, message)`` for a progress bar.
    """
    models = tuple(models or comparisons.models)
    attributes = tuple(attributes or comparisons.attributes)
    unit = _choose_unit(comparisons, config)
    points, skipped = _operating_points(comparisons, config)
    if int((~comparisons.mated).sum()) == 0:
        raise ConfigError("comparisons: no non-mated pairs; an FMR threshold needs some")
    foreign = sorted({p.model for p in points if p.model and p.model not in models})
    if foreign:
        raise unknown_choice("operating point model", foreign[0], list(models))
    results = []
    per_analysis = 1 + (config.n_bootstrap if unit is not BootstrapUnit.NONE else 0)
    total = len(models) * len(attributes) * per_analysis
    done = 0
    all_points = points
    for model in models:
        points = tuple(p for p in all_points if not p.model or p.model == model)
        for attribute in attributes:
            grouping = comparisons.grouping(attribute)
            data = _pair_data(comparisons, model, grouping)
            if comparisons.n_mated == 0:
                for point in points:
                    if point.policy.needs_all_scores:
                        raise ConfigError(f"--threshold-policy {point.policy.value}: needs mated pairs; this data "
                                          "has none (use target-fmr or fixed)")
            shift_targets = [p.target_fmr for p in points]
            full = _Engine(data, floor=-np.inf)
            observed = full.run(_UnitWeighting(np.bincount(data.cell[(~data.mated) & (data.cell >= 0)],
                                                           minlength=data.n_groups ** 2).astype(np.float64)),
                                points, shift_targets)
            boots: list[_Replicates | None] = [None] * len(points)
            if unit is not BootstrapUnit.NONE:
                floor = _tail_floor(full, observed, points, config.tail_factor)
                for attempt_floor in (floor, -np.inf):
                    engine = _Engine(data, floor=attempt_floor) if attempt_floor > -np.inf else full
                    blocks: list[list[_Replicates]] = [[] for _ in points]
                    drawn = 0
                    for weighting in _replicate_blocks(comparisons, grouping, data, engine, unit, config):
                        for i, rep in enumerate(engine.run(weighting, points, shift_targets, shifts=False)):
                            blocks[i].append(rep)
                        drawn += weighting.replicates
                        if progress is not None:
                            progress(done + drawn, total, f"{model} / {attribute}: bootstrap")
                    boots = [_stack(b) for b in blocks]
                    if not any(np.any(b.hit_floor) for b in boots):
                        break
            point_results = tuple(
                _assemble(model, attribute, point, obs, boot, full, grouping, comparisons, config, target)
                for point, obs, boot, target in zip(points, observed, boots, shift_targets))
            results.append(ModelAttributeAudit(model, attribute, comparisons.provenance.label_source(attribute),
                                               point_results, _group_scores(data, grouping.names)))
            done += per_analysis
            if progress is not None:
                progress(done, total, f"{model} / {attribute}")
    notes = list(comparisons.provenance.notes)
    if unit is BootstrapUnit.PAIR:
        notes.append("The data has no subject ids, so intervals come from resampling pairs. Pairs that share a "
                     "person are not independent: these intervals are too narrow.")
    return VerificationAudit(config=config, results=tuple(results), models=models, attributes=attributes,
                             bootstrap_unit=unit, n_pairs=len(comparisons), n_mated=comparisons.n_mated,
                             n_subjects=len(comparisons.subject_names), skipped_targets=skipped,
                             notes=tuple(notes), provenance=comparisons.provenance,
                             scales=tuple(comparisons.scale(m) for m in models))

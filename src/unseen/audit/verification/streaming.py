"""The verification audit of every pair of a set of images, without listing every pair.

`audit_all_pairs` gives the same audit as `unseen.audit.verification.audit.audit_verification`
on the table of all pairs, in memory that `ScaleConfig.memory_mib` bounds:

1. Every non-mated pair is scored once, a block at a time (`unseen.audit.scale.count_pairs`),
   and counted per cell of the finest grouping the audit needs (e.g. race x gender), at
   the edges of a fine score grid. From these counts come the totals of every cell, the
   d' moments, DET curves and score histograms, and where the thresholds lie.
2. The thresholds the audit can need (each target's, each group's own, a fixed threshold,
   and the looser ones the bootstrap may reach: `VerificationConfig.tail_factor`) set a
   floor; a second pass keeps the pairs above it, rescored exactly by the model as the
   table would have been (`Embedder.pair_similarity`). Mated pairs are all kept.
3. The engine (`unseen.audit.verification.engine`) runs on those pairs with the counts'
   totals: thresholds, FMR/FNMR per group, the cross-group matrix and the threshold shifts
   are then exactly the table's. The subject bootstrap needs no pair below the floor: a
   replicate's total per cell is a closed form of per-subject image counts per group
   (`StreamedSubjectCounts`), and its draws are the table's (same strata, same blocks).

What comes from the counts alone (no exact scores below the floor) is threshold-free: DET
curves off the sorted scores' by at most one fine bin, histograms for plots, and the ROC
AUC, which counts half of the bin a mated score falls in. When the floor the thresholds
need would keep more pairs than memory allows, the floor rises and the operating points it
no longer covers are left out and listed (raise ``--memory``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unseen.audit.recognition.comparisons import (
    CROSS, Grouping, Provenance, ScoreScale, attribute_codes,
)
from unseen.audit.recognition.pairs import PairPlan, mated_pairs, pair_scores
from unseen.audit.scale import (
    BlockRunner, ScaleConfig, StreamedCounts, TemplateGroups, cell_index, count_pairs, pairs_at_or_above, threshold_on,
)
from unseen.audit.stats.uncertainty import ClusterBootstrap
from unseen.audit.verification.audit import estimate_points, operating_points, points_of
from unseen.audit.verification.cells import PairData
from unseen.audit.verification.config import BootstrapUnit, OperatingPoint, ThresholdPolicy, VerificationConfig
from unseen.audit.verification.estimates import assemble
from unseen.audit.verification.metrics import DetCurve
from unseen.audit.verification.results import GroupScores, ModelAttributeAudit, VerificationAudit
from unseen.audit.verification.weights import SubjectCounts, UnitWeighting, Weighting, chunk_size
from unseen.errors import ConfigError
from unseen.faces.embedders.base import Metric
from unseen.progress import SILENT, Progress

KEPT_BYTES_PER_PAIR = 200
"""Memory one kept pair costs through the engine and the bootstrap (scores, codes, sorting)."""


@dataclass(frozen=True)
class AllPairs:
    """Images to compare all against all: per image a subject and labels, per model templates.

    ``subjects``: codes into ``subject_names``; ``labels``: ``(n, len(attributes))`` codes into
    ``group_names`` (-1: no label). ``templates[m]`` are model ``models[m]``'s, one row per
    image; ``embedders[m]`` scores them (its ``metric`` and ``pair_similarity``).
    """

    subjects: np.ndarray
    subject_names: tuple[str, ...]
    attributes: tuple[str, ...]
    labels: np.ndarray
    group_names: tuple[tuple[str, ...], ...]
    models: tuple[str, ...]
    templates: tuple[np.ndarray, ...]
    embedders: tuple[Any, ...]
    scales: tuple[ScoreScale, ...]
    provenance: Provenance = field(default_factory=Provenance)

    def __post_init__(self) -> None:
        n = len(self.subjects)
        if n < 2:
            raise ConfigError("images: at least two enrolled images are needed to compare anything")
        if np.shape(self.labels) != (n, len(self.attributes)):
            raise ConfigError(f"AllPairs.labels: expected shape {(n, len(self.attributes))}, got {np.shape(self.labels)}")
        if not len(self.models) == len(self.templates) == len(self.embedders) == len(self.scales):
            raise ConfigError("AllPairs: one template array, embedder and scale per model")
        for model, templates in zip(self.models, self.templates):
            if len(templates) != n:
                raise ConfigError(f"AllPairs.templates of {model}: expected {n} rows, got {len(templates)}")

    def __len__(self) -> int:
        return len(self.subjects)

    def codes(self, attribute: str) -> tuple[tuple[str, ...], np.ndarray]:
        """Group names of ``attribute`` (or an intersection) and each image's code."""
        return attribute_codes(attribute, self.attributes, self.group_names, self.labels)

    @property
    def n_mated(self) -> int:
        counts = np.unique(self.subjects, return_counts=True)[1]
        return int((counts * (counts - 1) // 2).sum())

    @property
    def n_nonmated(self) -> int:
        n = len(self)
        return n * (n - 1) // 2 - self.n_mated


# -- the finest grouping, and each attribute's view of it -----------------------------------------
@dataclass(frozen=True)
class Combos:
    """The distinct label rows of the images over the attributes an audit uses: the groups
    the pairs are counted by (``code[i]`` per image; ``rows[k]``: combo ``k``'s labels)."""

    code: np.ndarray
    rows: np.ndarray
    used: tuple[int, ...]

    @classmethod
    def of(cls, pairs: AllPairs, attributes: Sequence[str]) -> Combos:
        used = sorted({pairs.attributes.index(p) for a in attributes for p in a.split(CROSS)
                       if p in pairs.attributes})
        for attribute in attributes:
            pairs.codes(attribute)   # an unknown attribute fails here, by name
        if not used:
            return cls(np.zeros(len(pairs), np.int64), np.zeros((1, len(pairs.attributes)), np.int64), ())
        rows, code = np.unique(pairs.labels[:, used], axis=0, return_inverse=True)
        full = np.full((len(rows), len(pairs.attributes)), -1, np.int64)
        full[:, used] = rows
        return cls(code.reshape(-1).astype(np.int64), full, tuple(used))

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class AttributeCounts:
    """One attribute's counts, summed from the combos' cells: per cell (PairData coding,
    ``row * G + column``, upper triangle) the pairs; pairs with a side unlabelled; per group
    its same-group pairs at or above each edge, and their score moments."""

    names: tuple[str, ...]
    image_code: np.ndarray
    cell_total: np.ndarray
    unlabelled: int
    diagonal_above: np.ndarray
    diagonal_total: np.ndarray
    diagonal_sums: np.ndarray
    diagonal_squares: np.ndarray

    @classmethod
    def of(cls, counts: StreamedCounts, combos: Combos, pairs: AllPairs, attribute: str) -> AttributeCounts:
        names, image_code = pairs.codes(attribute)
        _, combo_code = attribute_codes(attribute, pairs.attributes, pairs.group_names, combos.rows)
        g = len(names)
        cell_total = np.zeros(g * g)
        unlabelled = 0
        diagonal_above = np.zeros((g, len(counts.edges)), np.int64)
        diagonal_total = np.zeros(g, np.int64)
        sums, squares = np.zeros(g), np.zeros(g)
        k = len(combos)
        for first in range(k):
            for second in range(first, k):
                cell = int(cell_index(first, second, k))
                x, y = combo_code[first], combo_code[second]
                if x < 0 or y < 0:
                    unlabelled += int(counts.total[cell])
                    continue
                cell_total[min(x, y) * g + max(x, y)] += counts.total[cell]
                if x == y:
                    diagonal_above[x] += counts.above[cell]
                    diagonal_total[x] += counts.total[cell]
                    sums[x] += counts.sums[cell]
                    squares[x] += counts.squares[cell]
        return cls(names, image_code, cell_total, unlabelled, diagonal_above, diagonal_total, sums, squares)


# -- where the floor goes ---------------------------------------------------------------------
def _need(edges: np.ndarray, above: np.ndarray, total: float, target: float) -> float:
    """The lowest score the sorted scores' threshold for ``target`` can be (from the counts):
    the edge below the lowest one that qualifies; -inf when even the lowest qualifies; inf
    when nothing constrains it (no pairs, or none qualifies: the threshold is above all)."""
    if total <= 0 or not 0 < target < 1:
        return np.inf
    ok = np.flatnonzero(above <= target * total * (1.0 + 1e-12))
    if len(ok) == 0:
        return np.inf
    return float(edges[ok[0] - 1]) if ok[0] > 0 else -np.inf


@dataclass(frozen=True)
class FloorPlan:
    """Pairs are kept with exact scores from ``listed_from`` up; they are found among the
    float32 block scores from ``listed_from - tolerance`` up (about ``kept_estimate``)."""

    listed_from: float
    tolerance: float
    kept_estimate: int
    skipped: tuple[tuple[OperatingPoint, str], ...]


def plan_floor(counts: StreamedCounts, views: Sequence[AttributeCounts], points: Sequence[OperatingPoint], *,
               config: VerificationConfig, max_kept: int, margin: float, tolerance: float) -> FloorPlan:
    """No floor when every pair fits in ``max_kept``; else the floor every point needs
    (loosely: its thresholds and the bootstrap's `VerificationConfig.tail_factor` room;
    strictly: its thresholds), ``margin`` below the counts' estimate of it, as far as
    ``max_kept`` pairs allow; points it cannot serve are returned as skipped."""
    edges = counts.edges
    everything, total = counts.combined(np.arange(len(counts.total)))
    strict: list[float] = []
    loose: list[float] = []

    def groups_need(target: float) -> list[float]:
        return [_need(edges, view.diagonal_above[x], view.diagonal_total[x], target)
                for view in views for x in range(len(view.names))]

    for point in points:
        if point.policy is ThresholdPolicy.FIXED:
            rate = counts.count_at_or_above(float(point.threshold)) / total if total else 0.0
            strict.append(min([float(point.threshold), *groups_need(rate)]))
            continue
        target = float(point.target_fmr)
        needs = groups_need(target)
        if point.policy is ThresholdPolicy.TARGET_FMR:
            needs.append(_need(edges, everything, total, target))
        strict.append(min(needs, default=np.inf))
        looser = min(0.5, target * config.tail_factor)
        loose += [_need(edges, everything, total, looser), *groups_need(looser)]
    strict_floor = min(strict, default=np.inf)

    def kept(listed_from: float) -> int:
        k = int(np.searchsorted(edges, listed_from - tolerance, side="right")) - 1
        return int(everything[k]) if k >= 0 else total

    if total <= max_kept:   # everything fits: a bootstrap rerun over every pair is then the table's too
        return FloorPlan(-np.inf, tolerance, total, ())
    for need in (min([strict_floor, *loose]), strict_floor):
        listed_from = need - margin
        if kept(listed_from) <= max_kept:
            return FloorPlan(listed_from, tolerance, kept(listed_from), ())
    affordable = np.flatnonzero(everything <= max_kept)
    listed_from = float(edges[affordable[0] if len(affordable) else -1]) + tolerance
    skipped = tuple((point, f"its thresholds need the pairs from {need:.6g} up kept exactly "
                            f"({kept(need - margin):,} pairs), more than the memory setting allows "
                            f"({max_kept:,}); raise --memory")
                    for point, need in zip(points, strict) if need - margin < listed_from)
    return FloorPlan(listed_from, tolerance, kept(listed_from), skipped)


# -- the bootstrap's totals from per-subject counts ----------------------------------------------
@dataclass
class StreamedSubjectCounts(SubjectCounts):
    """Subject-level replicates where only the pairs above a floor are listed: every cell's
    weighted total is a closed form of each subject's images per group (``per_group``,
    ``(S, G)``) and in all (``per_subject``): drawn subjects' images meet every other drawn
    subject's images, never their own."""

    per_group: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    per_subject: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _cells: np.ndarray | None = field(default=None, repr=False)

    def cell_totals(self) -> np.ndarray:
        if self._cells is None:
            w = self.counts.astype(np.float64)
            squared = w * w
            g = self.per_group.shape[1]
            drawn = w @ self.per_group                               # (R, G) images drawn per group
            totals = np.zeros((len(w), g * g))
            for x in range(g):
                for y in range(x, g):
                    own = squared @ (self.per_group[:, x] * self.per_group[:, y])   # a subject with itself
                    if x == y:
                        totals[:, x * g + x] = (drawn[:, x] ** 2 - own) / 2.0
                    else:
                        totals[:, x * g + y] = drawn[:, x] * drawn[:, y] - own
            self._cells = totals
        return self._cells

    def unlabelled_total(self, index: np.ndarray) -> np.ndarray:
        w = self.counts.astype(np.float64)
        everything = ((w @ self.per_subject) ** 2 - (w * w) @ (self.per_subject ** 2)) / 2.0
        return everything - self.cell_totals().sum(axis=1)


def subject_strata(subjects: np.ndarray, codes: np.ndarray, n_subjects: int) -> np.ndarray:
    """Each subject's group for the bootstrap's strata, by the rule the table of all pairs
    follows (`unseen.audit.verification.weights`): the label the subject has on side a of its
    last pair, pairs listed mated first, then ``i < j`` row by row; -1 when unlabelled."""
    n = len(subjects)
    strata = np.full(n_subjects, -1, np.int64)
    last_subject = subjects[-1]
    others = np.flatnonzero(subjects != last_subject)
    last_other = others[-1] if len(others) else -1
    index = np.arange(n)
    later_other = np.where(subjects != last_subject, index < n - 1, index < last_other)
    order = np.argsort(subjects, kind="stable")
    for subject, members in _groups_of(subjects[order], order):
        side_a = members[later_other[members]]
        if len(side_a):
            strata[subject] = codes[side_a.max()]
        elif len(members) > 1:
            strata[subject] = codes[np.sort(members)[-2]]
        else:
            strata[subject] = codes[members.max()]
    return strata


def _groups_of(sorted_keys: np.ndarray, order: np.ndarray) -> Iterable[tuple[int, np.ndarray]]:
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    stops = np.r_[starts[1:], len(sorted_keys)]
    for start, stop in zip(starts, stops):
        yield int(sorted_keys[start]), order[start:stop]


# -- threshold-free figures from the counts -----------------------------------------------------
def streamed_group_scores(data: PairData, view: AttributeCounts, edges: np.ndarray, *, high: float,
                          bins: int = 60, det_points: int = 120) -> GroupScores:
    """d', ROC AUC, DET curve and score histograms per group, as `estimates.group_scores`
    gives them, from the counts (see the module text for what is approximate)."""
    low = _lowest_score(edges, view, data)
    high = max(high, float(data.score.max())) if len(data.score) else high
    plot_edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
    d_primes, aucs, dets, mated_hist, nonmated_hist = [], [], [], [], []
    for x in range(len(view.names)):
        mated = data.score[data.mated & (data.group == x)]
        above, total = view.diagonal_above[x], int(view.diagonal_total[x])
        d_primes.append(_d_prime(mated, total, view.diagonal_sums[x], view.diagonal_squares[x]))
        aucs.append(_auc(mated, edges, above, total))
        dets.append(_det(mated, edges, above, total, det_points))
        mated_hist.append(np.histogram(mated, bins=plot_edges)[0])
        nonmated_hist.append(_histogram(edges, above, total, plot_edges))
    return GroupScores(view.names, np.array(d_primes), np.array(aucs), tuple(dets), plot_edges, np.array(mated_hist),
                       np.array(nonmated_hist))


def _lowest_score(edges: np.ndarray, view: AttributeCounts, data: PairData) -> float:
    """About the lowest score: the lower edge of the lowest bin any pair falls in."""
    above, total = view.diagonal_above.sum(axis=0), int(view.diagonal_total.sum())
    occupied = np.flatnonzero(np.r_[total, above[:-1]] > above)
    low = float(edges[max(0, occupied[0] - 1)]) if len(occupied) else float(edges[0])
    return min(low, float(data.score.min())) if len(data.score) else low


def _at_or_above(edges: np.ndarray, above: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Counts at or above the first edge at or above each value (0 beyond the last)."""
    k = np.searchsorted(edges, values, side="left")
    return np.r_[above, 0][np.minimum(k, len(above))]


def _histogram(edges: np.ndarray, above: np.ndarray, total: int, plot_edges: np.ndarray) -> np.ndarray:
    at = _at_or_above(edges, above, plot_edges).astype(np.int64)
    at[0] = total
    at[-1] = 0   # the last bin holds its right edge, as np.histogram's does
    return at[:-1] - at[1:]


def _d_prime(mated: np.ndarray, total: int, sums: float, squares: float) -> float:
    if len(mated) == 0 or total == 0:
        return float("nan")
    mean = sums / total
    spread = np.sqrt((mated.var() + max(squares / total - mean * mean, 0.0)) / 2.0)
    difference = mated.mean() - mean
    if spread == 0:
        return float("inf") if difference > 0 else (float("-inf") if difference < 0 else float("nan"))
    return float(difference / spread)


def _auc(mated: np.ndarray, edges: np.ndarray, above: np.ndarray, total: int) -> float:
    if len(mated) == 0 or total == 0:
        return float("nan")
    k = np.searchsorted(edges, mated, side="right") - 1
    padded = np.r_[total, above, 0]
    at_bin, above_bin = padded[k + 1], padded[k + 2]
    below = total - (at_bin + above_bin) / 2.0
    return float(below.sum() / (len(mated) * total))


def _det(mated: np.ndarray, edges: np.ndarray, above: np.ndarray, total: int, points: int) -> DetCurve:
    if total == 0:
        empty = np.zeros(0)
        return DetCurve(empty, empty, empty)
    targets = np.logspace(np.log10(1.0 / total), 0, points)
    targets = targets[targets < 1.0]
    index = sorted({threshold_on(edges, above, total, t)[1] for t in targets} - {-1})
    thresholds = edges[index]
    fmr = above[index] / total
    fnmr = (np.searchsorted(np.sort(mated), thresholds, side="left") / len(mated)) if len(mated) \
        else np.full(len(thresholds), np.nan)
    return DetCurve(thresholds, fmr, fnmr)


# -- the audit --------------------------------------------------------------------------------------
def _check(config: VerificationConfig, points: Sequence[OperatingPoint]) -> BootstrapUnit:
    for point in points:
        if point.policy.needs_all_scores:
            raise ConfigError(f"--threshold-policy {point.policy.value}: needs every score listed; audit the "
                              "table of pairs instead (--scoring exact, with --max-nonmated to sample)")
    if config.n_bootstrap == 0:
        return BootstrapUnit.NONE
    if config.bootstrap_unit is BootstrapUnit.PAIR:
        raise ConfigError("--bootstrap-unit pair: all-pairs scoring resamples subjects (pairs that share a person "
                          "are not independent); use --bootstrap-unit subject, or --scoring exact")
    return BootstrapUnit.SUBJECT if config.bootstrap_unit is None else config.bootstrap_unit


@dataclass(frozen=True)
class KeptPairs:
    """The pairs one model keeps: every mated pair, and the non-mated pairs at or above
    ``listed_from`` (exact scores); indices into the images."""

    a: np.ndarray
    b: np.ndarray
    score: np.ndarray
    mated: np.ndarray
    listed_from: float


def _kept_pairs(pairs: AllPairs, model: int, groups: TemplateGroups, plan: FloorPlan, *, scale: ScaleConfig,
                max_kept: int, progress: Progress, runner: BlockRunner | None) -> KeptPairs:
    """Mated pairs and the non-mated ones at or above the plan's floor, scored by the model itself."""
    floor = plan.listed_from
    templates, embedder = pairs.templates[model], pairs.embedders[model]
    mated_a, mated_b = mated_pairs(pairs.subjects)
    if np.isfinite(floor):
        found = pairs_at_or_above(groups, floor - plan.tolerance, config=scale, limit=max_kept + max_kept // 4,
                                  progress=progress, description=f"{pairs.models[model]}: keeping the upper tail",
                                  runner=runner)
        a, b = found.a, found.b
    else:
        a, b = np.triu_indices(len(pairs), 1)
        keep = pairs.subjects[a] != pairs.subjects[b]
        a, b = a[keep], b[keep]
    a = np.r_[mated_a, a].astype(np.int64)
    b = np.r_[mated_b, b].astype(np.int64)
    mated = np.r_[np.ones(len(mated_a), bool), np.zeros(len(a) - len(mated_a), bool)]
    score = pair_scores(templates, PairPlan(a, b, mated, 0, False), embedder=embedder)
    keep = mated | (score >= floor)
    return KeptPairs(a[keep], b[keep], score[keep], mated[keep], floor)


def _pair_data(kept: KeptPairs, view: AttributeCounts, pairs: AllPairs) -> tuple[PairData, Grouping]:
    g = len(view.names)
    code_a, code_b = view.image_code[kept.a], view.image_code[kept.b]
    labelled = (code_a >= 0) & (code_b >= 0)
    cell = np.where(labelled, np.minimum(code_a, code_b) * g + np.maximum(code_a, code_b), -1)
    group = np.where(labelled & (code_a == code_b), code_a, -1)
    data = PairData(kept.score, kept.mated, cell, group, pairs.subjects[kept.a], pairs.subjects[kept.b], g,
                    len(pairs.subject_names), listed_from=kept.listed_from)
    return data, Grouping("", view.names, code_a, code_b)


def _replicates(pairs: AllPairs, view: AttributeCounts, data: PairData, config: VerificationConfig):
    """The subject bootstrap's blocks, drawn as the table's would be."""
    n_subjects = len(pairs.subject_names)
    strata = subject_strata(pairs.subjects, view.image_code, n_subjects)
    per_group = np.zeros((n_subjects, len(view.names)))
    labelled = view.image_code >= 0
    np.add.at(per_group, (pairs.subjects[labelled], view.image_code[labelled]), 1.0)
    per_subject = np.bincount(pairs.subjects, minlength=n_subjects).astype(np.float64)
    bootstrap = ClusterBootstrap(strata=strata)

    def blocks(weighted_pairs: int) -> Iterable[Weighting]:
        rng = np.random.default_rng(config.seed)
        size = chunk_size(weighted_pairs + data.n_subjects)
        for counts in bootstrap.chunks(rng=rng, n_replicates=config.n_bootstrap, chunk_size=size):
            yield StreamedSubjectCounts(counts=counts, data=data, cell_bilinear=[], per_group=per_group,
                                        per_subject=per_subject)

    return blocks


def _kept_note(model: str, n_nonmated: int, kept: KeptPairs, scale: ScoreScale) -> str:
    text = f"{model}: all {n_nonmated:,} non-mated pairs scored in blocks and counted; "
    if not np.isfinite(kept.listed_from):
        return text + "all of them kept with exact scores (they fit in the memory setting)"
    bound = scale.from_similarity(kept.listed_from)
    where = f"distance up to {bound:.4g}" if scale is ScoreScale.DISTANCE else f"score from {bound:.4g} up"
    return (text + f"{int((~kept.mated).sum()):,} of them ({where}) kept with exact scores for the thresholds and "
            "the bootstrap")


def _margin_and_tolerance(groups: TemplateGroups, counts: StreamedCounts) -> tuple[float, float]:
    """Room below the counts' estimate of a threshold (two bins of the grid), and how far a
    float32 block score may sit from the model's own (generously)."""
    low, high = groups.bounds()
    widths = np.diff(counts.edges[-8:]) if len(counts.edges) > 8 else np.array([high - low])
    return float(2 * widths.max()), float(2e-5 * (high - low))


def audit_all_pairs(pairs: AllPairs, *, config: VerificationConfig = VerificationConfig(),
                    scale: ScaleConfig = ScaleConfig(fine_bins=1 << 16), attributes: Sequence[str] | None = None,
                    progress: Progress = SILENT, runner: BlockRunner | None = None) -> VerificationAudit:
    """The verification audit of every pair of ``pairs``' images, for every model and
    attribute, streamed (see the module text). Refuses the whole-range threshold policies
    and the pair bootstrap, which need every score listed. ``runner``: where the blocks are
    scored (default: here; a Ray cluster: `unseen.distributed.RayCluster.runner`)."""
    attributes = tuple(attributes or pairs.attributes)
    combos = Combos.of(pairs, attributes)
    n_nonmated = pairs.n_nonmated
    if n_nonmated == 0:
        raise ConfigError("comparisons: no non-mated pairs; an FMR threshold needs some")
    points, skipped_targets = operating_points(n_nonmated, config)
    unit = _check(config, points)
    max_kept = max(1000, scale.memory_bytes // 2 // KEPT_BYTES_PER_PAIR - pairs.n_mated)
    results: list[ModelAttributeAudit] = []
    skipped = list(skipped_targets)
    notes = list(pairs.provenance.notes)
    for m, model in enumerate(pairs.models):
        embedder = pairs.embedders[m]
        groups = TemplateGroups(pairs.templates[m], combos.code, pairs.subjects, len(combos),
                                Metric.parse(embedder.metric, "metric"))
        mine = points_of(points, model)
        fixed = [float(p.threshold) for p in mine if p.policy is ThresholdPolicy.FIXED]
        counts = count_pairs(groups, config=scale, extra=fixed, progress=progress, description=f"{model}: scoring",
                             runner=runner)
        views = [AttributeCounts.of(counts, combos, pairs, a) for a in attributes]
        margin, tolerance = _margin_and_tolerance(groups, counts)
        plan = plan_floor(counts, views, mine, config=config, max_kept=max_kept, margin=margin, tolerance=tolerance)
        dropped = {id(p) for p, _ in plan.skipped}
        skipped += [f"{model}, {p.name}: {why}" for p, why in plan.skipped]
        mine = tuple(p for p in mine if id(p) not in dropped)
        if not mine:
            continue
        kept = _kept_pairs(pairs, m, groups, plan, scale=scale, max_kept=max_kept, progress=progress, runner=runner)
        notes.append(_kept_note(model, n_nonmated, kept, pairs.scales[m]))
        for attribute, view in zip(attributes, views):
            results.append(_analysis(pairs, m, attribute, view, counts, kept, mine, unit, config, progress))
    return VerificationAudit(config=config, results=tuple(results), models=tuple(pairs.models),
                             attributes=attributes, bootstrap_unit=unit, n_pairs=n_nonmated + pairs.n_mated,
                             n_mated=pairs.n_mated, n_subjects=len(pairs.subject_names),
                             skipped_targets=tuple(skipped), notes=tuple(notes), provenance=pairs.provenance,
                             scales=tuple(pairs.scales))


def _analysis(pairs: AllPairs, m: int, attribute: str, view: AttributeCounts, counts: StreamedCounts,
              kept: KeptPairs, points: Sequence[OperatingPoint], unit: BootstrapUnit, config: VerificationConfig,
              progress: Progress) -> ModelAttributeAudit:
    model = pairs.models[m]
    data, grouping = _pair_data(kept, view, pairs)
    grouping = Grouping(attribute, grouping.names, grouping.code_a, grouping.code_b)
    description = f"{model} / {attribute}"
    progress.start(config.n_bootstrap if unit is not BootstrapUnit.NONE else None, unit="replicates",
                   description=description)
    observed_weighting = UnitWeighting(view.cell_total.astype(np.float64), unlabelled=float(view.unlabelled))
    replicates = _replicates(pairs, view, data, config) if unit is BootstrapUnit.SUBJECT else None
    observed, boots = estimate_points(data, points, config=config, replicates=replicates,
                                      observed_weighting=observed_weighting, progress=progress,
                                      description=description)
    results = tuple(assemble(model, grouping, point, obs, boot, config, scale=pairs.scales[m], ordered=False)
                    for point, obs, boot in zip(points, observed, boots))
    nonmated_top = float(kept.score[~kept.mated].max()) if (~kept.mated).any() else counts.high
    return ModelAttributeAudit(model, attribute, pairs.provenance.label_source(attribute), results,
                               streamed_group_scores(data, view, counts.edges, high=nonmated_top))

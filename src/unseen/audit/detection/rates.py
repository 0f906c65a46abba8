"""A detection rate (recall, or the share of faces hidden) by every group, with intervals
from a bootstrap over images.

Faces in one photo share its light, blur and camera, so they are not independent: every
interval resamples whole images. A rate with no failure gets a rule-of-three bound instead
of a zero-width interval. Groups with fewer than ``min_group_faces`` faces are flagged and
not tested; each other group is tested against the rest of the faces carrying that label
(a Wald test on the bootstrap's standard error), with Holm's correction over every test.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from unseen.audit.detection.groups import (
    NOT_SURE, FaceGroup, attribute_groups, height_groups, intersection_groups,
)
from unseen.audit.detection.pack import LabelledFaces
from unseen.audit.stats.rates import Group, Rate, RateTable
from unseen.audit.stats.uncertainty import (
    DODDINGTON_ERRORS, bootstrap_ratio, cluster_sums, holm_adjust, percentile_interval, zero_error_upper_bound,
)


@dataclass(frozen=True)
class Precision:
    """How sure the rates are: the level of every interval and test, and the smallest group
    that is tested (smaller ones are flagged)."""

    level: float
    min_group_faces: int


@dataclass(frozen=True, eq=False)
class RateFamily:
    """The same rate (recall, or hidden share) overall and broken down every way; the
    groups of ``within_size`` are each definite attribute group within each height bucket."""

    overall: Rate
    by_group: RateTable
    by_intersection: RateTable
    by_height: RateTable
    within_size: RateTable

    def get(self, name: str, *, within: str = "") -> Rate:
        """The rate of the group called ``name`` (in the height bucket ``within``)."""
        if name == self.overall.group.name and not within:
            return self.overall
        for table in (self.by_group, self.by_intersection, self.by_height, self.within_size):
            try:
                return table.get(name, within=within)
            except KeyError:
                continue
        raise KeyError(name if not within else f"{name} within {within}")

    def within_size_by_group(self) -> dict[str, list[Rate]]:
        """Group name -> its rates in each height bucket, in bucket order."""
        out: dict[str, list[Rate]] = {}
        for rate in self.within_size:
            out.setdefault(rate.group.name, []).append(rate)
        return out


def _per_image(members: np.ndarray, image_index: np.ndarray, n_images: int) -> np.ndarray:
    """(n_sets, m) faces of each set in each image."""
    if not len(members):
        return np.zeros((0, n_images))
    return np.stack([cluster_sums(m, cluster=image_index, n_clusters=n_images) for m in members])


def _replicate_rates(draws: np.ndarray, members: np.ndarray, success: np.ndarray,
                     image_index: np.ndarray, n_images: int) -> np.ndarray:
    """(replicates, n_sets) the rate of each set in each replicate (NaN where it is empty)."""
    return bootstrap_ratio(numerator=_per_image(members & success, image_index, n_images).T,
                           denominator=_per_image(members, image_index, n_images).T, counts=draws)


def _p_two_sided(differences: np.ndarray) -> np.ndarray:
    """p-value of "no difference" from the bootstrap's standard error of the difference
    (a Wald test): continuous, so Holm's correction over many tests stays meaningful,
    which counting replicates (resolution 1 / replicates) would not allow."""
    from scipy.stats import norm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmean(differences, axis=0)
        spread = np.nanstd(differences, axis=0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.abs(centre) / spread
    return np.where(spread > 0, 2 * norm.sf(z), np.where(centre == 0, 1.0, 0.0))


@dataclass(frozen=True)
class _Estimated:
    """A rate table before Holm's correction: raw p-values, and which groups are tested."""

    table: RateTable
    p: np.ndarray
    tested: np.ndarray


def _estimate(groups: Sequence[FaceGroup], success: np.ndarray, faces: LabelledFaces, draws: np.ndarray,
              precision: Precision, *, failures: str, tested: bool) -> _Estimated:
    """Rates and intervals of ``groups`` (raw p-values when ``tested``; Holm comes later)."""
    n_sets = len(groups)
    members = np.array([g.members for g in groups], bool).reshape(n_sets, len(faces))
    if not n_sets:
        return _Estimated(RateTable(groups=(), trials=np.zeros(0), events=np.zeros(0)), np.zeros(0), np.zeros(0, bool))
    level, smallest = precision.level, precision.min_group_faces
    reps = _replicate_rates(draws, members, success, faces.image_index, faces.n_images)
    ci = percentile_interval(reps, level=level, axis=0)
    n = members.sum(axis=1)
    k = (members & success).sum(axis=1)
    p = np.full(n_sets, np.nan)
    testable = np.zeros(n_sets, bool)
    if tested:
        rest = np.array([g.rest for g in groups], bool).reshape(n_sets, len(faces))
        p = _p_two_sided(reps - _replicate_rates(draws, rest, success, faces.image_index, faces.n_images))
        testable = (n >= smallest) & (rest.sum(axis=1) >= smallest)
    flags = []
    for i in range(n_sets):
        items = []
        if n[i] < smallest:
            items.append(f"fewer than {smallest} faces")
        bound = float(zero_error_upper_bound(trials=int(n[i]), level=level)) if n[i] else float("nan")
        if n[i] and k[i] == n[i]:
            ci[i] = (1.0 - bound, 1.0)
            items.append(f"no {failures}: interval from the rule of three")
        elif n[i] and k[i] == 0:
            ci[i] = (0.0, bound)
        elif n[i] and n[i] - k[i] < DODDINGTON_ERRORS:
            items.append(f"fewer than 30 {failures}: wide relative uncertainty")
        flags.append(tuple(items))
    table = RateTable(groups=tuple(g.group for g in groups), trials=n, events=k, ci=ci,
                      bound_only=(k == 0) & (n > 0), flags=tuple(flags))
    return _Estimated(table, p, testable)


def _holm(estimated: Sequence[_Estimated], level: float) -> list[RateTable]:
    """The tables with Holm-adjusted p-values over every test in all of them."""
    p = np.concatenate([e.p for e in estimated])
    tested = np.concatenate([e.tested for e in estimated])
    adjusted = np.full(len(p), np.nan)
    if tested.any():
        adjusted[tested] = holm_adjust(p[tested])
    tables, start = [], 0
    for e in estimated:
        part = adjusted[start:start + len(e.p)]
        start += len(e.p)
        tables.append(RateTable(groups=e.table.groups, trials=e.table.trials, events=e.table.events, ci=e.table.ci,
                                bound_only=e.table.bound_only, p_holm=part, differs=part < 1 - level,
                                flags=e.table.flags))
    return tables


def rate_family(success: np.ndarray, faces: LabelledFaces, where: np.ndarray, draws: np.ndarray,
                precision: Precision, *, failures: str) -> RateFamily:
    """``success`` (one flag per face) as a rate over the faces ``where``: overall, by every
    group and pair of attributes (tested), by face height, and each group by face height.
    ``draws``: the image bootstrap's counts ``(replicates, images)``; ``failures`` names
    what a failure is in flags ("misses")."""
    groups = attribute_groups(faces, where=where)
    crossed = intersection_groups(faces, where=where)
    none = np.zeros(len(faces), bool)
    overall = _estimate([FaceGroup(Group(), where, none)], success, faces, draws, precision, failures=failures,
                        tested=False).table.row(0)
    by_group, by_intersection = _holm(
        [_estimate(groups, success, faces, draws, precision, failures=failures, tested=True),
         _estimate(crossed, success, faces, draws, precision, failures=failures, tested=True)], precision.level)
    by_height = _estimate(height_groups(faces, where), success, faces, draws, precision, failures=failures,
                          tested=False).table
    within = [h for g in groups if g.group.label != NOT_SURE for h in height_groups(faces, g.members, g.group)]
    within_size = _estimate(within, success, faces, draws, precision, failures=failures, tested=False).table
    return RateFamily(overall=overall, by_group=by_group, by_intersection=by_intersection, by_height=by_height,
                      within_size=within_size)

"""FPIR against the gallery: how false positives grow as the gallery grows, and as the
probe's own group fills more of it.

Both experiments keep the threshold fixed (the audit's one threshold, set on the whole
gallery, as a deployed system keeps its own) and draw smaller galleries of whole people at
random from the gallery, several times per point. They need no new search: a smaller
gallery's best candidate for a probe is the best listed candidate still in it. Only
non-mated searches count (a smaller gallery must not turn a mated search into a non-mated
one). Intervals resample the people searched (probe subjects, within groups) with the
drawn galleries held fixed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from unseen.audit.identification.config import IdentificationConfig
from unseen.audit.identification.engine import GroupCoding, SearchData, best_listed
from unseen.audit.identification.results import GalleryCurve, MakeUpCurve
from unseen.audit.stats import uncertainty

MIN_SIZE = 10
"""The smallest gallery on the gallery-size curve (1 person when the gallery has at most this many)."""


def gallery_sizes(n_people: int, count: int) -> np.ndarray:
    """``count`` log-spaced gallery sizes from `MIN_SIZE` (1 for a smaller gallery) up to ``n_people``."""
    if n_people < 2 or count < 1:
        return np.zeros(0, np.int64)
    low = MIN_SIZE if n_people > MIN_SIZE else 1
    return np.unique(np.round(np.geomspace(low, n_people, max(count, 2))).astype(np.int64))


def false_positive_share(data: SearchData, kept: np.ndarray, threshold: float) -> np.ndarray:
    """``(n_searches,)``: the share of the galleries ``kept`` ``(D, n_subjects)`` (1 = the person
    is in that gallery) in which each search returns a candidate at the threshold."""
    best = best_listed(data, kept[:, data.row_subject])
    return np.mean(best >= threshold, axis=0)


def incomplete_searches(data: SearchData, threshold: float) -> int:
    """Non-mated searches whose list is full and still at the threshold at its end."""
    if not len(data.starts):
        return 0
    last = np.full(data.n_searches, -np.inf)
    last[data.listed] = np.minimum.reduceat(data.row_score, data.starts)
    return int(np.sum(data.nonmated & (data.lengths >= data.max_rank) & (last >= threshold)))


class ProbeBootstrap:
    """Replicates of the people searched by non-mated searches, drawn within their group."""

    def __init__(self, data: SearchData, coding: GroupCoding, config: IdentificationConfig) -> None:
        self.level = config.level
        self.searches = np.flatnonzero(data.nonmated)
        subjects = data.probe_subject[self.searches]
        codes, self.cluster = np.unique(subjects, return_inverse=True)
        self.n_clusters = len(codes)
        self.members = [np.ones(len(self.searches), bool)] + [coding.probe_code[self.searches] == g
                                                              for g in range(len(coding.names))]
        self.counts = None
        if config.n_bootstrap and self.n_clusters:
            strata = np.full(self.n_clusters, -1, np.int64)
            strata[self.cluster] = coding.probe_code[self.searches]
            self.counts = uncertainty.ClusterBootstrap(strata=strata).counts(
                rng=np.random.default_rng(config.seed + 1), n_replicates=config.n_bootstrap)

    def estimate(self, share: np.ndarray, rows: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Mean of ``share`` (per search) over each row's non-mated searches, and its interval."""
        values = share[self.searches]
        out = np.full(len(rows), np.nan)
        ci = np.full((len(rows), 2), np.nan)
        for k, row in enumerate(rows):
            mine = self.members[row]
            if not mine.any():
                continue
            out[k] = values[mine].mean()
            if out[k] == 0:
                ci[k] = (0.0, float(uncertainty.zero_error_upper_bound(trials=int(mine.sum()), level=self.level)))
            elif self.counts is not None:
                replicates = uncertainty.bootstrap_ratio(
                    numerator=uncertainty.cluster_sums(values * mine, cluster=self.cluster, n_clusters=self.n_clusters),
                    denominator=uncertainty.cluster_sums(mine.astype(float), cluster=self.cluster,
                                                         n_clusters=self.n_clusters),
                    counts=self.counts)
                ci[k] = uncertainty.percentile_interval(replicates, level=self.level)
        return out, ci


def _pick(people: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` of ``people`` at random (all of them when there are no more)."""
    return people if size >= len(people) else rng.choice(people, size, replace=False)


def _kept(n_subjects: int, chosen: Sequence[np.ndarray]) -> np.ndarray:
    kept = np.zeros((len(chosen), n_subjects))
    for d, people in enumerate(chosen):
        kept[d, people] = 1.0
    return kept


def gallery_size_curve(data: SearchData, coding: GroupCoding, threshold: float, config: IdentificationConfig,
                       bootstrap: ProbeBootstrap) -> GalleryCurve | None:
    """FPIR per group at each gallery size (None without non-mated searches or a threshold)."""
    people = data.gallery_subjects
    sizes = gallery_sizes(len(people), config.gallery_sizes)
    if not data.nonmated.any() or np.isnan(threshold) or len(sizes) == 0:
        return None
    rng = np.random.default_rng(config.seed + 2)
    rows = list(range(len(coding.names) + 1))
    fpir = np.full((len(rows), len(sizes)), np.nan)
    ci = np.full((len(rows), len(sizes), 2), np.nan)
    for k, size in enumerate(sizes):
        draws = 1 if size >= len(people) else config.gallery_draws
        kept = _kept(data.n_subjects, [_pick(people, int(size), rng) for _ in range(draws)])
        fpir[:, k], ci[:, k] = bootstrap.estimate(false_positive_share(data, kept, threshold), rows)
    return GalleryCurve(names=(coding.overall, *coding.names), sizes=sizes, fpir=fpir, ci=ci,
                        draws=config.gallery_draws, incomplete=incomplete_searches(data, threshold))


def gallery_people_codes(data: SearchData, gallery_code: np.ndarray) -> np.ndarray:
    """Each person's group by their (first) gallery sample; -1 for people not in the gallery."""
    codes = np.full(data.n_subjects, -1, np.int64)
    codes[data.gallery_subject[::-1]] = gallery_code[::-1]
    return codes


def make_up_curve(data: SearchData, coding: GroupCoding, gallery_code: np.ndarray, threshold: float,
                  config: IdentificationConfig, bootstrap: ProbeBootstrap) -> tuple[MakeUpCurve | None, str]:
    """FPIR of each probe group against its own group's share of a fixed-size gallery, and a
    note when the experiment cannot run."""
    if not data.nonmated.any() or np.isnan(threshold) or config.gallery_sizes == 0:
        return None, ""
    people = data.gallery_subjects
    person_code = gallery_people_codes(data, gallery_code)[people]
    groups = [g for g in range(len(coding.names)) if np.any(coding.probe_code[data.nonmated] == g)]
    if len(groups) < 1 or len(coding.names) < 2:
        return None, "gallery make-up: needs at least two groups"
    size = min(min(int(np.sum(person_code == g)), int(np.sum(person_code != g))) for g in groups)
    if size < 2:
        return None, ("gallery make-up: some group has fewer than 2 gallery people of its own or of other groups, so "
                      "its share cannot be varied")
    rng = np.random.default_rng(config.seed + 3)
    shares = np.asarray(config.make_up_shares, np.float64)
    fpir = np.full((len(coding.names), len(shares)), np.nan)
    ci = np.full((len(coding.names), len(shares), 2), np.nan)
    for g in groups:
        own, others = people[person_code == g], people[person_code != g]
        for k, share in enumerate(shares):
            n_own = int(round(share * size))
            chosen = [np.r_[_pick(own, n_own, rng), _pick(others, size - n_own, rng)]
                      for _ in range(config.gallery_draws)]
            kept = _kept(data.n_subjects, chosen)
            value, interval = bootstrap.estimate(false_positive_share(data, kept, threshold), [g + 1])
            fpir[g, k], ci[g, k] = value[0], interval[0]
    actual = np.array([np.mean(person_code == g) for g in range(len(coding.names))])
    return MakeUpCurve(names=coding.names, size=size, shares=shares, fpir=fpir, ci=ci, draws=config.gallery_draws,
                       actual_share=actual), ""

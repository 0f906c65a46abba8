"""What every search returned, under any weighting of the people searched and enrolled.

The observed data weighs every person once. A weighting gives each person a number of
copies of their searches (``search_weights``) and of their gallery samples
(``gallery_copies``). From the candidate lists alone, for a threshold ``t``:

- a non-mated search's best candidate is its best listed candidate with a copy left; it is
  a *false positive* when that scores ``>= t``;
- a mated search's mate stands at rank ``1 + (copies of the non-mate candidates listed
  above it)``; it is *missed at rank r* when that exceeds ``r``, or when the mate is not in
  the list at all, and *missed at the threshold* when it also scores ``< t``.

Candidates the list does not hold (below rank R) cannot come back: a mate beyond the list
stays missed, and a non-mated search whose listed candidates were all left out returns
nothing. With weight 1 everywhere these are exactly the observed figures, so one path
computes both.

The audit's bootstrap draws the people searched and keeps the gallery as it is
(``gallery_copies=None``): drawing gallery people with replacement leaves about 63% of them
distinct, a smaller gallery, and FPIR falls with the gallery's size, so such intervals would
sit below the observed rate. The gallery is the system's own; the sample in question is the
people searched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from unseen.audit.identification.candidates import NO_SAMPLE, CandidateLists
from unseen.audit.stats.counts import SortedScores, target_thresholds
from unseen.audit.stats.rates import EVERYONE


@dataclass(frozen=True)
class SearchData:
    """The candidate lists coded once: people as codes, mated searches, each list's mate.

    ``before_mate`` marks the non-mate rows listed above their search's first mate row;
    ``starts`` the first row of each search that lists anything (``listed`` its probe).
    """

    n_subjects: int
    subject_names: np.ndarray
    probe_subject: np.ndarray
    gallery_subject: np.ndarray
    mated: np.ndarray
    row_search: np.ndarray
    row_candidate: np.ndarray
    row_subject: np.ndarray
    row_score: np.ndarray
    before_mate: np.ndarray
    mate_listed: np.ndarray
    mate_score: np.ndarray
    starts: np.ndarray
    listed: np.ndarray
    lengths: np.ndarray
    max_rank: int

    @property
    def n_searches(self) -> int:
        return len(self.probe_subject)

    @property
    def nonmated(self) -> np.ndarray:
        return ~self.mated

    @property
    def gallery_subjects(self) -> np.ndarray:
        """Codes of the people with a sample in the gallery."""
        return np.unique(self.gallery_subject)


def search_data(lists: CandidateLists) -> SearchData:
    n_probes = len(lists.probes)
    names, codes = np.unique(np.r_[lists.probes.subjects, lists.gallery.subjects], return_inverse=True)
    probe_subject, gallery_subject = codes[:n_probes], codes[n_probes:]
    samples_of = np.bincount(gallery_subject, minlength=len(names))
    own = lists.same_sample
    own_is_self = (own != NO_SAMPLE) & (gallery_subject[np.maximum(own, 0)] == probe_subject)
    mated = samples_of[probe_subject] - own_is_self > 0
    row_subject = gallery_subject[lists.candidate]
    row_mate = row_subject == probe_subject[lists.search]
    first_mate = np.full(n_probes, len(lists), np.int64)
    mate_rows = np.flatnonzero(row_mate)
    mate_searches, first = np.unique(lists.search[mate_rows], return_index=True)
    first_mate[mate_searches] = mate_rows[first]
    mate_listed = np.zeros(n_probes, bool)
    mate_listed[mate_searches] = True
    mate_score = np.full(n_probes, -np.inf)
    mate_score[mate_searches] = lists.score[mate_rows[first]]
    before_mate = ~row_mate & (np.arange(len(lists)) < first_mate[lists.search])
    listed, starts = np.unique(lists.search, return_index=True)
    return SearchData(n_subjects=len(names), subject_names=names, probe_subject=probe_subject,
                      gallery_subject=gallery_subject, mated=mated, row_search=lists.search,
                      row_candidate=lists.candidate, row_subject=row_subject, row_score=lists.score,
                      before_mate=before_mate,
                      mate_listed=mate_listed, mate_score=mate_score, starts=starts, listed=listed,
                      lengths=lists.lengths, max_rank=lists.max_rank)


def best_listed(data: SearchData, copies: np.ndarray) -> np.ndarray:
    """``(B, n_searches)``: each search's best score among rows with ``copies > 0``
    (``copies`` is ``(B, rows)``); -inf where none is left."""
    out = np.full((len(copies), data.n_searches), -np.inf)
    if len(data.starts):
        masked = np.where(copies > 0, data.row_score[None, :], -np.inf)
        out[:, data.listed] = np.maximum.reduceat(masked, data.starts, axis=1)
    return out


def copies_above_mate(data: SearchData, copies: np.ndarray) -> np.ndarray:
    """``(B, n_searches)``: copies of the non-mate candidates listed above each search's mate."""
    out = np.zeros((len(copies), data.n_searches))
    if len(data.starts):
        out[:, data.listed] = np.add.reduceat(copies * data.before_mate[None, :], data.starts, axis=1)
    return out


def fpir_thresholds(best: np.ndarray, weight: np.ndarray, nonmated: np.ndarray, target: float) -> np.ndarray:
    """Per replicate, the threshold at which the weighted share of non-mated searches whose
    best candidate scores at or above it is at most ``target`` (the counts core's rule:
    the smallest such score). -inf when no non-mated search returns anything; NaN when
    there are no non-mated searches."""
    out = np.full(len(best), np.nan)
    for b in range(len(best)):
        w = weight[b, nonmated]
        total = w.sum()
        if total <= 0:
            continue
        scores = best[b, nonmated]
        keep = np.isfinite(scores) & (w > 0)
        if not keep.any():
            out[b] = -np.inf
            continue
        ordered = SortedScores.of(scores[keep])
        thresholds, _ = target_thresholds(ordered, ordered.prefix(w[keep][None, :]), np.array([total]), target)
        out[b] = thresholds[0]
    return out


@dataclass(frozen=True)
class Outcomes:
    """Per replicate (rows) and search (columns): the copies of each search and what it found.

    ``miss_*`` concern mated searches, ``false_positive`` non-mated ones (False elsewhere);
    ``*_at`` are at the threshold (all False when there is none). ``false_rows``: copies of
    each candidate row that is a false candidate at the threshold ``(B, rows)``.
    """

    threshold: np.ndarray
    weight: np.ndarray
    false_positive: np.ndarray
    miss_rank1: np.ndarray
    miss_rank_r: np.ndarray
    miss_rank1_at: np.ndarray
    miss_rank_r_at: np.ndarray
    false_rows: np.ndarray
    best: np.ndarray


def outcomes(data: SearchData, search_weights: np.ndarray, *, rank: int, fixed_threshold: float | None,
             target: float, gallery_copies: np.ndarray | None = None) -> Outcomes:
    """Everything the figures count. ``search_weights`` ``(B, n_subjects)``: copies of each
    person's searches; ``gallery_copies`` (same shape): copies of each person's gallery
    samples (None: one each, the gallery as it is). The threshold is ``fixed_threshold``
    (similarity scale) or set for ``target`` FPIR in every replicate."""
    w = np.asarray(search_weights, np.float64)
    weight = w[:, data.probe_subject]
    if gallery_copies is None:
        copies = np.ones((1, len(data.row_subject)))
        best = np.broadcast_to(best_listed(data, copies), (len(w), data.n_searches))
        above = np.broadcast_to(copies_above_mate(data, copies), (len(w), data.n_searches))
    else:
        copies = np.asarray(gallery_copies, np.float64)[:, data.row_subject]
        best = best_listed(data, copies)
        above = copies_above_mate(data, copies)
    if fixed_threshold is not None:
        threshold = np.full(len(w), float(fixed_threshold))
    else:
        threshold = fpir_thresholds(best, weight, data.nonmated, target)
    defined = ~np.isnan(threshold)
    t = np.where(defined, threshold, np.inf)[:, None]
    false_positive = data.nonmated[None, :] & (best >= t)
    listed = data.mated & data.mate_listed
    found_rank1 = listed[None, :] & (above == 0)
    found_rank_r = listed[None, :] & (1 + above <= rank)
    reaches = data.mate_score[None, :] >= t
    mated = data.mated[None, :]
    false_rows = np.where(data.nonmated[data.row_search][None, :] & (data.row_score[None, :] >= t),
                          copies * weight[:, data.row_search], 0.0)
    return Outcomes(threshold=threshold, weight=weight, false_positive=false_positive,
                    miss_rank1=mated & ~found_rank1, miss_rank_r=mated & ~found_rank_r,
                    miss_rank1_at=mated & ~(found_rank1 & reaches) & defined[:, None],
                    miss_rank_r_at=mated & ~(found_rank_r & reaches) & defined[:, None],
                    false_rows=false_rows, best=best)


@dataclass(frozen=True)
class GroupCoding:
    """One attribute's groups: probe codes ``(n_searches,)`` and candidate codes ``(rows,)``
    into ``names`` (-1: no label); column 0 of ``members`` is every search."""

    @property
    def overall(self) -> str:
        """The name of the row of every search: 'all', unless a group is called that."""
        return EVERYONE if EVERYONE not in self.names else "every search"

    attribute: str
    names: tuple[str, ...]
    probe_code: np.ndarray
    row_code: np.ndarray
    members: sparse.csr_matrix
    cells: sparse.csr_matrix

    @classmethod
    def of(cls, attribute: str, names: tuple[str, ...], probe_code: np.ndarray, gallery_code: np.ndarray,
           data: SearchData) -> GroupCoding:
        g = len(names)
        n = data.n_searches
        labelled = probe_code >= 0
        rows = np.r_[np.arange(n), np.flatnonzero(labelled)]
        columns = np.r_[np.zeros(n, np.int64), 1 + probe_code[labelled]]
        members = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(n, g + 1))
        row_code = gallery_code[data.row_candidate]
        search_code = probe_code[data.row_search]
        both = (search_code >= 0) & (row_code >= 0)
        index = np.flatnonzero(both)
        cells = sparse.csr_matrix((np.ones(len(index)), (index, search_code[both] * g + row_code[both])),
                                  shape=(len(data.row_search), g * g))
        return cls(attribute, names, probe_code, row_code, members, cells)


@dataclass(frozen=True)
class GroupTotals:
    """Per replicate (rows) and group (columns; 0 = every search): weighted searches and events."""

    nonmated: np.ndarray
    false_positives: np.ndarray
    mated: np.ndarray
    miss_rank1: np.ndarray
    miss_rank_r: np.ndarray
    miss_rank1_at: np.ndarray
    miss_rank_r_at: np.ndarray
    sources: np.ndarray

    @classmethod
    def of(cls, out: Outcomes, data: SearchData, coding: GroupCoding) -> GroupTotals:
        def total(mask: np.ndarray) -> np.ndarray:
            return np.asarray((coding.members.T @ (out.weight * mask).T).T)

        return cls(nonmated=total(data.nonmated[None, :]), false_positives=total(out.false_positive),
                   mated=total(data.mated[None, :]), miss_rank1=total(out.miss_rank1),
                   miss_rank_r=total(out.miss_rank_r), miss_rank1_at=total(out.miss_rank1_at),
                   miss_rank_r_at=total(out.miss_rank_r_at),
                   sources=np.asarray((coding.cells.T @ out.false_rows.T).T))

    @classmethod
    def stacked(cls, blocks: list[GroupTotals]) -> GroupTotals:
        return cls(**{name: np.concatenate([getattr(b, name) for b in blocks])
                      for name in cls.__dataclass_fields__})

"""Candidate lists: what a search returns, the one type both modes of the audit read.

A vendor's lists come from a CSV or Parquet file (`read_candidates`: probe id, rank, candidate
id, score), unseen's own from `unseen.audit.identification.search`; `write_candidates` writes
either back as a file `read_candidates` reads, so the two modes can be checked against
each other. Scores are kept on the similarity scale (higher = more alike); distances are
negated on the way in and written back as distances.

A probe is never its own candidate: where the same sample is in both tables (the same id,
or in the images mode the same photo), that row is left out and the list closes up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from unseen.audit.identification.samples import Samples, read_table
from unseen.audit.recognition.comparisons import ScoreScale
from unseen.media.files import write_csv_table
from unseen.errors import ConfigError, InputFileError
from unseen.media.files import write_atomic

NO_SAMPLE = -1


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def same_samples(probes: Samples, gallery: Samples) -> np.ndarray:
    """For each probe, the gallery index of the sample with the same id, else `NO_SAMPLE`."""
    position = {sample_id: j for j, sample_id in enumerate(gallery.ids)}
    return np.array([position.get(sample_id, NO_SAMPLE) for sample_id in probes.ids], np.int64)


@dataclass(frozen=True, eq=False)
class CandidateLists:
    """Every search's candidate list: one row per candidate, rows grouped by search in rank order.

    - ``search``: ``(n,)`` the probe (index into ``probes``) each row belongs to, non-decreasing;
    - ``candidate``: ``(n,)`` the gallery sample (index into ``gallery``);
    - ``score``: ``(n,)`` similarity (distances negated); ``scale`` how the input read;
    - ``max_rank``: the list length asked for (R); a list may be shorter, or empty;
    - ``same_sample``: ``(n_probes,)`` the gallery index of each probe's own sample (never
      its candidate), `NO_SAMPLE` where it is not in the gallery;
    - ``system``: the model or vendor system that searched; ``notes``: what a reader must know.
    """

    probes: Samples
    gallery: Samples
    search: np.ndarray
    candidate: np.ndarray
    score: np.ndarray
    max_rank: int
    same_sample: np.ndarray
    scale: ScoreScale = ScoreScale.SIMILARITY
    system: str = "system"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        search = np.asarray(self.search, np.int64)
        candidate = np.asarray(self.candidate, np.int64)
        score = np.asarray(self.score, np.float64)
        same = np.asarray(self.same_sample, np.int64)
        n = len(search)
        if candidate.shape != (n,) or score.shape != (n,):
            raise ConfigError(f"CandidateLists: search, candidate and score need one value per row; got shapes "
                              f"{search.shape}, {candidate.shape}, {score.shape}")
        if same.shape != (len(self.probes),):
            raise ConfigError(f"CandidateLists.same_sample: expected one per probe ({len(self.probes)}), "
                              f"got {same.shape}")
        if n and (search.min() < 0 or search.max() >= len(self.probes) or np.any(np.diff(search) < 0)):
            raise ConfigError("CandidateLists.search: rows must be grouped by probe (indices into the probes, "
                              "non-decreasing)")
        if n and (candidate.min() < 0 or candidate.max() >= len(self.gallery)):
            raise ConfigError("CandidateLists.candidate: indices must point into the gallery")
        if not np.all(np.isfinite(score)):
            raise ConfigError("CandidateLists.score: every score must be a finite number")
        if self.max_rank < 1:
            raise ConfigError(f"--rank: expected a list length of at least 1, got {self.max_rank}")
        lengths = np.bincount(search, minlength=len(self.probes))
        if np.any(lengths > self.max_rank):
            raise ConfigError(f"CandidateLists: a list holds {int(lengths.max())} candidates, more than the rank "
                              f"asked for ({self.max_rank})")
        if n and np.any(same[search] == candidate):
            raise ConfigError("CandidateLists: a probe is listed as its own candidate")
        pairs = search * len(self.gallery) + candidate
        if len(np.unique(pairs)) != n:
            raise InputFileError(f"{self.system}: a candidate is listed twice for one probe")
        for name, value in (("search", search), ("candidate", candidate), ("score", score), ("same_sample", same)):
            object.__setattr__(self, name, _frozen(value))
        object.__setattr__(self, "scale", ScoreScale.parse(self.scale, "--score-scale"))

    # -- construction -------------------------------------------------------------------
    @classmethod
    def build(cls, *, probes: Samples, gallery: Samples, search: Any, rank: Any, candidate: Any, score: Any,
              max_rank: int | None = None, scale: ScoreScale | str = ScoreScale.SIMILARITY,
              same_sample: np.ndarray | None = None, system: str = "system",
              notes: Sequence[str] = ()) -> CandidateLists:
        """From rows in any order: ``rank`` 1, 2, ... within each probe; ``score`` in the
        input's own ``scale``. Rows naming the probe's own sample are left out (the list
        closes up); lists longer than ``max_rank`` (default: the longest) are cut."""
        scale = ScoreScale.parse(scale, "--score-scale")
        search = np.asarray(search, np.int64)
        rank = np.asarray(rank, np.int64)
        candidate = np.asarray(candidate, np.int64)
        similarity = scale.to_similarity(score)
        same = same_samples(probes, gallery) if same_sample is None else np.asarray(same_sample, np.int64)
        _check_ranks(search, rank, system)
        order = np.lexsort((rank, search))
        search, candidate, similarity = search[order], candidate[order], similarity[order]
        notes = list(notes)
        own = same[search] == candidate
        if own.any():
            notes.append(f"{int(own.sum())} candidate(s) were the probe's own sample (the same sample in both "
                         "tables); left out, and the lists closed up")
            search, candidate, similarity = search[~own], candidate[~own], similarity[~own]
        position = _positions(search)
        longest = int(position.max()) if len(position) else 1
        if max_rank is None:
            max_rank = max(longest, 1)
        elif longest > max_rank:
            keep = position <= max_rank
            notes.append(f"lists cut to rank {max_rank} ({int((~keep).sum())} candidates further down left out)")
            search, candidate, similarity = search[keep], candidate[keep], similarity[keep]
        return cls(probes=probes, gallery=gallery, search=search, candidate=candidate, score=similarity,
                   max_rank=int(max_rank), same_sample=same, scale=scale, system=system, notes=tuple(notes))

    # -- access -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.search)

    @property
    def rank(self) -> np.ndarray:
        """Each row's rank in its list (1 = the best candidate)."""
        return _positions(self.search)

    @property
    def lengths(self) -> np.ndarray:
        """``(n_probes,)`` candidates listed per search."""
        return np.bincount(self.search, minlength=len(self.probes))

    def input_scores(self) -> np.ndarray:
        """Scores as the input reads them (distances as distances)."""
        return -self.score if self.scale is ScoreScale.DISTANCE else self.score.copy()

    def rows(self) -> list[dict[str, Any]]:
        """One row per candidate: ``probe_id``, ``rank``, ``candidate_id``, ``score`` (input scale)."""
        return [{"probe_id": str(p), "rank": int(r), "candidate_id": str(c), "score": float(s)}
                for p, r, c, s in zip(self.probes.ids[self.search], self.rank, self.gallery.ids[self.candidate],
                                      self.input_scores())]


def _positions(search: np.ndarray) -> np.ndarray:
    """1-based position of each row within its (grouped) search."""
    if len(search) == 0:
        return np.zeros(0, np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(search)) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, len(search)]))
    return np.arange(len(search)) - first + 1


def _check_ranks(search: np.ndarray, rank: np.ndarray, system: str) -> None:
    if len(rank) == 0:
        return
    if rank.min() < 1:
        raise InputFileError(f"{system}: ranks start at 1; found {int(rank.min())}")
    order = np.lexsort((rank, search))
    s, r = search[order], rank[order]
    if np.any((np.diff(s) == 0) & (np.diff(r) == 0)):
        raise InputFileError(f"{system}: a probe has two candidates at the same rank")
    expected = _positions(s)
    if np.any(r != expected):
        bad = int(np.flatnonzero(r != expected)[0])
        raise InputFileError(f"{system}: the ranks of a list must run 1, 2, 3, ... without gaps; a probe's list "
                             f"has rank {int(r[bad])} where rank {int(expected[bad])} was expected")


# -- files ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CandidateColumns:
    """Column names of a candidate-list file; None: found among the usual names."""

    probe: str | None = None
    rank: str | None = None
    candidate: str | None = None
    score: str | None = None


USUAL_NAMES = {
    "probe": ("probe_id", "probe", "search_id", "query_id"),
    "rank": ("rank",),
    "candidate": ("candidate_id", "candidate", "gallery_id", "match_id"),
    "score": ("score", "similarity", "distance"),
}


def _column(frame, given: str | None, role: str, path: Path) -> str:
    if given is not None:
        if given not in frame.columns:
            raise ConfigError(f"--{role}-column: {given!r} is not a column of {path.name}; it has "
                              f"{list(frame.columns)}")
        return given
    for name in USUAL_NAMES[role]:
        if name in frame.columns:
            return name
    raise ConfigError(f"--candidates {path.name}: no {role} column (looked for {list(USUAL_NAMES[role])}); it has "
                      f"{list(frame.columns)}. Name it with --{role}-column")


def _indices(values: np.ndarray, samples: Samples, what: str, path: Path) -> np.ndarray:
    position = {sample_id: i for i, sample_id in enumerate(samples.ids)}
    index = np.array([position.get(v, NO_SAMPLE) for v in values], np.int64)
    unknown = index == NO_SAMPLE
    if unknown.any():
        raise InputFileError(f"--candidates {path.name}: {int(unknown.sum())} row(s) name a {what} id that is not in "
                             f"the {samples.role} table {samples.source or ''} (first: {str(values[unknown][0])!r})")
    return index


def read_candidates(path: str | Path, *, probes: Samples, gallery: Samples,
                    columns: CandidateColumns = CandidateColumns(),
                    scale: ScoreScale | str = ScoreScale.SIMILARITY, max_rank: int | None = None,
                    system: str | None = None) -> CandidateLists:
    """A vendor's candidate lists (CSV or Parquet: probe id, rank, candidate id, score).

    Every probe of ``probes`` is a search; one that never appears in the file returned an
    empty list. ``max_rank`` (R) defaults to the longest list in the file.
    """
    path = Path(path)
    frame = read_table(path, "--candidates")
    names = {role: _column(frame, getattr(columns, role), role, path) for role in USUAL_NAMES}
    notes = [f"candidate lists from {path.name}"]
    if columns.score is None and names["score"] == "distance" and ScoreScale.parse(scale) is ScoreScale.SIMILARITY:
        scale = ScoreScale.DISTANCE
        notes.append("scores read as distances (lower = more alike): the column is named 'distance'")
    text = {role: frame[names[role]].astype("string").fillna("").str.strip().to_numpy(dtype=str)
            for role in ("probe", "candidate")}
    try:
        rank = np.asarray(frame[names["rank"]].astype(float), np.float64)
        score = np.asarray(frame[names["score"]].astype(float), np.float64)
    except (TypeError, ValueError) as error:
        raise InputFileError(f"--candidates {path.name}: ranks and scores must be numbers ({error})") from None
    bad = ~np.isfinite(rank) | ~np.isfinite(score) | (rank != np.round(rank))
    if bad.any():
        raise InputFileError(f"--candidates {path.name}: {int(bad.sum())} row(s) have a missing or non-numeric "
                             f"rank or score (first: row {int(np.flatnonzero(bad)[0]) + 2} of the file)")
    search = _indices(text["probe"], probes, "probe", path)
    candidate = _indices(text["candidate"], gallery, "candidate", path)
    return CandidateLists.build(probes=probes, gallery=gallery, search=search, rank=rank.astype(np.int64),
                                candidate=candidate, score=score, max_rank=max_rank, scale=scale,
                                system=system or path.stem, notes=notes)


def write_candidates(path: str | Path, lists: CandidateLists) -> Path:
    """Write the lists as CSV (or Parquet by the suffix) in the layout `read_candidates` reads:
    ``probe_id, rank, candidate_id`` and ``score``, or ``distance`` for a distance model (so
    reading it back needs no scale)."""
    path = Path(path)
    score = "distance" if lists.scale is ScoreScale.DISTANCE else "score"
    rows = [{**row, score: row.pop("score")} for row in lists.rows()]
    columns = ("probe_id", "rank", "candidate_id", score)
    if path.suffix.lower() in (".parquet", ".pq"):
        import pandas as pd

        frame = pd.DataFrame(rows, columns=list(columns))
        return write_atomic(path, lambda temporary: frame.to_parquet(temporary, index=False))
    return write_csv_table(path, rows, columns=columns)


def write_samples(path: str | Path, samples: Samples) -> Path:
    """The probe or gallery table as CSV: ``id``, ``subject`` and the label columns."""
    return write_csv_table(path, samples.rows(), columns=("id", "subject", *samples.attributes))

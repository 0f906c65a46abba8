"""What an identification audit found: per attribute, FPIR and FNIR per probe group with
intervals and flags, each group's own threshold, where false candidates come from, and FPIR
against the gallery's size and make-up."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unseen.audit.identification.config import IdentificationConfig
from unseen.audit.recognition.comparisons import ScoreScale
from unseen.audit.stats.rates import RateTable


@dataclass(frozen=True)
class CandidateSources:
    """False candidates at the threshold (candidates of non-mated searches scoring at or above
    it) by probe group (rows) and the candidate's group (columns): ``counts``, each row's
    ``share`` with its interval ``share_ci`` ``(G, G, 2)``, and ``gallery_share``: each group's
    share of the gallery samples (what the shares would be if false candidates came from
    anyone alike)."""

    names: tuple[str, ...]
    counts: np.ndarray
    share: np.ndarray
    share_ci: np.ndarray
    gallery_share: np.ndarray


@dataclass(frozen=True)
class GalleryCurve:
    """FPIR at the threshold against the number of people in the gallery (``sizes``), each
    size averaged over ``draws`` random galleries of that many gallery people. Rows of
    ``fpir`` / ``ci`` ``(len(names), len(sizes)[, 2])``: every non-mated search, then each group.
    ``incomplete``: non-mated searches whose full list reaches the threshold at rank R, so a
    smaller gallery could have brought up a candidate the list does not hold (their FPIR at
    smaller sizes is then a lower bound)."""

    names: tuple[str, ...]
    sizes: np.ndarray
    fpir: np.ndarray
    ci: np.ndarray
    draws: int
    incomplete: int


@dataclass(frozen=True)
class MakeUpCurve:
    """FPIR of each probe group (rows) against the share of its own group among ``size``
    gallery people (``shares``), averaged over ``draws`` random galleries per share;
    ``actual_share``: each group's share of the whole gallery's people."""

    names: tuple[str, ...]
    size: int
    shares: np.ndarray
    fpir: np.ndarray
    ci: np.ndarray
    draws: int
    actual_share: np.ndarray


@dataclass(frozen=True)
class AttributeAudit:
    """One attribute's figures. Every `RateTable` has the overall row first (every search),
    then one row per probe group. FNIR tables are at rank 1 and rank R, without and at the
    threshold (None when there is no threshold). ``own_threshold`` (similarity scale) is
    the threshold at which that row's searches alone reach the target FPIR (with a fixed
    threshold: the FPIR every search reaches there); ``threshold_shift`` = own - global.
    ``people``: probe subjects per row."""

    attribute: str
    label_source: str
    fpir: RateTable
    fnir_rank1: RateTable
    fnir_rank_r: RateTable
    fnir_rank1_at: RateTable | None
    fnir_rank_r_at: RateTable | None
    own_threshold: np.ndarray
    threshold_shift: np.ndarray
    people: np.ndarray
    sources: CandidateSources
    gallery_size: GalleryCurve | None
    make_up: MakeUpCurve | None
    notes: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Row names: 'all', then the groups."""
        return self.fpir.names

    @property
    def groups(self) -> tuple[str, ...]:
        return self.fpir.names[1:]


@dataclass(frozen=True)
class IdentificationAudit:
    """One system's (model's or vendor's) identification audit, and how it was made.

    ``threshold`` is on the similarity scale (NaN when none can be set: no non-mated
    searches); ``threshold_input`` in the lists' own scale; ``threshold_ci`` its bootstrap
    interval (input scale) when it was set for a target FPIR.
    """

    system: str
    config: IdentificationConfig
    scale: ScoreScale
    threshold: float
    threshold_input: float
    threshold_ci: np.ndarray
    rank: int
    max_rank: int
    n_searches: int
    n_mated: int
    n_nonmated: int
    n_empty_lists: int
    n_gallery: int
    n_gallery_people: int
    n_probe_people: int
    attributes: tuple[AttributeAudit, ...]
    flags: tuple[str, ...]
    notes: tuple[str, ...]
    caveats: tuple[str, ...]
    probes_source: str = ""
    gallery_source: str = ""
    bootstrap_replicates: int = 0

    @property
    def has_threshold(self) -> bool:
        return not np.isnan(self.threshold)

    def attribute(self, name: str | None = None) -> AttributeAudit:
        if name is None:
            return self.attributes[0]
        for item in self.attributes:
            if item.attribute == name:
                return item
        from unseen.errors import unknown_choice

        raise unknown_choice("attribute", name, [a.attribute for a in self.attributes])

"""What a verification audit found: per model, attribute and operating point, the
per-group rates, the cross-group FMR matrix and the summary measures; per group the
threshold-free score figures."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from unseen.audit.recognition.comparisons import Provenance, ScoreScale
from unseen.audit.stats.rates import RateTable
from unseen.audit.verification.config import BootstrapUnit, OperatingPoint, VerificationConfig
from unseen.audit.verification.metrics import DetCurve
from unseen.errors import unknown_choice


@dataclass(frozen=True)
class GroupRates:
    """Per-group figures at one operating point, over the same groups: FMR (false matches
    out of same-group non-mated pairs) and FNMR (misses out of the group's mated pairs) as
    rate tables, accuracy with its interval, each group's own threshold for the target and
    its shift from the global one, and what a reader must know about each group."""

    fmr: RateTable
    fnmr: RateTable
    accuracy: np.ndarray
    accuracy_ci: np.ndarray
    group_threshold: np.ndarray
    threshold_shift: np.ndarray
    flags: tuple[tuple[str, ...], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return self.fmr.labels


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
    provenance: Provenance | None = None
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

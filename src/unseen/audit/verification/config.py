"""Modes and options of a verification audit: how thresholds are set, which rates feed the
summary measures, what the bootstrap draws."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unseen.audit.stats import fairness
from unseen.choices import Choice
from unseen.errors import ConfigError


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

"""Threshold-level and score-level figures of one set of mated and non-mated scores: the
threshold for a target FMR, FMR / FNMR at a threshold, DET curve, d' and ROC AUC.

A comparison is a match when ``score >= threshold`` (ties at the threshold match).
`threshold_for_fmr` returns a non-mated score (or the next number above the largest one),
chosen so the FMR is *at most* the target, as bob.measure's ``far_threshold`` does; with
ties the FMR reached can be below the target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unseen.audit.stats.counts import SortedScores, count_at_or_above
from unseen.errors import ConfigError


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
    return SortedScores.of(scores).threshold_at_most(target_fmr)


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
    thresholds = np.array([sorted_nm.threshold_at_most(t) for t in targets])
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

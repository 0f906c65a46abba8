"""Summary measures of how unequal per-group rates are (AUDIT-METRICS.md, "Summary measures").

Every function takes per-group values on the last axis, so the same code serves a point
estimate ``(G,)`` and bootstrap replicates ``(R, G)``. Ratios of rates are undefined when a
rate is zero; `with_zero_bounds` replaces zeros by their rule-of-three upper bound first
(the ratio then becomes a lower bound), and callers flag the figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unseen.errors import ConfigError

DEFAULT_ALPHA = 0.5
"""Weight of FMR against FNMR in FDR, IR and GARBE, as in the papers that defined them."""


def _rates(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 0 or array.shape[-1] < 2:
        raise ConfigError(f"per-group values: expected at least 2 groups on the last axis, got shape {array.shape}")
    return array


def with_zero_bounds(rates: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """``rates`` with every zero replaced by the matching upper ``bounds`` (same shape)."""
    rates = np.asarray(rates, dtype=np.float64)
    return np.where(rates == 0, np.broadcast_to(bounds, rates.shape), rates)


def max_min_ratio(rates: np.ndarray) -> np.ndarray:
    x = _rates(rates)
    with np.errstate(divide="ignore", invalid="ignore"):
        return x.max(axis=-1) / x.min(axis=-1)


def max_min_difference(rates: np.ndarray) -> np.ndarray:
    x = _rates(rates)
    return x.max(axis=-1) - x.min(axis=-1)


def max_mean_ratio(rates: np.ndarray) -> np.ndarray:
    x = _rates(rates)
    with np.errstate(divide="ignore", invalid="ignore"):
        return x.max(axis=-1) / x.mean(axis=-1)


def max_geomean_ratio(rates: np.ndarray) -> np.ndarray:
    """``max x_g / (prod x_g)^(1/G)``: NIST's preferred form (2022). Zero rate -> inf."""
    x = _rates(rates)
    with np.errstate(divide="ignore", invalid="ignore"):
        geomean = np.exp(np.mean(np.log(x), axis=-1))
        return x.max(axis=-1) / geomean


def gini(rates: np.ndarray) -> np.ndarray:
    """``G/(G-1) * sum_i sum_j |x_i - x_j| / (2 G^2 mean(x))``: 0 equal, 1 all in one group."""
    x = _rates(rates)
    g = x.shape[-1]
    pairwise = np.abs(x[..., :, None] - x[..., None, :]).sum(axis=(-1, -2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return g / (g - 1) * pairwise / (2 * g * g * x.mean(axis=-1))


def fairness_discrepancy_rate(fmr: np.ndarray, fnmr: np.ndarray, *, alpha: float = DEFAULT_ALPHA) -> np.ndarray:
    """FDR (de Freitas Pereira & Marcel): ``1 - (a max|dFMR| + (1-a) max|dFNMR|)``; 1 is fair."""
    _check_alpha(alpha)
    return 1.0 - (alpha * max_min_difference(fmr) + (1 - alpha) * max_min_difference(fnmr))


def inequity_rate(fmr: np.ndarray, fnmr: np.ndarray, *, alpha: float = DEFAULT_ALPHA) -> np.ndarray:
    """IR: ``(max FMR / min FMR)^a * (max FNMR / min FNMR)^(1-a)``; 1 is fair."""
    _check_alpha(alpha)
    return max_min_ratio(fmr) ** alpha * max_min_ratio(fnmr) ** (1 - alpha)


def garbe(fmr: np.ndarray, fnmr: np.ndarray, *, alpha: float = DEFAULT_ALPHA) -> np.ndarray:
    """GARBE (Howard et al.): ``a Gini(FMR) + (1-a) Gini(FNMR)``; 0 is fair."""
    _check_alpha(alpha)
    return alpha * gini(fmr) + (1 - alpha) * gini(fnmr)


def skewed_error_ratio(accuracy: np.ndarray) -> np.ndarray:
    """SER: ``max error / min error`` with error = 1 - accuracy; 1 is fair."""
    return max_min_ratio(1.0 - _rates(accuracy))


def accuracy_std(accuracy: np.ndarray) -> np.ndarray:
    """Population standard deviation (ddof = 0) of per-group accuracy."""
    return np.std(_rates(accuracy), axis=-1, ddof=0)


def _check_alpha(alpha: float) -> None:
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"alpha: expected a weight in [0, 1], got {alpha!r}")


SUMMARY_NAMES = (
    "fdr", "ir", "garbe", "ser", "std",
    "fmr_max_min", "fnmr_max_min", "fmr_max_geomean", "fnmr_max_geomean",
    "fmr_max_mean", "fnmr_max_mean", "fmr_max_minus_min", "fnmr_max_minus_min", "fmr_gini", "fnmr_gini",
)
"""Every summary measure `summary_measures` computes, in report order."""

RATIO_MEASURES = frozenset({"ir", "ser", "fmr_max_min", "fnmr_max_min", "fmr_max_geomean",
                            "fnmr_max_geomean", "fmr_max_mean", "fnmr_max_mean"})
"""Measures that are ratios: intervals in log space; a zero rate needs a bound."""


@dataclass(frozen=True)
class RateSet:
    """Per-group rates that feed the summary measures, on the last axis.

    ``fmr``/``fnmr`` are what FDR, IR and GARBE see (over non-mated/mated pairs, or over all
    pairs of a group under the papers' "all pairs" convention); ``fmr_own``/``fnmr_own`` are
    always over non-mated/mated pairs and feed max/min, max/geomean and Gini.
    ``*_bound`` hold the rule-of-three bound used where the matching rate is zero.
    """

    fmr: np.ndarray
    fnmr: np.ndarray
    fmr_own: np.ndarray
    fnmr_own: np.ndarray
    accuracy: np.ndarray
    fmr_bound: np.ndarray
    fnmr_bound: np.ndarray
    error_bound: np.ndarray


def summary_measures(rates: RateSet, *, alpha: float = DEFAULT_ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """All `SUMMARY_NAMES` measures, shape ``(..., M)``, and which used a zero bound ``(..., M)``.

    Zero rates enter ratio measures as their upper bound (so the ratio is a lower bound);
    the second array says where that happened. FNMR-based measures are NaN when no group
    has mated pairs (an FMR-only audit), and every measure is NaN with a single group
    (there is nothing to compare).
    """
    fmr = np.asarray(rates.fmr, np.float64)
    if fmr.ndim == 0 or fmr.shape[-1] < 2:
        shape = (*fmr.shape[:-1], len(SUMMARY_NAMES)) if fmr.ndim else (len(SUMMARY_NAMES),)
        return np.full(shape, np.nan), np.zeros(shape, bool)
    fmr_b = with_zero_bounds(rates.fmr, rates.fmr_bound)
    fnmr_b = with_zero_bounds(rates.fnmr, rates.fnmr_bound)
    own_fmr_b = with_zero_bounds(rates.fmr_own, rates.fmr_bound)
    own_fnmr_b = with_zero_bounds(rates.fnmr_own, rates.fnmr_bound)
    error = 1.0 - np.asarray(rates.accuracy, np.float64)
    error_b = with_zero_bounds(error, rates.error_bound)
    fmr_zero = np.any(np.asarray(rates.fmr_own) == 0, axis=-1)
    fnmr_zero = np.any(np.asarray(rates.fnmr_own) == 0, axis=-1)
    error_zero = np.any(error == 0, axis=-1)
    columns = {
        "fdr": (fairness_discrepancy_rate(rates.fmr, rates.fnmr, alpha=alpha), False),
        "ir": (inequity_rate(fmr_b, fnmr_b, alpha=alpha), fmr_zero | fnmr_zero),
        "garbe": (garbe(rates.fmr, rates.fnmr, alpha=alpha), False),
        "ser": (max_min_ratio(error_b), error_zero),
        "std": (accuracy_std(rates.accuracy), False),
        "fmr_max_min": (max_min_ratio(own_fmr_b), fmr_zero),
        "fnmr_max_min": (max_min_ratio(own_fnmr_b), fnmr_zero),
        "fmr_max_geomean": (max_geomean_ratio(own_fmr_b), fmr_zero),
        "fnmr_max_geomean": (max_geomean_ratio(own_fnmr_b), fnmr_zero),
        "fmr_max_mean": (max_mean_ratio(rates.fmr_own), False),
        "fnmr_max_mean": (max_mean_ratio(rates.fnmr_own), False),
        "fmr_max_minus_min": (max_min_difference(rates.fmr_own), False),
        "fnmr_max_minus_min": (max_min_difference(rates.fnmr_own), False),
        "fmr_gini": (gini(rates.fmr_own), False),
        "fnmr_gini": (gini(rates.fnmr_own), False),
    }
    values = np.stack([np.asarray(columns[n][0], np.float64) for n in SUMMARY_NAMES], axis=-1)
    shape = values.shape
    bounded = np.stack([np.broadcast_to(columns[n][1], shape[:-1]) for n in SUMMARY_NAMES], axis=-1)
    return values, bounded

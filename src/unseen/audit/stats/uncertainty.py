"""Uncertainty primitives shared by every audit: intervals, bounds, cluster bootstrap, flags.

Nothing here knows about face verification or detection. The one idea that matters:
observations that share a person (pairs of faces) or a photo (faces in a crowd) are not
independent, so intervals come from a bootstrap that draws whole *clusters* (subjects,
images) with replacement within strata. A replicate is a vector of per-cluster draw counts;
every statistic that is a (ratio of) weighted sums becomes a matrix product, so 1,000
replicates stay fast.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import stats

from unseen.errors import ConfigError

DODDINGTON_ERRORS = 30
"""Doddington's rule of 30: about 30 observed errors give +-30% relative precision (90%)."""


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ConfigError(f"level: expected a confidence level strictly between 0 and 1, got {level!r}")


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2.0))


def wilson_interval(*, successes: np.ndarray | float, trials: np.ndarray | float,
                    level: float = 0.95) -> np.ndarray:
    """Wilson score interval for a binomial proportion, shape ``(..., 2)``.

    Assumes independent trials: for pairs that share subjects it is too narrow (use the
    cluster bootstrap). ``trials == 0`` gives ``[nan, nan]``.
    """
    _check_level(level)
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    if np.any(k < 0) or np.any(k > n):
        raise ConfigError("wilson_interval: expected 0 <= successes <= trials")
    z = _z(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denominator = 1.0 + z * z / n
        centre = (p + z * z / (2 * n)) / denominator
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
        low = np.clip(centre - half, 0.0, 1.0)
        high = np.clip(centre + half, 0.0, 1.0)
    low = np.where(k == 0, 0.0, low)
    high = np.where(k == n, 1.0, high)
    result = np.stack([low, high], axis=-1)
    result[n == 0] = np.nan
    return result


def zero_error_upper_bound(*, trials: np.ndarray | float, level: float = 0.95) -> np.ndarray:
    """Upper confidence bound on a rate when no error was seen in ``trials`` (rule of three).

    Exact binomial bound ``1 - (1 - level)^(1/n)``, about ``3 / n`` at 95%. ``trials`` should
    be the *effective* number of independent trials; with correlated trials the true bound is
    higher. ``trials == 0`` gives ``nan``.
    """
    _check_level(level)
    n = np.asarray(trials, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = 1.0 - np.power(1.0 - level, 1.0 / n)
    return np.where(n > 0, bound, np.nan)


def percentile_interval(replicates: np.ndarray, *, level: float = 0.95, axis: int = 0) -> np.ndarray:
    """Percentile bootstrap interval along ``axis``; the result has a trailing axis of 2.

    NaN replicates (a statistic undefined in that replicate) are ignored; infinities are
    kept, so a ratio whose denominator was sometimes zero can get an infinite upper end.
    """
    _check_level(level)
    values = np.moveaxis(np.asarray(replicates, dtype=np.float64), axis, -1)
    tail = (1.0 - level) / 2.0 * 100.0
    with warnings.catch_warnings():  # an all-NaN slice is a legitimate "undefined" here
        warnings.simplefilter("ignore", RuntimeWarning)
        low = np.nanpercentile(values, tail, axis=-1, method="linear")
        high = np.nanpercentile(values, 100.0 - tail, axis=-1, method="linear")
    return np.stack([low, high], axis=-1)


def log_percentile_interval(replicates: np.ndarray, *, level: float = 0.95, axis: int = 0) -> np.ndarray:
    """Percentile interval of a positive ratio computed in log space.

    Percentiles commute with the log, so the ends equal ``percentile_interval``; working in
    log space lets zeros (``-inf``) and infinite ratios (``+inf``) order correctly without
    interpolating between a finite value and infinity.
    """
    values = np.asarray(replicates, dtype=np.float64)
    if np.any(values < 0):
        raise ConfigError("log_percentile_interval: ratios must be >= 0")
    with np.errstate(divide="ignore"):
        logs = np.log(values)
    _check_level(level)
    moved = np.moveaxis(logs, axis, -1)
    tail = (1.0 - level) / 2.0
    ordered = np.sort(np.where(np.isnan(moved), np.inf, moved), axis=-1)
    n_valid = np.sum(~np.isnan(moved), axis=-1)
    low_index = np.clip(np.floor(tail * (n_valid - 1)).astype(int), 0, None)
    high_index = np.clip(np.ceil((1 - tail) * (n_valid - 1)).astype(int), 0, None)
    low = np.take_along_axis(ordered, low_index[..., None], axis=-1)[..., 0]
    high = np.take_along_axis(ordered, high_index[..., None], axis=-1)[..., 0]
    result = np.exp(np.stack([low, high], axis=-1))
    result[n_valid == 0] = np.nan
    return result


def bootstrap_p_value(differences: np.ndarray, *, axis: int = 0) -> np.ndarray:
    """Two-sided bootstrap p-value for "the difference is zero": ``2 * min(P(d <= 0), P(d >= 0))``.

    Takes the bootstrap replicates of a difference (or of a log ratio); NaNs are ignored.
    """
    values = np.moveaxis(np.asarray(differences, dtype=np.float64), axis, -1)
    valid = ~np.isnan(values)
    n = np.maximum(valid.sum(axis=-1), 1)
    at_most = np.sum((values <= 0) & valid, axis=-1) / n
    at_least = np.sum((values >= 0) & valid, axis=-1) / n
    return np.minimum(1.0, 2.0 * np.minimum(at_most, at_least))


def holm_adjust(p_values: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone), same order as the input."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ConfigError(f"holm_adjust: expected a 1-D array of p-values, got shape {p.shape}")
    m = len(p)
    order = np.argsort(p, kind="stable")
    scaled = (m - np.arange(m)) * p[order]
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate(scaled))
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return adjusted


def relative_precision(errors: np.ndarray | float, *, level: float = 0.90) -> np.ndarray:
    """Approximate half-width of the interval relative to the rate, ``z / sqrt(errors)``.

    Doddington's rule of 30: 30 errors give about +-30% at 90% confidence.
    """
    _check_level(level)
    e = np.asarray(errors, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(e > 0, _z(level) / np.sqrt(e), np.inf)


def trials_needed(*, rate: float, errors: int = DODDINGTON_ERRORS) -> int:
    """Independent trials needed to expect ``errors`` errors at ``rate`` (e.g. 3e5 for 1e-4)."""
    if not 0.0 < rate <= 1.0:
        raise ConfigError(f"rate: expected a rate in (0, 1], got {rate!r}")
    return int(np.ceil(errors / rate))


@dataclass(frozen=True)
class ClusterBootstrap:
    """Draw clusters with replacement within strata; a replicate is per-cluster counts.

    ``strata[c]`` is the stratum code of cluster ``c`` (e.g. the group of a subject, or one
    stratum for all images). In every replicate each stratum keeps its size: ``n_s`` draws
    with replacement from its ``n_s`` clusters. A cluster drawn twice counts twice; so an
    item belonging to cluster ``c`` gets weight ``counts[c]``, and a pair of two different
    clusters ``a, b`` gets ``counts[a] * counts[b]`` (every drawn copy of ``a`` meets every
    drawn copy of ``b``).
    """

    strata: np.ndarray

    def __post_init__(self) -> None:
        strata = np.asarray(self.strata)
        if strata.ndim != 1 or len(strata) == 0:
            raise ConfigError(f"ClusterBootstrap.strata: expected a non-empty 1-D array, got shape {strata.shape}")
        _, codes = np.unique(strata, return_inverse=True)
        object.__setattr__(self, "strata", codes.astype(np.int64))

    @property
    def n_clusters(self) -> int:
        return len(self.strata)

    def counts(self, *, rng: np.random.Generator, n_replicates: int) -> np.ndarray:
        """``(n_replicates, n_clusters)`` int32 draw counts; each row sums to ``n_clusters``."""
        if n_replicates < 1:
            raise ConfigError(f"n_replicates: expected >= 1, got {n_replicates}")
        out = np.zeros((n_replicates, self.n_clusters), dtype=np.int32)
        for stratum in range(int(self.strata.max()) + 1):
            members = np.flatnonzero(self.strata == stratum)
            size = len(members)
            if size == 0:
                continue
            out[:, members] = rng.multinomial(size, np.full(size, 1.0 / size), size=n_replicates)
        return out

    def chunks(self, *, rng: np.random.Generator, n_replicates: int,
               chunk_size: int = 64) -> Iterator[np.ndarray]:
        """The same draws as ``counts`` but in blocks of at most ``chunk_size`` replicates."""
        if chunk_size < 1:
            raise ConfigError(f"chunk_size: expected >= 1, got {chunk_size}")
        done = 0
        while done < n_replicates:
            size = min(chunk_size, n_replicates - done)
            yield self.counts(rng=rng, n_replicates=size)
            done += size


def cluster_sums(values: np.ndarray, *, cluster: np.ndarray, n_clusters: int) -> np.ndarray:
    """Sum of ``values`` (one per item) within each cluster, shape ``(n_clusters,)``."""
    return np.bincount(np.asarray(cluster, np.int64), weights=np.asarray(values, np.float64),
                       minlength=n_clusters)


def bootstrap_ratio(*, numerator: np.ndarray, denominator: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-replicate ratio of weighted sums: ``(counts @ numerator) / (counts @ denominator)``.

    ``numerator`` and ``denominator`` are per-cluster totals (see `cluster_sums`), e.g.
    missed faces and labelled faces per image for a recall interval. Replicates whose
    denominator is zero give NaN.
    """
    top = counts @ np.asarray(numerator, np.float64)
    bottom = counts @ np.asarray(denominator, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bottom > 0, top / bottom, np.nan)

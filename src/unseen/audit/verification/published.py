"""Audit from published per-group rates (no scores): summary measures per system, and medians.

The input is a wide table, one row per system (algorithm), with a column per rate and group
named ``<RATE><sep><group>`` such as ``FMR.F.Black`` / ``FNMR.F.Black`` (NIST FRVT Part 3
Annex 15's layout). Without counts there are no intervals; the figures inherit the rounding
of the source (NIST's figures are read to 0.1 decade).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unseen.audit.stats import fairness
from unseen.errors import ConfigError, InputFileError

RATE_NAMES = ("FMR", "FNMR")


@dataclass(frozen=True)
class PublishedRates:
    """``fmr`` and ``fnmr``: ``(systems, groups)``; NaN where the source gives no value."""

    systems: tuple[str, ...]
    groups: tuple[str, ...]
    fmr: np.ndarray
    fnmr: np.ndarray
    source: str = ""


@dataclass(frozen=True)
class PublishedRatesAudit:
    """Summary measures per system (``values``: ``(systems, measures)``) and their medians."""

    rates: PublishedRates
    measures: tuple[str, ...]
    values: np.ndarray
    medians: np.ndarray
    alpha: float

    def median(self, measure: str) -> float:
        return float(self.medians[self.measures.index(measure)])


def read_published_rates(path: str | Path, *, system_column: str | None = None, separator: str = ".") -> PublishedRates:
    """Read the wide table (see the module text). ``system_column`` defaults to the first column."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path)
    except Exception as error:  # any parse failure means the same to the user
        raise InputFileError(f"{path}: cannot read as CSV ({type(error).__name__}: {error})") from None
    system_column = system_column or frame.columns[0]
    if system_column not in frame.columns:
        raise ConfigError(f"--system: column {system_column!r} not in {path.name}; it has {list(frame.columns)}")
    columns = {}
    for column in frame.columns:
        rate, _, group = str(column).partition(separator)
        if rate.upper() in RATE_NAMES and group:
            columns[(rate.upper(), group)] = column
    groups = sorted({g for (_, g) in columns})
    if len(groups) < 2:
        raise ConfigError(f"{path.name}: expected columns named FMR{separator}<group> and FNMR{separator}<group> "
                          f"for at least 2 groups; found {list(frame.columns)[:8]}...")
    missing = [f"{r}{separator}{g}" for r in RATE_NAMES for g in groups if (r, g) not in columns]
    if missing:
        raise ConfigError(f"{path.name}: every group needs both rates; missing {missing}")

    def matrix(rate: str) -> np.ndarray:
        return frame[[columns[(rate, g)] for g in groups]].to_numpy(dtype=np.float64)

    fmr, fnmr = matrix("FMR"), matrix("FNMR")
    if np.any((fmr < 0) | (fmr > 1)) or np.any((fnmr < 0) | (fnmr > 1)):
        raise InputFileError(f"{path.name}: rates must be fractions in [0, 1] (not percents)")
    return PublishedRates(tuple(frame[system_column].astype(str)), tuple(groups), fmr, fnmr, path.name)


def audit_published_rates(rates: PublishedRates, *, alpha: float = fairness.DEFAULT_ALPHA) -> PublishedRatesAudit:
    """Every summary measure for every system. Accuracy-based ones (SER, STD) need class
    sizes the source does not give, so they are left out. Zero rates make ratios infinite."""
    nan = np.full_like(rates.fmr, np.nan)
    rate_set = fairness.RateSet(fmr=rates.fmr, fnmr=rates.fnmr, fmr_own=rates.fmr, fnmr_own=rates.fnmr,
                                accuracy=nan, fmr_bound=nan, fnmr_bound=nan, error_bound=nan)
    values, _ = fairness.summary_measures(rate_set, alpha=alpha)
    keep = [i for i, name in enumerate(fairness.SUMMARY_NAMES) if name not in ("ser", "std")]
    values = values[:, keep]
    measures = tuple(fairness.SUMMARY_NAMES[i] for i in keep)
    return PublishedRatesAudit(rates, measures, values, np.nanmedian(values, axis=0), alpha)

"""Audit from published per-group rates (no scores): summary measures per system, and medians.

The input is a wide table, one row per system (algorithm), with a column per rate and group
named ``<RATE><sep><group>`` such as ``FMR.F.Black`` / ``FNMR.F.Black`` (NIST FRVT Part 3
Annex 15's layout). Without counts there are no intervals; the figures inherit the rounding
of the source (NIST's figures are read to 0.1 decade).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from unseen.audit.recognition.readers import LINE, RowChecks
from unseen.audit.set_aside import RowProblem, SetAside
from unseen.audit.stats import fairness
from unseen.errors import ConfigError, InputFileError

RATE_NAMES = ("FMR", "FNMR")


@dataclass(frozen=True)
class PublishedRates:
    """``fmr`` and ``fnmr``: ``(systems, groups)``; NaN where the source gives no value.
    ``set_aside``: the rows (systems) left out, each named with why."""

    systems: tuple[str, ...]
    groups: tuple[str, ...]
    fmr: np.ndarray
    fnmr: np.ndarray
    source: str = ""
    set_aside: SetAside = field(default_factory=SetAside)


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


def read_published_rates(path: str | Path, *, system_column: str | None = None, separator: str = ".",
                         strict: bool = False) -> PublishedRates:
    """Read the wide table (see the module text). ``system_column`` defaults to the first column.

    An empty rate cell is a rate the source does not give (NaN). A row with a rate that is
    not a number, infinite or outside [0, 1], without a system name, or naming a system an
    earlier row named, is set aside and named (``strict``: an error); when every row has a
    rate above 1, the table holds percents and is refused.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path)
    except Exception as error:  # any parse failure means the same to the user
        raise InputFileError(f"{path}: cannot read as CSV ({type(error).__name__}: {error})") from None
    if len(frame.columns) == 0:
        raise InputFileError(f"{path}: no columns")
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
    frame[LINE] = np.arange(len(frame)) + 2
    rows = RowChecks(frame, str(path))
    systems = rows.texts(system_column, "system name")
    rates = {rate: _rates(rows, [columns[(rate, g)] for g in groups]) for rate in RATE_NAMES}
    kept = np.flatnonzero(rows.keep)
    repeated = np.zeros(len(frame), bool)
    repeated[kept] = pd.Series(systems).iloc[kept].duplicated().to_numpy()
    rows.set_aside(repeated, RowProblem.DUPLICATE, lambda r: f"system {systems[r]!r} again; the first row is kept")
    rows.require_some("systems")
    set_aside = rows.result(strict)
    keep = rows.keep
    return PublishedRates(tuple(systems[keep]), tuple(groups), rates["FMR"][keep], rates["FNMR"][keep], path.name,
                          set_aside)


def _rates(rows: RowChecks, names: list[str]) -> np.ndarray:
    """The rate columns as fractions: text and infinite values set aside (empty is NaN);
    values outside [0, 1] set aside, unless every row has one (percents: refused)."""
    import pandas as pd

    values = np.column_stack([pd.to_numeric(rows.frame[n], errors="coerce").to_numpy(np.float64) for n in names])
    given = np.column_stack([rows.frame[n].notna().to_numpy() for n in names])
    text = np.isnan(values) & given
    rows.set_aside(text.any(axis=1), RowProblem.NOT_A_NUMBER, _first_cell(rows, names, text))
    infinite = np.isinf(values)
    rows.set_aside(infinite.any(axis=1), RowProblem.INFINITE, _first_cell(rows, names, infinite))
    outside = (values < 0) | (values > 1)
    if rows.keep.any() and outside.any(axis=1)[rows.keep].all():
        raise InputFileError(f"{rows.file}: rates must be fractions in [0, 1] (not percents)")
    rows.set_aside(outside.any(axis=1), RowProblem.OUT_OF_RANGE, _first_cell(rows, names, outside, " is not in [0, 1]"))
    return values


def _first_cell(rows: RowChecks, names: list[str], mask: np.ndarray, after: str = ""):
    """A row's detail: the first of its cells ``mask`` marks, as ``column 'value'``."""
    def detail(row: int) -> str:
        column = names[int(np.argmax(mask[row]))]
        return f"{column} {str(rows.frame[column].iloc[row])!r}{after}"
    return detail


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

"""From the engine's counts to what the audit reports: per-group rates with intervals and
tests, the cross-group matrix, the summary measures, and the flags a reader needs.

The observed data is one replicate row; bootstrap replicates are many. Intervals are
percentile intervals of the replicates, except where no error was seen: then
``[0, rule-of-three bound]``. Group tests compare a group's rate with all pairs' in every
replicate (log ratio), Holm-adjusted over the groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unseen.audit.recognition.comparisons import Grouping, ScoreScale
from unseen.audit.stats import fairness, uncertainty
from unseen.audit.stats.rates import Group, RateTable
from unseen.audit.verification.config import OperatingPoint, RatesOver, ThresholdPolicy, VerificationConfig
from unseen.audit.verification.engine import Replicates
from unseen.audit.verification.metrics import d_prime, det_curve, roc_auc
from unseen.audit.verification.cells import PairData, same_group_cells
from unseen.audit.verification.results import (
    CrossGroupFMR, GroupRates, GroupScores, OperatingPointResult, Summary,
)


@dataclass(frozen=True)
class ReplicateRates:
    """Per replicate (rows) and group (columns): the counts behind the rates, and the rates.

    ``fm`` / ``nm``: false matches and same-group non-mated pairs; ``fnm`` / ``m``: misses
    and mated pairs; ``all_pairs = nm + m``. ``fmr_fed`` / ``fnmr_fed`` are what FDR, IR and
    GARBE see (`RatesOver`); ``cross``: FMR of every cell ``(R, G * G)``.
    """

    fm: np.ndarray
    fnm: np.ndarray
    nm: np.ndarray
    m: np.ndarray
    all_pairs: np.ndarray
    fmr: np.ndarray
    fnmr: np.ndarray
    accuracy: np.ndarray
    fmr_fed: np.ndarray
    fnmr_fed: np.ndarray
    cross: np.ndarray

    @classmethod
    def of(cls, rep: Replicates, rates_over: RatesOver) -> ReplicateRates:
        diagonal = same_group_cells(rep.fnm.shape[1])
        nm = rep.cell_total[:, diagonal]
        fm = rep.cell_fm[:, diagonal]
        m = rep.mated_total
        fnm = rep.fnm
        with np.errstate(invalid="ignore", divide="ignore"):
            fmr = fm / nm
            fnmr = fnm / m
            all_pairs = nm + m
            # without mated pairs a group's "accuracy" would be 1 - FMR: not an accuracy, so none
            accuracy = np.where(m > 0, (all_pairs - fm - fnm) / all_pairs, np.nan)
            if rates_over is RatesOver.ALL_PAIRS:
                fmr_fed, fnmr_fed = fm / all_pairs, fnm / all_pairs
            else:
                fmr_fed, fnmr_fed = fmr, fnmr
            cross = rep.cell_fm / rep.cell_total
        return cls(fm=fm, fnm=fnm, nm=nm, m=m, all_pairs=all_pairs, fmr=fmr, fnmr=fnmr, accuracy=accuracy,
                   fmr_fed=fmr_fed, fnmr_fed=fnmr_fed, cross=cross)


# -- intervals and tests ------------------------------------------------------------------
def interval(replicates: np.ndarray | None, observed_zero: np.ndarray, n: np.ndarray, level: float,
             bound: np.ndarray) -> np.ndarray:
    """Percentile intervals of ``replicates`` (NaN without them); ``[0, bound]`` where the
    observed count is zero over ``n > 0`` trials."""
    shape = observed_zero.shape
    if replicates is None:
        out = np.full((*shape, 2), np.nan)
    else:
        out = uncertainty.percentile_interval(replicates, level=level, axis=0)
    zero = observed_zero & (n > 0)
    out[zero] = np.stack([np.zeros(int(zero.sum())), bound[zero]], axis=-1)
    return out


def holm_p(rates: np.ndarray, overall: np.ndarray) -> np.ndarray:
    """Per group, the Holm-adjusted bootstrap p-value of "the group's rate equals all pairs'"."""
    with np.errstate(divide="ignore", invalid="ignore"):
        differences = np.log(rates) - np.log(overall)[:, None]
    differences = np.where(np.isnan(differences), np.nan, differences)
    p = uncertainty.bootstrap_p_value(differences, axis=0)
    valid = np.isfinite(p) & np.any(np.isfinite(differences), axis=0)
    out = np.full(len(p), np.nan)
    if valid.any():
        out[valid] = uncertainty.holm_adjust(p[valid])
    return out


def p_text(p: float, replicates: int) -> str:
    """A bootstrap p-value as the replicates can support it: never "0"."""
    return f"p < {1 / replicates:.2g}" if p == 0 and replicates > 0 else f"p = {p:.2g}"


# -- flags --------------------------------------------------------------------------------
def _rate_flags(errors: float, trials: float, rate: str, pairs: str, error: str) -> list[str]:
    """Why a rate of ``errors`` out of ``trials`` cannot be read plainly, if it cannot."""
    if trials == 0:
        return [f"no {pairs}: {rate} cannot be measured"]
    if errors == 0:
        return [f"no {error} seen: {rate} shown as an upper bound (rule of three)"]
    if errors < uncertainty.DODDINGTON_ERRORS:
        return [f"only {int(errors)} {error}es (< 30): {rate} uncertain by more than +-30%"]
    return []


def _count_flags(fm: float, fnm: float, nm: float, m: float, target: float | None) -> list[str]:
    items = _rate_flags(fm, nm, "FMR", "same-group non-mated pairs", "false match")
    if target is not None and 0 < nm < uncertainty.trials_needed(rate=target):
        items.append(f"{int(nm):,} non-mated pairs; FMR {target:g} needs "
                     f"{uncertainty.trials_needed(rate=target):,} for +-30%")
    return items + _rate_flags(fnm, m, "FNMR", "mated pairs", "false non-match")


def group_flags(rates: ReplicateRates, target: float | None, p_fmr: np.ndarray, p_fnmr: np.ndarray, level: float,
                replicates: int) -> tuple[tuple[str, ...], ...]:
    """Per group: too few errors or pairs for the figure, and a Holm-significant difference."""
    fm, fnm, nm, m = rates.fm[0], rates.fnm[0], rates.nm[0], rates.m[0]
    flags = []
    for k in range(len(fm)):
        items = _count_flags(fm[k], fnm[k], nm[k], m[k], target)
        if np.isfinite(p_fmr[k]) and p_fmr[k] < 1 - level:
            items.append(f"FMR differs from all pairs' (Holm-adjusted {p_text(p_fmr[k], replicates)})")
        if np.isfinite(p_fnmr[k]) and p_fnmr[k] < 1 - level:
            items.append(f"FNMR differs from all pairs' (Holm-adjusted {p_text(p_fnmr[k], replicates)})")
        flags.append(tuple(items))
    return tuple(flags)


def point_flags(point: OperatingPoint, observed: Replicates, boot: Replicates | None) -> tuple[str, ...]:
    """Whether the data can support the operating point's threshold at all."""
    flags = []
    if point.target_fmr is not None and point.policy is ThresholdPolicy.TARGET_FMR:
        n_nonmated = observed.global_nm[0]
        expected = point.target_fmr * n_nonmated
        if expected < 1:
            flags.append(f"target FMR {point.target_fmr:g} is below 1 / {int(n_nonmated):,} non-mated "
                         "pairs: the threshold sits above every non-mated score and cannot be estimated")
        elif expected < uncertainty.DODDINGTON_ERRORS:
            flags.append(f"only {expected:.1f} false matches allowed at FMR {point.target_fmr:g} over "
                         f"{int(n_nonmated):,} non-mated pairs: the threshold itself is uncertain")
    if boot is not None and np.any(boot.hit_floor):
        flags.append("some bootstrap replicates needed scores below the kept tail")
    return tuple(flags)


# -- the parts of a result ----------------------------------------------------------------
def group_rates(grouping: Grouping, point: OperatingPoint, observed: Replicates, boot: Replicates | None,
                config: VerificationConfig) -> GroupRates:
    """FMR and FNMR per group with intervals, tests and flags; accuracy; threshold shifts."""
    level = config.level
    obs = ReplicateRates.of(observed, config.rates_over)
    reps = ReplicateRates.of(boot, config.rates_over) if boot is not None else None
    fm, fnm, nm, m = obs.fm[0], obs.fnm[0], obs.nm[0], obs.m[0]
    g = len(grouping.names)
    fmr_ci = interval(reps.fmr if reps else None, fm == 0, nm, level,
                      uncertainty.zero_error_upper_bound(trials=nm, level=level))
    fnmr_ci = interval(reps.fnmr if reps else None, fnm == 0, m, level,
                       uncertainty.zero_error_upper_bound(trials=m, level=level))
    accuracy_ci = (uncertainty.percentile_interval(reps.accuracy, level=level, axis=0) if reps
                   else np.full((g, 2), np.nan))
    per_group = point.policy is ThresholdPolicy.PER_GROUP
    threshold = float(observed.threshold[0]) if not per_group else float("nan")
    group_threshold = observed.group_threshold[0]
    shift = group_threshold - threshold if not per_group else np.full(g, np.nan)
    p_fmr = p_fnmr = np.full(g, np.nan)
    if boot is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            p_fmr = holm_p(reps.fmr, boot.global_fm / boot.global_nm)
            if m.sum() > 0:
                p_fnmr = holm_p(reps.fnmr, boot.global_fnm / boot.global_m)
    flags = group_flags(obs, point.target_fmr, p_fmr, p_fnmr, level, len(boot.threshold) if boot is not None else 0)
    groups = tuple(Group(attribute=grouping.attribute, label=name, name=name) for name in grouping.names)
    differs = 1 - level
    return GroupRates(
        fmr=RateTable(groups=groups, trials=nm, events=fm, ci=fmr_ci, bound_only=(fm == 0) & (nm > 0),
                      p_holm=p_fmr, differs=p_fmr < differs),
        fnmr=RateTable(groups=groups, trials=m, events=fnm, ci=fnmr_ci, bound_only=(fnm == 0) & (m > 0),
                       p_holm=p_fnmr, differs=p_fnmr < differs),
        accuracy=obs.accuracy[0], accuracy_ci=accuracy_ci, group_threshold=group_threshold, threshold_shift=shift,
        flags=flags)


def cross_matrix(names: tuple[str, ...], observed: Replicates, boot: Replicates | None, ordered: bool,
                 config: VerificationConfig) -> CrossGroupFMR:
    """FMR of every (enrolled, probe) cell; unordered pairs mirror the upper triangle."""
    g = len(names)
    cross_fm = observed.cell_fm[0].reshape(g, g).copy()
    cross_n = observed.cell_total[0].reshape(g, g).copy()
    cross_rep = ReplicateRates.of(boot, config.rates_over).cross.reshape(-1, g, g) if boot is not None else None
    if not ordered:
        lower = np.tril_indices(g, -1)
        for array in (cross_fm, cross_n):
            array[lower] = array.T[lower]
        if cross_rep is not None:
            cross_rep = cross_rep.copy()
            cross_rep[:, lower[0], lower[1]] = cross_rep[:, lower[1], lower[0]]
    with np.errstate(invalid="ignore", divide="ignore"):
        cross_fmr = cross_fm / cross_n
    bound = uncertainty.zero_error_upper_bound(trials=cross_n, level=config.level)
    ci = interval(cross_rep, cross_fm == 0, cross_n, config.level, bound)
    return CrossGroupFMR(names, cross_fmr, ci, cross_fm, cross_n.astype(np.int64), ordered)


def summary_values(rates: ReplicateRates, config: VerificationConfig) -> tuple[np.ndarray, np.ndarray]:
    """Every summary measure per replicate, and where a zero rate was replaced by its bound."""
    fed_nm = rates.all_pairs if config.rates_over is RatesOver.ALL_PAIRS else rates.nm
    fed_m = rates.all_pairs if config.rates_over is RatesOver.ALL_PAIRS else rates.m
    rate_set = fairness.RateSet(
        fmr=rates.fmr_fed, fnmr=rates.fnmr_fed, fmr_own=rates.fmr, fnmr_own=rates.fnmr, accuracy=rates.accuracy,
        fmr_bound=uncertainty.zero_error_upper_bound(trials=fed_nm, level=config.level),
        fnmr_bound=uncertainty.zero_error_upper_bound(trials=fed_m, level=config.level),
        error_bound=uncertainty.zero_error_upper_bound(trials=rates.all_pairs, level=config.level))
    return fairness.summary_measures(rate_set, alpha=config.alpha)


def summary(observed: Replicates, boot: Replicates | None, config: VerificationConfig) -> Summary:
    """The summary measures with intervals (ratios in log space)."""
    values, bounded = summary_values(ReplicateRates.of(observed, config.rates_over), config)
    if boot is not None:
        rep_values, _ = summary_values(ReplicateRates.of(boot, config.rates_over), config)
        ratio = np.array([n in fairness.RATIO_MEASURES for n in fairness.SUMMARY_NAMES])
        ci = np.empty((len(fairness.SUMMARY_NAMES), 2))
        ci[ratio] = uncertainty.log_percentile_interval(np.clip(rep_values[:, ratio], 0, None), level=config.level,
                                                        axis=0)
        ci[~ratio] = uncertainty.percentile_interval(rep_values[:, ~ratio], level=config.level, axis=0)
    else:
        ci = np.full((len(fairness.SUMMARY_NAMES), 2), np.nan)
    return Summary(fairness.SUMMARY_NAMES, values[0], ci, bounded[0])


def assemble(model: str, grouping: Grouping, point: OperatingPoint, observed: Replicates, boot: Replicates | None,
             config: VerificationConfig, *, scale: ScoreScale, ordered: bool) -> OperatingPointResult:
    """One model, attribute and operating point, from its observed and bootstrap counts
    (``scale``: how the model's scores read; ``ordered``: side a is the enrolled one)."""
    per_group = point.policy is ThresholdPolicy.PER_GROUP
    threshold = float(observed.threshold[0]) if not per_group else float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        global_fmr = float(observed.global_fm[0] / observed.global_nm[0])
        global_fnmr = float(observed.global_fnm[0] / observed.global_m[0]) if observed.global_m[0] > 0 else np.nan
    threshold_ci = (uncertainty.percentile_interval(boot.threshold, level=config.level)
                    if boot is not None and not per_group else np.full(2, np.nan))
    return OperatingPointResult(
        model=model, attribute=grouping.attribute, point=point, threshold=threshold,
        threshold_input_scale=scale.from_similarity(threshold) if np.isfinite(threshold) else float("nan"),
        threshold_ci=np.sort(np.array([scale.from_similarity(v) for v in threshold_ci])),
        global_fmr=global_fmr, global_fnmr=global_fnmr, n_nonmated=int(observed.global_nm[0]),
        n_mated=int(observed.global_m[0]), groups=group_rates(grouping, point, observed, boot, config),
        cross=cross_matrix(grouping.names, observed, boot, ordered, config),
        summary=summary(observed, boot, config), flags=point_flags(point, observed, boot))


def group_scores(data: PairData, names: tuple[str, ...], bins: int = 60) -> GroupScores:
    """Threshold-free figures per group: d', ROC AUC, DET curve and score histograms of its
    mated and same-group non-mated pairs."""
    nonmated = ~data.mated
    low, high = float(data.score.min()), float(data.score.max())
    edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
    d_primes, aucs, dets, mated_hist, nonmated_hist = [], [], [], [], []
    for k, cell in enumerate(data.diagonal):
        mated_scores = data.score[data.mated & (data.group == k)]
        nonmated_scores = data.score[nonmated & (data.cell == cell)]
        d_primes.append(d_prime(mated=mated_scores, nonmated=nonmated_scores))
        aucs.append(roc_auc(mated=mated_scores, nonmated=nonmated_scores))
        dets.append(det_curve(mated=mated_scores, nonmated=nonmated_scores))
        mated_hist.append(np.histogram(mated_scores, bins=edges)[0])
        nonmated_hist.append(np.histogram(nonmated_scores, bins=edges)[0])
    return GroupScores(names, np.array(d_primes), np.array(aucs), tuple(dets), edges, np.array(mated_hist),
                       np.array(nonmated_hist))

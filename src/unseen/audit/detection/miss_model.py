"""Does a gap in detection by skin type survive face size, blur, occlusion, pose and light?

A logistic regression of "missed" (1 = no box matched the face) on skin type, fitted
twice: *raw* (skin type alone: the odds ratios restate the raw recall gap) and *adjusted*
(plus log2 face height, blur, occlusion, pose and illumination, where the pack has them).
An adjusted odds ratio near 1 with a raw one far from 1 says the gap is explained by those
conditions; one that stays away from 1 says it is not.

Faces in one photo share its light, blur and camera, so they are not independent:
intervals use standard errors clustered by image (the sandwich estimator; the analytic
counterpart of resampling whole images). Odds ratios compare each level with the first
(reference) level: > 1 means more often missed.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from unseen.audit.detection.pack import LabelledFaces
from unseen.choices import Choice
from unseen.errors import ConfigError

CONDITION_LEVELS = {
    "blur": ("clear", "normal blur", "heavy blur"),
    "occlusion": ("none", "partial occlusion", "heavy occlusion"),
    "pose": ("typical", "atypical pose"),
    "illumination": ("normal", "extreme illumination"),
}
"""WIDER FACE condition codes 0, 1, 2 and what they mean; the first is the reference."""

SIZE = "size"
"""The covariate log2 face height."""
SIZE_TERM = "face height x2"


class Adjustment(Choice):
    """What a miss model controls for besides the group: nothing, face size, or size and
    every WIDER condition the pack has."""

    RAW = "raw"
    SIZE_CONTROLLED = "size-controlled"
    ADJUSTED = "adjusted"

    def covariates(self, conditions: Sequence[str]) -> tuple[str, ...]:
        if self is Adjustment.RAW:
            return ()
        return (SIZE,) if self is Adjustment.SIZE_CONTROLLED else (SIZE, *conditions)


@dataclass(frozen=True)
class OddsRatio:
    """One term: ``variable`` (e.g. ``skin``), ``level`` (e.g. ``V-VI``), odds ratio and interval."""

    variable: str
    level: str
    reference: str
    value: float
    ci: tuple[float, float]
    p_value: float


@dataclass(frozen=True)
class MissModel:
    """A fitted model (or why it could not be fitted: ``note``)."""

    name: str
    covariates: tuple[str, ...]
    faces: int
    missed: int
    images: int
    odds_ratios: tuple[OddsRatio, ...]
    level: float
    note: str = ""

    @property
    def fitted(self) -> bool:
        return bool(self.odds_ratios)

    def for_variable(self, variable: str) -> tuple[OddsRatio, ...]:
        return tuple(o for o in self.odds_ratios if o.variable == variable)


@dataclass(frozen=True)
class _Design:
    matrix: np.ndarray
    terms: list[tuple[str, str, str]]  # (variable, level, reference) per column after the intercept


def _design(groups: np.ndarray, group_order: Sequence[str], faces: LabelledFaces, rows: np.ndarray,
            covariates: Sequence[str], group_name: str) -> _Design:
    columns, terms = [np.ones(int(rows.sum()))], []
    present = [g for g in group_order if np.any(groups[rows] == g)]
    for level in present[1:]:
        columns.append((groups[rows] == level).astype(float))
        terms.append((group_name, level, present[0]))
    for name in covariates:
        if name == SIZE:
            log_height = np.log2(faces.height[rows])
            columns.append(log_height - log_height.mean())
            terms.append((SIZE, SIZE_TERM, "per doubling"))
            continue
        codes = faces.conditions[name][rows]
        names = CONDITION_LEVELS[name]
        for code in range(1, len(names)):
            indicator = (codes == code).astype(float)
            if 0 < indicator.sum() < len(indicator):
                columns.append(indicator)
                terms.append((name, names[code], names[0]))
    return _Design(matrix=np.column_stack(columns), terms=terms)


def fit_miss_model(faces: LabelledFaces, detected: np.ndarray, *, groups: np.ndarray,
                   group_order: Sequence[str], where: np.ndarray, name: str,
                   covariates: Sequence[str] = (), group_name: str = "skin",
                   level: float = 0.95) -> MissModel:
    """Logistic regression of missed on the group (reference: first of ``group_order``
    present) and ``covariates`` ("size" and WIDER condition names), over faces ``where``
    whose group is in ``group_order`` and whose covariates are known."""
    import statsmodels.api as sm

    unknown = [c for c in covariates if c != SIZE and c not in CONDITION_LEVELS]
    if unknown:
        raise ConfigError(f"fit_miss_model: unknown covariate(s) {unknown}; choose from size, "
                          f"{', '.join(CONDITION_LEVELS)}")
    covariates = tuple(c for c in covariates if c == SIZE or c in faces.conditions)
    groups = np.asarray(groups).astype(str)
    rows = np.asarray(where, bool) & np.isin(groups, list(group_order)) & (faces.height > 0)
    for c in covariates:
        if c != SIZE:
            rows &= np.isfinite(faces.conditions[c])
    missed = ~np.asarray(detected, bool)[rows]
    empty = MissModel(name=name, covariates=covariates, faces=int(rows.sum()), missed=int(missed.sum()),
                      images=len(np.unique(faces.image_index[rows])), odds_ratios=(), level=level)
    if rows.sum() < 10 or missed.all() or not missed.any():
        return _with_note(empty, "too few faces, or no face (or every face) missed: nothing to compare")
    design = _design(groups, group_order, faces, rows, covariates, group_name)
    if not design.terms:
        return _with_note(empty, "only one group present")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # separation and non-convergence must not pass silently
            result = sm.Logit(missed.astype(float), design.matrix).fit(
                disp=0, maxiter=100, cov_type="cluster", cov_kwds={"groups": faces.image_index[rows]})
        ci = np.asarray(result.conf_int(alpha=1 - level))
    except (np.linalg.LinAlgError, ValueError, RuntimeWarning, Warning) as problem:
        return _with_note(empty, f"not estimable ({type(problem).__name__}: {problem}); "
                                 "a level may have no misses or no hits")
    params, p_values = np.asarray(result.params), np.asarray(result.pvalues)
    ratios = tuple(
        OddsRatio(variable=variable, level=lvl, reference=ref, value=float(np.exp(params[j + 1])),
                  ci=(float(np.exp(ci[j + 1, 0])), float(np.exp(ci[j + 1, 1]))), p_value=float(p_values[j + 1]))
        for j, (variable, lvl, ref) in enumerate(design.terms))
    return MissModel(name=name, covariates=covariates, faces=empty.faces, missed=empty.missed,
                     images=empty.images, odds_ratios=ratios, level=level)


def _with_note(model: MissModel, note: str) -> MissModel:
    return MissModel(name=model.name, covariates=model.covariates, faces=model.faces, missed=model.missed,
                     images=model.images, odds_ratios=(), level=model.level, note=note)

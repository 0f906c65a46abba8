"""The detection audit: who a face detector (or a redactor) misses, with honest intervals.

One global operating threshold; a face is found when a box scoring at least that much
matches it at IoU >= 0.5 (see `unseen.audit.detection`). Over the valid annotated faces:

- recall overall, by face height, by every group of every label column (skin type I..VI
  and pooled I-II / III-IV / V-VI, perceived gender, age band, ...), by pairs of label
  columns (intersections), and by group within each height bucket;
- false positives per image, overall only (a false positive belongs to no person);
- official WIDER AP on easy / medium / hard when the pack flags those sets;
- logistic regressions of "missed" on skin type: raw, size-controlled and adjusted for
  size, blur, occlusion, pose and illumination (`unseen.audit.detection_model`);
- when the boxes are a redactor's output, coverage: the share of faces hidden (>= 80% of
  the face box under the covered area) by the same groups, and image area covered.

Faces in one photo are not independent, so every interval comes from a bootstrap over
images (1,000 replicates by default, seeded); a rate with no failure gets a rule-of-three
bound instead of a zero-width interval. Groups with fewer than `min_group_faces` faces
are flagged and not tested; group differences are tested against the rest of the faces
carrying that label, with Holm's correction over every test made.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from unseen.audit.coverage import HIDDEN_FRACTION, CoverShape, PackCoverage, pack_coverage
from unseen.audit.detection import (
    HEIGHT_BUCKETS, IOU_THRESHOLD, SKIN_POOLS, SKIN_TYPES, Matches, height_bucket, match_boxes,
)
from unseen.audit.detection_model import MissModel, fit_miss_model
from unseen.audit.wider import MISSING, SET_NAMES, LabelledFaces, PackBoxes
from unseen.audit.wider_eval import WiderAP, wider_ap
from unseen.errors import ConfigError

NOT_SURE = "Not Sure"
SKIN = "skin"
SKIN_POOLED = "skin (pooled)"
CONDITIONS = ("blur", "occlusion", "pose", "illumination")


@dataclass(frozen=True)
class DetectionAuditConfig:
    """How the audit counts and how sure it is.

    threshold: operating score threshold (one for every group).
    replicates / level / seed: image bootstrap for every interval.
    min_group_faces: groups (and intersections) with fewer faces are flagged, not tested.
    hidden_at: coverage share of a face box that makes it hidden.
    """

    threshold: float = 0.5
    iou_threshold: float = IOU_THRESHOLD
    replicates: int = 1000
    level: float = 0.95
    seed: int = 0
    min_group_faces: int = 30
    hidden_at: float = HIDDEN_FRACTION

    def __post_init__(self) -> None:
        if not np.isfinite(self.threshold):
            raise ConfigError(f"DetectionAuditConfig.threshold: expected a finite score, got {self.threshold}")
        if self.replicates < 100:
            raise ConfigError(f"DetectionAuditConfig.replicates: expected at least 100, got {self.replicates}")
        if not 0.5 < self.level < 1.0:
            raise ConfigError(f"DetectionAuditConfig.level: expected a value in (0.5, 1), got {self.level}")
        if self.min_group_faces < 1:
            raise ConfigError(f"DetectionAuditConfig.min_group_faces: expected >= 1, got {self.min_group_faces}")
        if not 0.0 < self.hidden_at <= 1.0:
            raise ConfigError(f"DetectionAuditConfig.hidden_at: expected a share in (0, 1], got {self.hidden_at}")


# -- groups -----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class FaceGroup:
    """A named set of faces: ``attribute=label`` (or two joined by `` & ``)."""

    key: str
    attribute: str
    label: str
    members: np.ndarray
    rest: np.ndarray  # faces with another definite label of the attribute: what the group is tested
    # against (none for "Not Sure", which is no group of people)


def _value_order(values: np.ndarray) -> list[str]:
    labels, counts = np.unique(values[values != MISSING], return_counts=True)
    ordered = [str(v) for v in labels[np.argsort(-counts, kind="stable")]]
    return [v for v in ordered if v != NOT_SURE] + ([NOT_SURE] if NOT_SURE in ordered else [])


def pooled_skin(skin: np.ndarray) -> np.ndarray:
    """Skin types I..VI mapped to I-II / III-IV / V-VI; anything else left as it was."""
    pooled = np.asarray(skin).astype(str).astype(object)
    for name, values in SKIN_POOLS:
        pooled[np.isin(skin, values)] = name
    return pooled.astype(str)


def _labels_for_groups(faces: LabelledFaces) -> dict[str, np.ndarray]:
    """Attribute name -> per-face label, with skin also pooled."""
    labels = {name: values for name, values in faces.attributes.items()}
    if SKIN in labels:
        labels[SKIN_POOLED] = pooled_skin(labels[SKIN])
    return labels


def attribute_groups(faces: LabelledFaces, *, where: np.ndarray) -> list[FaceGroup]:
    """One group per label value of every attribute (skin: types I..VI first, then pools)."""
    groups = []
    for attribute, values in _labels_for_groups(faces).items():
        labelled = where & (values != MISSING)
        if attribute == SKIN:
            order = [t for t in SKIN_TYPES if np.any(values[labelled] == t)]
            order += [v for v in _value_order(values[labelled]) if v not in SKIN_TYPES]
        elif attribute == SKIN_POOLED:
            order = [name for name, _ in SKIN_POOLS if np.any(values[labelled] == name)]
        else:
            order = _value_order(values[labelled])
        definite = labelled & (values != NOT_SURE)
        for label in order:
            members = labelled & (values == label)
            rest = definite & ~members if label != NOT_SURE else np.zeros_like(members)
            groups.append(FaceGroup(key=f"{attribute}={label}", attribute=attribute, label=label,
                                    members=members, rest=rest))
    return groups


def intersection_groups(faces: LabelledFaces, *, where: np.ndarray) -> list[FaceGroup]:
    """Every pair of attributes (skin pooled), "Not Sure" and missing labels left out."""
    labels = _labels_for_groups(faces)
    names = [n for n in labels if n != SKIN] if SKIN_POOLED in labels else list(labels)
    groups = []
    for a, b in combinations(names, 2):
        known = where & (labels[a] != MISSING) & (labels[b] != MISSING) & (labels[a] != NOT_SURE) & (labels[b] != NOT_SURE)
        order_a = [n for n, _ in SKIN_POOLS] if a == SKIN_POOLED else _value_order(labels[a][known])
        order_b = [n for n, _ in SKIN_POOLS] if b == SKIN_POOLED else _value_order(labels[b][known])
        for la in order_a:
            for lb in order_b:
                members = known & (labels[a] == la) & (labels[b] == lb)
                if members.any():
                    groups.append(FaceGroup(key=f"{a}={la} & {b}={lb}", attribute=f"{a} & {b}",
                                            label=f"{la} & {lb}", members=members, rest=known & ~members))
    return groups


# -- rates with image-bootstrap intervals ------------------------------------------------
@dataclass(frozen=True)
class RateEstimate:
    """A rate (recall, hidden share) for one set of faces. ``ci`` from the image bootstrap,
    or a rule-of-three bound where nothing (or everything) failed. ``p_holm``: the group
    against the rest of its attribute, Holm-adjusted (None when not tested)."""

    key: str
    n: int
    k: int
    value: float
    ci: tuple[float, float]
    flags: tuple[str, ...] = ()
    p_holm: float | None = None
    differs: bool = False


def _image_draws(n_images: int, *, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """(replicates, n_images) how often each image is drawn in each bootstrap replicate."""
    return rng.multinomial(n_images, np.full(n_images, 1.0 / n_images), size=replicates).astype(np.float64)


def _per_image(members: np.ndarray, image_index: np.ndarray, n_images: int) -> np.ndarray:
    """(n_sets, m) faces of each set in each image."""
    return np.stack([np.bincount(image_index[m], minlength=n_images) for m in members]).astype(np.float64) \
        if len(members) else np.zeros((0, n_images))


def _replicate_rates(draws: np.ndarray, members: np.ndarray, success: np.ndarray,
                     image_index: np.ndarray, n_images: int) -> np.ndarray:
    """(replicates, n_sets) the rate of each set in each replicate (NaN where it is empty)."""
    totals = draws @ _per_image(members, image_index, n_images).T
    hits = draws @ _per_image(members & success, image_index, n_images).T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, hits / np.maximum(totals, 1), np.nan)


def _interval(replicates: np.ndarray, level: float) -> np.ndarray:
    """Percentile interval of each column; NaN replicates (an empty group) are left out."""
    tail = (1 - level) / 2 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column is a legitimate "undefined"
        return np.stack([np.nanpercentile(replicates, tail, axis=0),
                         np.nanpercentile(replicates, 100 - tail, axis=0)], axis=-1)


def _zero_failure_bound(n: int, level: float) -> float:
    """Exact one-sided bound on a failure rate after n trials without failure (~3/n at 95%)."""
    return 1.0 - (1.0 - level) ** (1.0 / n) if n else float("nan")


def _p_two_sided(differences: np.ndarray) -> np.ndarray:
    """Bootstrap p-value of "no difference", ``(count + 1) / (replicates + 1)`` per tail, so
    it is never reported as 0 when it is only below the bootstrap's resolution."""
    valid = ~np.isnan(differences)
    n = valid.sum(axis=0)
    below = (((differences <= 0) & valid).sum(axis=0) + 1) / (n + 1)
    above = (((differences >= 0) & valid).sum(axis=0) + 1) / (n + 1)
    return np.minimum(1.0, 2 * np.minimum(below, above))


def _holm(p: np.ndarray) -> np.ndarray:
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order]))
    out = np.empty(len(p))
    out[order] = adjusted
    return out


@dataclass(frozen=True)
class _RateTable:
    keys: list[str]
    members: np.ndarray  # (s, n)
    rest: np.ndarray | None  # (s, n) or None: not tested


def _estimate(table: _RateTable, success: np.ndarray, faces: LabelledFaces, draws: np.ndarray,
              config: DetectionAuditConfig, *, failures: str) -> list[RateEstimate]:
    """Rates and intervals for every row of ``table`` (p-values left for `_holm_flags`)."""
    if not table.keys:
        return []
    reps = _replicate_rates(draws, table.members, success, faces.image_index, faces.n_images)
    ci = _interval(reps, config.level)
    n = table.members.sum(axis=1)
    k = (table.members & success).sum(axis=1)
    p_raw = np.full(len(n), np.nan)
    if table.rest is not None:
        rest = _replicate_rates(draws, table.rest, success, faces.image_index, faces.n_images)
        p_raw = _p_two_sided(reps - rest)
    estimates = []
    for i, key in enumerate(table.keys):
        flags, low_high = [], (float(ci[i, 0]), float(ci[i, 1]))
        if n[i] < config.min_group_faces:
            flags.append(f"fewer than {config.min_group_faces} faces")
        if n[i] and k[i] == n[i]:
            low_high = (1.0 - _zero_failure_bound(int(n[i]), config.level), 1.0)
            flags.append(f"no {failures}: interval from the rule of three")
        elif n[i] and k[i] == 0:
            low_high = (0.0, _zero_failure_bound(int(n[i]), config.level))
        elif n[i] and n[i] - k[i] < 30:
            flags.append(f"fewer than 30 {failures}: wide relative uncertainty")
        testable = (table.rest is not None and n[i] >= config.min_group_faces
                    and table.rest[i].sum() >= config.min_group_faces)
        estimates.append(RateEstimate(key=key, n=int(n[i]), k=int(k[i]),
                                      value=float(k[i] / n[i]) if n[i] else float("nan"),
                                      ci=low_high, flags=tuple(flags),
                                      p_holm=float(p_raw[i]) if testable else None))
    return estimates


def _holm_flags(estimates: list[RateEstimate], level: float) -> list[RateEstimate]:
    tested = [i for i, e in enumerate(estimates) if e.p_holm is not None]
    if not tested:
        return estimates
    adjusted = _holm(np.array([estimates[i].p_holm for i in tested]))
    out = list(estimates)
    for i, p in zip(tested, adjusted):
        e = out[i]
        out[i] = RateEstimate(key=e.key, n=e.n, k=e.k, value=e.value, ci=e.ci, flags=e.flags,
                              p_holm=float(p), differs=bool(p < 1 - level))
    return out


def _group_table(groups: Sequence[FaceGroup]) -> _RateTable:
    n = len(groups[0].members) if groups else 0
    return _RateTable(keys=[g.key for g in groups],
                      members=np.array([g.members for g in groups], bool).reshape(-1, n),
                      rest=np.array([g.rest for g in groups], bool).reshape(-1, n))


def _bucket_table(faces: LabelledFaces, where: np.ndarray, prefix: str = "") -> _RateTable:
    buckets = height_bucket(faces.height)
    members = np.array([where & (buckets == b) for b in HEIGHT_BUCKETS])
    return _RateTable(keys=[f"{prefix}{b}" for b in HEIGHT_BUCKETS], members=members, rest=None)


@dataclass(frozen=True, eq=False)
class RateFamily:
    """The same rate (recall, or hidden share) overall and broken down every way."""

    overall: RateEstimate
    by_group: tuple[RateEstimate, ...]
    by_intersection: tuple[RateEstimate, ...]
    by_height: tuple[RateEstimate, ...]
    within_size: dict[str, tuple[RateEstimate, ...]] = field(default_factory=dict)

    def get(self, key: str) -> RateEstimate:
        for e in (self.overall, *self.by_group, *self.by_intersection, *self.by_height):
            if e.key == key:
                return e
        raise KeyError(key)


def _rate_family(success: np.ndarray, faces: LabelledFaces, where: np.ndarray, draws: np.ndarray,
                 config: DetectionAuditConfig, *, failures: str) -> RateFamily:
    groups = attribute_groups(faces, where=where)
    crossed = intersection_groups(faces, where=where)
    overall = _estimate(_RateTable(keys=["all"], members=where[None, :], rest=None), success, faces, draws,
                        config, failures=failures)[0]
    tested = _holm_flags(_estimate(_group_table(groups), success, faces, draws, config, failures=failures)
                         + _estimate(_group_table(crossed), success, faces, draws, config, failures=failures),
                         config.level)
    by_group, by_intersection = tested[:len(groups)], tested[len(groups):]
    by_height = _estimate(_bucket_table(faces, where), success, faces, draws, config, failures=failures)
    within = {g.key: tuple(_estimate(_bucket_table(faces, g.members, f"{g.key} | height "), success, faces,
                                     draws, config, failures=failures))
              for g in groups if g.label != NOT_SURE}
    return RateFamily(overall=overall, by_group=tuple(by_group), by_intersection=tuple(by_intersection),
                      by_height=tuple(by_height), within_size=within)


# -- the audit --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CoverageSummary:
    shape: CoverShape
    hidden: RateFamily
    covered_share: RateEstimate
    covered_away_share: RateEstimate
    coverage: PackCoverage


@dataclass(frozen=True, eq=False)
class DetectionAudit:
    """Everything the report shows. ``models`` maps a label column ("skin (pooled)",
    "skin") to its raw / size-controlled / adjusted regressions."""

    config: DetectionAuditConfig
    n_images: int
    n_faces: int
    n_valid: int
    labelled: dict[str, int]
    recall: RateFamily
    false_positives_per_image: RateEstimate
    false_positives: int
    ap: WiderAP | None
    models: dict[str, tuple[MissModel, ...]]
    coverage: CoverageSummary | None
    matches: Matches


def _mean_per_image(values: np.ndarray, draws: np.ndarray, level: float, key: str) -> RateEstimate:
    reps = (draws @ values) / draws.sum(axis=1)
    low, high = _interval(reps[:, None], level)[0]
    return RateEstimate(key=key, n=len(values), k=int(round(values.sum())), value=float(values.mean()),
                        ci=(float(low), float(high)))


def _skin_models(faces: LabelledFaces, detected: np.ndarray, where: np.ndarray, level: float) -> dict[str, tuple[MissModel, ...]]:
    if SKIN not in faces.attributes:
        return {}
    skin = faces.attributes[SKIN]
    conditions = tuple(c for c in CONDITIONS if c in faces.conditions)
    models = {}
    for name, labels, order in ((SKIN_POOLED, pooled_skin(skin), [n for n, _ in SKIN_POOLS]), (SKIN, skin, SKIN_TYPES)):
        models[name] = tuple(
            fit_miss_model(faces, detected, groups=labels, group_order=order, where=where, name=model_name,
                           covariates=covariates, group_name=name, level=level)
            for model_name, covariates in (("raw", ()), ("size-controlled", ("size",)),
                                           ("adjusted", ("size", *conditions))))
    return models


def audit_detection(faces: LabelledFaces, boxes: PackBoxes, *, config: DetectionAuditConfig | None = None,
                    cover_shape: CoverShape | str | None = None, image_sizes: np.ndarray | None = None,
                    progress: Callable[[str], None] | None = None) -> DetectionAudit:
    """Audit ``boxes`` (a detector's, recorded at any threshold up to ``config.threshold``)
    against the labelled ``faces``. Give ``cover_shape`` when the boxes are what a redactor
    covered: every box then counts as covered, whatever its score."""
    config = config or DetectionAuditConfig()
    step = progress or (lambda message: None)
    if boxes.n_images != faces.n_images:
        raise ConfigError(f"audit_detection: boxes cover {boxes.n_images} images, the faces {faces.n_images}")
    if faces.n_images == 0:
        raise ConfigError("audit_detection: the pack has no images")
    rng = np.random.default_rng(config.seed)
    draws = _image_draws(faces.n_images, replicates=config.replicates, rng=rng)
    valid = faces.valid
    step("matching boxes to faces")
    matches = match_boxes(faces, boxes.above(config.threshold), iou_threshold=config.iou_threshold)
    step("recall by group (image bootstrap)")
    recall = _rate_family(matches.detected, faces, valid, draws, config, failures="misses")
    fp = matches.false_positives_per_image().astype(np.float64)
    ap = None
    if all(name in faces.sets for name in SET_NAMES):
        step("official WIDER AP")
        ap = wider_ap(faces, boxes)
    step("logistic regressions")
    models = _skin_models(faces, matches.detected, valid, config.level)
    coverage = None
    if cover_shape is not None:
        step("coverage of faces by the covered area")
        covered = pack_coverage(faces, boxes, shape=cover_shape, image_sizes=image_sizes, hidden_at=config.hidden_at)
        coverage = CoverageSummary(
            shape=covered.shape,
            hidden=_rate_family(covered.hidden, faces, valid, draws, config, failures="exposed faces"),
            covered_share=_mean_per_image(covered.covered_share, draws, config.level, "image area covered"),
            covered_away_share=_mean_per_image(covered.covered_away_share, draws, config.level,
                                               "image area covered away from faces"),
            coverage=covered)
    labelled = {name: int((valid & (values != MISSING)).sum()) for name, values in faces.attributes.items()}
    return DetectionAudit(
        config=config, n_images=faces.n_images, n_faces=len(faces), n_valid=int(valid.sum()), labelled=labelled,
        recall=recall, false_positives_per_image=_mean_per_image(fp, draws, config.level, "false positives per image"),
        false_positives=int(fp.sum()), ap=ap, models=models, coverage=coverage, matches=matches)


# -- plain records (JSON, CSV) -----------------------------------------------------------
def _number(value: float | None) -> float | None:
    """A JSON-safe number: NaN and infinities become None."""
    if value is None or not np.isfinite(value):
        return None
    return float(value)


def rate_record(estimate: RateEstimate) -> dict:
    return {
        "value": _number(estimate.value), "ci": [_number(estimate.ci[0]), _number(estimate.ci[1])],
        "n": estimate.n, "successes": estimate.k, "flags": list(estimate.flags),
        "p_holm": _number(estimate.p_holm), "differs": estimate.differs,
    }


def _family_record(family: RateFamily) -> dict:
    return {
        "groups": {e.key: rate_record(e) for e in (family.overall, *family.by_group, *family.by_intersection)},
        "by_height": {e.key: rate_record(e) for e in family.by_height},
        "within_size": {group: {e.key.rsplit(" | height ", 1)[1]: rate_record(e) for e in rows}
                        for group, rows in family.within_size.items()},
    }


def model_record(model: MissModel) -> dict:
    return {
        "model": model.name, "covariates": list(model.covariates), "faces": model.faces, "missed": model.missed,
        "images": model.images, "level": model.level, "note": model.note,
        "odds_ratios": [{"variable": o.variable, "level": o.level, "reference": o.reference,
                         "value": _number(o.value), "ci": [_number(o.ci[0]), _number(o.ci[1])],
                         "p": _number(o.p_value)} for o in model.odds_ratios],
    }


def audit_record(audit: DetectionAudit, *, about: dict | None = None) -> dict:
    """The audit as JSON-ready data: ``ap`` {easy, medium, hard}, ``recall`` {group: {value,
    ci, n, ...}}, ``regression`` odds ratios with intervals, and the rest of the figures."""
    config = audit.config
    recall = _family_record(audit.recall)
    record = {
        "report": "unseen detection audit",
        "about": {**(about or {}), "images": audit.n_images, "faces": audit.n_faces,
                  "valid_faces": audit.n_valid, "labelled_valid_faces": audit.labelled},
        "method": {
            "threshold": config.threshold, "iou_threshold": config.iou_threshold,
            "population": "valid faces: a box with area, not flagged invalid",
            "matching": "greedy by score; each box to the unmatched face it overlaps most at IoU >= threshold",
            "bootstrap": {"unit": "image", "replicates": config.replicates, "seed": config.seed,
                          "level": config.level},
            "min_group_faces": config.min_group_faces,
            "tests": "each group against faces with another definite label of the same attribute; "
                     "Holm's correction over all tests",
            "ap": "official WIDER FACE protocol over all boxes in the files (scores normalised over "
                  "the run, +1 pixel IoU, faces outside a set ignored, 1,000 thresholds)",
        },
        "ap": None if audit.ap is None else {s.name: _number(s.ap) for s in audit.ap.settings},
        "ap_faces": None if audit.ap is None else {s.name: s.faces for s in audit.ap.settings},
        "recall": recall["groups"],
        "recall_by_height": recall["by_height"],
        "recall_within_size": recall["within_size"],
        "false_positives": {"per_image": rate_record(audit.false_positives_per_image),
                            "total": audit.false_positives, "images": audit.n_images},
        "regression": {name: {m.name: model_record(m) for m in models} for name, models in audit.models.items()},
        "coverage": None,
    }
    if audit.coverage is not None:
        hidden = _family_record(audit.coverage.hidden)
        record["coverage"] = {
            "shape": audit.coverage.shape.value, "hidden_at": config.hidden_at,
            "hidden": hidden["groups"], "hidden_by_height": hidden["by_height"],
            "hidden_within_size": hidden["within_size"],
            "image_area_covered": rate_record(audit.coverage.covered_share),
            "image_area_covered_away_from_faces": rate_record(audit.coverage.covered_away_share),
        }
    return record


RATE_COLUMNS = ("measure", "breakdown", "group", "height", "n", "successes", "value", "ci_low", "ci_high",
                "p_holm", "differs", "flags")


def rate_rows(audit: DetectionAudit) -> list[dict]:
    """One row per rate (recall, and hidden share when there is coverage), for a CSV."""
    rows = []
    families = [("recall", audit.recall)] + ([("hidden", audit.coverage.hidden)] if audit.coverage else [])
    for measure, family in families:
        parts = [("overall", [family.overall]), ("group", family.by_group),
                 ("intersection", family.by_intersection), ("height", family.by_height)]
        parts += [("within size", rows_) for rows_ in family.within_size.values()]
        for breakdown, estimates in parts:
            for e in estimates:
                group, _, height = e.key.partition(" | height ")
                if breakdown == "height":
                    group, height = "all", e.key
                rows.append({"measure": measure, "breakdown": breakdown, "group": group, "height": height,
                             "n": e.n, "successes": e.k, "value": _number(e.value), "ci_low": _number(e.ci[0]),
                             "ci_high": _number(e.ci[1]), "p_holm": _number(e.p_holm), "differs": e.differs,
                             "flags": "; ".join(e.flags)})
    return rows


ODDS_COLUMNS = ("labels", "model", "variable", "level", "reference", "odds_ratio", "ci_low", "ci_high", "p",
                "faces", "missed", "note")


def odds_rows(audit: DetectionAudit) -> list[dict]:
    rows = []
    for labels, models in audit.models.items():
        for m in models:
            base = {"labels": labels, "model": m.name, "faces": m.faces, "missed": m.missed, "note": m.note}
            if not m.odds_ratios:
                rows.append({**base, "variable": "", "level": "", "reference": "", "odds_ratio": None,
                             "ci_low": None, "ci_high": None, "p": None})
            for o in m.odds_ratios:
                rows.append({**base, "variable": o.variable, "level": o.level, "reference": o.reference,
                             "odds_ratio": _number(o.value), "ci_low": _number(o.ci[0]),
                             "ci_high": _number(o.ci[1]), "p": _number(o.p_value)})
    return rows

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
from dataclasses import dataclass, field, replace
from itertools import combinations
from pathlib import Path

import numpy as np

from unseen.audit.coverage import HIDDEN_FRACTION, CoverShape, PackCoverage, pack_coverage, read_cover_shape
from unseen.audit.detection import (
    HEIGHT_BUCKETS, IOU_THRESHOLD, SKIN_POOLS, SKIN_TYPES, Matches, height_bucket, match_boxes,
)
from unseen.audit.detection_model import MissModel, fit_miss_model
from unseen.audit.uncertainty import (
    ClusterBootstrap, bootstrap_ratio, cluster_sums, holm_adjust, percentile_interval, zero_error_upper_bound,
)
from unseen.audit.pack_detect import RECORDING_THRESHOLD
from unseen.audit.wider import (
    IMAGES_DIR, MISSING, SET_NAMES, LabelledFaces, PackBoxes, load_faces_csv, load_pack, read_boxes,
)
from unseen.audit.wider_eval import WiderAP, wider_ap
from unseen.errors import ConfigError, InputFileError

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
    names = [SKIN_POOLED] if SKIN_POOLED in labels else []
    names += [n for n in labels if n not in (SKIN, SKIN_POOLED)]
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


def _per_image(members: np.ndarray, image_index: np.ndarray, n_images: int) -> np.ndarray:
    """(n_sets, m) faces of each set in each image."""
    if not len(members):
        return np.zeros((0, n_images))
    return np.stack([cluster_sums(m, cluster=image_index, n_clusters=n_images) for m in members])


def _replicate_rates(draws: np.ndarray, members: np.ndarray, success: np.ndarray,
                     image_index: np.ndarray, n_images: int) -> np.ndarray:
    """(replicates, n_sets) the rate of each set in each replicate (NaN where it is empty)."""
    return bootstrap_ratio(numerator=_per_image(members & success, image_index, n_images).T,
                           denominator=_per_image(members, image_index, n_images).T, counts=draws)


def _p_two_sided(differences: np.ndarray) -> np.ndarray:
    """p-value of "no difference" from the bootstrap's standard error of the difference
    (a Wald test): continuous, so Holm's correction over many tests stays meaningful,
    which counting replicates (resolution 1 / replicates) would not allow."""
    from scipy.stats import norm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmean(differences, axis=0)
        spread = np.nanstd(differences, axis=0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.abs(centre) / spread
    return np.where(spread > 0, 2 * norm.sf(z), np.where(centre == 0, 1.0, 0.0))


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
    ci = percentile_interval(reps, level=config.level, axis=0)
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
            low_high = (1.0 - float(zero_error_upper_bound(trials=int(n[i]), level=config.level)), 1.0)
            flags.append(f"no {failures}: interval from the rule of three")
        elif n[i] and k[i] == 0:
            low_high = (0.0, float(zero_error_upper_bound(trials=int(n[i]), level=config.level)))
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
    adjusted = holm_adjust(np.array([estimates[i].p_holm for i in tested]))
    out = list(estimates)
    for i, p in zip(tested, adjusted):
        e = out[i]
        out[i] = RateEstimate(key=e.key, n=e.n, k=e.k, value=e.value, ci=e.ci, flags=e.flags,
                              p_holm=float(p), differs=bool(p < 1 - level))
    return out


def _group_table(groups: Sequence[FaceGroup], n_faces: int) -> _RateTable:
    n = n_faces
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
    tested = _holm_flags(_estimate(_group_table(groups, len(faces)), success, faces, draws, config, failures=failures)
                         + _estimate(_group_table(crossed, len(faces)), success, faces, draws, config, failures=failures),
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
    about: dict[str, str] = field(default_factory=dict)


def _mean_per_image(values: np.ndarray, draws: np.ndarray, level: float, key: str) -> RateEstimate:
    reps = bootstrap_ratio(numerator=values, denominator=np.ones(len(values)), counts=draws)
    low, high = percentile_interval(reps, level=level)
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
                    progress: Callable[[str], None] | None = None, about: dict[str, str] | None = None,
                    ) -> DetectionAudit:
    """Audit ``boxes`` (a detector's, recorded at any threshold up to ``config.threshold``)
    against the labelled ``faces``. Give ``cover_shape`` when the boxes are what a redactor
    covered: every box then counts as covered, whatever its score."""
    config = config or DetectionAuditConfig()
    step = progress or (lambda message: None)
    if boxes.n_images != faces.n_images:
        raise ConfigError(f"audit_detection: boxes cover {boxes.n_images} images, the faces {faces.n_images}")
    if faces.n_images == 0:
        raise ConfigError("audit_detection: the pack has no images")
    draws = ClusterBootstrap(strata=np.zeros(faces.n_images)).counts(
        rng=np.random.default_rng(config.seed), n_replicates=config.replicates).astype(np.float64)
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
        false_positives=int(fp.sum()), ap=ap, models=models, coverage=coverage, matches=matches,
        about=dict(about or {}))


def load_labelled_faces(pack: str | Path) -> LabelledFaces:
    """A WIDER-layout pack folder, or any CSV of labelled boxes (images beside it in
    ``images/`` when there are any)."""
    pack = Path(pack)
    if pack.is_dir():
        return load_pack(pack)
    if pack.is_file():
        images = pack.parent / IMAGES_DIR
        return load_faces_csv(pack, images_root=images if images.is_dir() else None)
    raise InputFileError(f"{pack}: no such pack folder or CSV of labelled faces")


def audit_pack(pack: str | Path, *, boxes: str | Path | None = None, detector: str | None = None,
               boxes_out: str | Path | None = None, config: DetectionAuditConfig | None = None,
               threshold: float | None = None, coverage: bool = False, shape: CoverShape | str | None = None,
               label_sources: dict[str, str] | None = None, on_image: Callable[[int, int], None] | None = None,
               progress: Callable[[str], None] | None = None) -> DetectionAudit:
    """Audit a detector on a pack: from its saved ``boxes`` (WIDER txt folder or JSON lines)
    or by running ``detector`` (its boxes saved under ``boxes_out``, resumable).

    ``threshold`` None means the detector's default, 0.5 for saved boxes, and every box
    (0) when ``coverage`` says the boxes are what a redactor covered; ``shape`` is then read
    from ``shape.txt`` beside the boxes unless given.
    """
    if (boxes is None) == (detector is None):
        raise ConfigError("audit_pack: give either boxes (a folder or .jsonl of saved boxes) or a detector name")
    faces = load_labelled_faces(pack)
    about = {"pack": str(pack), **{f"labels: {k}": v for k, v in (label_sources or {}).items()}}
    if detector is not None:
        from unseen.audit.pack_detect import detect_pack
        from unseen.faces.registry import build_detector

        model = build_detector(detector)
        out = Path(boxes_out) if boxes_out is not None else Path(f"unseen-boxes-{detector}")
        found = detect_pack(faces, detector=model, out_dir=out, threshold=min(RECORDING_THRESHOLD, model.default_threshold),
                            on_image=None if on_image is None else (lambda i, ran: on_image(i + 1, faces.n_images)))
        operating = model.default_threshold if threshold is None else threshold
        about.update(detector=detector, boxes=str(out), threshold=f"{operating} ("
                     + ("the detector's default" if threshold is None else "given") + ")")
    else:
        found = read_boxes(boxes, faces)
        operating = threshold if threshold is not None else (0.0 if coverage else 0.5)
        about.update(boxes=str(boxes), threshold=f"{operating} (" + (
            "given" if threshold is not None else "every covered box" if coverage else "default for saved boxes") + ")")
    cover_shape = None
    if coverage:
        cover_shape = CoverShape.parse(shape, "--shape") if shape is not None else (
            read_cover_shape(boxes) if boxes is not None and Path(boxes).is_dir() else CoverShape.BOX)
        about["covered shape"] = cover_shape.value
    config = replace(config or DetectionAuditConfig(), threshold=operating)
    return audit_detection(faces, found, config=config, cover_shape=cover_shape, progress=progress, about=about)

"""The detection audit: who a face detector (or a redactor) misses, with honest intervals.

One global operating threshold; a face is found when a box scoring at least that much
matches it at IoU >= 0.5 (`unseen.audit.detection.matching`). Over the valid annotated faces:

- recall overall, by face height, by every group of every label column (skin type I..VI
  and pooled I-II / III-IV / V-VI, perceived gender, age band, ...), by pairs of label
  columns (intersections), and by group within each height bucket
  (`unseen.audit.detection.rates`);
- false positives per image, overall only (a false positive belongs to no person);
- official WIDER AP on easy / medium / hard when the pack flags those sets;
- logistic regressions of "missed" on skin type: raw, size-controlled and adjusted for
  size, blur, occlusion, pose and illumination (`unseen.audit.detection.miss_model`);
- when the boxes are a redactor's output, coverage: the share of faces hidden (>= 80% of
  the face box under the covered area) by the same groups, and image area covered.

Every interval comes from a bootstrap over images (1,000 replicates by default, seeded).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from unseen.audit.detection.box_files import PackBoxes, read_boxes, read_cover_shape
from unseen.audit.detection.coverage import HIDDEN_FRACTION, PackCoverage, pack_coverage
from unseen.audit.detection.groups import SKIN, SKIN_POOLED, SKIN_POOLS, SKIN_TYPES, pooled_skin
from unseen.audit.detection.matching import IOU_THRESHOLD, Matches, match_boxes
from unseen.audit.detection.miss_model import Adjustment, MissModel, fit_miss_model
from unseen.audit.detection.pack import MISSING, SET_NAMES, LabelledFaces, load_labelled_faces
from unseen.audit.detection.rates import Precision, RateFamily, rate_family
from unseen.audit.detection.run import RECORDING_THRESHOLD
from unseen.audit.detection.wider_ap import WiderAP, wider_ap
from unseen.audit.set_aside import SetAside
from unseen.audit.stats.rates import Group, Rate
from unseen.audit.stats.uncertainty import ClusterBootstrap, bootstrap_ratio, percentile_interval
from unseen.errors import ConfigError
from unseen.faces.boxes import CoverShape
from unseen.progress import SILENT, Progress

CONDITIONS = ("blur", "occlusion", "pose", "illumination")
"""The WIDER conditions the adjusted miss model controls for (where the pack has them)."""


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

    @property
    def precision(self) -> Precision:
        return Precision(level=self.level, min_group_faces=self.min_group_faces)


@dataclass(frozen=True, eq=False)
class CoverageSummary:
    shape: CoverShape
    hidden: RateFamily
    covered_share: Rate
    covered_away_share: Rate
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
    false_positives_per_image: Rate
    false_positives: int
    ap: WiderAP | None
    models: dict[str, tuple[MissModel, ...]]
    coverage: CoverageSummary | None
    matches: Matches
    about: dict[str, str] = field(default_factory=dict)
    set_aside: SetAside = field(default_factory=SetAside)
    """Rows of the pack's CSV and lines of the box files set aside or named, with why."""


def _mean_per_image(values: np.ndarray, draws: np.ndarray, level: float, name: str) -> Rate:
    reps = bootstrap_ratio(numerator=values, denominator=np.ones(len(values)), counts=draws)
    low, high = percentile_interval(reps, level=level)
    return Rate(group=Group(name=name), n=len(values), k=int(round(values.sum())), value=float(values.mean()),
                ci=(float(low), float(high)))


def _skin_models(faces: LabelledFaces, detected: np.ndarray, where: np.ndarray,
                 level: float) -> dict[str, tuple[MissModel, ...]]:
    if SKIN not in faces.attributes:
        return {}
    skin = faces.attributes[SKIN]
    conditions = tuple(c for c in CONDITIONS if c in faces.conditions)
    models = {}
    for name, labels, order in ((SKIN_POOLED, pooled_skin(skin), [n for n, _ in SKIN_POOLS]), (SKIN, skin, SKIN_TYPES)):
        models[name] = tuple(
            fit_miss_model(faces, detected, groups=labels, group_order=order, where=where, name=adjustment.value,
                           covariates=adjustment.covariates(conditions), group_name=name, level=level)
            for adjustment in Adjustment)
    return models


def _coverage(faces: LabelledFaces, boxes: PackBoxes, shape: CoverShape | str, image_sizes: np.ndarray | None,
              draws: np.ndarray, config: DetectionAuditConfig) -> CoverageSummary:
    covered = pack_coverage(faces, boxes, shape=shape, image_sizes=image_sizes, hidden_at=config.hidden_at)
    return CoverageSummary(
        shape=covered.shape,
        hidden=rate_family(covered.hidden, faces, faces.valid, draws, config.precision, failures="exposed faces"),
        covered_share=_mean_per_image(covered.covered_share, draws, config.level, "image area covered"),
        covered_away_share=_mean_per_image(covered.covered_away_share, draws, config.level,
                                           "image area covered away from faces"),
        coverage=covered)


def audit_detection(faces: LabelledFaces, boxes: PackBoxes, *, config: DetectionAuditConfig | None = None,
                    cover_shape: CoverShape | str | None = None, image_sizes: np.ndarray | None = None,
                    progress: Progress = SILENT, about: dict[str, str] | None = None) -> DetectionAudit:
    """Audit ``boxes`` (a detector's, recorded at any threshold up to ``config.threshold``)
    against the labelled ``faces``. Give ``cover_shape`` when the boxes are what a redactor
    covered: every box then counts as covered, whatever its score. ``progress`` hears one
    stage (of unknown size) per step."""
    config = config or DetectionAuditConfig()
    if boxes.n_images != faces.n_images:
        raise ConfigError(f"audit_detection: boxes cover {boxes.n_images} images, the faces {faces.n_images}")
    if faces.n_images == 0:
        raise ConfigError("audit_detection: the pack has no images")
    draws = ClusterBootstrap(strata=np.zeros(faces.n_images)).counts(
        rng=np.random.default_rng(config.seed), n_replicates=config.replicates).astype(np.float64)
    valid = faces.valid
    progress.start(None, description="matching boxes to faces")
    matches = match_boxes(faces, boxes.above(config.threshold), iou_threshold=config.iou_threshold)
    progress.start(None, description="recall by group (image bootstrap)")
    recall = rate_family(matches.detected, faces, valid, draws, config.precision, failures="misses")
    fp = matches.false_positives_per_image().astype(np.float64)
    ap = None
    if all(name in faces.sets for name in SET_NAMES):
        progress.start(None, description="official WIDER AP")
        ap = wider_ap(faces, boxes)
    progress.start(None, description="logistic regressions")
    models = _skin_models(faces, matches.detected, valid, config.level)
    coverage = None
    if cover_shape is not None:
        progress.start(None, description="coverage of faces by the covered area")
        coverage = _coverage(faces, boxes, cover_shape, image_sizes, draws, config)
    labelled = {name: int((valid & (values != MISSING)).sum()) for name, values in faces.attributes.items()}
    return DetectionAudit(
        config=config, n_images=faces.n_images, n_faces=len(faces), n_valid=int(valid.sum()), labelled=labelled,
        recall=recall, false_positives_per_image=_mean_per_image(fp, draws, config.level, "false positives per image"),
        false_positives=int(fp.sum()), ap=ap, models=models, coverage=coverage, matches=matches,
        about=dict(about or {}), set_aside=SetAside.merge([faces.set_aside, boxes.set_aside]))


def audit_pack(pack: str | Path, *, boxes: str | Path | None = None, detector: str | None = None,
               boxes_out: str | Path | None = None, config: DetectionAuditConfig | None = None,
               threshold: float | None = None, coverage: bool = False, shape: CoverShape | str | None = None,
               label_sources: dict[str, str] | None = None, strict: bool = False,
               progress: Progress = SILENT) -> DetectionAudit:
    """Audit a detector on a pack: from its saved ``boxes`` (WIDER txt folder or JSON lines)
    or by running ``detector`` (its boxes saved under ``boxes_out``, resumable).

    Rows of the pack and lines of the box files that cannot be used as they stand are set
    aside and named in ``DetectionAudit.set_aside`` (see `unseen.audit.detection.pack` and
    `unseen.audit.detection.box_files` for what each gets); ``strict`` makes them errors.

    ``threshold`` None means the detector's default, 0.5 for saved boxes, and every box
    (0) when ``coverage`` says the boxes are what a redactor covered; ``shape`` is then read
    from ``shape.txt`` beside the boxes unless given.
    """
    if (boxes is None) == (detector is None):
        raise ConfigError("audit_pack: give either boxes (a folder or .jsonl of saved boxes) or a detector name")
    faces = load_labelled_faces(pack, strict=strict)
    about = {"pack": str(pack), **{f"labels: {k}": v for k, v in (label_sources or {}).items()}}
    if detector is not None:
        from unseen.audit.detection.run import detect_pack
        from unseen.faces.registry import build_detector

        model = build_detector(detector)
        out = Path(boxes_out) if boxes_out is not None else Path(f"unseen-boxes-{detector}")
        found = detect_pack(faces, detector=model, out_dir=out, threshold=min(RECORDING_THRESHOLD, model.default_threshold),
                            progress=progress)
        operating = model.default_threshold if threshold is None else threshold
        about.update(detector=detector, boxes=str(out), threshold=f"{operating} ("
                     + ("the detector's default" if threshold is None else "given") + ")")
    else:
        found = read_boxes(boxes, faces, strict=strict)
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

"""Average precision on the WIDER FACE easy / medium / hard sets, as the official tool has it.

The official evaluation (the MATLAB ``eval_tools`` of WIDER FACE; the Python port
``WiderFace-Evaluation`` follows it) does, and so do we:

1. Scores are normalised over the whole run: ``(s - min) / (max - min)`` with min and max
   taken over every box of every image of the evaluated list (one run, not per image).
2. Boxes are ``x y w h``; corners are ``x, y, x + w, y + h`` and IoU counts pixels
   inclusively: widths are ``x2 - x1 + 1`` (the "+1 convention").
3. Each box is compared with every annotated face of its image and goes to the face it
   overlaps most (the first such face on a tie). At IoU >= 0.5 with a face outside the
   set, the box is ignored (neither a proposal nor a false positive); with a face in the
   set, that face is recalled (a second box on it still counts as a proposal).
4. Precision and recall are read at the 1,000 thresholds ``1 - t / 1000``, t = 1..1000:
   proposals and recalled faces are summed over images at each threshold; recall divides
   by every face of the set, found or not (faces outside the set are not misses).
5. Images without annotated faces, or without boxes, add nothing but their faces to the
   count. A missing box file means no boxes.
6. AP is the area under the precision envelope (VOC 2010+ style), where a threshold with
   no proposal (0/0 precision) is skipped as MATLAB's ``max`` skips NaN.

Because a box's face and its proposal status do not depend on the other boxes, the
per-image loops of the official code reduce to counts per threshold; the numbers are the
same. Everything is float64, as in MATLAB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from unseen.audit.detection.box_files import PackBoxes
from unseen.audit.detection.pack import SET_NAMES, LabelledFaces, WiderSet
from unseen.audit.stats.counts import count_at_or_above
from unseen.errors import ConfigError
from unseen.faces.boxes import xywh_to_xyxy

OFFICIAL_IOU = 0.5
THRESHOLD_COUNT = 1000


def official_thresholds(count: int = THRESHOLD_COUNT) -> np.ndarray:
    """``1 - t / count`` for t = 1..count, computed as the official code does."""
    return 1.0 - np.arange(1, count + 1, dtype=np.float64) / count


def normalise_scores(scores: np.ndarray) -> np.ndarray:
    """Scores mapped to [0, 1] by the run's min and max (MATLAB's ``norm_score``).

    The official code starts max at single-precision ``realmin`` and min at ``realmax``;
    we keep those bounds. When every score is the same (the official code would divide by
    zero) every box gets 1.0, so all enter at the first threshold.
    """
    scores = np.asarray(scores, np.float64)
    if scores.size == 0:
        return scores.copy()
    high = max(float(np.finfo(np.float32).tiny), float(scores.max()))
    low = min(float(np.finfo(np.float32).max), float(scores.min()))
    if high == low:
        return np.ones_like(scores)
    return (scores - low) / (high - low)


def inclusive_iou(faces_xywh: np.ndarray, boxes_xywh: np.ndarray) -> np.ndarray:
    """(n_faces, n_boxes) IoU with the +1 pixel convention of the official ``boxoverlap``.

    Only the official evaluation counts pixels this way (corners inclusive), so it lives
    here and not with `unseen.faces.boxes.box_iou`, which everything else uses.
    """
    a = xywh_to_xyxy(np.asarray(faces_xywh, np.float64).reshape(-1, 4))
    b = xywh_to_xyxy(np.asarray(boxes_xywh, np.float64).reshape(-1, 4))
    ax1, ay1, ax2, ay2 = a[:, 0:1], a[:, 1:2], a[:, 2:3], a[:, 3:4]
    bx1, by1, bx2, by2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    w = np.minimum(ax2, bx2) - np.maximum(ax1, bx1) + 1
    h = np.minimum(ay2, by2) - np.maximum(ay1, by1) + 1
    inter = w * h
    area_a = (ax2 - ax1 + 1) * (ay2 - ay1 + 1)
    area_b = (bx2 - bx1 + 1) * (by2 - by1 + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        overlap = inter / (area_a + area_b - inter)
    overlap[(w <= 0) | (h <= 0)] = 0.0
    return overlap


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the precision envelope; NaN precisions (no proposals) are skipped."""
    recall = np.concatenate(([0.0], np.asarray(recall, np.float64), [1.0]))
    precision = np.concatenate(([0.0], np.asarray(precision, np.float64), [0.0]))
    envelope = np.fmax.accumulate(precision[::-1])[::-1]
    steps = np.flatnonzero(recall[1:] != recall[:-1])
    return float(np.sum((recall[steps + 1] - recall[steps]) * envelope[steps + 1]))


@dataclass(frozen=True, eq=False)
class SettingPR:
    """One set's precision-recall sweep. thresholds, proposals, recalled, precision,
    recall: (1000,) each, highest threshold first. faces: faces in the set."""

    name: str
    faces: int
    thresholds: np.ndarray
    proposals: np.ndarray
    recalled: np.ndarray
    ap: float

    @property
    def precision(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.recalled / self.proposals

    @property
    def recall(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.recalled / self.faces if self.faces else np.full(len(self.recalled), np.nan)


@dataclass(frozen=True, eq=False)
class WiderAP:
    """AP on each evaluated set (``settings`` in order: easy, medium, hard)."""

    settings: tuple[SettingPR, ...]

    def __getitem__(self, name: str) -> SettingPR:
        for setting in self.settings:
            if setting.name == name:
                return setting
        raise KeyError(name)

    @property
    def ap(self) -> dict[str, float]:
        return {s.name: s.ap for s in self.settings}


@dataclass(frozen=True, eq=False)
class _BoxTargets:
    """Per evaluated box: normalised score, the face it goes to (or -1 below the IoU)."""

    score: np.ndarray
    face: np.ndarray


def _box_targets(faces: LabelledFaces, boxes: PackBoxes, iou_threshold: float) -> _BoxTargets:
    score = normalise_scores(boxes.score)
    face = np.full(len(boxes), -1, np.int64)
    evaluated = np.zeros(len(boxes), bool)
    face_bounds, box_bounds = faces.image_bounds(), boxes.image_bounds()
    for i in np.flatnonzero((np.diff(face_bounds) > 0) & (np.diff(box_bounds) > 0)):
        f0, f1, b0, b1 = face_bounds[i], face_bounds[i + 1], box_bounds[i], box_bounds[i + 1]
        overlaps = inclusive_iou(faces.xywh[f0:f1], boxes.xywh[b0:b1])
        best = np.argmax(overlaps, axis=0)
        reached = overlaps[best, np.arange(b1 - b0)] >= iou_threshold
        face[b0:b1] = np.where(reached, f0 + best, -1)
        evaluated[b0:b1] = True
    return _BoxTargets(score=score[evaluated], face=face[evaluated])


def _setting_pr(name: str, in_set: np.ndarray, targets: _BoxTargets, thresholds: np.ndarray) -> SettingPR:
    hits_face = targets.face >= 0
    to_ignored = hits_face & ~in_set[np.maximum(targets.face, 0)]
    proposals = count_at_or_above(targets.score[~to_ignored], thresholds)
    recalled_boxes = hits_face & ~to_ignored
    best = np.full(len(in_set), -np.inf)
    np.maximum.at(best, targets.face[recalled_boxes], targets.score[recalled_boxes])
    recalled = count_at_or_above(best[in_set & np.isfinite(best)], thresholds)
    faces = int(in_set.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = recalled / proposals
    recall = recalled / faces if faces else np.full(len(thresholds), np.nan)
    return SettingPR(name=name, faces=faces, thresholds=thresholds, proposals=proposals.astype(np.int64),
                     recalled=recalled.astype(np.int64), ap=voc_ap(recall, precision) if faces else float("nan"))


def wider_ap(faces: LabelledFaces, boxes: PackBoxes, *, settings: Sequence[WiderSet | str] = SET_NAMES,
             iou_threshold: float = OFFICIAL_IOU, threshold_count: int = THRESHOLD_COUNT) -> WiderAP:
    """Official WIDER FACE AP of ``boxes`` (raw scores, any range) on each set in ``settings``."""
    settings = [WiderSet.parse(name, "settings").value for name in settings]
    missing = [name for name in settings if name not in faces.sets]
    if missing:
        raise ConfigError(f"wider_ap: the faces have no {', '.join(missing)} column(s); AP needs the "
                          f"official set flags (easy, medium, hard) in faces.csv")
    if boxes.n_images != faces.n_images:
        raise ConfigError(f"wider_ap: boxes cover {boxes.n_images} images, the faces {faces.n_images}")
    targets = _box_targets(faces, boxes, iou_threshold)
    thresholds = official_thresholds(threshold_count)
    return WiderAP(settings=tuple(_setting_pr(name, faces.sets[name], targets, thresholds) for name in settings))

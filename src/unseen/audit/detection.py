"""Detection recall by group: which annotated faces a detector found, and rates per group.

A face counts as found when a box scoring at least the operating threshold overlaps it at
IoU >= 0.5. Boxes are matched greedily, best score first, each to the still-unmatched
face it overlaps most (continuous pixel IoU: boxes are half-open pixel ranges), so one box
finds at most one face and a second box on a found face is a false positive. A box that
overlaps no annotated face (invalid-flagged ones included) is a false positive; false
positives belong to no person and are reported per image, never per group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from unseen.audit.wider import MISSING, SET_NAMES, LabelledFaces, PackBoxes
from unseen.audit.wider_eval import WiderAP, wider_ap
from unseen.errors import ConfigError
from unseen.faces.types import box_iou

IOU_THRESHOLD = 0.5

HEIGHT_EDGES = (10.0, 16.0, 24.0, 32.0, 64.0)
HEIGHT_BUCKETS = ("<10", "10-16", "16-24", "24-32", "32-64", ">=64")
"""Face height buckets in pixels, each ``[low, high)``."""

SKIN_TYPES = ("I", "II", "III", "IV", "V", "VI")
SKIN_POOLS = (("I-II", ("I", "II")), ("III-IV", ("III", "IV")), ("V-VI", ("V", "VI")))
"""Perceived Fitzpatrick skin types, one by one and pooled in pairs."""


@dataclass(frozen=True, eq=False)
class Matches:
    """Which faces a set of boxes found, and which boxes found nothing.

    detected: (n,) a box matched the face. iou: (n,) IoU with that box (0 where none).
    score: (n,) score of that box (NaN where none). box_face: (k,) face each box matched,
    -1 for a false positive. box_image: (k,) image of each box.
    """

    detected: np.ndarray
    iou: np.ndarray
    score: np.ndarray
    box_face: np.ndarray
    box_image: np.ndarray
    n_images: int

    @property
    def false_positive(self) -> np.ndarray:
        return self.box_face < 0

    def false_positives_per_image(self) -> np.ndarray:
        """(m,) count of unmatched boxes in every image."""
        return np.bincount(self.box_image[self.false_positive], minlength=self.n_images)


def match_boxes(faces: LabelledFaces, boxes: PackBoxes, *, iou_threshold: float = IOU_THRESHOLD) -> Matches:
    """Match ``boxes`` (already cut at the operating threshold) to the annotated ``faces``."""
    if boxes.n_images != faces.n_images:
        raise ConfigError(f"match_boxes: boxes cover {boxes.n_images} images, the faces {faces.n_images}")
    detected = np.zeros(len(faces), bool)
    iou = np.zeros(len(faces))
    score = np.full(len(faces), np.nan)
    box_face = np.full(len(boxes), -1, np.int64)
    face_bounds, box_bounds = faces.image_bounds(), boxes.image_bounds()
    face_xyxy, box_xyxy = faces.xyxy, boxes.xyxy
    for i in np.flatnonzero((np.diff(face_bounds) > 0) & (np.diff(box_bounds) > 0)):
        f0, b0 = face_bounds[i], box_bounds[i]
        rows = slice(b0, box_bounds[i + 1])
        overlaps = box_iou(box_xyxy[rows], face_xyxy[f0:face_bounds[i + 1]])
        chosen = _greedy_match(overlaps, boxes.score[rows], iou_threshold)
        hit = chosen >= 0
        faces_hit = f0 + chosen[hit]
        box_face[b0 + np.flatnonzero(hit)] = faces_hit
        detected[faces_hit] = True
        iou[faces_hit] = overlaps[np.flatnonzero(hit), chosen[hit]]
        score[faces_hit] = boxes.score[rows][hit]
    return Matches(detected=detected, iou=iou, score=score, box_face=box_face,
                   box_image=boxes.image_index.copy(), n_images=faces.n_images)


def _greedy_match(overlaps: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """For each box (row), the face (column) it takes, or -1; best-scoring boxes choose first."""
    chosen = np.full(len(scores), -1, np.int64)
    candidates = np.where(overlaps >= iou_threshold, overlaps, -1.0)
    for b in np.argsort(-scores, kind="stable"):
        if not np.any(candidates[b] >= 0):
            continue
        face = int(np.argmax(candidates[b]))
        chosen[b] = face
        candidates[:, face] = -1.0
    return chosen


# -- groups -----------------------------------------------------------------------------
@dataclass(frozen=True)
class GroupRates:
    """Successes (faces found, or hidden) out of the faces of each group.

    labels: (g,) group names. n: (g,) faces in the group. k: (g,) of them successes.
    """

    labels: tuple[str, ...]
    n: np.ndarray
    k: np.ndarray

    @property
    def rate(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n > 0, self.k / np.maximum(self.n, 1), np.nan)

    def __getitem__(self, label: str) -> tuple[int, int, float]:
        i = self.labels.index(label)
        return int(self.k[i]), int(self.n[i]), float(self.rate[i])

    def rows(self) -> list[tuple[str, int, int, float]]:
        return [(label, int(n), int(k), float(r)) for label, n, k, r in zip(self.labels, self.n, self.k, self.rate)]


def rates_by(labels: np.ndarray, success: np.ndarray, groups: Sequence[tuple[str, Sequence[str]]],
             *, where: np.ndarray | None = None) -> GroupRates:
    """Success rate in each named group, a group being the faces whose label is in its values.

    ``where`` restricts the faces counted (e.g. valid faces only).
    """
    labels = np.asarray(labels).astype(str)
    success = np.asarray(success, bool)
    if labels.shape != success.shape:
        raise ConfigError(f"rates_by: labels {labels.shape} and success {success.shape} differ in shape")
    counted = np.ones(len(labels), bool) if where is None else np.asarray(where, bool)
    n, k = [], []
    for _, values in groups:
        members = counted & np.isin(labels, list(values))
        n.append(int(members.sum()))
        k.append(int((members & success).sum()))
    return GroupRates(labels=tuple(name for name, _ in groups), n=np.array(n), k=np.array(k))


def height_bucket(heights: np.ndarray) -> np.ndarray:
    """The `HEIGHT_BUCKETS` label of every face height (pixels)."""
    index = np.searchsorted(np.asarray(HEIGHT_EDGES), np.asarray(heights, np.float64), side="right")
    return np.asarray(HEIGHT_BUCKETS)[index]


HEIGHT_GROUPS = tuple((label, (label,)) for label in HEIGHT_BUCKETS)
SKIN_GROUPS = tuple((t, (t,)) for t in SKIN_TYPES) + SKIN_POOLS


def rates_by_height(faces: LabelledFaces, success: np.ndarray, *, where: np.ndarray | None = None) -> GroupRates:
    return rates_by(height_bucket(faces.height), success, HEIGHT_GROUPS, where=where)


def rates_by_skin(faces: LabelledFaces, success: np.ndarray, *, where: np.ndarray | None = None) -> GroupRates:
    """Rates for skin types I..VI and pooled I-II / III-IV / V-VI (needs a ``skin`` column)."""
    if "skin" not in faces.attributes:
        raise ConfigError(f"rates_by_skin: the faces have no 'skin' column (they have: "
                          f"{', '.join(faces.attributes) or 'none'})")
    return rates_by(faces.attributes["skin"], success, SKIN_GROUPS, where=where)


def is_labelled(values: np.ndarray) -> np.ndarray:
    return np.asarray(values).astype(str) != MISSING


# -- one figure set for a detector over a pack ------------------------------------------
@dataclass(frozen=True, eq=False)
class DetectionSummary:
    """Recall at one operating threshold, AP over the recorded boxes, false positives.

    Recall counts valid faces only (see `LabelledFaces.valid`). ``ap`` is None when the
    pack has no easy/medium/hard flags; ``by_skin`` None when it has no ``skin`` column.
    """

    threshold: float
    faces: int
    found: int
    by_height: GroupRates
    by_skin: GroupRates | None
    false_positives_per_image: float
    ap: WiderAP | None
    matches: Matches

    @property
    def recall(self) -> float:
        return self.found / self.faces if self.faces else float("nan")


def summarise_detection(faces: LabelledFaces, boxes: PackBoxes, *, threshold: float,
                        iou_threshold: float = IOU_THRESHOLD) -> DetectionSummary:
    """The benchmark's figures for ``boxes`` (recorded at any lower threshold) on ``faces``."""
    matches = match_boxes(faces, boxes.above(threshold), iou_threshold=iou_threshold)
    valid = faces.valid
    has_sets = all(name in faces.sets for name in SET_NAMES)
    return DetectionSummary(
        threshold=threshold,
        faces=int(valid.sum()),
        found=int((matches.detected & valid).sum()),
        by_height=rates_by_height(faces, matches.detected, where=valid),
        by_skin=rates_by_skin(faces, matches.detected, where=valid) if "skin" in faces.attributes else None,
        false_positives_per_image=float(matches.false_positives_per_image().mean()) if faces.n_images else float("nan"),
        ap=wider_ap(faces, boxes) if has_sets else None,
        matches=matches,
    )

"""Which annotated faces a detector found: boxes matched to faces, one box to one face.

A face counts as found when a box scoring at least the operating threshold overlaps it at
IoU >= 0.5. Boxes are matched greedily, best score first, each to the still-unmatched
face it overlaps most (continuous pixel IoU: boxes are half-open pixel ranges), so one box
finds at most one face and a second box on a found face is a false positive. A box that
overlaps no annotated face (invalid-flagged ones included) is a false positive; false
positives belong to no person and are reported per image, never per group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unseen.audit.detection.box_files import PackBoxes
from unseen.audit.detection.pack import LabelledFaces
from unseen.errors import ConfigError
from unseen.faces.boxes import box_iou

IOU_THRESHOLD = 0.5


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

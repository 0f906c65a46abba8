"""A review preview: the redacted photo, downscaled, with what was covered and what needs a
look outlined, so a person can see at a glance where to check.

It is made from the redacted pixels only, so it shows nothing the output does not.
"""

from __future__ import annotations

import cv2
import numpy as np

from unseen.faces.types import Detections
from unseen.redact.photo import PhotoRedaction

PREVIEW_SIDE = 1600
COVERED = (0, 200, 0)
LOW_CONFIDENCE = (255, 160, 0)
FLAGGED = (255, 0, 0)
POSSIBLE = (255, 230, 0)


def preview_image(redaction: PhotoRedaction, *, max_side: int = PREVIEW_SIDE) -> np.ndarray:
    """The redacted pixels at most ``max_side`` long, with outlines: green around each covered
    region, orange where it was covered with low confidence, red around faces verification
    found (re-detected or left bare), yellow around possible faces left uncovered."""
    height, width = redaction.rgb.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    small = redaction.rgb if scale == 1.0 else cv2.resize(
        redaction.rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    canvas = np.ascontiguousarray(small.copy())
    low = redaction.review
    _outline(canvas, redaction.regions[~low], scale, COVERED)
    _outline(canvas, redaction.regions[low], scale, LOW_CONFIDENCE)
    check = redaction.verification
    if check is not None:
        _outline(canvas, check.candidates, scale, POSSIBLE)
        _outline(canvas, Detections.merge([check.redetected, check.exposed]), scale, FLAGGED)
    return canvas


def _outline(canvas: np.ndarray, boxes: Detections, scale: float, colour: tuple[int, int, int]) -> None:
    thickness = max(2, round(max(canvas.shape[:2]) / 500))
    for x1, y1, x2, y2 in np.round(boxes.xyxy * scale).astype(int) if len(boxes) else ():
        cv2.rectangle(canvas, (int(x1), int(y1)), (int(x2), int(y2)), colour, thickness)

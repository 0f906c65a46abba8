"""Run a detector over image files: the library call behind `unseen detect`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unseen.faces.detectors.base import Detector
from unseen.faces.registry import build_detector
from unseen.faces.types import Detections
from unseen.media.image import load


@dataclass(frozen=True)
class ImageFaces:
    """The faces one detector found in one file."""

    path: Path
    width: int
    height: int
    faces: Detections

    def to_record(self) -> dict:
        return {"path": str(self.path), "width": self.width, "height": self.height,
                "faces": self.faces.to_records()}


def detect_files(paths: Sequence[str | Path], *, detector: Detector | str = "centerface",
                 threshold: float | None = None) -> Iterator[ImageFaces]:
    """Yield each file's faces, in order; a file that cannot be read raises InputFileError."""
    model = build_detector(detector) if isinstance(detector, str) else detector
    for path in paths:
        image = load(path)
        yield ImageFaces(path=image.path, width=image.width, height=image.height,
                         faces=model.detect(image.rgb, threshold=threshold))


def largest_face(image: np.ndarray, detector: Detector, *, max_side: int | None = None,
                 threshold: float | None = None) -> Detections:
    """The largest face ``detector`` finds in ``image`` (one row, or empty), in its pixels.

    With ``max_side`` detection runs on a copy whose long side is at most that many pixels:
    faster, and enough for photos whose subject fills the frame.
    """
    import cv2

    height, width = image.shape[:2]
    scale = max_side / max(height, width) if max_side and max(height, width) > max_side else 1.0
    small = image if scale == 1.0 else cv2.resize(
        image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    found = detector.detect(small, threshold=threshold)
    if len(found) == 0:
        return found
    largest = found[[int(np.argmax(found.area))]]
    return largest if scale == 1.0 else largest.scaled(width / small.shape[1], height / small.shape[0])

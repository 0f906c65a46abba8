"""Run a detector over image files: the library call behind `unseen detect`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

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

"""Coverage: how much of each annotated face a redactor's covered area hides.

A redactor covers a shape inside each of its boxes (the whole box, or the ellipse inscribed
in it). A face is *hidden* when at least `HIDDEN_FRACTION` of its annotated box lies under
the covered area. The cost side is the share of the image covered, in all and *away from
faces*: further than `AWAY_MARGIN` face-sizes (the larger side of the face box, measured
along each axis) from every annotated face.

Everything is computed on the pixel grid of the image. The covered area is exactly the
raster `unseen.redact.cover` draws (`unseen.faces.boxes.shape_mask`: a box covers every
pixel it touches, an ellipse is OpenCV's filled ellipse in its box). A face is the pixels
whose centres lie in its annotated box (boxes are half-open, so ``0..10`` is pixels 0 to 9).

For one image call `image_coverage`; for a whole pack, `pack_coverage`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unseen.audit.detection.box_files import PackBoxes
from unseen.audit.detection.pack import LabelledFaces
from unseen.errors import ConfigError
from unseen.faces.boxes import CoverShape, centred_ranges, range_areas, range_sums, shape_mask, union_mask
from unseen.progress import SILENT, Progress

HIDDEN_FRACTION = 0.8
AWAY_MARGIN = 0.5


# -- rasterising ------------------------------------------------------------------------
def covered_mask(cover_xyxy: np.ndarray, *, width: int, height: int,
                 shape: CoverShape | str = CoverShape.BOX) -> np.ndarray:
    """(height, width) bool: the pixels a redactor covered with ``shape`` in each box."""
    return shape_mask(cover_xyxy, width=width, height=height, shape=shape)


def near_faces_mask(face_xyxy: np.ndarray, *, width: int, height: int, margin: float = AWAY_MARGIN) -> np.ndarray:
    """(height, width) bool: pixels within ``margin`` face-sizes of some face box."""
    face_xyxy = np.asarray(face_xyxy, np.float64).reshape(-1, 4)
    size = np.max(face_xyxy[:, 2:] - face_xyxy[:, :2], axis=1, initial=0.0)
    grown = face_xyxy + margin * size[:, None] * np.array([-1.0, -1.0, 1.0, 1.0])
    return union_mask(centred_ranges(grown, width, height), width, height)


def covered_fractions(face_xyxy: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(n,) share of each face box's pixels (inside the image) that ``mask`` covers; NaN for
    a box with no pixel in the image."""
    height, width = mask.shape
    ranges = centred_ranges(face_xyxy, width, height)
    covered, area = range_sums(mask, ranges), range_areas(ranges)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(area > 0, covered / np.maximum(area, 1), np.nan)


# -- results ----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ImageCoverage:
    """Coverage of one image. face_fraction: (n,) share of each face box covered.
    covered_share / covered_away_share: share of the image's pixels covered, in all and
    away from faces."""

    face_fraction: np.ndarray
    covered_share: float
    covered_away_share: float

    def hidden(self, at: float = HIDDEN_FRACTION) -> np.ndarray:
        return hidden_faces(self.face_fraction, at)


def hidden_faces(face_fraction: np.ndarray, at: float = HIDDEN_FRACTION) -> np.ndarray:
    """A face is hidden when at least ``at`` of its box is covered (one outside the image is not)."""
    return np.nan_to_num(face_fraction, nan=0.0) >= at


def image_coverage(*, face_xyxy: np.ndarray, cover_xyxy: np.ndarray, width: int, height: int,
                   shape: CoverShape | str = CoverShape.BOX, margin: float = AWAY_MARGIN) -> ImageCoverage:
    """How much of each face (xyxy, pixels) the covered boxes hide, and what else they cover."""
    mask = covered_mask(cover_xyxy, width=width, height=height, shape=shape)
    away = ~near_faces_mask(face_xyxy, width=width, height=height, margin=margin)
    pixels = float(width * height)
    return ImageCoverage(
        face_fraction=covered_fractions(face_xyxy, mask),
        covered_share=float(mask.sum()) / pixels,
        covered_away_share=float((mask & away).sum()) / pixels,
    )


@dataclass(frozen=True, eq=False)
class PackCoverage:
    """Coverage over a pack. face_fraction / hidden: (n,) per annotated face.
    covered_share / covered_away_share: (m,) per image. shape: what was covered."""

    face_fraction: np.ndarray
    hidden: np.ndarray
    covered_share: np.ndarray
    covered_away_share: np.ndarray
    shape: CoverShape
    hidden_at: float

    def mean_covered_share(self) -> float:
        """Mean over images of the share of each image covered."""
        return float(np.mean(self.covered_share)) if len(self.covered_share) else float("nan")

    def mean_covered_away_share(self) -> float:
        return float(np.mean(self.covered_away_share)) if len(self.covered_away_share) else float("nan")


def pack_coverage(faces: LabelledFaces, covers: PackBoxes, *, shape: CoverShape | str = CoverShape.BOX,
                  image_sizes: np.ndarray | None = None, hidden_at: float = HIDDEN_FRACTION,
                  margin: float = AWAY_MARGIN, progress: Progress = SILENT) -> PackCoverage:
    """Coverage of every annotated face and image of a pack by a redactor's ``covers``.

    ``image_sizes`` (m, 2) width, height; read from the image files when omitted.
    ``progress`` advances once per image.
    """
    shape = CoverShape.parse(shape, "shape")
    if not 0.0 < hidden_at <= 1.0:
        raise ConfigError(f"pack_coverage: hidden_at must be in (0, 1], got {hidden_at}")
    if covers.n_images != faces.n_images:
        raise ConfigError(f"pack_coverage: covers span {covers.n_images} images, the faces {faces.n_images}")
    sizes = faces.image_sizes() if image_sizes is None else np.asarray(image_sizes, np.int64)
    if sizes.shape != (faces.n_images, 2):
        raise ConfigError(f"pack_coverage: image_sizes: expected shape ({faces.n_images}, 2), got {sizes.shape}")
    fraction = np.full(len(faces), np.nan)
    covered = np.zeros(faces.n_images)
    away = np.zeros(faces.n_images)
    face_bounds, cover_bounds = faces.image_bounds(), covers.image_bounds()
    face_xyxy, cover_xyxy = faces.xyxy, covers.xyxy
    progress.start(faces.n_images, unit="images", description="coverage")
    for i in range(faces.n_images):
        rows = slice(face_bounds[i], face_bounds[i + 1])
        result = image_coverage(face_xyxy=face_xyxy[rows], cover_xyxy=cover_xyxy[cover_bounds[i]:cover_bounds[i + 1]],
                                width=int(sizes[i, 0]), height=int(sizes[i, 1]), shape=shape, margin=margin)
        fraction[rows] = result.face_fraction
        covered[i], away[i] = result.covered_share, result.covered_away_share
        progress.advance()
    return PackCoverage(face_fraction=fraction, hidden=hidden_faces(fraction, hidden_at),
                        covered_share=covered, covered_away_share=away, shape=shape, hidden_at=hidden_at)

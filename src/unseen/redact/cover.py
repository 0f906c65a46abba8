"""Covering faces: a new image in which every face region is replaced, never the input changed.

The default is a solid fill that owes nothing to the pixels underneath, over the face box
grown by generous padding (hair, ears, and the detector's loose fit on small faces), and
over every 8 x 8 JPEG block the face box touches, so no block mixes face pixels with
uncovered ones (outputs are encoded without chroma subsampling, so 8 x 8 is every JPEG
block; 16 x 16 snapping would cost a measured 0.3% more of each image away from faces).
Mosaic and blur exist for users who want them; both are scaled to the face (a fixed cell
size leaves big faces recognisable) and carry noise, and neither is ever the default.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unseen.choices import Choice
from unseen.errors import ConfigError
from unseen.faces.boxes import CoverShape, shape_mask, snapped_to_grid, union_mask
from unseen.faces.types import Detections

MIN_PADDING = 0.25
"""No side of a face box is grown by less than this fraction of the box's width/height."""


class CoverStyle(Choice):
    """What replaces the pixels of a face region."""

    SOLID = "solid"
    MOSAIC = "mosaic"
    BLUR = "blur"


@dataclass(frozen=True)
class CoverConfig:
    """How faces are covered.

    style: solid fill (default), mosaic or blur.
    shape: the shape drawn inside each padded box (an ellipse leaves the box's corners).
    padding: (left, top, right, bottom) growth of each face box, as fractions of its width
        (left, right) and height (top, bottom); each at least `MIN_PADDING`. The default
        30% was measured on WIDER: faces whose annotated box reaches past the detector's
        (turned heads, tall boxes) are hidden, for little more area away from faces.
    colour: RGB of the solid fill.
    block: the face box itself is always covered out to this pixel grid (JPEG's 8 x 8
        blocks), whatever the shape; 1 turns this off.
    mosaic_cells: a mosaic has at most this many cells across the face box.
    noise: standard deviation (grey levels) of the noise mosaic and blur add.
    blur_fraction: blur's Gaussian sigma as a fraction of the face box's larger side.
    """

    style: CoverStyle = CoverStyle.SOLID
    shape: CoverShape = CoverShape.BOX
    padding: tuple[float, float, float, float] = (0.3, 0.3, 0.3, 0.3)
    colour: tuple[int, int, int] = (0, 0, 0)
    block: int = 8
    mosaic_cells: int = 6
    noise: float = 24.0
    blur_fraction: float = 0.25

    def __post_init__(self) -> None:
        object.__setattr__(self, "style", CoverStyle.parse(self.style, "CoverConfig.style"))
        object.__setattr__(self, "shape", CoverShape.parse(self.shape, "CoverConfig.shape"))
        padding = tuple(float(p) for p in np.broadcast_to(np.asarray(self.padding, float), (4,)))
        if min(padding) < MIN_PADDING:
            raise ConfigError(f"CoverConfig.padding: every side needs at least {MIN_PADDING:.0%} "
                              f"of the face box, got {padding}")
        object.__setattr__(self, "padding", padding)
        if len(self.colour) != 3 or not all(0 <= c <= 255 for c in self.colour):
            raise ConfigError(f"CoverConfig.colour: expected three values 0..255, got {self.colour}")
        if self.block < 1:
            raise ConfigError(f"CoverConfig.block: expected a positive number of pixels, got {self.block}")
        if not 2 <= self.mosaic_cells <= 8:
            raise ConfigError(f"CoverConfig.mosaic_cells: expected 2..8 cells across a face, got {self.mosaic_cells}")
        if self.noise < 8 and self.style is not CoverStyle.SOLID:
            raise ConfigError(f"CoverConfig.noise: {self.style.value} needs noise of at least 8 grey levels, "
                              f"got {self.noise}")
        if self.blur_fraction < 0.15:
            raise ConfigError(f"CoverConfig.blur_fraction: expected at least 0.15 of the face size, "
                              f"got {self.blur_fraction}")


@dataclass(frozen=True, eq=False)
class Covered:
    """The result of covering: new pixels, the covered mask, and the regions drawn.

    rgb / alpha: the new image (alpha is 255 wherever a face was covered).
    mask: (H, W) bool, True on every covered pixel.
    regions: per face, the box its shape was drawn in (see `drawn_regions`).
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    mask: np.ndarray
    regions: Detections


def drawn_regions(faces: Detections, *, width: int, height: int, config: CoverConfig) -> Detections:
    """The box each face's cover shape is drawn in: the face box grown by the padding and,
    for boxes, widened to hold the face box snapped to the block grid. Not clipped (an
    ellipse's box may reach past the image edge; the drawing is clipped)."""
    if len(faces) == 0:
        return faces
    grown = faces.grown(config.padding)
    if config.shape is CoverShape.ELLIPSE:
        return grown
    snapped = snapped_to_grid(faces.xyxy, config.block, width, height).astype(np.float32)
    xyxy = np.concatenate([np.minimum(grown.xyxy[:, :2], snapped[:, :2]),
                           np.maximum(grown.xyxy[:, 2:], snapped[:, 2:])], axis=1)
    return grown._replace(xyxy=xyxy)


def cover_mask(faces: Detections, *, width: int, height: int, config: CoverConfig) -> np.ndarray:
    """(H, W) bool: every pixel the configured cover hides for these faces: the shape in
    each drawn region (`unseen.faces.boxes.shape_mask`) and the face box on the block grid."""
    regions = drawn_regions(faces, width=width, height=height, config=config)
    mask = shape_mask(regions.xyxy, width=width, height=height, shape=config.shape)
    grid = snapped_to_grid(faces.xyxy, config.block, width, height)
    return mask | union_mask(grid, width, height)


def cover(rgb: np.ndarray, faces: Detections, *, config: CoverConfig | None = None,
          alpha: np.ndarray | None = None, rng: np.random.Generator | None = None) -> Covered:
    """A covered copy of ``rgb`` (H, W, 3 uint8); ``rgb`` and ``alpha`` are not changed.

    ``rng`` drives the noise of mosaic and blur (pass a seeded generator for reproducible
    output); solid fill uses none.
    """
    config = config or CoverConfig()
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ConfigError(f"rgb: expected a uint8 array of shape (H, W, 3), got {getattr(rgb, 'shape', rgb)}")
    if alpha is not None and alpha.shape != rgb.shape[:2]:
        raise ConfigError(f"alpha: expected shape {rgb.shape[:2]}, got {alpha.shape}")
    if config.style is not CoverStyle.SOLID and rng is None:
        raise ConfigError(f"rng: {config.style.value} adds noise; pass a numpy Generator (seeded for reproducible output)")
    height, width = rgb.shape[:2]
    mask = cover_mask(faces, width=width, height=height, config=config)
    regions = drawn_regions(faces, width=width, height=height, config=config)
    out = rgb.copy()
    if config.style is CoverStyle.SOLID:
        for channel, value in enumerate(config.colour):  # a channel at a time: 10x faster than out[mask] = colour
            out[..., channel][mask] = value
    else:
        fill = rgb.copy()
        render = _mosaic if config.style is CoverStyle.MOSAIC else _blur
        for face, region in zip(faces.xyxy, regions.xyxy):
            x1, y1, x2, y2 = _bounds(face, region, config.block, width, height)
            if x2 > x1 and y2 > y1:
                fill[y1:y2, x1:x2] = render(rgb[y1:y2, x1:x2], face, config, rng)
        cv2.copyTo(fill, mask.view(np.uint8), out)  # out[mask] = fill[mask], without the gather (0.6 s at 12 MP)
    new_alpha = None
    if alpha is not None:
        new_alpha = alpha.copy()
        new_alpha[mask] = 255
    return Covered(rgb=out, alpha=new_alpha, mask=mask, regions=regions)


def _bounds(face: np.ndarray, region: np.ndarray, block: int, width: int, height: int) -> tuple[int, int, int, int]:
    """Integer bounds, inside the image, holding the drawn region and the block-snapped face."""
    sx1, sy1, sx2, sy2 = (int(v) for v in snapped_to_grid(face, block, width, height)[0])
    return (max(min(int(np.floor(region[0])), sx1), 0), max(min(int(np.floor(region[1])), sy1), 0),
            min(max(int(np.ceil(region[2])), sx2), width), min(max(int(np.ceil(region[3])), sy2), height))


def _noisy(pixels: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(pixels.astype(np.float32) + rng.normal(0.0, sigma, pixels.shape), 0, 255).astype(np.uint8)


def _mosaic(patch: np.ndarray, face: np.ndarray, config: CoverConfig, rng: np.random.Generator) -> np.ndarray:
    """Cells of the face's width / mosaic_cells (so at most that many cross the face), each
    cell's mean shifted by noise, then per-pixel noise on top."""
    cell = max(2, int(np.ceil(max(face[2] - face[0], face[3] - face[1]) / config.mosaic_cells)))
    height, width = patch.shape[:2]
    small_w, small_h = max(1, -(-width // cell)), max(1, -(-height // cell))
    means = cv2.resize(patch, (small_w, small_h), interpolation=cv2.INTER_AREA)
    means = _noisy(means, config.noise, rng)
    blocks = np.repeat(np.repeat(means, cell, axis=0), cell, axis=1)[:height, :width]
    return _noisy(blocks, config.noise / 2, rng)


def _blur(patch: np.ndarray, face: np.ndarray, config: CoverConfig, rng: np.random.Generator) -> np.ndarray:
    """A Gaussian blur with sigma a quarter of the face size, twice, then noise."""
    sigma = max(2.0, config.blur_fraction * float(max(face[2] - face[0], face[3] - face[1])))
    blurred = cv2.GaussianBlur(patch, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
    blurred = cv2.GaussianBlur(_noisy(blurred, config.noise, rng), (0, 0), sigmaX=sigma / 2,
                               borderType=cv2.BORDER_REFLECT)
    return _noisy(blurred, config.noise / 2, rng)

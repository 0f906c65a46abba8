"""Boxes and the shapes drawn in them: used alike by redaction (what it covers) and the
audit (what it measures), so both see the same pixels.

Boxes are float pixels ``x1, y1, x2, y2`` (corners, half-open: ``0, 0, 10, 10`` is pixels
0 to 9) or ``x, y, w, h``. A *pixel range* is integer ``c0, r0, c1, r1`` (columns
``c0..c1-1``, rows ``r0..r1-1``), clipped to an image; two rules turn a box into one:

- `covering_ranges`: every pixel the box touches (what a cover must hide);
- `centred_ranges`: every pixel whose centre lies in the box (what an annotated box shows).

`shape_mask` is the one raster of a cover shape: `unseen.redact.cover` draws with it and
`unseen.audit.detection.coverage` measures with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from unseen.choices import Choice
from unseen.errors import ConfigError


class CoverShape(Choice):
    """The shape filled inside each box that is covered (an ellipse leaves the box's corners)."""

    BOX = "box"
    ELLIPSE = "ellipse"


def _boxes(boxes: Any) -> np.ndarray:
    array = np.asarray(boxes)
    if array.size == 0:
        return array.reshape(0, 4)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ConfigError(f"boxes: expected shape (n, 4), got {array.shape}")
    return array


def xywh_to_xyxy(boxes: Any) -> np.ndarray:
    """``x, y, w, h`` -> ``x1, y1, x2, y2`` (same dtype)."""
    b = _boxes(boxes)
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)


def xyxy_to_xywh(boxes: Any) -> np.ndarray:
    """``x1, y1, x2, y2`` -> ``x, y, w, h`` (same dtype)."""
    b = _boxes(boxes)
    return np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between every box of ``a`` (n, 4) and of ``b`` (m, 4), both xyxy: (n, m).

    Continuous areas (a box is the half-open pixel range it spans); 0 where the union is empty.
    Computed a coordinate at a time: the greedy clustering calls it on large blocks.
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    width = np.minimum(a[:, None, 2], b[None, :, 2])
    width -= np.maximum(a[:, None, 0], b[None, :, 0])
    height = np.minimum(a[:, None, 3], b[None, :, 3])
    height -= np.maximum(a[:, None, 1], b[None, :, 1])
    np.clip(width, 0, None, out=width)
    np.clip(height, 0, None, out=height)
    inter = np.multiply(width, height, out=width)
    union = ((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]))[:, None] + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union -= inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


GREEDY_BLOCK = 256


def greedy_clusters(xyxy: np.ndarray, iou_threshold: float, *, block: int = GREEDY_BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """Greedy clustering of boxes sorted best first: (seeds, cluster).

    The best box not yet taken seeds a cluster that takes every box not yet taken overlapping
    it by at least ``iou_threshold``; ``seeds`` are those boxes' indices (what non-maximum
    suppression keeps) and ``cluster[j]`` is the position in ``seeds`` of box j's cluster.
    Boxes are handled ``block`` at a time, so memory stays linear in the boxes and the work
    runs in whole-array steps rather than one box at a time.
    """
    boxes = np.asarray(xyxy, np.float64)
    seeds: list[int] = []
    cluster = np.full(len(boxes), -1, np.int64)
    for start in range(0, len(boxes), block):
        rows = np.arange(start, min(start + block, len(boxes)))
        if seeds:
            _join_first_overlapping(cluster, rows, box_iou(boxes[np.asarray(seeds)], boxes[rows]) >= iou_threshold)
        free = rows[cluster[rows] < 0]
        overlaps = box_iou(boxes[free], boxes[free]) >= iou_threshold
        for row, index in enumerate(free):
            if cluster[index] < 0:  # a seed (a box of no area overlaps nothing, itself included)
                cluster[free[overlaps[row] & (cluster[free] < 0)]] = len(seeds)
                cluster[index] = len(seeds)
                seeds.append(int(index))
    return np.asarray(seeds, np.int64), cluster


def _join_first_overlapping(cluster: np.ndarray, block: np.ndarray, overlaps: np.ndarray) -> None:
    """Put each box of ``block`` in the first (best) seed's cluster it overlaps, if any."""
    joins = overlaps.any(axis=0)
    cluster[block[joins]] = overlaps[:, joins].argmax(axis=0)


# -- pixel ranges -------------------------------------------------------------------------
def _clipped(ranges: np.ndarray, width: int, height: int) -> np.ndarray:
    ranges[:, [0, 2]] = np.clip(ranges[:, [0, 2]], 0, width)
    ranges[:, [1, 3]] = np.clip(ranges[:, [1, 3]], 0, height)
    ranges[:, 2] = np.maximum(ranges[:, 2], ranges[:, 0])
    ranges[:, 3] = np.maximum(ranges[:, 3], ranges[:, 1])
    return ranges


def covering_ranges(xyxy: Any, width: int, height: int) -> np.ndarray:
    """(n, 4) pixel ranges holding every pixel each box touches (floor / ceil), clipped;
    a box without area gets an empty range."""
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    ranges = np.concatenate([np.floor(xyxy[:, :2]), np.ceil(xyxy[:, 2:])], axis=1).astype(np.int64)
    flat = (xyxy[:, 2] - xyxy[:, 0] <= 0) | (xyxy[:, 3] - xyxy[:, 1] <= 0)
    ranges[flat, 2:] = ranges[flat, :2]
    return _clipped(ranges, width, height)


def centred_ranges(xyxy: Any, width: int, height: int) -> np.ndarray:
    """(n, 4) pixel ranges holding the pixels whose centres lie in each box, clipped."""
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    return _clipped(np.ceil(xyxy - 0.5).astype(np.int64), width, height)


def snapped_to_grid(xyxy: Any, block: int, width: int, height: int) -> np.ndarray:
    """(n, 4) pixel ranges: each box widened outward to the ``block`` pixel grid (JPEG's
    8 x 8 blocks), clipped to the image."""
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    low = np.floor(np.maximum(xyxy[:, :2], 0.0) / block) * block
    high = np.ceil(np.minimum(xyxy[:, 2:], [width, height]) / block) * block
    return _clipped(np.concatenate([low, high], axis=1).astype(np.int64), width, height)


def union_mask(ranges: np.ndarray, width: int, height: int) -> np.ndarray:
    """(height, width) bool: pixels inside any of the (clipped) pixel ranges."""
    mask = np.zeros((height, width), bool)
    for c0, r0, c1, r1 in np.asarray(ranges, np.int64).reshape(-1, 4).tolist():
        mask[max(r0, 0):max(r1, 0), max(c0, 0):max(c1, 0)] = True
    return mask


def range_sums(values: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """(n,) sum of a (height, width) array over each (clipped) pixel range: box by box when
    the boxes hold fewer pixels than the image (a crowd on a 12-megapixel photo), else
    from an integral image (many overlapping boxes)."""
    values = np.asarray(values)
    ranges = np.asarray(ranges, np.int64).reshape(-1, 4)
    if range_areas(ranges).sum() < values.size:
        return np.array([values[r0:r1, c0:c1].sum(dtype=np.int64) for c0, r0, c1, r1 in ranges.tolist()], np.int64)
    c0, r0, c1, r1 = ranges.T
    integral = np.zeros((values.shape[0] + 1, values.shape[1] + 1), np.int64)
    integral[1:, 1:] = values.cumsum(axis=0, dtype=np.int64).cumsum(axis=1)
    return integral[r1, c1] - integral[r0, c1] - integral[r1, c0] + integral[r0, c0]


def range_areas(ranges: np.ndarray) -> np.ndarray:
    """(n,) pixels in each pixel range."""
    ranges = np.asarray(ranges, np.int64).reshape(-1, 4)
    return (ranges[:, 2] - ranges[:, 0]) * (ranges[:, 3] - ranges[:, 1])


# -- the one raster of a cover shape ------------------------------------------------------
def shape_mask(xyxy: Any, *, width: int, height: int, shape: CoverShape | str = CoverShape.BOX) -> np.ndarray:
    """(height, width) bool: ``shape`` drawn in each box (boxes may reach past the image;
    the drawing is clipped). A box is drawn over every pixel it touches; an ellipse is
    inscribed in its box with OpenCV's filled ellipse at 1/16 pixel precision."""
    shape = CoverShape.parse(shape, "shape")
    if width < 1 or height < 1:
        raise ConfigError(f"shape_mask: expected a positive image size, got {width}x{height}")
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    if shape is CoverShape.BOX:
        return union_mask(covering_ranges(xyxy, width, height), width, height)
    import cv2

    mask = np.zeros((height, width), np.uint8)
    for x1, y1, x2, y2 in xyxy.tolist():
        if x2 - x1 <= 0 or y2 - y1 <= 0:
            continue
        centre = (round((x1 + x2) / 2 * 16), round((y1 + y2) / 2 * 16))
        axes = (max(1, round((x2 - x1) / 2 * 16)), max(1, round((y2 - y1) / 2 * 16)))
        cv2.ellipse(mask, centre, axes, 0, 0, 360, 1, thickness=-1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(bool)


Window = tuple[int, int, int, int]
"""``x1, y1, x2, y2`` in whole pixels of an image."""


def merged_windows(xyxy: Any, *, width: int, height: int, margin: float, least: float,
                   slack: float = 0.25) -> list[Window]:
    """Integer windows holding every box grown by ``margin`` times its height (at least
    ``least`` px) on each side, clipped to the image. Two windows become one when the one
    holding both is at most ``slack`` larger than the grown boxes they hold (so a crowd
    shares windows, but far-apart faces do not pull the empty ground between into one)."""
    boxes = _boxes(xyxy)
    if len(boxes) == 0:
        return []
    side = np.maximum((boxes[:, 3] - boxes[:, 1]) * margin, least)[:, None]
    grown = np.concatenate([boxes[:, :2] - side, boxes[:, 2:] + side], axis=1)
    grown = np.clip(np.round(grown), 0, [width, height, width, height]).astype(int)
    windows: list[tuple[tuple[int, int, int, int], int]] = []  # (window, area of the boxes it holds)
    for box in map(tuple, grown[np.argsort(grown[:, 0], kind="stable")].tolist()):
        held = _area(box)
        merged = True
        while merged:
            merged = False
            for i, (other, other_held) in enumerate(windows):
                joined = _joined(box, other)
                if _area(_overlap(box, other)) > 0 and _area(joined) <= (1 + slack) * (held + other_held):
                    box, held = joined, held + other_held
                    del windows[i]
                    merged = True
                    break
        windows.append((box, held))
    return [w for w, _ in windows if w[2] > w[0] and w[3] > w[1]]


def _area(w: tuple[int, int, int, int]) -> int:
    return max(w[2] - w[0], 0) * max(w[3] - w[1], 0)


def _joined(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))

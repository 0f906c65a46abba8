"""`Detections`: the one array-backed type that carries faces through unseen.

Boxes are pixels of the image they were found in, as float ``x1, y1, x2, y2`` with
``x2 > x1`` and ``y2 > y1`` (half-open: a box covering pixels 0..9 is ``0, 0, 10, 10``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unseen.errors import ConfigError
from unseen.faces.boxes import greedy_clusters, xywh_to_xyxy, xyxy_to_xywh

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
"""Order of the five landmarks; 'left' is the subject's right side seen in the image's left."""


def _as_float_array(value: Any, shape_tail: tuple[int, ...], name: str, n: int) -> np.ndarray:
    array = np.asarray(value, dtype=np.float32)
    if n == 0 and array.size == 0:
        return np.zeros((0, *shape_tail), dtype=np.float32)
    expected = (n, *shape_tail)
    if array.shape != expected:
        raise ConfigError(f"Detections.{name}: expected shape {expected}, got {array.shape}")
    return array


@dataclass(frozen=True, eq=False)
class Detections:
    """Faces found in one image: boxes, scores, optional landmarks, who found them.

    Build with keyword arguments; ``landmarks``, ``source`` and ``track_id`` default to
    "unknown" (NaN landmarks, empty source, track id -1). Index it like an array:
    ``d[d.score >= 0.5]``, ``d[:3]``, ``d[[0, 2]]``.

    source: (n,) the name of the detector (or detector pass) that produced each face.
    passes / found_by: when a face fuses several passes (the ensemble), ``found_by`` is an
        (n, len(passes)) bool matrix saying which of the named ``passes`` saw it; by
        default there are no passes and the matrix has no columns.
    """

    xyxy: np.ndarray
    score: np.ndarray
    landmarks: np.ndarray = field(default=None)  # type: ignore[assignment]
    source: np.ndarray = field(default=None)  # type: ignore[assignment]
    track_id: np.ndarray = field(default=None)  # type: ignore[assignment]
    passes: tuple[str, ...] = ()
    found_by: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32)
        if xyxy.size == 0:
            xyxy = xyxy.reshape(0, 4)
        if xyxy.ndim != 2 or xyxy.shape[1] != 4:
            raise ConfigError(f"Detections.xyxy: expected shape (n, 4), got {xyxy.shape}")
        n = len(xyxy)
        if not np.all(np.isfinite(xyxy)):
            raise ConfigError("Detections.xyxy: boxes must be finite numbers")
        if np.any(xyxy[:, 2] < xyxy[:, 0]) or np.any(xyxy[:, 3] < xyxy[:, 1]):
            raise ConfigError("Detections.xyxy: every box needs x2 >= x1 and y2 >= y1")
        score = _as_float_array(self.score, (), "score", n)
        landmarks = (
            np.full((n, 5, 2), np.nan, dtype=np.float32)
            if self.landmarks is None
            else _as_float_array(self.landmarks, (5, 2), "landmarks", n)
        )
        source = np.full(n, "") if self.source is None else np.asarray(self.source, dtype=str)
        if source.shape == ():
            source = np.full(n, source.item())
        if source.shape != (n,):
            raise ConfigError(f"Detections.source: expected shape ({n},), got {source.shape}")
        track_id = np.full(n, -1, dtype=np.int64) if self.track_id is None else np.asarray(self.track_id, np.int64)
        if track_id.shape != (n,):
            raise ConfigError(f"Detections.track_id: expected shape ({n},), got {track_id.shape}")
        passes = tuple(str(name) for name in self.passes)
        found_by = np.zeros((n, len(passes)), bool) if self.found_by is None else np.asarray(self.found_by, bool)
        if found_by.shape != (n, len(passes)):
            raise ConfigError(f"Detections.found_by: expected shape ({n}, {len(passes)}), got {found_by.shape}")
        object.__setattr__(self, "passes", passes)
        for name, value in (("xyxy", xyxy), ("score", score), ("landmarks", landmarks),
                            ("source", source), ("track_id", track_id), ("found_by", found_by)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def empty(cls) -> Detections:
        return cls(xyxy=np.zeros((0, 4), np.float32), score=np.zeros(0, np.float32))

    @classmethod
    def from_xywh(cls, xywh: Any, score: Any = None, **kwargs: Any) -> Detections:
        xyxy = xywh_to_xyxy(np.asarray(xywh, dtype=np.float32).reshape(-1, 4))
        if score is None:
            score = np.ones(len(xyxy), np.float32)
        return cls(xyxy=xyxy, score=score, **kwargs)

    @classmethod
    def merge(cls, parts: Iterable[Detections]) -> Detections:
        """Concatenate detections of the same image (no suppression; see `nms`)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        passes = tuple(dict.fromkeys(name for p in parts for name in p.passes))
        return cls(
            xyxy=np.concatenate([p.xyxy for p in parts]),
            score=np.concatenate([p.score for p in parts]),
            landmarks=np.concatenate([p.landmarks for p in parts]),
            source=np.concatenate([p.source for p in parts]),
            track_id=np.concatenate([p.track_id for p in parts]),
            passes=passes,
            found_by=np.concatenate([p._found_by_columns(passes) for p in parts]),
        )

    def _found_by_columns(self, passes: tuple[str, ...]) -> np.ndarray:
        """``found_by`` laid out over ``passes`` (a superset of this one's)."""
        columns = np.zeros((len(self), len(passes)), bool)
        for i, name in enumerate(self.passes):
            columns[:, passes.index(name)] = self.found_by[:, i]
        return columns

    # -- array protocol -----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: int | slice | Sequence[int] | np.ndarray) -> Detections:
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Detections(
            xyxy=self.xyxy[index],
            score=self.score[index],
            landmarks=self.landmarks[index],
            source=self.source[index],
            track_id=self.track_id[index],
            passes=self.passes,
            found_by=self.found_by[index],
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Detections):
            return NotImplemented
        return (
            np.array_equal(self.xyxy, other.xyxy)
            and np.array_equal(self.score, other.score)
            and np.array_equal(self.landmarks, other.landmarks, equal_nan=True)
            and np.array_equal(self.source, other.source)
            and np.array_equal(self.track_id, other.track_id)
            and self.passes == other.passes
            and np.array_equal(self.found_by, other.found_by)
        )

    def __repr__(self) -> str:
        return f"Detections(n={len(self)}, sources={sorted(set(self.source.tolist()))})"

    # -- geometry -----------------------------------------------------------------------
    @property
    def width(self) -> np.ndarray:
        return self.xyxy[:, 2] - self.xyxy[:, 0]

    @property
    def height(self) -> np.ndarray:
        return self.xyxy[:, 3] - self.xyxy[:, 1]

    @property
    def area(self) -> np.ndarray:
        return self.width * self.height

    @property
    def xywh(self) -> np.ndarray:
        return xyxy_to_xywh(self.xyxy)

    @property
    def has_landmarks(self) -> np.ndarray:
        return ~np.isnan(self.landmarks).any(axis=(1, 2))

    def _replace(self, **changes: Any) -> Detections:
        fields = {
            "xyxy": self.xyxy, "score": self.score, "landmarks": self.landmarks,
            "source": self.source, "track_id": self.track_id, "passes": self.passes, "found_by": self.found_by,
        }
        fields.update(changes)
        return Detections(**fields)

    def found_by_names(self, index: int) -> list[str]:
        """The passes that saw face ``index`` (empty when it came from a single detector)."""
        return [name for name, seen in zip(self.passes, self.found_by[index]) if seen]

    def above(self, threshold: float) -> Detections:
        """Only the detections scoring at least ``threshold``."""
        return self[self.score >= threshold]

    def scaled(self, sx: float, sy: float | None = None) -> Detections:
        """Boxes and landmarks multiplied by ``sx`` horizontally and ``sy`` vertically."""
        sy = sx if sy is None else sy
        factor = np.array([sx, sy], np.float32)
        return self._replace(
            xyxy=self.xyxy * np.tile(factor, 2), landmarks=self.landmarks * factor
        )

    def shifted(self, dx: float, dy: float) -> Detections:
        offset = np.array([dx, dy], np.float32)
        return self._replace(xyxy=self.xyxy + np.tile(offset, 2), landmarks=self.landmarks + offset)

    def grown(self, fraction: float | tuple[float, float, float, float]) -> Detections:
        """Each box grown by ``fraction`` of its width/height on every side.

        A 4-tuple gives (left, top, right, bottom) fractions separately, e.g. more on top
        for hair. Negative fractions shrink.
        """
        left, top, right, bottom = (fraction,) * 4 if np.isscalar(fraction) else fraction  # type: ignore[misc]
        if min(left + right, top + bottom) <= -1:
            raise ConfigError(f"grown: fractions {fraction} would turn boxes inside out; keep each pair > -1")
        w, h = self.width, self.height
        xyxy = np.stack([
            self.xyxy[:, 0] - left * w,
            self.xyxy[:, 1] - top * h,
            self.xyxy[:, 2] + right * w,
            self.xyxy[:, 3] + bottom * h,
        ], axis=1)
        return self._replace(xyxy=xyxy)

    def clipped(self, width: int, height: int) -> Detections:
        """Boxes clipped to an image of ``width`` x ``height``; boxes left empty are dropped."""
        xyxy = self.xyxy.copy()
        xyxy[:, [0, 2]] = np.clip(xyxy[:, [0, 2]], 0, width)
        xyxy[:, [1, 3]] = np.clip(xyxy[:, [1, 3]], 0, height)
        clipped = self._replace(xyxy=xyxy)
        return clipped[(clipped.width > 0) & (clipped.height > 0)]

    def sorted_by_score(self) -> Detections:
        return self[np.argsort(-self.score, kind="stable")]

    def nms(self, iou_threshold: float = 0.4) -> Detections:
        """Greedy non-maximum suppression: keep the best box of every overlapping cluster.

        Memory stays linear in the number of boxes (a detector at a low threshold can
        propose tens of thousands); see `unseen.faces.boxes.greedy_clusters`.
        """
        if len(self) < 2:
            return self
        order = np.argsort(-self.score, kind="stable")
        kept, _ = greedy_clusters(self.xyxy[order], iou_threshold)
        return self[np.sort(order[kept])]

    # -- serialisation ------------------------------------------------------------------
    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per face (boxes rounded to 0.01 px)."""
        records = []
        for i in range(len(self)):
            record: dict[str, Any] = {
                "box": [round(float(v), 2) for v in self.xyxy[i]],
                "score": round(float(self.score[i]), 4),
                "source": str(self.source[i]),
            }
            if self.has_landmarks[i]:
                record["landmarks"] = [[round(float(v), 2) for v in point] for point in self.landmarks[i]]
            if self.track_id[i] >= 0:
                record["track_id"] = int(self.track_id[i])
            if self.passes:
                record["found_by"] = self.found_by_names(i)
            records.append(record)
        return records

    @classmethod
    def from_records(cls, records: Sequence[dict[str, Any]]) -> Detections:
        if not records:
            return cls.empty()
        passes = tuple(dict.fromkeys(name for r in records for name in r.get("found_by", ())))
        try:
            return cls(
                xyxy=[r["box"] for r in records],
                score=[r["score"] for r in records],
                landmarks=[r.get("landmarks", np.full((5, 2), np.nan)) for r in records],
                source=[r.get("source", "") for r in records],
                track_id=[r.get("track_id", -1) for r in records],
                passes=passes,
                found_by=[[name in r.get("found_by", ()) for name in passes] for r in records],
            )
        except KeyError as missing:
            raise ConfigError(f"Detections.from_records: every record needs {missing}") from None


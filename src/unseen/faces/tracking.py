"""Frames of `Detections` -> face tracks: which detections in different frames are one face.

Underneath is ByteTrack (the `trackers` package's clean-room implementation, Apache-2.0,
the successor of supervision's): confident detections start and continue tracks (Kalman
prediction, IoU matching), and weak ones (below the covering threshold, down to
``low_threshold``) may only continue a track that already exists. That second stage is
what keeps a small or turning face tracked when the detector's score dips, without letting
weak detections alone cover the background.

Measured against norfair on the benchmark clips (``benchmarks/redact_video.py --tracker``):
see the README. norfair also pins NumPy below 2, which the rest of the stack (OpenCV 5,
pandas 3) cannot install with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from unseen.errors import ConfigError
from unseen.faces.detectors.base import check_threshold
from unseen.faces.boxes import box_iou
from unseen.faces.types import Detections

UNTRACKED = -1


@dataclass(frozen=True)
class TrackerConfig:
    """How detections are associated across frames.

    threshold: detections at or above this start tracks (and are covered on their own).
    low_threshold: weaker detections down to this only continue an existing track.
    lost_seconds: a track not seen for this long is closed (a face seen again later starts
        a new one; the redactor's hold covers the gap either way).
    min_iou: least overlap between a track's predicted box and a detection to match them.
    """

    threshold: float = 0.18
    low_threshold: float = 0.06
    lost_seconds: float = 1.0
    min_iou: float = 0.1

    def __post_init__(self) -> None:
        check_threshold(self.threshold, "TrackerConfig.threshold")
        check_threshold(self.low_threshold, "TrackerConfig.low_threshold")
        check_threshold(self.min_iou, "TrackerConfig.min_iou")
        if self.low_threshold > self.threshold:
            raise ConfigError(f"TrackerConfig.low_threshold ({self.low_threshold}) must not exceed threshold "
                              f"({self.threshold})")
        if self.lost_seconds <= 0:
            raise ConfigError(f"TrackerConfig.lost_seconds: expected a positive duration, got {self.lost_seconds}")


@dataclass(frozen=True, eq=False)
class Observations:
    """Every detection the tracker kept, one row each, over a whole video.

    frame: (n,) frame index; time: (n,) seconds; xyxy: (n, 4); score: (n,);
    track_id: (n,) the track it belongs to, or -1 for a confident detection no track took
    (covered on its own). Sorted by frame.
    """

    frame: np.ndarray
    time: np.ndarray
    xyxy: np.ndarray
    score: np.ndarray
    track_id: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.frame)
        arrays = {"frame": (np.int64, (n,)), "time": (np.float64, (n,)), "xyxy": (np.float32, (n, 4)),
                  "score": (np.float32, (n,)), "track_id": (np.int64, (n,))}
        for name, (dtype, shape) in arrays.items():
            value = np.asarray(getattr(self, name), dtype=dtype)
            if n == 0 and value.size == 0:
                value = np.zeros(shape, dtype)
            if value.shape != shape:
                raise ConfigError(f"Observations.{name}: expected shape {shape}, got {value.shape}")
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return len(self.frame)

    @classmethod
    def empty(cls) -> Observations:
        return cls(frame=[], time=[], xyxy=[], score=[], track_id=[])

    def at(self, frame: int) -> Detections:
        """The observations of one frame as `Detections` (track ids kept)."""
        rows = self.frame == frame
        return Detections(xyxy=self.xyxy[rows], score=self.score[rows], track_id=self.track_id[rows])


class FaceTracker:
    """Feed it each detected frame in order (`update`); `observations` gives what it kept."""

    def __init__(self, config: TrackerConfig | None = None, *, frame_rate: float = 30.0) -> None:
        from trackers import ByteTrackTracker

        self.config = config or TrackerConfig()
        self._tracker = ByteTrackTracker(
            lost_track_buffer=max(1, round(self.config.lost_seconds * 30)), frame_rate=max(frame_rate, 1.0),
            track_activation_threshold=self.config.threshold, high_conf_det_threshold=self.config.threshold,
            minimum_consecutive_frames=1, minimum_iou_threshold=self.config.min_iou)
        self._rows: list[tuple[int, float, np.ndarray, np.ndarray, np.ndarray]] = []

    def update(self, frame: int, time: float, found: Detections) -> Detections:
        """Associate one frame's detections; returns those kept, with their track ids."""
        import supervision as sv

        candidates = found[found.score >= self.config.low_threshold]
        if len(candidates):
            given = sv.Detections(xyxy=candidates.xyxy.astype(np.float32), confidence=candidates.score.astype(np.float32),
                                  class_id=np.zeros(len(candidates), int))
        else:
            given = sv.Detections.empty()
        tracked = self._tracker.update(given, timestamp=float(time))
        xyxy = np.asarray(tracked.xyxy, np.float32).reshape(-1, 4)
        score = np.asarray(tracked.confidence if tracked.confidence is not None else np.ones(len(xyxy)), np.float32)
        ids = np.asarray(tracked.tracker_id if tracked.tracker_id is not None else np.full(len(xyxy), -1), np.int64)
        keep = (ids >= 0) | (score >= self.config.threshold)  # weak detections no track took are dropped
        ids = np.where(ids >= 0, ids, UNTRACKED)
        kept = Detections(xyxy=xyxy[keep], score=score[keep], track_id=ids[keep])
        self._rows.append((frame, time, kept.xyxy, kept.score, kept.track_id))
        return kept

    @property
    def observations(self) -> Observations:
        if not self._rows:
            return Observations.empty()
        counts = [len(row[2]) for row in self._rows]
        xyxy = np.concatenate([row[2] for row in self._rows])
        return Observations(
            frame=np.repeat([row[0] for row in self._rows], counts),
            time=np.repeat([row[1] for row in self._rows], counts),
            xyxy=xyxy, score=np.concatenate([row[3] for row in self._rows]),
            track_id=_with_first_detections(np.concatenate([row[4] for row in self._rows]), xyxy, counts))


def _with_first_detections(track_id: np.ndarray, xyxy: np.ndarray, counts: list[int]) -> np.ndarray:
    """ByteTrack gives a track its id from its second detection on; the detection that
    started it (untracked, one detected frame earlier, overlapping) joins it here."""
    track_id = track_id.copy()
    ends = np.cumsum(counts)
    starts = ends - np.asarray(counts)
    seen: set[int] = set()
    for frame in range(1, len(counts)):
        here = np.arange(starts[frame], ends[frame])
        before = np.arange(starts[frame - 1], ends[frame - 1])
        loose = before[track_id[before] == UNTRACKED]
        for row in here:
            if track_id[row] == UNTRACKED or track_id[row] in seen:
                continue
            seen.add(int(track_id[row]))
            if len(loose):
                overlap = box_iou(xyxy[row:row + 1], xyxy[loose])[0]
                if overlap.max() >= 0.3:
                    track_id[loose[int(np.argmax(overlap))]] = track_id[row]
                    loose = loose[track_id[loose] == UNTRACKED]
    return track_id


def track_faces(frames: Sequence[tuple[int, float, Detections]], *, config: TrackerConfig | None = None,
                frame_rate: float = 30.0) -> Observations:
    """Track a whole list of ``(frame index, seconds, detections)`` at once."""
    tracker = FaceTracker(config, frame_rate=frame_rate)
    for frame, time, found in frames:
        tracker.update(frame, time, found)
    return tracker.observations


def stitch(observations: Observations, *, max_gap_s: float, min_iou: float = 0.1) -> Observations:
    """Join tracks the online tracker broke: a track that starts within ``max_gap_s`` after
    another ended, where that one's last box (moved on at its last speed) overlaps its first
    box, continues it (same id), so the gap is interpolated rather than held and led."""
    ids = observations.track_id.copy()
    tracks = [t for t in np.unique(ids) if t != UNTRACKED]
    spans = {t: np.flatnonzero(ids == t) for t in tracks}
    ended: list[int] = []  # tracks free to be continued, by their (latest) id
    for track in sorted(tracks, key=lambda t: observations.time[spans[t][0]]):
        rows = spans[track]
        start_time, first_box = observations.time[rows[0]], observations.xyxy[rows[0]]
        best, best_overlap = None, min_iou
        for earlier in ended:
            before = np.flatnonzero(ids == earlier)
            gap = start_time - observations.time[before[-1]]
            if not 0 < gap <= max_gap_s:
                continue
            overlap = box_iou(_moved_on(observations, before, gap)[None, :], first_box[None, :])[0, 0]
            if overlap >= best_overlap:
                best, best_overlap = earlier, overlap
        if best is not None:
            ids[rows] = best
            ended.remove(best)
            ended.append(best)
        else:
            ended.append(int(track))
    return Observations(frame=observations.frame, time=observations.time, xyxy=observations.xyxy,
                        score=observations.score, track_id=ids)


def _moved_on(observations: Observations, rows: np.ndarray, gap: float) -> np.ndarray:
    """The track's last box, carried ``gap`` seconds further at its speed over its last steps."""
    last = observations.xyxy[rows[-1]].astype(np.float64)
    if len(rows) < 2:
        return last
    recent = rows[-4:]
    elapsed = observations.time[recent[-1]] - observations.time[recent[0]]
    if elapsed <= 0:
        return last
    velocity = (observations.xyxy[recent[-1]] - observations.xyxy[recent[0]]) / elapsed
    return last + velocity * gap

"""The typed record of one redacted video: per track, boxes and frame numbers; never pixels.

`VideoRecord` says what the video was (frames, size, rotation applied, audio kept or
dropped), how it was searched (frames the detector ran on), every track (`TrackRecord`:
its frame range, each detection's frame, box and score, and the frames covered without a
detection: interpolated across a gap, held after the last detection, covered ahead of the
first), and the frames covered whole (paranoid mode).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Range = tuple[int, int]


def frame_ranges(frames: np.ndarray) -> tuple[Range, ...]:
    """Frame indices as sorted, inclusive (first, last) runs."""
    frames = np.unique(np.asarray(frames, np.int64))
    if len(frames) == 0:
        return ()
    breaks = np.flatnonzero(np.diff(frames) > 1)
    starts = np.concatenate([[frames[0]], frames[breaks + 1]])
    ends = np.concatenate([frames[breaks], [frames[-1]]])
    return tuple((int(a), int(b)) for a, b in zip(starts, ends))


def count_in(ranges: tuple[Range, ...]) -> int:
    return sum(last - first + 1 for first, last in ranges)


@dataclass(frozen=True)
class Detection:
    """One detection of a track: frame, box (x1, y1, x2, y2, upright pixels), score."""

    frame: int
    box: tuple[float, float, float, float]
    score: float

    def to_json(self) -> list[float]:
        return [self.frame, *self.box, self.score]

    @classmethod
    def from_json(cls, data: list[float]) -> Detection:
        frame, x1, y1, x2, y2, score = data
        return cls(frame=int(frame), box=(float(x1), float(y1), float(x2), float(y2)), score=float(score))


@dataclass(frozen=True)
class TrackRecord:
    """One face followed through a video (``tracked`` False: one confident detection no
    track took, covered with the same lead and hold)."""

    track: int
    tracked: bool
    first_frame: int
    last_frame: int
    first_s: float
    last_s: float
    detections: tuple[Detection, ...]
    interpolated: tuple[Range, ...]
    held: tuple[Range, ...]
    lead: tuple[Range, ...]
    drawn: tuple[Range, ...] = ()  # a box drawn by a person on the review page, covered over these frames

    @property
    def frames_covered(self) -> int:
        return (len(self.detections) + count_in(self.interpolated) + count_in(self.held) + count_in(self.lead)
                + count_in(self.drawn))

    def to_json(self) -> dict[str, Any]:
        return {"track": self.track, "tracked": self.tracked, "first_frame": self.first_frame,
                "last_frame": self.last_frame, "first_s": self.first_s, "last_s": self.last_s,
                "detections": [d.to_json() for d in self.detections],
                "interpolated_frames": [list(r) for r in self.interpolated],
                "held_frames": [list(r) for r in self.held], "lead_frames": [list(r) for r in self.lead],
                **({"drawn_frames": [list(r) for r in self.drawn]} if self.drawn else {})}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrackRecord:
        ranges = {name: tuple((int(a), int(b)) for a, b in data.get(f"{name}_frames", ()))
                  for name in ("interpolated", "held", "lead", "drawn")}
        return cls(track=int(data["track"]), tracked=bool(data["tracked"]), first_frame=int(data["first_frame"]),
                   last_frame=int(data["last_frame"]), first_s=float(data["first_s"]), last_s=float(data["last_s"]),
                   detections=tuple(Detection.from_json(d) for d in data.get("detections", ())), **ranges)


@dataclass(frozen=True)
class VideoRecord:
    """What redacting one video did (see the module doc)."""

    frames: int
    width: int
    height: int
    duration_s: float
    rotation_applied: int
    mirrored: bool
    frames_detected: int
    audio: str
    tracks: tuple[TrackRecord, ...]
    full_frames: tuple[Range, ...]
    seconds: float

    @property
    def faces(self) -> int:
        """Tracks and lone detections covered."""
        return len(self.tracks)

    def to_json(self) -> dict[str, Any]:
        return {"frames": self.frames, "width": self.width, "height": self.height, "duration_s": self.duration_s,
                "rotation_applied": self.rotation_applied, "mirrored": self.mirrored,
                "frames_detected": self.frames_detected, "audio": self.audio,
                "tracks": [track.to_json() for track in self.tracks],
                "full_frames": [list(r) for r in self.full_frames], "seconds": self.seconds}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VideoRecord:
        return cls(frames=int(data["frames"]), width=int(data["width"]), height=int(data["height"]),
                   duration_s=float(data["duration_s"]), rotation_applied=int(data["rotation_applied"]),
                   mirrored=bool(data["mirrored"]), frames_detected=int(data["frames_detected"]),
                   audio=str(data["audio"]), tracks=tuple(TrackRecord.from_json(t) for t in data.get("tracks", ())),
                   full_frames=tuple((int(a), int(b)) for a, b in data.get("full_frames", ())),
                   seconds=float(data.get("seconds", 0.0)))

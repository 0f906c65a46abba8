"""One video in, one redacted video out: decode -> detect -> track -> plan covers -> cover -> encode.

Two passes over the file. The first decodes every frame, runs the detector (on every frame,
or every k-th in fast mode) and tracks faces; only boxes are kept, never pixels. Then each
track's covers are planned with the whole video known, which is a look-ahead of any
length at no memory cost:

- detected frames: the detector's box;
- gaps between two detections of a track: boxes interpolated;
- before a track's first detection (``lead_seconds``) and after its last one
  (``hold_seconds``): the nearest box kept where it was in the scene, carried with the
  camera's own motion (`unseen.faces.camera_motion`: a pan or zoom moves the cover with
  the picture; where the motion cannot be measured, as at a scene cut, the cover stays
  where the face was last seen: fail-secure);
- every box grown by the track's speed times the frames since (or until) its nearest
  detection, so the cover keeps up with a moving face it is not seeing;
- all of this in the scene's coordinates (the first frame's, the camera's motion taken
  out), so interpolation and the track's speed are those of the face, not the camera;
- a confident detection no track took is covered with the same lead and hold;
- with ``paranoid``, a frame where most tracks in view go undetected at once (motion
  blur over a crowd, a detector collapse) is covered whole.

The second pass decodes again, covers each frame with the photo path's cover (solid
fill, padding, block snapping) and encodes the new file (`unseen.media.video`), written
to a temporary name and renamed whole.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from unseen.errors import ConfigError, InputFileError
from unseen.faces.camera_motion import CameraPath, MotionConfig, MotionEstimator
from unseen.faces.detectors.base import check_threshold
from unseen.faces.detectors.centerface import CenterFace, CenterFaceConfig
from unseen.faces.tracking import UNTRACKED, FaceTracker, Observations, TrackerConfig, stitch
from unseen.faces.types import Detections
from unseen.media.files import write_atomic
from unseen.media.video import EncodeConfig, Frame, VideoInfo, open_writer, probe, read_frames
from unseen.progress import SILENT, Progress
from unseen.redact.cover import CoverConfig, cover
from unseen.redact.video_record import Detection, TrackRecord, VideoRecord, frame_ranges

FAST_EVERY = 2
"""Fast mode runs the detector on every second frame; tracking and interpolation fill the rest."""


@dataclass(frozen=True)
class VideoDetectConfig:
    """How each frame is searched.

    pass_pixels: the frame is upscaled (up to ``max_upscale``) until one pass sees about
        this many pixels, so small clips get CenterFace's better look at small faces for
        the cost of one 720p pass; 720p and larger frames are searched at native size.
    every: run the detector on every this-many-th frame (1: every frame).
    mirror_odd: search odd frames mirrored, so consecutive frames get two different looks
        at each face at the cost of one.
    coarse_side: a second, small pass with the frame's long side at this many pixels finds
        faces too large for the main pass (a person close to the camera: a 400 px face in
        a 432 px frame scores 0.1 in the main pass, 0.8 in this one) for about a tenth of
        its cost; 0 turns it off. It adds only faces at least ``coarse_min_height`` of its
        own pixels tall, scored at least ``coarse_threshold``: below either, its boxes were
        mostly background on the benchmark clips (68 of 152 at 32 px and 0.06; 3 of 71 at 0.3).
    """

    pass_pixels: int = 1280 * 720
    max_upscale: float = 2.0
    every: int = 1
    mirror_odd: bool = True
    coarse_side: int = 384
    coarse_min_height: int = 32
    coarse_threshold: float = 0.3
    centerface: CenterFaceConfig = field(default_factory=CenterFaceConfig)

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ConfigError(f"VideoDetectConfig.every: expected 1 or more frames, got {self.every}")
        if not 1.0 <= self.max_upscale <= 4.0:
            raise ConfigError(f"VideoDetectConfig.max_upscale: expected 1..4, got {self.max_upscale}")
        if self.pass_pixels < 1:
            raise ConfigError(f"VideoDetectConfig.pass_pixels: expected a positive number, got {self.pass_pixels}")
        if self.coarse_side < 0:
            raise ConfigError(f"VideoDetectConfig.coarse_side: expected 0 (off) or a side in pixels, "
                              f"got {self.coarse_side}")
        check_threshold(self.coarse_threshold, "VideoDetectConfig.coarse_threshold")
        if self.coarse_min_height < 0:
            raise ConfigError(f"VideoDetectConfig.coarse_min_height: expected 0 or more pixels, "
                              f"got {self.coarse_min_height}")

    def scale_for(self, width: int, height: int) -> float:
        return float(np.clip((self.pass_pixels / max(width * height, 1)) ** 0.5, 1.0, self.max_upscale))

    def scales_for(self, width: int, height: int) -> tuple[float, ...]:
        """The main pass's scale, and the coarse pass's where it is under half of it."""
        main = self.scale_for(width, height)
        coarse = self.coarse_side / max(width, height, 1)
        return (main, coarse) if self.coarse_side and coarse <= main / 2 else (main,)


class FrameDetector:
    """CenterFace on one frame at the configured scales (mirrored on odd frames)."""

    name = "centerface-video"

    def __init__(self, config: VideoDetectConfig | None = None) -> None:
        self.config = config or VideoDetectConfig()
        self._centerface = CenterFace(self.config.centerface)

    def detect(self, rgb: np.ndarray, *, index: int, threshold: float) -> Detections:
        scales = self.config.scales_for(rgb.shape[1], rgb.shape[0])
        mirrored = self.config.mirror_odd and index % 2 == 1
        image = np.ascontiguousarray(rgb[:, ::-1]) if mirrored else rgb
        passes = [self._centerface.detect_at_scale(image, scales[0], threshold=threshold)]
        if len(scales) > 1:
            coarse = self._centerface.detect_at_scale(image, scales[1],
                                                      threshold=max(threshold, self.config.coarse_threshold))
            passes.append(coarse[(coarse.xyxy[:, 3] - coarse.xyxy[:, 1]) * scales[1] >= self.config.coarse_min_height])
        found = Detections.merge(passes).nms(self._centerface.config.nms_iou) if len(passes) > 1 else passes[0]
        if mirrored and len(found):
            xyxy = found.xyxy.copy()
            xyxy[:, 0], xyxy[:, 2] = rgb.shape[1] - found.xyxy[:, 2], rgb.shape[1] - found.xyxy[:, 0]
            found = Detections(xyxy=xyxy, score=found.score)
        return found


@dataclass(frozen=True)
class VideoRedactConfig:
    """Everything that decides what a redacted video looks like.

    hold_seconds / lead_seconds: how long a face stays covered after its last detection
        and before its first one.
    min_speed: how far an unseen face may drift, as a fraction of its box size per frame
        away from its nearest detection, in any direction (the cover spreads by that much).
    max_growth: a cover reaches at most this fraction of the box past where the face was
        last seen, on each side.
    margin_px: every cover reaches this many pixels past its box: a face under ~20 px is
        boxed a few pixels off, which a share of its size does not make up.
    neighbour_union: each detection's box is joined (in the scene's coordinates) with those
        of this many detections before and after it, so a box the detector places a few
        pixels off in one frame is made up by its neighbours.
    edge_growth: a box within half its size of the frame's edge grows by this fraction of
        its size on every side: a face the edge cuts is larger than the part the detector
        boxes (a face entering the frame: the box of its visible half covered 23-41% of it).
    motion: how the camera's motion is measured; None: covers ignore it (a still camera).
    paranoid: cover whole frames where detection collapses (see `collapsed_frames`).
    collapse_tracks / collapse_share: a frame collapses when at least ``collapse_tracks``
        tracks are in view and under ``collapse_share`` of them are detected in it.
    """

    detection: VideoDetectConfig = field(default_factory=VideoDetectConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    motion: MotionConfig | None = field(default_factory=MotionConfig)
    hold_seconds: float = 1.0
    lead_seconds: float = 0.5
    min_speed: float = 0.02
    max_growth: float = 1.0
    edge_growth: float = 0.25
    margin_px: float = 3.0
    neighbour_union: int = 1
    paranoid: bool = False
    collapse_tracks: int = 3
    collapse_share: float = 0.25
    cover: CoverConfig = field(default_factory=CoverConfig)
    encode: EncodeConfig = field(default_factory=EncodeConfig)

    def __post_init__(self) -> None:
        for name in ("hold_seconds", "lead_seconds", "min_speed", "max_growth", "edge_growth", "margin_px",
                     "neighbour_union"):
            if getattr(self, name) < 0:
                raise ConfigError(f"VideoRedactConfig.{name}: expected 0 or more, got {getattr(self, name)}")
        check_threshold(self.collapse_share, "VideoRedactConfig.collapse_share")
        if self.collapse_tracks < 1:
            raise ConfigError(f"VideoRedactConfig.collapse_tracks: expected 1 or more, got {self.collapse_tracks}")

    def to_record(self) -> dict:
        return json.loads(json.dumps(asdict(self), default=str))

    @property
    def fingerprint(self) -> str:
        """A short hash of the options: a rerun redoes videos made with other options."""
        return hashlib.sha256(json.dumps(self.to_record(), sort_keys=True).encode()).hexdigest()[:16]

    @classmethod
    def fast(cls, **changes) -> VideoRedactConfig:
        """The documented fast mode: the detector on every `FAST_EVERY`-th frame."""
        detection = changes.pop("detection", VideoDetectConfig())
        return cls(detection=replace(detection, every=FAST_EVERY), **changes)


class CoverKind:
    """Why a box is covered in a frame (codes in `CoverPlan.kind`)."""

    DETECTED = 0
    INTERPOLATED = 1
    HELD = 2
    LEAD = 3
    PERSON = 4  # a box drawn on the review page
    NAMES = ("detected", "interpolated", "held", "lead", "person")


@dataclass(frozen=True, eq=False)
class CoverPlan:
    """Every box covered in every frame of a video, and why.

    frame: (m,) frame index; xyxy: (m, 4) the face box (before the cover's padding);
    track: (m,) track id (untracked detections get ids after the tracker's);
    kind: (m,) a `CoverKind` code; score: (m,) detection score, NaN where not detected;
    tracked: (tracks,) ids of tracks the tracker made (the rest are single detections);
    full_frames: frames covered whole (paranoid mode).
    """

    frames: int
    frame: np.ndarray
    xyxy: np.ndarray
    track: np.ndarray
    kind: np.ndarray
    score: np.ndarray
    tracked: np.ndarray
    full_frames: np.ndarray

    def __post_init__(self) -> None:
        order = np.argsort(self.frame, kind="stable")
        for name in ("frame", "xyxy", "track", "kind", "score"):
            object.__setattr__(self, name, np.asarray(getattr(self, name))[order])
        object.__setattr__(self, "_starts", np.searchsorted(self.frame, np.arange(self.frames + 1)))

    def boxes_at(self, frame: int) -> Detections:
        start, stop = self._starts[frame], self._starts[frame + 1]
        return Detections(xyxy=self.xyxy[start:stop], score=np.ones(stop - start, np.float32),
                          track_id=self.track[start:stop])

    def track_ids(self) -> np.ndarray:
        return np.unique(self.track)

    def reviewed(self, review: VideoReview) -> CoverPlan:
        """This plan with a person's changes (`VideoReview`): tracks removed, boxes drawn
        over frame ranges added (as tracks of their own), frame ranges covered whole."""
        keep = ~np.isin(self.track, np.asarray(review.removed_tracks, np.int64))
        frame, xyxy, track, kind, score = (self.frame[keep], self.xyxy[keep], self.track[keep], self.kind[keep],
                                           self.score[keep])
        next_id = int(self.track.max()) + 1 if len(self.track) else 0
        drawn_frames, drawn_boxes, drawn_tracks = [], [], []
        for number, (box, (first, last)) in enumerate(zip(review.boxes, review.box_frames)):
            covered = np.arange(max(first, 0), min(last, self.frames - 1) + 1)
            drawn_frames.append(covered)
            drawn_boxes.append(np.repeat(np.asarray(box, np.float32)[None, :], len(covered), axis=0))
            drawn_tracks.append(np.full(len(covered), next_id + number, np.int64))
        if drawn_frames:
            count = sum(len(f) for f in drawn_frames)
            frame = np.concatenate([frame, *drawn_frames])
            xyxy = np.concatenate([xyxy, *drawn_boxes])
            track = np.concatenate([track, *drawn_tracks])
            kind = np.concatenate([kind, np.full(count, CoverKind.PERSON, np.int8)])
            score = np.concatenate([score, np.full(count, np.nan, np.float32)])
        whole = [np.arange(max(first, 0), min(last, self.frames - 1) + 1) for first, last in review.full_frames]
        full = np.unique(np.concatenate([self.full_frames, *whole])).astype(np.int64) if whole else self.full_frames
        return CoverPlan(frames=self.frames, frame=frame, xyxy=xyxy, track=track, kind=kind, score=score,
                         tracked=self.tracked, full_frames=full)


@dataclass(frozen=True)
class VideoReview:
    """What a person changed on the review page before a video was redacted.

    removed_tracks: ids of tracks (as in the record) not to cover.
    boxes / box_frames: boxes drawn by the person, each covered over its (first, last)
        frames, inclusive.
    full_frames: (first, last) frame ranges covered whole.
    """

    removed_tracks: tuple[int, ...] = ()
    boxes: tuple[tuple[float, float, float, float], ...] = ()
    box_frames: tuple[tuple[int, int], ...] = ()
    full_frames: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        if len(self.boxes) != len(self.box_frames):
            raise ConfigError(f"VideoReview: {len(self.boxes)} boxes but {len(self.box_frames)} frame ranges")
        for first, last in (*self.box_frames, *self.full_frames):
            if first < 0 or last < first:
                raise ConfigError(f"VideoReview: frame range ({first}, {last}) must run forward from frame 0 or later")
        for x1, y1, x2, y2 in self.boxes:
            if not (x2 > x1 and y2 > y1):
                raise ConfigError(f"VideoReview: box ({x1}, {y1}, {x2}, {y2}) needs x2 > x1 and y2 > y1")


def plan_covers(observations: Observations, *, times: np.ndarray, width: int, height: int,
                config: VideoRedactConfig, detected_frames: np.ndarray | None = None,
                camera: CameraPath | None = None) -> CoverPlan:
    """The covers of a whole video from its tracked detections (see the module doc).

    ``times``: (frames,) seconds of every frame; ``detected_frames``: the frames the
    detector ran on (default all), for the paranoid rule; ``camera``: the camera's motion
    (default: a still camera).
    """
    times = np.asarray(times, np.float64)
    frames = len(times)
    camera = camera if camera is not None else CameraPath.still(frames)
    if len(camera) != frames:
        raise ConfigError(f"plan_covers: the camera path has {len(camera)} frames, the video {frames}")
    in_scene = replace(observations, xyxy=camera.to_scene(observations.frame, observations.xyxy).astype(np.float32))
    stitched = stitch(in_scene, max_gap_s=config.hold_seconds + config.lead_seconds)
    observations = replace(observations, track_id=stitched.track_id)
    track_ids = observations.track_id.copy()
    untracked = np.flatnonzero(track_ids == UNTRACKED)
    first_free = int(track_ids.max()) + 1 if len(track_ids) else 0
    track_ids[untracked] = first_free + np.arange(len(untracked))
    parts = []
    for track in np.unique(track_ids):
        rows = np.flatnonzero(track_ids == track)
        parts.append(_track_covers(track, observations.frame[rows], observations.xyxy[rows],
                                   observations.score[rows], times, width, height, config, camera))
    tracked = np.unique(observations.track_id[observations.track_id != UNTRACKED])
    if parts:
        frame, xyxy, track, kind, score = (np.concatenate([p[i] for p in parts]) for i in range(5))
    else:
        frame, xyxy, track, kind, score = (np.zeros(0, np.int64), np.zeros((0, 4), np.float32), np.zeros(0, np.int64),
                                           np.zeros(0, np.int8), np.zeros(0, np.float32))
    full = collapsed_frames(frame, track, kind, tracked, frames=frames, config=config,
                            detected_frames=detected_frames) if config.paranoid else np.zeros(0, np.int64)
    return CoverPlan(frames=frames, frame=frame, xyxy=xyxy, track=track, kind=kind, score=score,
                     tracked=tracked, full_frames=full)


def _track_covers(track: int, seen: np.ndarray, boxes: np.ndarray, scores: np.ndarray, times: np.ndarray,
                  width: int, height: int, config: VideoRedactConfig, camera: CameraPath):
    """One track's covered frames: (frame, box, track, kind, score) arrays."""
    order = np.argsort(seen, kind="stable")
    seen, boxes, scores = seen[order], boxes[order].astype(np.float64), scores[order]
    seen, unique_rows = np.unique(seen, return_index=True)
    on_screen, scores = boxes[unique_rows], scores[unique_rows]
    boxes = _with_neighbours(camera.to_scene(seen, on_screen), config.neighbour_union)
    first_time, last_time = times[seen[0]], times[seen[-1]]
    start = int(np.searchsorted(times, first_time - config.lead_seconds - 1e-9, side="left"))
    stop = int(np.searchsorted(times, last_time + config.hold_seconds + 1e-9, side="right"))
    covered = np.arange(start, stop)
    # Boxes at every covered frame: interpolated inside the track, the end boxes outside it.
    xyxy = np.stack([np.interp(covered, seen, boxes[:, i]) for i in range(4)], axis=1)
    position = np.searchsorted(seen, covered)
    after = np.clip(position, 0, len(seen) - 1)
    before = np.clip(position - 1, 0, len(seen) - 1)
    exact = seen[after] == covered
    distance = np.where(exact, 0, np.minimum(np.abs(covered - seen[before]), np.abs(seen[after] - covered)))
    kind = np.full(len(covered), CoverKind.INTERPOLATED, np.int8)
    kind[exact] = CoverKind.DETECTED
    lead, held = covered < seen[0], covered > seen[-1]
    kind[lead], kind[held] = CoverKind.LEAD, CoverKind.HELD
    box_w, box_h = xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]
    size = np.maximum(np.stack([box_w, box_h, box_w, box_h], axis=1), 1.0)
    cap = config.max_growth * size
    # Where the face may have gone while unseen: from where it was, along its own motion.
    reach = np.zeros_like(xyxy)
    reach[held] = np.clip(_velocity(seen[-EDGE_FIT:], boxes[-EDGE_FIT:])[None, :] * distance[held, None],
                          -cap[held], cap[held])
    reach[lead] = np.clip(-_velocity(seen[:EDGE_FIT], boxes[:EDGE_FIT])[None, :] * distance[lead, None],
                          -cap[lead], cap[lead])
    moved = xyxy + reach
    # A face moving across the picture (by itself or with the camera) is smeared along
    # its motion: every cover also spreads by the track's speed on screen.
    spread = np.minimum(config.min_speed * size * (distance[:, None] + 1)
                        + np.abs(_velocity(seen, on_screen))[None, :], cap)
    grown = np.concatenate([np.minimum(xyxy, moved)[:, :2], np.maximum(xyxy, moved)[:, 2:]], axis=1)
    grown += (spread + config.margin_px) * np.array([-1, -1, 1, 1])
    grown = _grown_at_edges(camera.to_frames(covered, grown), width, height, config.edge_growth)
    grown[:, [0, 2]] = np.clip(grown[:, [0, 2]], 0, width)
    grown[:, [1, 3]] = np.clip(grown[:, [1, 3]], 0, height)
    score = np.full(len(covered), np.nan, np.float32)
    score[exact] = scores[np.searchsorted(seen, covered[exact])]
    inside = (grown[:, 2] > grown[:, 0]) & (grown[:, 3] > grown[:, 1])
    return (covered[inside], grown[inside].astype(np.float32), np.full(int(inside.sum()), track, np.int64),
            kind[inside], score[inside])


def _with_neighbours(boxes: np.ndarray, reach: int) -> np.ndarray:
    """Each detection's box joined with those of the ``reach`` detections before and after it."""
    rows = np.arange(len(boxes))
    nearby = boxes[np.clip(rows[None, :] + np.arange(-reach, reach + 1)[:, None], 0, len(boxes) - 1)]
    return np.concatenate([nearby[..., :2].min(axis=0), nearby[..., 2:].max(axis=0)], axis=1)


def _grown_at_edges(xyxy: np.ndarray, width: int, height: int, growth: float) -> np.ndarray:
    """Boxes within half their size of the frame's edge, grown by ``growth`` of their size."""
    box_w, box_h = xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]
    near = ((xyxy[:, 0] < box_w / 2) | (xyxy[:, 1] < box_h / 2)
            | (xyxy[:, 2] > width - box_w / 2) | (xyxy[:, 3] > height - box_h / 2))
    extra = growth * np.stack([-box_w, -box_h, box_w, box_h], axis=1)
    return xyxy + near[:, None] * extra


EDGE_FIT = 8
"""A track's motion is fitted over (at most) its last or first this-many detections."""


def _velocity(seen: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(4,) each box edge's velocity in pixels per frame: a least-squares line through the
    detections (detector jitter averages out); 0 with a single detection."""
    if len(seen) < 2:
        return np.zeros(4)
    frames = seen.astype(np.float64) - seen.mean()
    return (frames[:, None] * (boxes - boxes.mean(axis=0))).sum(axis=0) / (frames ** 2).sum()


def collapsed_frames(frame: np.ndarray, track: np.ndarray, kind: np.ndarray, tracked: np.ndarray, *, frames: int,
                     config: VideoRedactConfig, detected_frames: np.ndarray | None = None) -> np.ndarray:
    """Frames (of those the detector ran on, spread to the frames between) where at least
    ``collapse_tracks`` tracks are in view and under ``collapse_share`` of them are seen."""
    in_view = np.zeros(frames, np.int64)
    seen = np.zeros(frames, np.int64)
    is_tracked = np.isin(track, tracked)
    np.add.at(in_view, frame[is_tracked & (kind != CoverKind.LEAD) & (kind != CoverKind.HELD)], 1)
    np.add.at(seen, frame[is_tracked & (kind == CoverKind.DETECTED)], 1)
    checked = np.arange(frames) if detected_frames is None else np.asarray(detected_frames, np.int64)
    bad = checked[(in_view[checked] >= config.collapse_tracks)
                  & (seen[checked] < config.collapse_share * in_view[checked])]
    every = config.detection.every
    spread = (bad[:, None] + np.arange(-(every - 1), every)[None, :]).ravel()
    return np.unique(spread[(spread >= 0) & (spread < frames)])


@dataclass(frozen=True, eq=False)
class FirstPass:
    """What the first pass keeps of a video: boxes and transforms, never pixels.

    observations: the tracked detections; times: (frames,) seconds of every frame;
    camera: the camera's motion; detected_frames: how many frames the detector ran on.
    """

    observations: Observations
    times: np.ndarray
    camera: CameraPath
    detected_frames: int


@dataclass(frozen=True, eq=False)
class VideoFound:
    """A video's first pass (`VideoRedactor.find`): its faces tracked and their covers
    planned; boxes only, never pixels."""

    info: VideoInfo
    observations: Observations
    times: np.ndarray
    camera: CameraPath
    detected_frames: int
    plan: CoverPlan
    seconds: float

    def tracks(self) -> tuple[TrackRecord, ...]:
        """Each track as the record will list it (frame range, detections, held frames)."""
        return tuple(_track_record(self.plan, track, self.times) for track in self.plan.track_ids())


@dataclass(frozen=True, eq=False)
class VideoRedaction:
    """What redacting one video did (boxes and counts only, never pixels)."""

    info: VideoInfo
    plan: CoverPlan
    observations: Observations
    detected_frames: int
    times: np.ndarray
    seconds: float
    audio: str

    @property
    def frames(self) -> int:
        return self.plan.frames

    def record(self) -> VideoRecord:
        """The typed record: per track its frame range, detections (frame, box, score), and
        the frames held, interpolated or covered ahead of its first detection."""
        return VideoRecord(
            frames=self.frames, width=self.info.output_size[0], height=self.info.output_size[1],
            duration_s=round(float(self.times[-1] - self.times[0]), 3) if self.frames else 0.0,
            rotation_applied=self.info.orientation.degrees, mirrored=self.info.orientation.flip,
            frames_detected=self.detected_frames, audio=self.audio,
            tracks=tuple(_track_record(self.plan, track, self.times) for track in self.plan.track_ids()),
            full_frames=frame_ranges(self.plan.full_frames), seconds=round(self.seconds, 2))


def _track_record(plan: CoverPlan, track: int, times: np.ndarray) -> TrackRecord:
    rows = plan.track == track
    frames, kinds, boxes, scores = plan.frame[rows], plan.kind[rows], plan.xyxy[rows], plan.score[rows]
    detected = kinds == CoverKind.DETECTED
    return TrackRecord(
        track=int(track), tracked=bool(np.isin(track, plan.tracked)),
        first_frame=int(frames.min()), last_frame=int(frames.max()),
        first_s=round(float(times[frames.min()]), 3), last_s=round(float(times[frames.max()]), 3),
        detections=tuple(Detection(frame=int(f), box=rounded_box(box), score=round(float(s), 4))
                         for f, box, s in zip(frames[detected], boxes[detected], scores[detected])),
        interpolated=frame_ranges(frames[kinds == CoverKind.INTERPOLATED]),
        held=frame_ranges(frames[kinds == CoverKind.HELD]), lead=frame_ranges(frames[kinds == CoverKind.LEAD]),
        drawn=frame_ranges(frames[kinds == CoverKind.PERSON]))


def rounded_box(values) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (round(float(v), 1) for v in values)
    return (x1, y1, x2, y2)


class VideoRedactor:
    """Redacts videos one by one with the detector loaded once."""

    def __init__(self, config: VideoRedactConfig | None = None) -> None:
        self.config = config or VideoRedactConfig()
        self.detector = FrameDetector(self.config.detection)

    def with_cover(self, cover_config: CoverConfig) -> VideoRedactor:
        """A redactor that covers with ``cover_config`` and shares this one's detector."""
        other = VideoRedactor.__new__(VideoRedactor)
        other.config, other.detector = replace(self.config, cover=cover_config), self.detector
        return other

    def track(self, source: Path, info: VideoInfo, progress: Progress) -> FirstPass:
        """Pass 1: detect and track faces, and follow the camera's motion."""
        tracker = FaceTracker(self.config.tracker, frame_rate=info.frame_rate or 30.0)
        motion = MotionEstimator(self.config.motion) if self.config.motion is not None else None
        every, low = self.config.detection.every, self.config.tracker.low_threshold
        times, detected, faces = [], 0, np.zeros((0, 4))
        progress.start(info.frames, unit="frames", description=f"finding faces in {source.name}")
        for frame in read_frames(source):
            times.append(frame.time)
            if motion is not None:
                motion.update(frame.rgb, faces)
            if frame.index % every == 0:
                faces = tracker.update(frame.index, frame.time,
                                       self.detector.detect(frame.rgb, index=frame.index, threshold=low)).xyxy
                detected += 1
            progress.advance(1)
        if not times:
            raise InputFileError(f"{source}: the video has no frames")
        camera = motion.path if motion is not None else CameraPath.still(len(times))
        return FirstPass(observations=tracker.observations, times=np.asarray(times), camera=camera,
                         detected_frames=detected)

    def find(self, source: str | Path, *, progress: Progress = SILENT) -> VideoFound:
        """Pass 1 and the plan: every face tracked and the covers planned, nothing written."""
        source = Path(source)
        started = time.perf_counter()
        info = probe(source)
        first = self.track(source, info, progress)
        plan = plan_covers(first.observations, times=first.times, width=info.width, height=info.height,
                           config=self.config, camera=first.camera,
                           detected_frames=np.arange(0, len(first.times), self.config.detection.every))
        return VideoFound(info=info, observations=first.observations, times=first.times, camera=first.camera,
                          detected_frames=first.detected_frames, plan=plan, seconds=time.perf_counter() - started)

    def redact(self, source: str | Path, output: str | Path, *, progress: Progress = SILENT,
               on_frame: Callable[[Frame, np.ndarray], None] | None = None,
               check: Callable[[Path], None] | None = None, found: VideoFound | None = None,
               review: VideoReview | None = None) -> VideoRedaction:
        """Redact ``source`` into ``output`` (written whole, or not at all).

        ``on_frame(frame, covered_rgb)`` sees each frame as covered, before encoding (for
        checks that need the pixels; nothing is kept). ``check(encoded_file)`` runs on the
        finished file before it takes its name; an error it raises leaves no output.
        ``found``: this file's `find` when already done (the review page did it when the
        video was opened); ``review``: a person's changes to the covers.
        """
        source, output = Path(source), Path(output)
        started = time.perf_counter()
        earlier = found.seconds if found is not None else 0.0
        found = found or self.find(source, progress=progress)
        info, times = found.info, found.times
        plan = found.plan.reviewed(review) if review is not None else found.plan
        progress.start(len(times), unit="frames", description=f"covering and encoding {source.name}")
        def write(temporary: Path) -> None:
            self._encode(source, temporary, info, plan, progress, on_frame)
            if check is not None:
                check(temporary)

        write_atomic(output, write)
        audio = "none" if not info.streams_of("audio") else ("kept" if self.config.encode.keep_audio else "dropped")
        return VideoRedaction(info=info, plan=plan, observations=found.observations,
                              detected_frames=found.detected_frames, times=times,
                              seconds=time.perf_counter() - started + earlier, audio=audio)

    def _encode(self, source: Path, temporary: Path, info: VideoInfo, plan: CoverPlan, progress: Progress,
                on_frame) -> None:
        full = np.zeros(plan.frames, bool)
        full[plan.full_frames] = True
        written = 0
        with open_writer(temporary, info=info, config=self.config.encode) as writer:
            for frame in read_frames(source):
                if frame.index >= plan.frames:
                    raise InputFileError(f"{source}: more frames on the second reading than the first; "
                                         "was the file changed while it was redacted?")
                covered = self.cover_frame(frame.rgb, plan.boxes_at(frame.index), whole=bool(full[frame.index]))
                if on_frame is not None:
                    on_frame(frame, covered)
                writer.write(covered, frame.pts)
                written += 1
                progress.advance(1)
        if written != plan.frames:
            raise InputFileError(f"{source}: {written} frames on the second reading, {plan.frames} on the first; "
                                 "was the file changed while it was redacted?")

    def cover_frame(self, rgb: np.ndarray, boxes: Detections, *, whole: bool = False) -> np.ndarray:
        if whole:
            filled = np.empty_like(rgb)
            filled[:] = np.asarray(self.config.cover.colour, np.uint8)
            return filled
        if len(boxes) == 0:
            return rgb
        return cover(rgb, boxes, config=self.config.cover, rng=np.random.default_rng(0)).rgb

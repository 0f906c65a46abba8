"""Video redaction: covers planned per track (hold, lead, interpolation), fail-secure, written whole."""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import cv2
import numpy as np
import pytest

from tests.conftest import require_data
from tests.media.video_files import decoded_times, make_video, marker_frame
from unseen.errors import ConfigError
from unseen.faces.camera_motion import CameraPath
from unseen.faces.detectors.centerface import CenterFace
from unseen.faces.tracking import UNTRACKED, Observations
from unseen.faces.types import Detections
from unseen.media.video import EncodeConfig, probe, read_frames
from unseen.progress import Recorded
from unseen.redact.video_record import VideoRecord
from unseen.redact.video import (
    FAST_EVERY, CoverKind, FrameDetector, VideoDetectConfig, VideoRedactConfig, VideoRedactor, plan_covers)

TIMES = np.arange(60) / 30


def observations(rows: list[tuple[int, list[float], int]]) -> Observations:
    return Observations(frame=[f for f, _, _ in rows], time=[TIMES[f] for f, _, _ in rows],
                        xyxy=[box for _, box, _ in rows], score=[0.9] * len(rows), track_id=[t for _, _, t in rows])


def test_a_track_is_covered_across_gaps_before_its_first_and_after_its_last_detection():
    seen = [f for f in range(10, 21) if f not in (13, 14, 15, 16)]
    plan = plan_covers(observations([(f, [100 + 2 * f, 50, 130 + 2 * f, 90], 0) for f in seen]), times=TIMES,
                       width=320, height=240, config=VideoRedactConfig(hold_seconds=1.0, lead_seconds=0.5))
    kinds = dict(zip(plan.frame.tolist(), plan.kind.tolist()))
    assert sorted(kinds) == list(range(0, 51))  # lead 15 frames (clipped at 0), hold 30 frames
    assert {kinds[f] for f in (13, 14, 15, 16)} == {CoverKind.INTERPOLATED}
    assert {kinds[f] for f in seen} == {CoverKind.DETECTED}
    assert {kinds[f] for f in range(21, 51)} == {CoverKind.HELD} and {kinds[f] for f in range(10)} == {CoverKind.LEAD}
    middle = plan.boxes_at(14).xyxy[0]
    assert middle[0] < 100 + 2 * 14 and middle[2] > 130 + 2 * 14  # interpolated, and grown by the speed
    held_near, held_far = plan.boxes_at(22).xyxy[0], plan.boxes_at(50).xyxy[0]
    assert (held_far[2] - held_far[0]) > (held_near[2] - held_near[0])  # the hold grows with time unseen


def test_a_confident_detection_no_track_took_is_held_too():
    plan = plan_covers(observations([(30, [10, 10, 30, 40], UNTRACKED)]), times=TIMES, width=320, height=240,
                       config=VideoRedactConfig(hold_seconds=0.2, lead_seconds=0.1))
    assert plan.frame.tolist() == list(range(27, 37))
    assert not np.isin(plan.track, plan.tracked).any()


def test_held_and_lead_covers_follow_the_camera():
    """A face seen once while the camera pans 4 px a frame to the left stays covered where
    the pan carries it, before and after; with no camera path the cover stays put."""
    pan = np.array([[1.0, 0.0, -4.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    camera = CameraPath(np.stack([np.eye(3)] + [pan] * 59))
    seen = observations([(30, [200, 100, 220, 124], UNTRACKED)])
    config = VideoRedactConfig(hold_seconds=0.5, lead_seconds=0.5, min_speed=0.0, margin_px=0.0)
    followed = plan_covers(seen, times=TIMES, width=320, height=240, config=config, camera=camera)
    still = plan_covers(seen, times=TIMES, width=320, height=240, config=config)
    for frame in (20, 40):
        box = followed.boxes_at(frame).xyxy[0]
        assert box[0] == pytest.approx(200 - 4 * (frame - 30), abs=1e-3)
        assert box[2] == pytest.approx(220 - 4 * (frame - 30), abs=1e-3)
        assert still.boxes_at(frame).xyxy[0].tolist() == [200, 100, 220, 124]
    with pytest.raises(ConfigError, match="camera path"):
        plan_covers(seen, times=TIMES, width=320, height=240, config=config, camera=CameraPath.still(3))


def test_paranoid_covers_whole_frames_where_detection_collapses():
    rows = [(f, [40 * t, 10, 40 * t + 30, 50], t) for t in range(4) for f in range(0, 31) if f != 15]
    tracks = observations(rows)
    assert plan_covers(tracks, times=TIMES, width=320, height=240, config=VideoRedactConfig()).full_frames.size == 0
    plan = plan_covers(tracks, times=TIMES, width=320, height=240, config=VideoRedactConfig(paranoid=True))
    assert plan.full_frames.tolist() == [15]


def test_covers_keep_a_margin_and_grow_where_the_frame_edge_cuts_a_face():
    """Every cover reaches ``margin_px`` past the box; a box near the frame's edge (a face
    the edge cuts, larger than what is seen of it) grows by ``edge_growth`` of its size."""
    seen = observations([(30, [150, 100, 170, 130], UNTRACKED), (30, [4, 100, 24, 130], UNTRACKED)])
    config = VideoRedactConfig(hold_seconds=0.1, lead_seconds=0.1, min_speed=0.0, margin_px=3.0, edge_growth=0.25)
    boxes = plan_covers(seen, times=TIMES, width=320, height=240, config=config).boxes_at(30).xyxy
    inner, edge = sorted(boxes.tolist(), key=lambda box: -box[0])
    assert inner == [147, 97, 173, 133]
    assert edge == [0, 88, 33.5, 142]  # 26 x 36 with the margin, + 25% on every side, cut at x=0
    plain = replace(config, margin_px=0.0, edge_growth=0.0)
    assert sorted(plan_covers(seen, times=TIMES, width=320, height=240, config=plain).boxes_at(30).xyxy.tolist(),
                  key=lambda box: box[0]) == [[4, 100, 24, 130], [150, 100, 170, 130]]


def test_a_box_placed_off_in_one_frame_is_made_up_by_its_neighbours():
    seen = observations([(29, [100, 100, 120, 130], 1), (30, [108, 100, 128, 130], 1), (31, [100, 100, 120, 130], 1)])
    config = VideoRedactConfig(hold_seconds=0.0, lead_seconds=0.0, min_speed=0.0, margin_px=0.0, edge_growth=0.0)
    joined = plan_covers(seen, times=TIMES, width=320, height=240, config=config).boxes_at(30).xyxy.tolist()
    alone = plan_covers(seen, times=TIMES, width=320, height=240,
                        config=replace(config, neighbour_union=0)).boxes_at(30).xyxy.tolist()
    assert joined == [[100, 100, 128, 130]] and alone == [[108, 100, 128, 130]]


def test_a_coarse_pass_sees_a_face_too_large_for_the_main_one():
    """A person close to a moving camera: a WIDER face zoomed to 500 px in a 768 x 432
    frame, cut by its edge and blurred by the motion; the main pass upscales the frame."""
    name = "2--Demonstration/2_Demonstration_Political_Rally_2_365.jpg"
    photo = cv2.imread(str(require_data("wider", "images", name)))[:, :, ::-1]
    with open(require_data("wider", "faces.csv"), newline="") as handle:
        annotated = [[float(row[k]) for k in ("x", "y", "w", "h")] for row in csv.DictReader(handle)
                     if row["image"] == name]
    x, y, w, h = max(annotated, key=lambda box: box[3])  # the largest face in the photo
    face = np.array([x, y, x + w, y + h])
    scale = 500 / (face[3] - face[1])
    x0, y0 = face[2] - 768 / scale, face[1] - 10 / scale
    frame = cv2.warpAffine(photo, np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]]), (768, 432),
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    frame = cv2.blur(frame, (9, 1))
    assert VideoDetectConfig().scales_for(768, 432) == pytest.approx((1280 / 768, 0.5))
    assert VideoDetectConfig().scales_for(1280, 720) == pytest.approx((1.0, 0.3))
    assert VideoDetectConfig().scales_for(320, 180) == (2.0,)

    def best_large_score(config: VideoDetectConfig) -> float:
        found = FrameDetector(config).detect(frame, index=0, threshold=0.06)
        large = found.score[(found.xyxy[:, 3] - found.xyxy[:, 1]) > 250]
        return float(large.max()) if len(large) else 0.0

    with_coarse, main_only = best_large_score(VideoDetectConfig()), best_large_score(VideoDetectConfig(coarse_side=0))
    assert with_coarse >= 0.7 and with_coarse >= main_only + 0.25, (with_coarse, main_only)


def test_configs_are_validated():
    with pytest.raises(ConfigError, match="hold_seconds"):
        VideoRedactConfig(hold_seconds=-1)
    with pytest.raises(ConfigError, match="every"):
        VideoDetectConfig(every=0)
    assert VideoRedactConfig.fast().detection.every == FAST_EVERY
    assert VideoDetectConfig().scale_for(1280, 720) == 1.0 and VideoDetectConfig().scale_for(320, 180) == 2.0


def test_a_rotated_variable_rate_phone_clip_comes_out_upright_and_in_sync(tmp_path):
    times = [0.0, 0.033, 0.05, 0.15, 0.2, 0.4, 0.45, 0.7]
    upright = [marker_frame(i, 160, 96) for i in range(len(times))]
    source = make_video(tmp_path / "phone.mp4", times=times, width=96, height=160, rotation=90, audio=True,
                        pixels=lambda i: np.ascontiguousarray(np.rot90(upright[i], -1)))
    result = VideoRedactor().redact(source, tmp_path / "out.mp4")
    output = probe(tmp_path / "out.mp4")
    assert (output.width, output.height) == (160, 96) and output.orientation.degrees == 0
    assert [s.kind for s in output.streams] == ["video"]
    assert decoded_times(tmp_path / "out.mp4") == pytest.approx(times, abs=1e-4)
    for frame, expected in zip(read_frames(tmp_path / "out.mp4"), upright):
        assert np.abs(frame.rgb.astype(int) - expected).mean() < 6  # no faces: the same picture, upright
    record = result.record()
    assert record.rotation_applied == 90 and record.audio == "dropped" and record.frames == len(times)


class DroppingDetector:
    """The real detector, blind on some frames (a detector dropout)."""

    def __init__(self, detector, dropped: set[int]) -> None:
        self.detector, self.dropped = detector, dropped

    def detect(self, rgb, *, index, threshold):
        return Detections.empty() if index in self.dropped else self.detector.detect(rgb, index=index, threshold=threshold)


def face_clip(tmp_path, *, frames: int = 20) -> tuple[object, list[np.ndarray]]:
    """A real face (from the identities photos) moving across a grey frame; its box per frame."""
    photo = cv2.imread(str(require_data("identities", "images", "img1.jpg")))[:, :, ::-1].copy()
    face = CenterFace().detect(photo, threshold=0.5).sorted_by_score().xyxy[0]
    scale = 40 / (face[3] - face[1])
    small = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    fx1, fy1, fx2, fy2 = (face * scale).astype(int)
    pad = 16
    patch = small[max(fy1 - pad, 0):fy2 + pad, max(fx1 - pad, 0):fx2 + pad]
    offset = np.array([fx1 - max(fx1 - pad, 0), fy1 - max(fy1 - pad, 0)])
    boxes = []

    def pixels(i: int) -> np.ndarray:
        rgb = np.full((176, 288, 3), 120, np.uint8)
        x, y = 20 + 9 * i, 50
        rgb[y:y + patch.shape[0], x:x + patch.shape[1]] = patch[: 176 - y, : 288 - x]
        return rgb

    for i in range(frames):
        x, y = 20 + 9 * i + offset[0], 50 + offset[1]
        boxes.append(np.array([x, y, x + fx2 - fx1, y + fy2 - fy1], float))
    return make_video(tmp_path / "face.mp4", frames=frames, width=288, height=176, pixels=pixels), boxes


def hidden_share(original: np.ndarray, redacted: np.ndarray, box: np.ndarray) -> float:
    x1, y1, x2, y2 = np.round(box).astype(int)
    before, after = original[y1:y2, x1:x2].astype(int), redacted[y1:y2, x1:x2].astype(int)
    flat = after.std(axis=2) < 4  # one colour in every channel
    changed = np.abs(after - before).max(axis=2) > 8
    return float((flat & (after.max(axis=2) < 12) & changed).mean())


def test_tracking_holds_a_real_face_through_detector_dropouts(tmp_path):
    source, boxes = face_clip(tmp_path)
    dropped = {4, 5, 6, 11, 12, 19}
    redactor = VideoRedactor()
    redactor.detector = DroppingDetector(redactor.detector, dropped)
    result = redactor.redact(source, tmp_path / "out.mp4")
    shares = [hidden_share(before.rgb, after.rgb, box)
              for before, after, box in zip(read_frames(source), read_frames(tmp_path / "out.mp4"), boxes)]
    assert min(shares) >= 0.8, shares  # no bare frame, dropouts included
    covered = {int(f) for f in result.plan.frame[result.plan.kind != CoverKind.DETECTED]}
    assert dropped <= covered
    record = result.record()
    tracked = [t for t in record.tracks if t.tracked]
    assert len(tracked) == 1 and tracked[0].frames_covered >= 20
    assert {f for first, last in tracked[0].interpolated for f in range(first, last + 1)} >= {4, 5, 6, 11, 12}
    assert VideoRecord.from_json(json.loads(json.dumps(record.to_json()))) == record  # boxes and numbers only


def test_fast_mode_still_covers_every_frame_of_a_real_face(tmp_path):
    source, boxes = face_clip(tmp_path, frames=12)
    result = VideoRedactor(VideoRedactConfig.fast()).redact(source, tmp_path / "out.mp4")
    assert result.detected_frames == 6
    shares = [hidden_share(before.rgb, after.rgb, box)
              for before, after, box in zip(read_frames(source), read_frames(tmp_path / "out.mp4"), boxes)]
    assert min(shares) >= 0.8, shares


class StopAfter(Recorded):
    """A progress that interrupts the run part-way through encoding (a Ctrl-C)."""

    def advance(self, amount: float = 1.0) -> None:
        super().advance(amount)
        if len(self.stages) == 2 and self.done >= 3:
            raise KeyboardInterrupt


def test_an_interrupted_video_leaves_no_output_and_a_rerun_finishes_it(tmp_path):
    source = make_video(tmp_path / "in.mp4", frames=8)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        VideoRedactor().redact(source, out / "in.redacted.mp4", progress=StopAfter())
    assert list(out.iterdir()) == []  # neither the output nor a partial file
    progress = Recorded()
    VideoRedactor(VideoRedactConfig(encode=EncodeConfig(keep_audio=True))).redact(
        source, out / "in.redacted.mp4", progress=progress)
    assert [p.name for p in out.iterdir()] == ["in.redacted.mp4"]
    assert progress.unit == "frames" and progress.done == 8 and len(progress.stages) == 2
    assert len(list(read_frames(out / "in.redacted.mp4"))) == 8


def test_verify_finds_the_bare_face_in_a_copy_and_passes_the_redaction(tmp_path):
    from unseen.media.video import open_writer
    from unseen.redact.verify import Recognizers
    from unseen.redact.verify_video import VideoVerifyConfig, verify_video

    source, _ = face_clip(tmp_path, frames=6)
    VideoRedactor().redact(source, tmp_path / "out.mp4")
    info = probe(source)
    with open_writer(tmp_path / "copy.mp4", info=info, config=EncodeConfig()) as writer:
        for frame in read_frames(source):
            writer.write(frame.rgb, frame.pts)
    config = VideoVerifyConfig(every=2, recognize_every=4)
    recognizers = Recognizers(())  # the recognizers are tested on photos; re-detection decides here
    bare = verify_video(source, tmp_path / "copy.mp4", config=config, recognizers=recognizers)
    assert not bare.passed and bare.checked == 3 and bare.redetected >= 3
    redacted = verify_video(source, tmp_path / "out.mp4", config=config, recognizers=recognizers)
    assert redacted.passed and redacted.faces >= 3, redacted.to_record()

"""Reviewing a video on the page: the faces followed are listed with their frame ranges, a
track can be left uncovered, a box drawn over a frame range, frames covered whole; the
export goes through the same function as `unseen redact` and is verified the same way."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.redact.test_video import face_clip, hidden_share
from unseen.errors import ConfigError
from unseen.media.video import read_frames
from unseen.redact.photo import RedactConfig
from unseen.redact.verify import VerifyConfig
from unseen.redact.video import VideoReview
from unseen.web.session import ReviewSession, ReviewState

DRAWN = (200.0, 100.0, 260.0, 160.0)


@pytest.fixture
def session(tmp_path):
    source, boxes = face_clip(tmp_path / "made")
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.move(source, folder / "march.mp4")
    workdir = tmp_path / "work"
    workdir.mkdir(mode=0o700)
    reviewing = ReviewSession(workdir=workdir, folder=folder, out_dir=tmp_path / "out",
                              config=RedactConfig(verification=VerifyConfig(embedders=())))
    return reviewing, folder / "march.mp4", boxes


def frames_of(path) -> list[np.ndarray]:
    return [frame.rgb for frame in read_frames(path)]


def test_tracks_are_listed_and_a_reviewed_video_is_exported_as_decided(session):
    reviewing, source, boxes = session
    (entry,) = reviewing.files()
    assert entry.kind.value == "video"
    analysed = reviewing.analyse(entry.id)
    video = analysed.video
    assert video.frames == 20
    face = max(video.tracks, key=lambda track: len(track.detections))
    assert (face.first_frame, face.last_frame) == (0, 19) and len(face.detections) >= 15
    covers, uncovered, whole = reviewing.video_covers(entry.id, 5)
    assert face.track in covers.track_id.tolist() and not whole and len(uncovered) == 0
    assert Image.open(io.BytesIO(reviewing.video_frame(entry.id, 5))).size == (288, 176)

    with pytest.raises(ConfigError, match="no track 99"):
        reviewing.choose_video(entry.id, review=VideoReview(removed_tracks=(99,)))
    with pytest.raises(ConfigError, match="last frame is 19"):
        reviewing.choose_video(entry.id, review=VideoReview(full_frames=((10, 40),)))
    review = VideoReview(removed_tracks=(face.track,), boxes=(DRAWN,), box_frames=((0, 19),), full_frames=((10, 12),))
    assert reviewing.choose_video(entry.id, review=review).state is ReviewState.REVIEWED
    covers, uncovered, whole = reviewing.video_covers(entry.id, 11)
    assert whole and face.track not in covers.track_id.tolist() and uncovered.track_id.tolist() == [face.track]

    reviewing.export([entry.id])
    exported = reviewing.file(entry.id)
    assert exported.state is ReviewState.EXPORTED and exported.record.output == "march.redacted.mp4"
    original, redacted = frames_of(source), frames_of(reviewing.output(entry.id))
    assert len(redacted) == 20
    assert hidden_share(original[3], redacted[3], boxes[3]) < 0.2  # the face left uncovered on purpose
    assert all(frame.max() < 12 for frame in redacted[10:13])  # covered whole
    x1, y1, x2, y2 = (int(v) for v in DRAWN)
    assert redacted[0][y1:y2, x1:x2].max() < 12 and redacted[19][y1:y2, x1:x2].max() < 12

    record = json.loads(reviewing.record_path.read_text())["files"]["march.redacted.mp4"]
    assert record["review_decisions"]["removed_tracks"] == [face.track]
    assert record["review_decisions"]["full_frames"] == [[10, 12]] and record["review_decisions"]["drawn"] == 1
    assert face.track not in [track["track"] for track in record["video"]["tracks"]]
    assert [track["drawn_frames"] for track in record["video"]["tracks"] if "drawn_frames" in track] == [[[0, 19]]]
    assert record["video_verification"]["passed"] is False  # the bare face is found, as for any video

    reviewing.choose_video(entry.id, review=VideoReview())
    reviewing.export([entry.id])
    again = reviewing.file(entry.id)
    assert again.record.passed is True
    covered = frames_of(reviewing.output(entry.id))
    assert min(hidden_share(original[i], covered[i], boxes[i]) for i in range(20)) > 0.95

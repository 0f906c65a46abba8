"""Face tracks: one id per face across frames, weak detections only continue a track."""

from __future__ import annotations

import numpy as np
import pytest

from unseen.errors import ConfigError
from unseen.faces.tracking import UNTRACKED, Observations, TrackerConfig, track_faces
from unseen.faces.types import Detections


def moving_face(frame: int, *, x0: float = 20.0, speed: float = 3.0, size: float = 20.0) -> list[float]:
    x = x0 + speed * frame
    return [x, 40.0, x + size, 40.0 + size]


def frames_of(boxes_and_scores: list[list[tuple[list[float], float]]]) -> list[tuple[int, float, Detections]]:
    result = []
    for index, faces in enumerate(boxes_and_scores):
        found = Detections(xyxy=[box for box, _ in faces], score=[score for _, score in faces]) if faces \
            else Detections.empty()
        result.append((index, index / 30, found))
    return result


def test_a_moving_face_keeps_one_track_through_weak_detections():
    scores = [0.9, 0.8, 0.12, 0.1, 0.7, 0.15, 0.9, 0.9]
    observations = track_faces(frames_of([[(moving_face(i), s)] for i, s in enumerate(scores)]))
    assert len(observations) == len(scores)
    assert len(set(observations.track_id.tolist())) == 1 and observations.track_id[0] != UNTRACKED


def test_weak_detections_alone_start_nothing():
    observations = track_faces(frames_of([[(moving_face(i), 0.12)] for i in range(6)]))
    assert len(observations) == 0


def test_a_confident_detection_no_track_takes_is_kept_untracked():
    frames = frames_of([[(moving_face(0), 0.9)]])
    observations = track_faces(frames)
    assert len(observations) == 1 and observations.score[0] == pytest.approx(0.9)


def test_two_faces_get_two_tracks_and_dropouts_keep_the_id():
    rows = []
    for i in range(12):
        faces = [(moving_face(i, x0=10), 0.9)]
        if i not in (4, 5, 6):  # the second face goes undetected for three frames
            faces.append((moving_face(i, x0=200, speed=-2), 0.9))
        rows.append(faces)
    observations = track_faces(frames_of(rows))
    left = observations.track_id[observations.xyxy[:, 0] < 100]
    right = observations.track_id[observations.xyxy[:, 0] >= 100]
    assert len(set(left[1:].tolist())) == 1 and len(set(right[1:].tolist())) == 1
    assert set(left[1:].tolist()) != set(right[1:].tolist())
    assert observations.at(5).track_id.tolist() == [left[-1]]


def test_configs_and_observations_are_validated():
    with pytest.raises(ConfigError, match="low_threshold"):
        TrackerConfig(threshold=0.2, low_threshold=0.3)
    with pytest.raises(ConfigError, match="xyxy"):
        Observations(frame=[0], time=[0.0], xyxy=[[0, 0, 1]], score=[1.0], track_id=[0])
    assert len(Observations.empty().at(0)) == 0
    assert np.isfinite(Observations.empty().time).all()

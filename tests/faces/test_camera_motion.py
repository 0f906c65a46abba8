"""Camera motion: a pan and a zoom measured from the picture, a cut measured as no motion."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unseen.errors import ConfigError
from unseen.faces.camera_motion import CameraPath, MotionConfig, MotionEstimator

SIZE = (640, 360)


def _scene(seed: int) -> np.ndarray:
    """A large textured picture, like a crowd or a street, to film."""
    rng = np.random.default_rng(seed)
    coarse = cv2.resize(rng.uniform(0, 255, (30, 50, 3)).astype(np.float32), (1600, 1000), interpolation=cv2.INTER_CUBIC)
    fine = rng.normal(0, 25, (1000, 1600, 3)).astype(np.float32)
    return np.clip(coarse + cv2.GaussianBlur(fine, (0, 0), 1.5), 0, 255).astype(np.uint8)


def _filmed(scene: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    return cv2.warpAffine(scene, matrix[:2], SIZE, flags=cv2.INTER_LINEAR)


def _camera(x: float, y: float, zoom: float) -> np.ndarray:
    """Scene pixels -> frame pixels for a camera whose top-left corner is at (x, y)."""
    return np.array([[zoom, 0, -x * zoom], [0, zoom, -y * zoom], [0, 0, 1]])


def test_a_pan_and_a_zoom_are_measured_to_a_fraction_of_a_pixel():
    scene = _scene(0)
    cameras = [_camera(300 + 6 * i, 200 + 2 * i, 1.0 + 0.01 * i) for i in range(8)]
    estimator = MotionEstimator()
    for matrix in cameras:
        estimator.update(_filmed(scene, matrix))
    path = estimator.path
    assert len(path) == 8 and not path.trusted[0] and path.trusted[1:].all()
    corners = np.array([[50.0, 40.0, 90.0, 100.0], [500.0, 250.0, 540.0, 300.0]])
    for i in range(1, 8):
        truth = cameras[i] @ np.linalg.inv(cameras[0])
        expected = CameraPath(np.stack([np.eye(3), truth])).to_frames([1, 1], corners)
        assert np.abs(path.to_frames([i, i], corners) - expected).max() < 0.5


def test_a_cut_and_a_blank_frame_are_taken_as_no_motion():
    estimator = MotionEstimator()
    estimator.update(_filmed(_scene(0), _camera(300, 200, 1.0)))
    assert np.allclose(estimator.update(_filmed(_scene(1), _camera(300, 200, 1.0))), np.eye(3))
    assert np.allclose(estimator.update(np.full((SIZE[1], SIZE[0], 3), 90, np.uint8)), np.eye(3))


def test_faces_are_left_out_of_the_estimate():
    """A large face moving across a still background does not move the camera."""
    background = _filmed(_scene(0), _camera(300, 200, 1.0))
    face = _scene(2)[:200, :160]
    estimator = MotionEstimator()
    boxes = None
    for i in range(4):
        frame = background.copy()
        frame[80:280, 100 + 30 * i:260 + 30 * i] = face
        estimator.update(frame, boxes)
        boxes = np.array([[100 + 30 * i, 80, 260 + 30 * i, 280]], np.float64)
    assert np.abs(estimator.path.steps[1:, :2, 2]).max() < 0.5


def test_scene_and_frame_coordinates_round_trip():
    step = np.array([[1.02, 0.0, 5.0], [0.0, 1.02, -3.0], [0, 0, 1]])
    path = CameraPath(np.stack([np.eye(3), step, step]))
    boxes = np.array([[10.0, 20.0, 30.0, 50.0]] * 3)
    frames = np.array([0, 1, 2])
    assert np.allclose(path.to_scene(frames, path.to_frames(frames, boxes)), boxes)
    moved = path.to_frames([2], boxes[:1])[0]
    top_left = (step @ step @ np.array([10.0, 20.0, 1.0]))[:2]
    assert np.allclose(moved[:2], top_left)
    assert np.allclose(CameraPath.still(3).to_frames(frames, boxes), boxes)


def test_bad_paths_and_configs_are_refused():
    with pytest.raises(ConfigError, match="frames, 3, 3"):
        CameraPath(np.eye(3))
    with pytest.raises(ConfigError, match="max_side"):
        MotionConfig(max_side=10)
    with pytest.raises(ConfigError, match="min_share"):
        MotionConfig(min_share=0)

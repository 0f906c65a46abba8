"""Residual risk of a redacted image: can a face still be found, or still be matched?

Two checks, on the pixels a reader of the output file will see:

1. Re-detection: the detector runs again on the output at a *lower* threshold than the one
   used for covering. A detection over a face that was covered means the cover failed
   (``redetected``), unless all it sees is flat fill (``on_fill``: the detector answering
   to a head's outline around a solid box). One anywhere else is a face left bare
   (``exposed``) when it scores like a clear face, else a possible face for a person to
   review (``candidates``).
2. Re-identification: each recognizer embeds every covered face twice, from the original and
   from the output, at the same place and with the same landmarks (an attacker who knows
   where the face was); a similarity at or above the recognizer's customary threshold is a
   match, unless the recognizer "matches" the face to a blank grey region just as well (it
   cannot tell anything there). Faces smaller than ``min_face_px`` are left to
   re-detection: recognizers are not meaningful on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from unseen.errors import ConfigError, ModelUnavailableError
from unseen.faces.boxes import range_areas, range_sums
from unseen.faces.detectors.base import Detector, check_rgb_image, check_threshold
from unseen.faces.types import Detections, box_iou

DEFAULT_EMBEDDERS = ("dlib", "facenet")


@dataclass(frozen=True)
class VerifyConfig:
    """How a redacted image is checked.

    threshold: detection threshold on the output (keep it below the covering threshold).
    embedders: recognizers (registry names) that compare each covered face with the original.
    min_face_px: faces whose box is smaller than this on its shorter side are not embedded.
    overlap_iou: a detection on the output with at least this IoU with a covered face (or
        whose centre lies inside that face's box) is a re-detection of it.
    exposed_above: a detection away from the covered faces scoring at least this is a face
        left bare (a failure); lower ones are only flagged for review.
    """

    threshold: float = 0.15
    embedders: tuple[str, ...] = DEFAULT_EMBEDDERS
    min_face_px: int = 20
    overlap_iou: float = 0.3
    exposed_above: float = 0.5

    def __post_init__(self) -> None:
        check_threshold(self.threshold, "VerifyConfig.threshold")
        check_threshold(self.exposed_above, "VerifyConfig.exposed_above")
        check_threshold(self.overlap_iou, "VerifyConfig.overlap_iou")
        if self.min_face_px < 1:
            raise ConfigError(f"VerifyConfig.min_face_px: expected a positive size, got {self.min_face_px}")
        object.__setattr__(self, "embedders", tuple(self.embedders))


@dataclass(frozen=True, eq=False)
class Verification:
    """What verification found in one redacted image.

    redetected: detections on the output over a covered face (the cover failed).
    exposed: confident detections away from every covered face (a face left bare).
    candidates: weaker detections away from every covered face (review them).
    embedders: the recognizers that ran; unavailable: those not installed.
    on_fill: detections over a covered face that see nothing but flat fill (a head's
        outline around a solid cover): recorded, not a failure, as no face pixel is left.
    similarity: (faces, embedders) similarity of each face's original and covered region,
        NaN where a face was too small to compare or the recognizer was uninformative.
    uninformative: (faces, embedders) the recognizer matched the face to a blank region too.
    match_threshold: (embedders,) the similarity at or above which a pair is a match.
    """

    threshold: float
    redetected: Detections
    exposed: Detections
    candidates: Detections
    on_fill: Detections
    embedders: tuple[str, ...]
    similarity: np.ndarray
    uninformative: np.ndarray
    match_threshold: np.ndarray
    unavailable: tuple[str, ...] = field(default=())

    @property
    def matched(self) -> np.ndarray:
        """(faces,) True where any recognizer still matches the covered face to the original."""
        with np.errstate(invalid="ignore"):
            hits = self.similarity >= self.match_threshold[None, :]
        return hits.any(axis=1) if hits.size else np.zeros(len(self.similarity), dtype=bool)

    @property
    def compared(self) -> np.ndarray:
        """(faces,) True where at least one recognizer compared the face."""
        return ~np.isnan(self.similarity).all(axis=1) if self.similarity.size else np.zeros(len(self.similarity), bool)

    @property
    def passed(self) -> bool:
        """No covered face was re-detected or matched, and no clear face was left bare."""
        return len(self.redetected) == 0 and len(self.exposed) == 0 and not self.matched.any()

    def to_record(self) -> dict:
        """JSON-ready summary: boxes and scores only, never pixels or templates."""
        return {
            "passed": self.passed,
            "threshold": self.threshold,
            "redetected": self.redetected.to_records(),
            "exposed": self.exposed.to_records(),
            "candidates": self.candidates.to_records(),
            "on_fill": self.on_fill.to_records(),
            "embedders": list(self.embedders),
            "unavailable": list(self.unavailable),
            "faces_compared": int(self.compared.sum()),
            "uninformative": {name: int(self.uninformative[:, i].sum()) for i, name in enumerate(self.embedders)},
            "faces_matched": [int(i) for i in np.flatnonzero(self.matched)],
            "closest_to_match": self.closest_to_match(),
        }

    def closest_to_match(self) -> dict[str, float | None]:
        """Per recognizer, the highest similarity minus its match threshold over all faces
        compared (negative: no face matched; None: no face was compared)."""
        margins: dict[str, float | None] = {}
        for column, (name, value) in enumerate(zip(self.embedders, self.match_threshold)):
            scores = self.similarity[:, column]
            scores = scores[~np.isnan(scores)]
            margins[name] = round(float(scores.max() - value), 4) if len(scores) else None
        return margins


class Recognizers:
    """The recognizers verification uses, built once and reused for every image."""

    def __init__(self, names: tuple[str, ...]) -> None:
        from unseen.faces.registry import build_embedder

        self.names: list[str] = []
        self.models: list[object] = []
        self.thresholds: list[float] = []
        self.unavailable: list[str] = []
        for name in names:
            try:
                model = build_embedder(name)
            except ModelUnavailableError:
                self.unavailable.append(name)
                continue
            self.names.append(name)
            self.models.append(model)
            self.thresholds.append(_similarity_threshold(model))

    def compare(self, original: np.ndarray, redacted: np.ndarray, faces: Detections) -> tuple[np.ndarray, np.ndarray]:
        """(similarity, uninformative), both (faces, recognizers).

        similarity: each face in the original against the same place in ``redacted``.
        uninformative: the recognizer "matches" the original face just as well when the
            face box of ``redacted`` is painted one flat colour: what it matches on is the
            surroundings (hair, clothes, the head's outline), not anything the cover let
            through, so its verdict on the cover says nothing and the similarity is left
            out (NaN). A solid cover is flat already, so it is never matched; a light blur
            painted flat is no longer the face, so a blur that still matches is caught.
        """
        scores = np.full((len(faces), len(self.models)), np.nan, dtype=np.float64)
        uninformative = np.zeros((len(faces), len(self.models)), dtype=bool)
        if len(faces) == 0:
            return scores, uninformative
        blank = None
        for column, (model, threshold) in enumerate(zip(self.models, self.thresholds)):
            before = model.embed(original, faces)
            scores[:, column] = model.pair_similarity(before, model.embed(redacted, faces))
            suspect = np.flatnonzero(scores[:, column] >= threshold)
            if len(suspect):
                blank = _flattened(redacted, faces) if blank is None else blank
                empty = model.pair_similarity(before[suspect], model.embed(blank, faces[suspect]))
                uninformative[suspect, column] = empty >= threshold
        scores[uninformative] = np.nan
        return scores, uninformative


def _flattened(redacted: np.ndarray, faces: Detections) -> np.ndarray:
    """``redacted`` with each face box painted its own median colour: the same photo with
    no information left where the face was."""
    flat = redacted.copy()
    height, width = redacted.shape[:2]
    for x1, y1, x2, y2 in faces.clipped(width, height).xyxy:
        region = flat[int(y1):int(np.ceil(y2)), int(x1):int(np.ceil(x2))]
        region[:] = np.median(region.reshape(-1, 3), axis=0).astype(np.uint8)
    return flat


def _similarity_threshold(model: object) -> float:
    from unseen.faces.embedders.base import similarity_threshold

    value = similarity_threshold(model)
    if value is None:
        raise ConfigError(f"recognizer {model.name!r} has no customary threshold; verification cannot judge a match")
    return float(value)


def verify_redaction(*, original: np.ndarray, redacted: np.ndarray, faces: Detections, detector: Detector,
                     config: VerifyConfig | None = None, recognizers: Recognizers | None = None) -> Verification:
    """Check ``redacted`` against ``original`` (both upright RGB of the same size), where
    ``faces`` are the faces that were to be hidden, in ``original``'s pixels.

    ``recognizers`` defaults to building ``config.embedders``; pass one `Recognizers` to
    reuse the models over many images.
    """
    config = config or VerifyConfig()
    original, redacted = check_same_size(original, redacted)
    found = detector.detect(redacted, threshold=config.threshold)
    over_faces = _over_faces(found, faces, config.overlap_iou)
    on_fill = over_faces & (_share_on_flat_fill(found, original, redacted) >= ON_FILL_SHARE)
    clear = found.score >= config.exposed_above
    recognizers = recognizers if recognizers is not None else Recognizers(config.embedders)
    comparable = np.minimum(faces.width, faces.height) >= config.min_face_px if len(faces) else np.zeros(0, bool)
    similarity = np.full((len(faces), len(recognizers.names)), np.nan)
    uninformative = np.zeros(similarity.shape, dtype=bool)
    if comparable.any():
        similarity[comparable], uninformative[comparable] = recognizers.compare(original, redacted, faces[comparable])
    return Verification(
        threshold=config.threshold,
        redetected=found[over_faces & ~on_fill],
        exposed=found[~over_faces & clear],
        candidates=found[~over_faces & ~clear],
        on_fill=found[on_fill],
        embedders=tuple(recognizers.names),
        similarity=similarity,
        uninformative=uninformative,
        match_threshold=np.asarray(recognizers.thresholds, dtype=np.float64),
        unavailable=tuple(recognizers.unavailable),
    )


ON_FILL_SHARE = 0.9
FLAT_STD = 3.0
CHANGED = 8


def _share_on_flat_fill(found: Detections, original: np.ndarray, redacted: np.ndarray) -> np.ndarray:
    """(found,) share of each box's pixels that the redaction replaced by a flat fill:
    changed from the original and locally uniform (a solid cover, after compression)."""
    if len(found) == 0:
        return np.zeros(0)
    grey = redacted.astype(np.float32).mean(axis=2)
    mean = cv2.blur(grey, (5, 5))
    variance = np.maximum(cv2.blur(grey * grey, (5, 5)) - mean * mean, 0)
    changed = np.abs(redacted.astype(np.int16) - original.astype(np.int16)).max(axis=2) > CHANGED
    fill = changed & (variance < FLAT_STD ** 2)
    height, width = fill.shape
    ranges = np.round(found.xyxy).astype(np.int64)
    ranges[:, [0, 2]] = np.clip(ranges[:, [0, 2]], 0, width)
    ranges[:, [1, 3]] = np.clip(ranges[:, [1, 3]], 0, height)
    return range_sums(fill, ranges) / np.maximum(range_areas(ranges), 1)


def check_same_size(original: np.ndarray, redacted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both images as checked RGB arrays, or a ConfigError when their sizes differ."""
    original = check_rgb_image(original, "original")
    redacted = check_rgb_image(redacted, "redacted")
    if original.shape != redacted.shape:
        raise ConfigError(
            f"redacted: expected the original's size {original.shape[1]}x{original.shape[0]}, got "
            f"{redacted.shape[1]}x{redacted.shape[0]}" + (
                "; the redactor may have dropped the orientation tag without turning the pixels"
                if original.shape[:2] == redacted.shape[1::-1] else ""))
    return original, redacted


def _over_faces(found: Detections, faces: Detections, overlap_iou: float) -> np.ndarray:
    """(found,) True where a detection lies over one of ``faces``."""
    if len(found) == 0 or len(faces) == 0:
        return np.zeros(len(found), dtype=bool)
    overlapping = (box_iou(found.xyxy, faces.xyxy) >= overlap_iou).any(axis=1)
    centre = (found.xyxy[:, :2] + found.xyxy[:, 2:]) / 2
    inside = ((centre[:, None, 0] >= faces.xyxy[None, :, 0]) & (centre[:, None, 0] <= faces.xyxy[None, :, 2])
              & (centre[:, None, 1] >= faces.xyxy[None, :, 1]) & (centre[:, None, 1] <= faces.xyxy[None, :, 3]))
    return overlapping | inside.any(axis=1)

"""Residual risk of a redacted image: can a face still be found, or still be matched?

Checks on the pixels a reader of the output file will see:

1. Re-detection by the covering detector at a *lower* threshold than covering used. A
   detection over a covered face means the cover failed (``redetected``), unless all it
   sees is flat fill (``on_fill``: the detector answering to a head's outline around a
   solid box). One anywhere else is a face left bare (``exposed``) when it scores like a
   clear face, else a possible face for a person to review (``candidates``).
   After a redaction the output differs from the original only where it was covered, so
   the detector runs again only around the covered faces, and bare faces elsewhere are
   the original's own detections at the lower threshold (`Reuse`); for a file made by any
   other tool it runs on the whole output.
2. Re-detection by an independent detector (MTCNN), so the check is not blind exactly
   where the covering detector was: it runs on the whole output (downscaled to at most
   ``independent_max_pixels``).
3. The covers themselves: a solid cover must still be its fill colour in the output. A
   solid fill carries nothing of the face, so recognizers have nothing to match there;
   they are needed for mosaic and blur, and for files of other tools: each recognizer
   embeds every covered face twice, from the original and from the output, at the same
   place and with the same landmarks (an attacker who knows where the face was); a
   similarity at or above its customary threshold is a match, unless the recognizer
   "matches" the face to a blank region just as well (it matches on the surroundings).
   Faces smaller than ``min_face_px`` are left to re-detection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from unseen.errors import ConfigError, ModelUnavailableError
from unseen.faces.boxes import range_areas, range_sums
from unseen.faces.detectors.base import Detector, check_rgb_image, check_threshold
from unseen.faces.boxes import box_iou, merged_windows
from unseen.faces.types import Detections

DEFAULT_EMBEDDERS = ("dlib", "facenet")
FILL_TOLERANCE = 24
"""A solid cover's pixel may differ from the fill colour by this much after compression."""
FILLED_SHARE = 0.98


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
    independent: a second detector (registry name) that looks at the whole output; None
        turns it off. independent_threshold: its score for a face; independent_exposed_above:
        a face it alone finds away from the covers fails the file from this score (lower: review).
    independent_max_pixels: it runs on a copy of the output at most this large.
    context: re-detection around covered faces looks this many face sizes beyond each one.
    second_looks_up_to: on photos up to this many pixels that re-detection uses every pass of
        the covering detector; on larger ones its first looks (native and smaller scales).
    """

    threshold: float = 0.15
    embedders: tuple[str, ...] = DEFAULT_EMBEDDERS
    min_face_px: int = 20
    overlap_iou: float = 0.3
    exposed_above: float = 0.5
    independent: str | None = "mtcnn"
    independent_threshold: float = 0.9
    independent_exposed_above: float = 0.97
    independent_max_pixels: int = 1_000_000
    context: float = 0.5
    second_looks_up_to: int = 4_000_000

    def __post_init__(self) -> None:
        for name in ("threshold", "exposed_above", "overlap_iou", "independent_threshold", "independent_exposed_above"):
            check_threshold(getattr(self, name), f"VerifyConfig.{name}")
        if self.min_face_px < 1:
            raise ConfigError(f"VerifyConfig.min_face_px: expected a positive size, got {self.min_face_px}")
        if self.independent_max_pixels < 10_000 or self.context < 0:
            raise ConfigError("VerifyConfig: independent_max_pixels must be at least 10,000 and context at least 0, "
                              f"got {self.independent_max_pixels} and {self.context}")
        object.__setattr__(self, "embedders", tuple(self.embedders))


@dataclass(frozen=True, eq=False)
class Reuse:
    """What a redaction already knows, so verification need not look again where the output
    equals the original: ``candidates`` are the original's detections scoring at least the
    verification threshold (covered or not), found by ``detector_name``; ``fill_colour``
    is the solid cover's colour (None for mosaic and blur)."""

    candidates: Detections
    fill_colour: tuple[int, int, int] | None = None


@dataclass(frozen=True, eq=False)
class Verification:
    """What verification found in one redacted image.

    redetected: detections on the output over a covered face (the cover failed).
    exposed: confident detections away from every covered face (a face left bare).
    candidates: weaker detections away from every covered face (review them).
    on_fill: detections over a covered face that see nothing but flat fill (a head's
        outline around a solid cover): recorded, not a failure, as no face pixel is left.
    detector / independent: the names of the detectors that looked (independent: None when
        none did); reused: True when bare faces were taken from the original's detections.
    unfilled: (faces,) True where a solid cover is not its fill colour in the output; empty
        when the covers are not solid.
    embedders: the recognizers that ran; unavailable: those not installed.
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
    detector: str = ""
    independent: str | None = None
    reused: bool = False
    unfilled: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    faces: int = 0

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
        """No covered face was re-detected, left unfilled or matched, and no clear face was
        left bare: nothing these checks can see (see `checks`)."""
        return (len(self.redetected) == 0 and len(self.exposed) == 0 and not self.matched.any()
                and not self.unfilled.any())

    def checks(self) -> list[str]:
        """What was checked, in words: the limits of a pass (it is no proof that no face is left)."""
        detectors = f"{self.detector} at {self.threshold:g}" + (f" and {self.independent}" if self.independent else "")
        where = ("around the covered faces (elsewhere the output is the original, searched when it was covered)"
                 if self.reused else "on the whole output")
        checks = [f"faces re-detected by {detectors} {where}"]
        if len(self.unfilled):
            checks.append(f"{self.faces} solid cover(s) still solid in the output (a solid fill carries nothing of "
                          "the face, so recognizers were not needed)")
        if self.embedders:
            checks.append(f"{int(self.compared.sum())} covered face(s) compared with the original by "
                          f"{' and '.join(self.embedders)}")
        return checks

    def statement(self) -> str:
        """One sentence a person can rely on: what was found, and by which checks."""
        found = []
        if len(self.redetected):
            found.append(f"{len(self.redetected)} covered face(s) re-detected")
        if self.unfilled.any():
            found.append(f"{int(self.unfilled.sum())} cover(s) not solid in the output")
        if self.matched.any():
            found.append(f"{int(self.matched.sum())} covered face(s) still matched by a recognizer")
        if len(self.exposed):
            found.append(f"{len(self.exposed)} clear face(s) left bare")
        outcome = "; ".join(found) if found else "no face found"
        return f"{outcome} ({'; '.join(self.checks())})"

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

    def __init__(self, names: tuple[str, ...] = ()) -> None:
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
                     config: VerifyConfig | None = None, recognizers: Recognizers | None = None,
                     independent: Detector | None = None, reuse: Reuse | None = None) -> Verification:
    """Check ``redacted`` against ``original`` (both upright RGB of the same size), where
    ``faces`` are the faces that were to be hidden, in ``original``'s pixels.

    ``independent`` is the second detector (None: none looks). ``reuse`` is what a redaction
    already found (see `Reuse`): re-detection then runs only around the covered faces, and a
    solid cover is checked for its colour instead of by recognizers. ``recognizers``
    defaults to building ``config.embedders``; pass one `Recognizers` to reuse the models.
    """
    config = config or VerifyConfig()
    original, redacted = check_same_size(original, redacted)
    if reuse is None:
        found = _with_flat_fill(detector.detect(redacted, threshold=config.threshold), original, redacted, faces,
                                config)
        bare = found.away
    else:
        found = _redetected_around(faces, original, redacted, detector, config)
        bare = reuse.candidates[~_over_faces(reuse.candidates, faces, config.overlap_iou)]
    second = (_with_flat_fill(_independent_detections(independent, redacted, config), original, redacted, faces,
                              config) if independent is not None else _Found.nothing())
    novel = second.away[~_over_faces(second.away, bare, config.overlap_iou)]
    unfilled = (_unfilled(redacted, faces, reuse.fill_colour)
                if reuse is not None and reuse.fill_colour is not None else np.zeros(0, bool))
    if reuse is not None and reuse.fill_colour is not None:
        recognizers = _NO_RECOGNIZERS
    recognizers = recognizers if recognizers is not None else Recognizers(config.embedders)
    similarity, uninformative = _similarities(recognizers, original, redacted, faces, config)
    return Verification(
        threshold=config.threshold,
        redetected=Detections.merge([found.over, second.over]),
        exposed=Detections.merge([bare[bare.score >= config.exposed_above],
                                  novel[novel.score >= config.independent_exposed_above]]),
        candidates=Detections.merge([bare[bare.score < config.exposed_above],
                                     novel[novel.score < config.independent_exposed_above]]),
        on_fill=Detections.merge([found.on_fill, second.on_fill]),
        embedders=tuple(recognizers.names), similarity=similarity, uninformative=uninformative,
        match_threshold=np.asarray(recognizers.thresholds, dtype=np.float64),
        unavailable=tuple(recognizers.unavailable), detector=getattr(detector, "name", "detector"),
        independent=getattr(independent, "name", None) if independent is not None else None,
        reused=reuse is not None, unfilled=unfilled, faces=len(faces),
    )


@dataclass(frozen=True, eq=False)
class _Found:
    """One detector's detections on the output, sorted by where they lie."""

    over: Detections  # over a covered face, seeing more than flat fill
    on_fill: Detections  # over a covered face, seeing only flat fill
    away: Detections  # away from every covered face

    @classmethod
    def nothing(cls) -> _Found:
        return cls(Detections.empty(), Detections.empty(), Detections.empty())


def _with_flat_fill(found: Detections, original: np.ndarray, redacted: np.ndarray, faces: Detections,
                    config: VerifyConfig) -> _Found:
    over = _over_faces(found, faces, config.overlap_iou)
    on_fill = over & (_share_on_flat_fill(found, original, redacted) >= ON_FILL_SHARE)
    return _Found(over=found[over & ~on_fill], on_fill=found[on_fill], away=found[~over])


def _redetected_around(faces: Detections, original: np.ndarray, redacted: np.ndarray, detector: Detector,
                       config: VerifyConfig) -> _Found:
    """Detections over the covered faces, found by running ``detector`` on windows of the
    output around them (with `VerifyConfig.context` face sizes of surroundings)."""
    height, width = redacted.shape[:2]
    windows = context_windows(faces, width=width, height=height, context=config.context)
    if not windows:
        return _Found.nothing()
    if hasattr(detector, "passes_for"):  # the ensemble: the whole image's first looks, inside the windows
        found = detector.detect(redacted, threshold=config.threshold, within=windows,
                                second_looks=width * height <= config.second_looks_up_to)
    else:
        found = Detections.merge([
            detector.detect(np.ascontiguousarray(redacted[y1:y2, x1:x2]), threshold=config.threshold).shifted(x1, y1)
            for x1, y1, x2, y2 in windows])
    found = found[_over_faces(found, faces, config.overlap_iou)]
    on_fill = np.zeros(len(found), bool)
    for x1, y1, x2, y2 in windows:
        inside = (found.xyxy[:, 0] >= x1) & (found.xyxy[:, 1] >= y1) & (found.xyxy[:, 2] <= x2) & (found.xyxy[:, 3] <= y2)
        if inside.any():
            share = _share_on_flat_fill(found[inside].shifted(-x1, -y1), original[y1:y2, x1:x2],
                                        redacted[y1:y2, x1:x2])
            on_fill[np.flatnonzero(inside)] = share >= ON_FILL_SHARE
    return _Found(over=found[~on_fill], on_fill=found[on_fill], away=Detections.empty())


def context_windows(faces: Detections, *, width: int, height: int, context: float) -> list[tuple[int, int, int, int]]:
    """Integer windows ``x1, y1, x2, y2`` holding every face box grown by ``context`` times
    its height (at least 32 px) on each side; windows are shared where faces crowd."""
    return merged_windows(faces.xyxy, width=width, height=height, margin=context, least=32)


def _independent_detections(independent: Detector, redacted: np.ndarray, config: VerifyConfig) -> Detections:
    """The second detector's faces on the output, on a copy at most `independent_max_pixels`
    large. After looking at such a copy of a larger photo, the detector hands back its
    working memory (if it can), so that it is not held while the next large photo is
    searched (a batch of 12-megapixel photos peaked at 1.1 GB with it held, 0.8 without)."""
    height, width = redacted.shape[:2]
    scale = min(1.0, (config.independent_max_pixels / (height * width)) ** 0.5)
    if scale == 1.0:
        return independent.detect(redacted, threshold=config.independent_threshold)
    small = cv2.resize(redacted, (max(1, round(width * scale)), max(1, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    found = independent.detect(small, threshold=config.independent_threshold)
    if hasattr(independent, "release"):
        independent.release()
    return found.scaled(width / small.shape[1], height / small.shape[0])


def _unfilled(redacted: np.ndarray, faces: Detections, colour: tuple[int, int, int]) -> np.ndarray:
    """(faces,) True where less than `FILLED_SHARE` of a face box is the fill colour."""
    height, width = redacted.shape[:2]
    boxes = np.round(faces.clipped(width, height).xyxy).astype(int) if len(faces) else np.zeros((0, 4), int)
    target = np.asarray(colour, np.int16)
    unfilled = np.zeros(len(faces), bool)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        region = redacted[y1:y2, x1:x2].astype(np.int16)
        if region.size:
            close = (np.abs(region - target).max(axis=2) <= FILL_TOLERANCE).mean()
            unfilled[i] = close < FILLED_SHARE
    return unfilled


def _similarities(recognizers: Recognizers, original: np.ndarray, redacted: np.ndarray, faces: Detections,
                  config: VerifyConfig) -> tuple[np.ndarray, np.ndarray]:
    comparable = np.minimum(faces.width, faces.height) >= config.min_face_px if len(faces) else np.zeros(0, bool)
    similarity = np.full((len(faces), len(recognizers.names)), np.nan)
    uninformative = np.zeros(similarity.shape, dtype=bool)
    if comparable.any() and recognizers.names:
        similarity[comparable], uninformative[comparable] = recognizers.compare(original, redacted, faces[comparable])
    return similarity, uninformative


_NO_RECOGNIZERS = Recognizers()
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

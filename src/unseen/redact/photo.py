"""One photo in, one redacted photo out: detect, cover, encode, verify what will be published."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from unseen.errors import ConfigError, ModelUnavailableError
from unseen.faces.detectors.base import check_threshold
from unseen.faces.detectors.ensemble import Ensemble, EnsembleConfig
from unseen.faces.types import Detections
from unseen.media.image import (
    JPEG_QUALITY, LoadedImage, OutputFormat, decode, encode, output_format_for, visible_pixels,
)
from unseen.redact.cover import CoverConfig, CoverStyle, cover
from unseen.redact.record import FaceRecord, rounded_box
from unseen.redact.verify import Recognizers, Reuse, Verification, VerifyConfig, check_same_size, verify_redaction

DEFAULT_THRESHOLD = Ensemble.default_threshold
REVIEW_BELOW = 0.5
PERSON = "person"
"""The ``source`` of a face box a person chose on the review page (drawn, or a detected box
resized): its record says ``chosen_by: person``."""


@dataclass(frozen=True)
class RedactConfig:
    """Everything that decides what a redaction looks like.

    threshold: fused detection score at or above which a face is covered.
    review_below: covered faces scoring below this are flagged for a person to check.
    detector / cover / verification: the stages' own options.
    verify: check every output (re-detection and recognizers) before it is written.
    strict: do not write an output that fails verification.
    output_format: write every output in this format (default: the input's own).
    quality: JPEG / WebP / HEIF quality.
    seed: seeds the noise of mosaic and blur (with each file's content).
    """

    threshold: float = DEFAULT_THRESHOLD
    review_below: float = REVIEW_BELOW
    detector: EnsembleConfig = field(default_factory=EnsembleConfig)
    cover: CoverConfig = field(default_factory=CoverConfig)
    verify: bool = True
    verification: VerifyConfig = field(default_factory=VerifyConfig)
    strict: bool = False
    output_format: OutputFormat | None = None
    quality: int = JPEG_QUALITY
    seed: int = 0

    def __post_init__(self) -> None:
        check_threshold(self.threshold, "threshold")
        check_threshold(self.review_below, "review_below")
        if self.verify and self.verification.threshold >= self.threshold:
            raise ConfigError(
                f"verification threshold ({self.verification.threshold}) must be below the covering threshold "
                f"({self.threshold}): verification looks harder than covering did")
        if self.strict and not self.verify:
            raise ConfigError("strict: refusing failed outputs needs verification; drop --no-verify")
        if not 1 <= self.quality <= 100:
            raise ConfigError(f"quality: expected 1..100, got {self.quality}")
        if self.output_format is not None:
            object.__setattr__(self, "output_format", OutputFormat.parse(self.output_format, "output_format"))

    def to_record(self) -> dict:
        record = asdict(self)
        record["cover"]["style"] = self.cover.style.value
        record["cover"]["shape"] = self.cover.shape.value
        record["output_format"] = self.output_format.value if self.output_format else None
        return record

    @property
    def fingerprint(self) -> str:
        """A short hash of the options: a rerun redoes files made with other options."""
        text = json.dumps(self.to_record(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class PhotoRedaction:
    """A redacted photo, ready to write.

    faces: the faces found (boxes in the upright original's pixels).
    regions: the box covered for each face (padding included, clipped to the image).
    review: (faces,) True for faces covered with low confidence.
    data: the encoded output file; rgb / alpha: its pixels as covered (before encoding), what
        is invisible cleared (`unseen.media.image.visible_pixels`).
    verification: None when verification was turned off.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    faces: Detections
    regions: Detections
    review: np.ndarray
    data: bytes
    file_format: OutputFormat
    verification: Verification | None

    @property
    def review_reasons(self) -> list[str]:
        reasons = []
        if self.review.any():
            reasons.append(f"{int(self.review.sum())} face(s) covered with low confidence")
        if self.verification is not None:
            if len(self.verification.redetected):
                reasons.append(f"{len(self.verification.redetected)} covered face(s) re-detected")
            if len(self.verification.exposed):
                reasons.append(f"{len(self.verification.exposed)} clear face(s) left uncovered")
            if self.verification.matched.any():
                reasons.append(f"{int(self.verification.matched.sum())} covered face(s) still matched by a recognizer")
            if self.verification.unfilled.any():
                reasons.append(f"{int(self.verification.unfilled.sum())} cover(s) not solid in the output")
            if len(self.verification.candidates):
                reasons.append(f"{len(self.verification.candidates)} possible face(s) left uncovered, at "
                               + places(self.verification.candidates))
        return reasons

    def face_records(self) -> tuple[FaceRecord, ...]:
        """Per face: the detected box, the covered box, score, the passes that found it, review
        flag, and who chose it (``person`` where its source is `PERSON`, else ``detector``)."""
        return tuple(
            FaceRecord(box=rounded_box(face), covered_box=rounded_box(region), score=round(float(score), 4),
                       found_by=tuple(self.faces.found_by_names(index) or [str(source)]),
                       review=bool(review), chosen_by=PERSON if source == PERSON else "detector")
            for index, (face, region, score, review, source) in enumerate(zip(
                self.faces.xyxy, self.regions.xyxy, self.faces.score, self.review, self.faces.source)))


PLACES_LISTED = 5


def places(found: Detections) -> str:
    """Where the first few boxes are, as a person would look for them: ``x, y (w x h px)``."""
    shown = [f"{x:.0f}, {y:.0f} ({w:.0f} x {h:.0f} px)" for x, y, w, h in found.xywh[:PLACES_LISTED]]
    return "; ".join(shown) + (f"; and {len(found) - PLACES_LISTED} more" if len(found) > PLACES_LISTED else "")


class Redactor:
    """Redacts photos one by one with models loaded once."""

    def __init__(self, config: RedactConfig | None = None, *, threads: int = 0) -> None:
        """``threads``: CPU threads the detector may use (0: one per core)."""
        self.config = config or RedactConfig()
        self.detector = Ensemble(self.config.detector, threads=threads)
        self._recognizers: Recognizers | None = None
        self._independent = None

    def with_cover(self, cover_config: CoverConfig) -> Redactor:
        """A redactor that covers with ``cover_config`` and shares this one's loaded models
        (detection and verification are unchanged)."""
        other = Redactor.__new__(Redactor)
        other.__dict__.update(self.__dict__)
        other.config = replace(self.config, cover=cover_config)
        return other

    @property
    def recognizers(self) -> Recognizers:
        if self._recognizers is None:
            self._recognizers = Recognizers(self.config.verification.embedders)
        return self._recognizers

    @property
    def independent(self):
        """The second detector verification uses (None when turned off or not installed)."""
        name = self.config.verification.independent
        if self._independent is None and name is not None:
            from unseen.faces.registry import build_detector

            try:
                self._independent = build_detector(name)
            except ModelUnavailableError:
                self._independent = False
        return self._independent or None

    def find_faces(self, rgb: np.ndarray) -> Detections:
        return self.detector.detect(rgb, threshold=self.config.threshold)

    def candidates(self, rgb: np.ndarray) -> Detections:
        """Every face the detector sees at the lower of the covering and verification
        thresholds: the covered ones and those verification must account for."""
        lowest = min(self.config.threshold, self.config.verification.threshold) if self.config.verify \
            else self.config.threshold
        return self.detector.detect(rgb, threshold=lowest)

    def redact(self, image: LoadedImage, *, rng: np.random.Generator, file_format: OutputFormat | None = None,
               faces: Detections | None = None, candidates: Detections | None = None) -> PhotoRedaction:
        """Detect and cover every face of ``image``, encode the result, and (by default)
        verify the encoded pixels against the original.

        ``faces`` replaces detection with boxes a person chose (the review page: detected
        boxes kept, removed or added); they are covered and verified exactly the same way.
        ``candidates``: this image's `candidates` when already found (the review page found
        them when the photo was opened), so the detector does not run on it again.
        """
        reuse = None
        if faces is None or self.config.verify:
            # Boxes a person chose are verified as detected ones are: bare faces elsewhere are
            # the original's own detections (the output equals it away from the covers).
            candidates = self.candidates(image.rgb) if candidates is None else candidates
            faces = candidates.above(self.config.threshold) if faces is None else faces
            solid = self.config.cover.style is CoverStyle.SOLID
            reuse = Reuse(candidates=candidates.above(self.config.verification.threshold),
                          fill_colour=self.config.cover.colour if solid else None)
        covered = cover(image.rgb, faces, config=self.config.cover, alpha=image.alpha, rng=rng)
        chosen = file_format or self.config.output_format or output_format_for(image.format)
        alpha = covered.alpha if chosen.keeps_alpha else None
        shown = visible_pixels(covered.rgb, covered.alpha, keeps_alpha=chosen.keeps_alpha)
        data = encode(shown, alpha=alpha, file_format=chosen, quality=self.config.quality)
        verification = None
        if self.config.verify:
            published, _ = decode(data)
            verification = verify_redaction(
                original=image.rgb, redacted=published, faces=faces, detector=self.detector,
                config=self.config.verification, recognizers=self.recognizers, independent=self.independent,
                reuse=reuse)
        return PhotoRedaction(
            rgb=shown, alpha=alpha, faces=faces, regions=covered.regions,
            review=faces.score < self.config.review_below, data=data, file_format=chosen,
            verification=verification)

    def verify(self, original: LoadedImage, redacted: LoadedImage) -> tuple[Detections, Verification]:
        """Check a redacted file made by any tool: find the faces in the original with the
        covering threshold, then look for them in the redacted one."""
        check_same_size(original.rgb, redacted.rgb)
        faces = self.find_faces(original.rgb)
        verification = verify_redaction(
            original=original.rgb, redacted=redacted.rgb, faces=faces, detector=self.detector,
            config=self.config.verification, recognizers=self.recognizers, independent=self.independent)
        return faces, verification


def rng_for(content_digest: bytes, seed: int) -> np.random.Generator:
    """The noise generator for one file: reproducible from the seed and the file's content."""
    return np.random.default_rng([seed, int.from_bytes(content_digest[:8], "big")])

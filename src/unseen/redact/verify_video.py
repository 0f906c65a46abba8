"""Residual risk of a redacted video, from its pixels: the photo checks on a stated sample of frames.

Both files are decoded side by side (they must have the same frames and size). On every
``every``-th frame the faces are found in the original (the video detector at the covering
threshold) and the photo path's checks run on the redacted frame (`verify_redaction`):
re-detection at a lower threshold, and, on every ``recognize_every``-th frame, the
recognizers on each covered face. Works on the output of any tool.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from unseen.errors import ConfigError
from unseen.faces.types import Detections
from unseen.media.video import read_frames
from unseen.progress import SILENT, Progress
from unseen.redact.verify import Recognizers, VerifyConfig, verify_redaction
from unseen.redact.video import FrameDetector

EXAMPLES_KEPT = 20


@dataclass(frozen=True)
class VideoVerifyConfig:
    """every: re-detect on every this-many-th frame (1: all); recognize_every: run the
    recognizers on the covered faces of every this-many-th frame (a multiple of ``every``);
    threshold: faces in the original are those scoring at least this."""

    every: int = 5
    recognize_every: int = 30
    threshold: float = 0.2
    frame: VerifyConfig = field(default_factory=VerifyConfig)

    def __post_init__(self) -> None:
        if self.every < 1 or self.recognize_every < 1:
            raise ConfigError(f"VideoVerifyConfig: every and recognize_every must be 1 or more, got "
                              f"{self.every} and {self.recognize_every}")
        if self.frame.threshold >= self.threshold:
            raise ConfigError(f"verification threshold ({self.frame.threshold}) must be below the threshold faces "
                              f"are found at ({self.threshold})")


@dataclass(frozen=True, eq=False)
class VideoVerification:
    """What verification found over the sampled frames.

    frames / checked / recognized: frames in the video, re-detected, and given to the
    recognizers; faces: faces found in the checked frames of the original; failed: frames
    where a covered face was re-detected or matched, or a clear face was left bare;
    examples: the first few problems as (frame, what, box).
    """

    frames: int
    checked: int
    recognized: int
    faces: int
    redetected: int
    exposed: int
    matched: int
    compared: int
    failed: tuple[int, ...]
    embedders: tuple[str, ...]
    unavailable: tuple[str, ...]
    examples: tuple[tuple[int, str, tuple[float, ...]], ...]

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def statement(self) -> str:
        """One line: what was checked and what was found."""
        found = ("no face found" if self.passed else
                 f"{len(self.failed)} frame(s) failed ({self.redetected} re-detected, {self.exposed} left bare, "
                 f"{self.matched} matched)")
        recognizers = (f"; recognizers ({', '.join(self.embedders)}) on {self.recognized} frame(s), "
                       f"{self.compared} face(s) compared" if self.embedders else "; no recognizer")
        return f"{found}: re-detection on {self.checked} of {self.frames} frames{recognizers}"

    def to_json(self) -> dict:
        return {
            "passed": self.passed, "frames": self.frames, "frames_checked": self.checked,
            "frames_recognized": self.recognized, "faces_in_checked_frames": self.faces,
            "redetected": self.redetected, "exposed": self.exposed, "faces_compared": self.compared,
            "faces_matched": self.matched, "failed_frames": list(self.failed), "embedders": list(self.embedders),
            "unavailable": list(self.unavailable),
            "examples": [{"frame": f, "problem": what, "box": [round(v, 1) for v in box]} for f, what, box in self.examples],
        }

    @classmethod
    def from_json(cls, data: dict) -> VideoVerification:
        return cls(frames=int(data["frames"]), checked=int(data["frames_checked"]),
                   recognized=int(data["frames_recognized"]), faces=int(data["faces_in_checked_frames"]),
                   redetected=int(data["redetected"]), exposed=int(data["exposed"]), matched=int(data["faces_matched"]),
                   compared=int(data["faces_compared"]), failed=tuple(int(f) for f in data.get("failed_frames", ())),
                   embedders=tuple(data.get("embedders", ())), unavailable=tuple(data.get("unavailable", ())),
                   examples=tuple((int(e["frame"]), str(e["problem"]), tuple(float(v) for v in e["box"]))
                                  for e in data.get("examples", ())))


class _AtScale:
    """A `FrameDetector` behind the photo detectors' ``detect(image, threshold=)``."""

    name = "centerface-video"
    default_threshold = 0.2

    def __init__(self, detector: FrameDetector) -> None:
        self.detector = detector

    def detect(self, image: np.ndarray, *, threshold: float | None = None) -> Detections:
        return self.detector.detect(image, index=0, threshold=self.default_threshold if threshold is None else threshold)


def _pairs(original, redacted) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    before, after = read_frames(original), read_frames(redacted)
    for first, second in zip(before, after):
        height, width = second.rgb.shape[:2]
        if first.rgb.shape[0] - height not in (0, 1) or first.rgb.shape[1] - width not in (0, 1):
            raise ConfigError(f"{redacted}: frames are {width}x{height}, the original's "
                              f"{first.rgb.shape[1]}x{first.rgb.shape[0]}")
        yield first.index, np.ascontiguousarray(first.rgb[:height, :width]), second.rgb
    if next(before, None) is not None or next(after, None) is not None:
        raise ConfigError(f"{redacted}: not the same number of frames as {original}")


def verify_video(original, redacted, *, detector: FrameDetector | None = None,
                 config: VideoVerifyConfig | None = None, recognizers: Recognizers | None = None,
                 frames: int | None = None, progress: Progress = SILENT) -> VideoVerification:
    """Check the video ``redacted`` against ``original`` (see the module doc)."""
    config = config or VideoVerifyConfig()
    finder = _AtScale(detector or FrameDetector())
    recognizers = recognizers if recognizers is not None else Recognizers(config.frame.embedders)
    nobody = Recognizers(())
    progress.start(frames, unit="frames", description=f"verifying {getattr(redacted, 'name', redacted)}")
    counts = dict(frames=0, checked=0, recognized=0, faces=0, redetected=0, exposed=0, matched=0, compared=0)
    failed, examples = [], []
    for index, before, after in _pairs(original, redacted):
        counts["frames"] += 1
        progress.advance(1)
        if index % config.every:
            continue
        recognize = index % config.recognize_every == 0
        faces = finder.detect(before, threshold=config.threshold)
        result = verify_redaction(original=before, redacted=after, faces=faces, detector=finder,
                                  config=config.frame, recognizers=recognizers if recognize else nobody)
        counts["checked"] += 1
        counts["recognized"] += recognize
        counts["faces"] += len(faces)
        counts["redetected"] += len(result.redetected)
        counts["exposed"] += len(result.exposed)
        counts["matched"] += int(result.matched.sum())
        counts["compared"] += int(result.compared.sum())
        if not result.passed:
            failed.append(index)
            problems = [("re-detected", b) for b in result.redetected.xyxy] + [("left bare", b) for b in result.exposed.xyxy]
            problems += [("matched", b) for b in faces.xyxy[result.matched]]
            examples += [(index, what, tuple(float(v) for v in box)) for what, box in problems]
    return VideoVerification(**counts, failed=tuple(failed), embedders=tuple(recognizers.names),
                             unavailable=tuple(recognizers.unavailable), examples=tuple(examples[:EXAMPLES_KEPT]))

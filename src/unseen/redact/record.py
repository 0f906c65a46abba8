"""The typed record of a redaction run: per file, per face or track; boxes and scores, never pixels.

`RedactionRecord` is what ``OUTDIR/redaction-record.json`` holds: the options, every run,
and one `FileRecord` per input (its faces as `FaceRecord`, its check as
`VerificationRecord`). It names the original files, so it is private to whoever ran the
redaction; it never holds face pixels, templates or the originals' metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from unseen import __version__
from unseen.faces.types import Detections
from unseen.media.files import write_json_atomic
from unseen.redact.verify import Verification
from unseen.redact.verify_video import VideoVerification
from unseen.redact.video_record import VideoRecord

SCHEMA = "unseen.redaction-record/2"
NOTE = "Boxes and scores only: no face pixels, templates or metadata of the originals."


class FileStatus(str, Enum):
    WRITTEN = "written"
    ALREADY_DONE = "already done"
    REFUSED = "refused"  # --strict and verification failed: nothing written
    FAILED = "failed"  # unreadable, unsupported, or an error while redacting


Box = tuple[float, float, float, float]


def rounded_box(values: Any, digits: int = 1) -> Box:
    """A box as four floats rounded to ``digits`` (0.1 px by default): what a record keeps."""
    x1, y1, x2, y2 = (round(float(v), digits) for v in values)
    return (x1, y1, x2, y2)


@dataclass(frozen=True)
class FaceRecord:
    """One covered face: the box found (upright original's pixels), the box covered
    (padding included, clipped), its score, the detector passes that saw it, whether it is
    flagged for review, and who chose it (``detector``, or ``person`` for a box drawn on
    the review page)."""

    box: Box
    covered_box: Box
    score: float
    found_by: tuple[str, ...]
    review: bool
    chosen_by: str = "detector"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"box": list(self.box), "covered_box": list(self.covered_box),
                                "score": self.score, "found_by": list(self.found_by), "review": self.review}
        if self.chosen_by != "detector":
            data["chosen_by"] = self.chosen_by
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaceRecord:
        return cls(box=rounded_box(data["box"]), covered_box=rounded_box(data["covered_box"]), score=float(data["score"]),
                   found_by=tuple(data.get("found_by", ())), review=bool(data.get("review", False)),
                   chosen_by=str(data.get("chosen_by", "detector")))


@dataclass(frozen=True)
class BoxRecord:
    """A detection verification made on an output: where, how sure, by which detector."""

    box: Box
    score: float
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"box": list(self.box), "score": self.score, "source": self.source}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BoxRecord:
        return cls(box=rounded_box(data["box"], 2), score=float(data["score"]), source=str(data.get("source", "")))

    @classmethod
    def all_of(cls, found: Detections) -> tuple[BoxRecord, ...]:
        return tuple(cls(box=rounded_box(box, 2), score=round(float(score), 4), source=str(source))
                     for box, score, source in zip(found.xyxy, found.score, found.source))


@dataclass(frozen=True)
class RecognizerCheck:
    """One recognizer's part in verification: faces it compared, faces it could not judge
    (it matched the face to a blank region too), and its closest call (highest similarity
    minus its match threshold; negative means no match; None when nothing was compared)."""

    name: str
    uninformative: int
    closest_to_match: float | None


@dataclass(frozen=True)
class VerificationRecord:
    """What verification found on one output (see `unseen.redact.verify`): ``checks`` says
    in words what was looked for, ``statement`` what came of it."""

    passed: bool
    statement: str
    checks: tuple[str, ...]
    threshold: float
    redetected: tuple[BoxRecord, ...]
    exposed: tuple[BoxRecord, ...]
    candidates: tuple[BoxRecord, ...]
    on_fill: tuple[BoxRecord, ...]
    recognizers: tuple[RecognizerCheck, ...]
    unavailable: tuple[str, ...]
    faces_compared: int
    faces_matched: tuple[int, ...]
    covers_not_solid: tuple[int, ...] = ()

    @classmethod
    def of(cls, verification: Verification) -> VerificationRecord:
        closest = verification.closest_to_match()
        return cls(
            passed=verification.passed, statement=verification.statement(), checks=tuple(verification.checks()),
            threshold=verification.threshold,
            redetected=BoxRecord.all_of(verification.redetected), exposed=BoxRecord.all_of(verification.exposed),
            candidates=BoxRecord.all_of(verification.candidates), on_fill=BoxRecord.all_of(verification.on_fill),
            recognizers=tuple(RecognizerCheck(name, int(verification.uninformative[:, i].sum()), closest[name])
                              for i, name in enumerate(verification.embedders)),
            unavailable=tuple(verification.unavailable), faces_compared=int(verification.compared.sum()),
            faces_matched=tuple(int(i) for i in np.flatnonzero(verification.matched)),
            covers_not_solid=tuple(int(i) for i in np.flatnonzero(verification.unfilled)))

    @property
    def embedders(self) -> tuple[str, ...]:
        return tuple(check.name for check in self.recognizers)

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed, "statement": self.statement, "checks": list(self.checks), "threshold": self.threshold,
            **{name: [box.to_json() for box in getattr(self, name)]
               for name in ("redetected", "exposed", "candidates", "on_fill")},
            "embedders": list(self.embedders), "unavailable": list(self.unavailable),
            "faces_compared": self.faces_compared,
            "uninformative": {check.name: check.uninformative for check in self.recognizers},
            "faces_matched": list(self.faces_matched), "covers_not_solid": list(self.covers_not_solid),
            "closest_to_match": {check.name: check.closest_to_match for check in self.recognizers},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VerificationRecord:
        uninformative, closest = data.get("uninformative", {}), data.get("closest_to_match", {})
        return cls(
            passed=bool(data["passed"]), statement=str(data.get("statement", "")),
            checks=tuple(data.get("checks", ())), threshold=float(data["threshold"]),
            **{name: tuple(BoxRecord.from_json(box) for box in data.get(name, ()))
               for name in ("redetected", "exposed", "candidates", "on_fill")},
            recognizers=tuple(RecognizerCheck(name, int(uninformative.get(name, 0)), closest.get(name))
                              for name in data.get("embedders", ())),
            unavailable=tuple(data.get("unavailable", ())), faces_compared=int(data.get("faces_compared", 0)),
            faces_matched=tuple(int(i) for i in data.get("faces_matched", ())),
            covers_not_solid=tuple(int(i) for i in data.get("covers_not_solid", ())))


@dataclass(frozen=True)
class ReviewDecisions:
    """What a person decided on the review page before a file was redacted. Photos: detected
    faces kept as found, kept with a resized box, removed (not covered: their boxes and
    scores are listed), and boxes drawn over faces the detector missed (those and the
    resized ones are the faces whose record says ``chosen_by: person``). Videos: tracks
    kept, ``removed_tracks`` (their ids; they are left out of the video's record), boxes
    drawn (tracks with ``drawn_frames``), and ``full_frames`` covered whole."""

    kept: int
    resized: int
    drawn: int
    removed: tuple[BoxRecord, ...] = ()
    removed_tracks: tuple[int, ...] = ()
    full_frames: tuple[tuple[int, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kept": self.kept, "resized": self.resized, "drawn": self.drawn,
                                "removed": [box.to_json() for box in self.removed]}
        if self.removed_tracks or self.full_frames:
            data.update({"removed_tracks": list(self.removed_tracks),
                         "full_frames": [list(frames) for frames in self.full_frames]})
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReviewDecisions:
        return cls(kept=int(data.get("kept", 0)), resized=int(data.get("resized", 0)), drawn=int(data.get("drawn", 0)),
                   removed=tuple(BoxRecord.from_json(box) for box in data.get("removed", ())),
                   removed_tracks=tuple(int(track) for track in data.get("removed_tracks", ())),
                   full_frames=tuple((int(a), int(b)) for a, b in data.get("full_frames", ())))


@dataclass(frozen=True)
class FileRecord:
    """What a run did with one input. ``output`` is the output's path under OUTDIR, or None
    when nothing was written (failed, or refused by --strict)."""

    source: str
    status: FileStatus
    output: str | None = None
    source_sha256: str | None = None
    config_fingerprint: str | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    faces: tuple[FaceRecord, ...] = ()
    review: tuple[str, ...] = ()
    verification: VerificationRecord | None = None
    message: str = ""
    video: VideoRecord | None = None
    video_verification: VideoVerification | None = None
    review_decisions: ReviewDecisions | None = None

    @property
    def face_count(self) -> int:
        """Faces covered: a photo's faces, or a video's tracks."""
        return self.video.faces if self.video is not None else len(self.faces)

    @property
    def passed(self) -> bool | None:
        """The verification verdict (None: not verified)."""
        check = self.video_verification if self.video_verification is not None else self.verification
        return None if check is None else check.passed

    @property
    def done(self) -> bool:
        return self.status in (FileStatus.WRITTEN, FileStatus.ALREADY_DONE)

    def as_already_done(self) -> FileRecord:
        return replace(self, status=FileStatus.ALREADY_DONE)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"source": self.source, "output": self.output, "status": self.status.value,
                                "source_sha256": self.source_sha256}
        if self.status is FileStatus.FAILED:
            return {**data, "message": self.message}
        return {**data, "config_fingerprint": self.config_fingerprint, "width": self.width, "height": self.height,
                "format": self.format, "faces": [face.to_json() for face in self.faces], "review": list(self.review),
                "verification": self.verification.to_json() if self.verification is not None else None,
                **({"message": self.message} if self.message else {}),
                **({"video": self.video.to_json()} if self.video is not None else {}),
                **({"video_verification": self.video_verification.to_json()}
                   if self.video_verification is not None else {}),
                **({"review_decisions": self.review_decisions.to_json()}
                   if self.review_decisions is not None else {})}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileRecord:
        verification = data.get("verification")
        return cls(
            source=str(data["source"]), status=FileStatus(data["status"]), output=data.get("output"),
            source_sha256=data.get("source_sha256"), config_fingerprint=data.get("config_fingerprint"),
            width=data.get("width"), height=data.get("height"), format=data.get("format"),
            faces=tuple(FaceRecord.from_json(face) for face in data.get("faces", ())),
            review=tuple(data.get("review", ())),
            verification=VerificationRecord.from_json(verification) if verification else None,
            message=str(data.get("message", "")),
            video=VideoRecord.from_json(data["video"]) if data.get("video") else None,
            video_verification=VideoVerification.from_json(data["video_verification"])
            if data.get("video_verification") else None,
            review_decisions=ReviewDecisions.from_json(data["review_decisions"])
            if data.get("review_decisions") else None)


@dataclass(frozen=True)
class RunRecord:
    """One invocation: when it started and finished, and how many files ended how."""

    started: str
    finished: str | None = None
    files: int = 0
    counts: tuple[tuple[FileStatus, int], ...] = ()
    faces_covered: int = 0
    needing_review: int = 0
    verification_failed: int = 0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"started": self.started}
        if self.finished is not None:
            data.update({"finished": self.finished, "files": self.files,
                         **{status.value: count for status, count in self.counts},
                         "faces_covered": self.faces_covered, "needing_review": self.needing_review,
                         "verification_failed": self.verification_failed})
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        return cls(started=str(data.get("started", "")), finished=data.get("finished"),
                   files=int(data.get("files", 0)),
                   counts=tuple((status, int(data[status.value])) for status in FileStatus if status.value in data),
                   faces_covered=int(data.get("faces_covered", 0)), needing_review=int(data.get("needing_review", 0)),
                   verification_failed=int(data.get("verification_failed", 0)))


@dataclass
class RedactionRecord:
    """The record file: options of the latest run, every run, and the latest entry per file
    (keyed by the output's path under OUTDIR; files of earlier runs stay listed)."""

    config: dict[str, Any]
    config_fingerprint: str
    runs: list[RunRecord] = field(default_factory=list)
    files: dict[str, FileRecord] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "tool": f"unseen {__version__}", "note": NOTE, "config": self.config,
                "config_fingerprint": self.config_fingerprint, "runs": [run.to_json() for run in self.runs],
                "files": {name: entry.to_json() for name, entry in self.files.items()}}

    def write(self, path: str | Path) -> Path:
        return write_json_atomic(path, self.to_json())

    @classmethod
    def read(cls, path: str | Path) -> RedactionRecord | None:
        """The record at ``path``, or None when there is none or it cannot be read (a
        damaged or older record only means every file is done again)."""
        path = Path(path)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("schema") != SCHEMA:
                return None
            return cls(config=dict(data.get("config", {})), config_fingerprint=str(data.get("config_fingerprint", "")),
                       runs=[RunRecord.from_json(run) for run in data.get("runs", ())],
                       files={str(name): FileRecord.from_json(entry) for name, entry in data.get("files", {}).items()})
        except (OSError, ValueError, KeyError, TypeError):
            return None

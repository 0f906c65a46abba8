"""A review session: the photos a person checks on the local page, the boxes they keep,
remove, resize or draw, and their export by the same functions as `unseen redact`.

Everything the session stores lives in its private folder (``workdir``, mode 0700, made and
removed by `unseen.web.server`): uploaded originals, and the exports unless an output folder
was given. Photos of the served folder are read where they are, never copied. Display copies
of photos are kept in memory only. Nothing here knows about HTTP.
"""

from __future__ import annotations

import threading
import time
import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from unseen.choices import Choice
from unseen.errors import ConfigError, InputFileError, UnseenError
from unseen.faces.types import Detections
from unseen.media.files import file_digest, write_atomic
from unseen.media.image import LoadedImage, OutputFormat, encode, header_size, is_image_path, load
from unseen.media.video import is_video_path, read_frames
from unseen.progress import SILENT, Progress
from unseen.redact.batch import RECORD_NAME, FileResult, Job, RunSummary, plan, redact_photo, redact_video
from unseen.redact.cover import CoverConfig
from unseen.redact.photo import PERSON, RedactConfig, Redactor, rng_for
from unseen.redact.record import (BoxRecord, FileRecord, FileStatus, RedactionRecord, ReviewDecisions, RunRecord,
                                  VerificationRecord)
from unseen.redact.verify import Recognizers
from unseen.redact.verify_video import VideoVerifyConfig
from unseen.redact.video import VideoFound, VideoRedactConfig, VideoRedactor, VideoReview
from unseen.redact.video_record import TrackRecord

DISPLAY_SIDE = 2400
"""Photos are shown downscaled to at most this many pixels on their longer side."""
DISPLAY_CACHE = 12
"""Display copies kept in memory (the most recently shown)."""
MIN_BOX_PX = 4
ZIP_NAME = "unseen-redacted.zip"


class FileKind(Choice):
    PHOTO = "photo"
    VIDEO = "video"


class ReviewState(Choice):
    """Where a file stands, as the file list shows it."""

    NOT_REVIEWED = "not reviewed"
    REVIEWED = "reviewed"
    EXPORTED = "exported"
    FAILED = "failed"


class UnknownFile(UnseenError):
    """The page asked for a file id this session does not have."""


class UploadRefused(InputFileError):
    """An upload larger than the session's limits (bytes or pixels)."""


class OutsideFolder(InputFileError):
    """A path that leads outside the served folder (``..``, an absolute path, a link)."""


@dataclass(frozen=True)
class Limits:
    """What the page accepts: bytes per upload and pixels per photo."""

    max_bytes: int = 512 * 2**20
    max_pixels: int = 100_000_000

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.max_pixels < 1:
            raise ConfigError(f"limits: expected positive sizes, got {self.max_bytes} bytes, {self.max_pixels} pixels")


@dataclass(frozen=True, eq=False)
class Analysis:
    """What the page shows of a photo before export: the faces the detector would cover,
    which of them it is unsure of, and what verification found (possible faces left bare,
    covers re-detected) for those faces or for the person's latest boxes. ``candidates``
    (all the detector saw, see `Redactor.candidates`) and the file's ``digest`` let the
    export skip detecting again while the file is unchanged."""

    width: int
    height: int
    detected: Detections
    low: np.ndarray
    verification: VerificationRecord | None
    candidates: Detections = field(default_factory=Detections.empty)
    digest: bytes = b""


@dataclass(frozen=True, eq=False)
class Choices:
    """A person's boxes for one photo: ``xyxy`` (n, 4) in the photo's upright pixels, and
    per box the index of the detected face it keeps (-1 for a box drawn by the person)."""

    xyxy: np.ndarray
    detected: np.ndarray

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, np.float32).reshape(-1, 4)
        detected = np.asarray(self.detected, np.int64).reshape(-1)
        if len(detected) != len(xyxy):
            raise ConfigError(f"boxes: {len(xyxy)} boxes but {len(detected)} detected indices")
        kept = detected[detected >= 0]
        if len(np.unique(kept)) != len(kept):
            raise ConfigError("boxes: a detected face is kept twice")
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "detected", detected)

    @classmethod
    def as_detected(cls, detected: Detections) -> Choices:
        return cls(xyxy=detected.xyxy, detected=np.arange(len(detected)))

    @classmethod
    def checked(cls, boxes: Sequence[Sequence[float]], detected: Sequence[int], *, analysis: Analysis) -> Choices:
        """Boxes the page sent, clipped to the photo; refused with a reason when a box is not
        a box or names a detected face that does not exist."""
        xyxy = np.asarray(boxes, np.float64).reshape(-1, 4) if len(boxes) else np.zeros((0, 4))
        if not np.isfinite(xyxy).all():
            raise ConfigError("boxes: every corner must be a finite number")
        xyxy = np.column_stack([np.minimum(xyxy[:, 0], xyxy[:, 2]), np.minimum(xyxy[:, 1], xyxy[:, 3]),
                                np.maximum(xyxy[:, 0], xyxy[:, 2]), np.maximum(xyxy[:, 1], xyxy[:, 3])])
        xyxy = np.clip(xyxy, 0, [analysis.width, analysis.height] * 2)
        small = (xyxy[:, 2] - xyxy[:, 0] < MIN_BOX_PX) | (xyxy[:, 3] - xyxy[:, 1] < MIN_BOX_PX)
        if small.any():
            raise ConfigError(f"boxes: a box must be at least {MIN_BOX_PX} pixels wide and high inside the photo")
        indices = np.asarray(detected, np.int64).reshape(-1)
        if ((indices < -1) | (indices >= len(analysis.detected))).any():
            raise ConfigError(f"boxes: detected face index out of range (this photo has {len(analysis.detected)})")
        return cls(xyxy=xyxy, detected=indices)

    def faces(self, detected: Detections) -> Detections:
        """The faces to cover: kept detections (their source `PERSON` where resized) and
        drawn boxes (score 1, source `PERSON`)."""
        keep = self.detected >= 0
        kept = detected[self.detected[keep]]
        resized = ~np.isclose(kept.xyxy, self.xyxy[keep], atol=0.05).all(axis=1)
        kept = kept._replace(xyxy=self.xyxy[keep], source=np.where(resized, PERSON, kept.source))
        drawn = Detections(xyxy=self.xyxy[~keep], score=np.ones(int((~keep).sum()), np.float32), source=PERSON)
        return Detections.merge([kept, drawn])

    def decisions(self, detected: Detections) -> ReviewDecisions:
        keep = self.detected >= 0
        resized = ~np.isclose(detected.xyxy[self.detected[keep]], self.xyxy[keep], atol=0.05).all(axis=1)
        removed = np.setdiff1d(np.arange(len(detected)), self.detected[keep])
        return ReviewDecisions(kept=int(keep.sum() - resized.sum()), resized=int(resized.sum()),
                               drawn=int((~keep).sum()), removed=BoxRecord.all_of(detected[removed]))

    def unchanged(self, detected: Detections) -> bool:
        return (len(self.detected) == len(detected) and (self.detected == np.arange(len(detected))).all()
                and np.isclose(self.xyxy, detected.xyxy, atol=0.05).all())


@dataclass(frozen=True, eq=False)
class VideoAnalysis:
    """What the page shows of a video before export: its faces tracked and the covers
    planned (`VideoRedactor.find`; boxes only), each track as the record lists it, and
    the file's ``digest`` (the export reuses ``found`` while the file is unchanged)."""

    found: VideoFound
    tracks: tuple[TrackRecord, ...]
    digest: bytes

    @property
    def frames(self) -> int:
        return self.found.plan.frames

    def checked(self, review: VideoReview) -> VideoReview:
        """``review`` if every track it removes exists and every frame is in the video."""
        known = {track.track for track in self.tracks}
        unknown = sorted(set(review.removed_tracks) - known)
        if unknown:
            raise ConfigError(f"removed_tracks: this video has no track {unknown[0]}")
        last = self.frames - 1
        for first, final in (*review.box_frames, *review.full_frames):
            if final > last:
                raise ConfigError(f"frames: the video's last frame is {last}, got a range ending at {final}")
        width, height = self.found.info.width, self.found.info.height
        for box in review.boxes:
            Choices.checked([box], [-1], analysis=Analysis(width=width, height=height, detected=Detections.empty(),
                                                           low=np.zeros(0, bool), verification=None))
        return review

    def decisions(self, review: VideoReview) -> ReviewDecisions:
        return ReviewDecisions(kept=len(self.tracks) - len(review.removed_tracks), resized=0, drawn=len(review.boxes),
                               removed_tracks=tuple(sorted(review.removed_tracks)),
                               full_frames=tuple(review.full_frames))


@dataclass(frozen=True, eq=False)
class SessionFile:
    """One file of the session. ``name`` is what the page shows (the path under the served
    folder, or the uploaded file's name); ``record`` is its entry after an export."""

    id: str
    name: str
    source: Path
    kind: FileKind
    uploaded: bool
    state: ReviewState = ReviewState.NOT_REVIEWED
    message: str = ""
    analysis: Analysis | None = None
    choices: Choices | None = None
    record: FileRecord | None = None
    video: VideoAnalysis | None = None
    video_review: VideoReview | None = None

    @property
    def analysed(self) -> bool:
        return self.analysis is not None or self.video is not None

    @property
    def boxes(self) -> Choices | None:
        """The boxes that will be covered: the person's, or else the detector's."""
        if self.choices is not None:
            return self.choices
        return Choices.as_detected(self.analysis.detected) if self.analysis is not None else None


class ReviewSession:
    """The files under review and what was decided for each; safe to call from several threads.

    ``workdir``: the private folder uploads (and exports, without ``out_dir``) go to.
    ``folder``: the served folder, whose photos are listed and read in place.
    ``out_dir``: where exports and the record are written (default: ``workdir/exports``).
    """

    def __init__(self, *, workdir: Path, folder: Path | None = None, out_dir: Path | None = None,
                 config: RedactConfig | None = None, limits: Limits | None = None,
                 redactor: Redactor | None = None) -> None:
        self.workdir = Path(workdir)
        self.folder = Path(folder).resolve() if folder is not None else None
        self.out_dir = Path(out_dir) if out_dir is not None else self.workdir / "exports"
        self.limits = limits or Limits()
        self._config = config or RedactConfig()
        self._redactor = redactor
        self._files: dict[str, SessionFile] = {}
        self._lock = threading.RLock()
        self._models = threading.Lock()
        self._display: OrderedDict[str, bytes] = OrderedDict()
        self._uploads = 0
        self._video_config = VideoRedactConfig()
        self._video_redactor: VideoRedactor | None = None
        self._video_recognizers: Recognizers | None = None
        if self.folder is not None:
            if not self.folder.is_dir():
                raise InputFileError(f"{folder}: no such folder")
            self.rescan_folder()

    # -- the files ------------------------------------------------------------------------
    def files(self) -> tuple[SessionFile, ...]:
        with self._lock:
            return tuple(self._files.values())

    def file(self, file_id: str) -> SessionFile:
        with self._lock:
            found = self._files.get(file_id)
        if found is None:
            raise UnknownFile(f"no file {file_id!r} in this session (it may have been opened in an earlier run)")
        return found

    def _put(self, updated: SessionFile) -> SessionFile:
        with self._lock:
            self._files[updated.id] = updated
        return updated

    def _new_id(self) -> str:
        return f"f{len(self._files) + 1}"

    def rescan_folder(self) -> tuple[SessionFile, ...]:
        """Add the photos and videos of the served folder not listed yet (hidden files and
        links leading outside the folder are left out); returns the new ones."""
        if self.folder is None:
            return ()
        listed = {f.source for f in self.files() if not f.uploaded}
        found = plan([self.folder], self.out_dir).jobs
        added = []
        with self._lock:
            for job in found:
                try:
                    source = self.inside_folder(job.source.relative_to(self.folder))
                except OutsideFolder:
                    continue
                if source in listed:
                    continue
                kind = FileKind.VIDEO if job.is_video else FileKind.PHOTO
                added.append(self._put(SessionFile(id=self._new_id(), name=source.relative_to(self.folder).as_posix(),
                                                   source=source, kind=kind, uploaded=False)))
        return tuple(added)

    def inside_folder(self, relative: str | Path) -> Path:
        """The file ``relative`` names under the served folder, links resolved; OutsideFolder
        when it is absolute, climbs out with ``..`` or is a link leading outside."""
        if self.folder is None:
            raise OutsideFolder("no folder is served in this session")
        relative = Path(relative)
        if relative.is_absolute() or ".." in relative.parts:
            raise OutsideFolder(f"{relative}: only paths inside the served folder are opened")
        resolved = (self.folder / relative).resolve()
        if not resolved.is_relative_to(self.folder):
            raise OutsideFolder(f"{relative}: leads outside the served folder; refused")
        return resolved

    def add_upload(self, name: str, chunks: Iterable[bytes], *, declared_bytes: int | None = None) -> SessionFile:
        """Store an uploaded file in the private folder and list it (see `Upload`)."""
        upload = self.begin_upload(name, declared_bytes=declared_bytes)
        try:
            for chunk in chunks:
                upload.write(chunk)
        except BaseException:
            upload.abort()
            raise
        return upload.finish()

    def begin_upload(self, name: str, *, declared_bytes: int | None = None) -> Upload:
        """An upload to write piece by piece; UploadRefused at once when its declared size is
        over the limit."""
        clean = _clean_name(name)
        if declared_bytes is not None and declared_bytes > self.limits.max_bytes:
            raise UploadRefused(_too_many_bytes(clean, self.limits.max_bytes, declared_bytes))
        with self._lock:
            self._uploads += 1
            folder = self.workdir / "uploads" / str(self._uploads)
        folder.mkdir(parents=True, mode=0o700)
        return Upload(self, folder / clean)

    def _listed_upload(self, path: Path) -> SessionFile:
        """List a received upload: a photo or video, or a failed entry saying why it is
        neither (its bytes are removed); UploadRefused when it has too many pixels."""
        name = path.name
        try:
            kind = self._check_upload(path, name)
        except UploadRefused:
            _remove(path.parent)
            raise
        with self._lock:
            entry = SessionFile(id=self._new_id(), name=name, source=path, kind=kind or FileKind.PHOTO, uploaded=True)
            if kind is None:
                entry = replace(entry, state=ReviewState.FAILED,
                                message=f"{name}: not a photo or video unseen can read ({_unreadable_reason(path, name)})")
                _remove(path.parent)
            return self._put(entry)

    def _check_upload(self, path: Path, name: str) -> FileKind | None:
        if is_video_path(path):
            return FileKind.VIDEO
        size = header_size(path)
        if size is None:
            return None
        width, height = size
        if width * height > self.limits.max_pixels:
            raise UploadRefused(f"{name}: {width} x {height} is {width * height / 1e6:.0f} megapixels, more than the "
                                f"{self.limits.max_pixels / 1e6:g} the page takes (downscale it, or start the page "
                                "with a larger --max-megapixels)")
        return FileKind.PHOTO

    # -- looking at a photo -----------------------------------------------------------------
    def redactor(self) -> Redactor:
        """The redactor (models loaded on first use), covering with the current options.
        Models load under their own lock, so the file list answers meanwhile."""
        with self._models:
            if self._redactor is None:
                self._redactor = Redactor(self._config)
            if self._redactor.config.cover != self._config.cover:
                self._redactor = self._redactor.with_cover(self._config.cover)
            return self._redactor

    def video_redactor(self) -> VideoRedactor:
        """The video redactor (detector loaded on first use), covering with the current options."""
        with self._models:
            cover = self.cover
            if self._video_redactor is None:
                self._video_redactor = VideoRedactor(replace(self._video_config, cover=cover))
            elif self._video_redactor.config.cover != cover:
                self._video_redactor = self._video_redactor.with_cover(cover)
            return self._video_redactor

    def _recognizers(self) -> Recognizers:
        with self._models:
            if self._video_recognizers is None:
                self._video_recognizers = Recognizers(self._config.verification.embedders)
            return self._video_recognizers

    @property
    def cover(self) -> CoverConfig:
        return self._config.cover

    def set_cover(self, cover: CoverConfig) -> None:
        """Cover with ``cover`` from now on (style, shape, padding); the models are kept."""
        self._config = replace(self._config, cover=cover)

    def _load(self, entry: SessionFile) -> LoadedImage:
        if entry.kind is not FileKind.PHOTO:
            raise InputFileError(f"{entry.name}: videos are redacted with `unseen redact`; the page reviews photos")
        source = self._source(entry)
        try:
            return load(source, max_pixels=self.limits.max_pixels)
        except InputFileError as error:
            raise InputFileError(str(error).replace(str(source), entry.name)) from None

    def _source(self, entry: SessionFile) -> Path:
        """Where to read a file: its upload, or its place in the served folder checked again
        (a link may have changed since the folder was listed)."""
        return entry.source if entry.uploaded else self.inside_folder(entry.source.relative_to(self.folder))

    def display(self, file_id: str) -> bytes:
        """The photo as the page shows it: upright, at most `DISPLAY_SIDE` pixels long, JPEG,
        in memory only."""
        with self._lock:
            if file_id in self._display:
                self._display.move_to_end(file_id)
                return self._display[file_id]
        return self._remember_display(file_id, self._load(self.file(file_id)))

    def _remember_display(self, file_id: str, image: LoadedImage) -> bytes:
        data = encode(_downscaled(image.rgb, DISPLAY_SIDE), file_format=OutputFormat.JPEG, quality=88)
        with self._lock:
            self._display[file_id] = data
            while len(self._display) > DISPLAY_CACHE:
                self._display.popitem(last=False)
        return data

    def analyse(self, file_id: str, *, progress: Progress = SILENT) -> SessionFile:
        """Find the faces of a photo and check a cover of them as `unseen redact` would (a
        failure to read it marks the file failed with the reason)."""
        entry = self.file(file_id)
        if entry.kind is FileKind.VIDEO:
            return self._analyse_video(entry, progress)
        progress.start(2, unit="steps", description=f"reading {entry.name}")
        try:
            image = self._load(entry)
        except InputFileError as error:
            return self._put(replace(entry, state=ReviewState.FAILED, message=str(error)))
        self._remember_display(file_id, image)
        digest = _digest(image)
        progress.advance()
        progress.start(2, unit="steps", description=f"finding faces in {entry.name}")
        redactor = self.redactor()
        candidates = redactor.candidates(image.rgb)
        progress.advance()
        progress.message("checking a cover of them as the export will")
        redaction = redactor.redact(image, rng=rng_for(digest, redactor.config.seed), candidates=candidates)
        progress.advance()
        analysis = Analysis(width=image.width, height=image.height, detected=redaction.faces, low=redaction.review,
                            verification=_verification(redaction.verification), candidates=candidates, digest=digest)
        return self._put(replace(self.file(file_id), analysis=analysis, message=""))

    def _analyse_video(self, entry: SessionFile, progress: Progress) -> SessionFile:
        """Track the faces of a video and plan their covers as `unseen redact` would."""
        try:
            source = self._source(entry)
            digest = _file_digest(source)
            found = self.video_redactor().find(source, progress=progress)
        except InputFileError as error:
            return self._put(replace(entry, state=ReviewState.FAILED,
                                     message=str(error).replace(str(entry.source), entry.name)))
        return self._put(replace(self.file(entry.id), message="",
                                 video=VideoAnalysis(found=found, tracks=found.tracks(), digest=digest)))

    def choose_video(self, file_id: str, *, review: VideoReview) -> SessionFile:
        """Keep a person's changes to a video's covers (the file becomes reviewed)."""
        entry = self.file(file_id)
        if entry.video is None:
            raise ConfigError(f"{entry.name}: its faces are not tracked yet; open it first")
        checked = entry.video.checked(review)
        state = ReviewState.REVIEWED if entry.state is not ReviewState.FAILED else entry.state
        return self._put(replace(entry, video_review=checked, state=state))

    def _video(self, file_id: str, index: int) -> tuple[SessionFile, VideoAnalysis]:
        entry = self.file(file_id)
        if entry.video is None:
            raise ConfigError(f"{entry.name}: its faces are not tracked yet; open it first")
        if not 0 <= index < entry.video.frames:
            raise ConfigError(f"frame: expected 0..{entry.video.frames - 1}, got {index}")
        return entry, entry.video

    def video_covers(self, file_id: str, index: int) -> tuple[Detections, Detections, bool]:
        """The boxes covered in frame ``index`` with their track ids (the person's changes
        applied), the boxes of the tracks the person left uncovered, and whether the frame
        is covered whole."""
        entry, video = self._video(file_id, index)
        review = entry.video_review or VideoReview()
        plan = video.found.plan.reviewed(review)
        planned = video.found.plan.boxes_at(index)
        uncovered = planned[np.isin(planned.track_id, np.asarray(review.removed_tracks, np.int64))]
        return plan.boxes_at(index), uncovered, bool(np.isin(index, plan.full_frames))

    def video_frame(self, file_id: str, index: int) -> bytes:
        """Frame ``index`` as the page shows it: upright, downscaled, JPEG, in memory only
        (decoded from the start of the file: slow far into long videos)."""
        entry, _ = self._video(file_id, index)
        rgb = next((frame.rgb for frame in read_frames(self._source(entry)) if frame.index == index), None)
        if rgb is None:
            raise InputFileError(f"{entry.name}: frame {index} could not be read")
        return encode(_downscaled(rgb, DISPLAY_SIDE), file_format=OutputFormat.JPEG, quality=85)

    def check(self, file_id: str, *, progress: Progress = SILENT) -> SessionFile:
        """Cover the person's boxes and verify the result without writing anything: the
        flags the page shows are then those of what would be exported."""
        if self.file(file_id).kind is FileKind.VIDEO:
            raise ConfigError("a video is verified when it is exported (on a sample of frames)")
        entry = self._analysed(file_id, progress)
        progress.start(1, unit="photos", description=f"checking the boxes of {entry.name}")
        image = self._load(entry)
        redactor = self.redactor()
        redaction = redactor.redact(image, rng=rng_for(entry.analysis.digest, redactor.config.seed),
                                    faces=entry.boxes.faces(entry.analysis.detected),
                                    candidates=entry.analysis.candidates)
        progress.advance()
        analysis = replace(entry.analysis, verification=_verification(redaction.verification))
        return self._put(replace(self.file(file_id), analysis=analysis))

    def _analysed(self, file_id: str, progress: Progress) -> SessionFile:
        entry = self.file(file_id)
        if entry.analysis is None:
            entry = self.analyse(file_id, progress=progress)
        if entry.analysis is None:
            raise InputFileError(entry.message)
        return entry

    def choose(self, file_id: str, *, boxes: Sequence[Sequence[float]], detected: Sequence[int]) -> SessionFile:
        """Keep the person's boxes for a photo (the file becomes reviewed)."""
        entry = self.file(file_id)
        if entry.analysis is None:
            raise ConfigError(f"{entry.name}: its faces are not found yet; open it first")
        choices = Choices.checked(boxes, detected, analysis=entry.analysis)
        state = ReviewState.REVIEWED if entry.state is not ReviewState.FAILED else entry.state
        return self._put(replace(entry, choices=choices, state=state))

    def mark_reviewed(self, file_id: str) -> SessionFile:
        entry = self.file(file_id)
        if not entry.analysed:
            raise ConfigError(f"{entry.name}: its faces are not found yet; open it first")
        return self._put(replace(entry, state=ReviewState.REVIEWED))

    # -- export -----------------------------------------------------------------------------
    @property
    def record_path(self) -> Path:
        return self.out_dir / RECORD_NAME

    def export(self, file_ids: Sequence[str], *, progress: Progress = SILENT) -> RunSummary:
        """Redact, encode, strip, verify and write each photo exactly as `unseen redact` does,
        covering the person's boxes (or the detector's where the photo was not reviewed), and
        add them to the record with the review decisions."""
        entries = [self.file(file_id) for file_id in file_ids]
        jobs = self._jobs()
        record = self._open_record()
        started, began = _now(), time.monotonic()
        record.runs.append(RunRecord(started=started))
        results = []
        for entry in entries:
            progress.start(len(entries), unit="files", description="exporting")
            progress.advance(len(results))
            progress.message(f"exporting {entry.name}")
            export = self._export_video if entry.kind is FileKind.VIDEO else self._export_one
            result = export(entry, jobs[entry.id], progress)
            results.append(result)
            record.files[result.job.name] = result.record
            record.write(self.record_path)
            progress.advance()
        summary = RunSummary(results=tuple(results), record=self.record_path, seconds=time.monotonic() - began)
        record.runs[-1] = summary.run_record(started)
        record.write(self.record_path)
        return summary

    def _export_one(self, entry: SessionFile, job: Job, progress: Progress) -> FileResult:
        try:
            entry = self._analysed(entry.id, progress)
        except InputFileError as error:
            return self._failed_export(entry, job, str(error))
        boxes = entry.boxes
        reviewed = entry.choices is not None and not entry.choices.unchanged(entry.analysis.detected)
        source = self._source(entry)
        if _file_digest(source) != entry.analysis.digest:
            self._put(replace(entry, analysis=None, choices=None))
            return self._failed_export(entry, job, f"{entry.name}: the file changed since it was opened on the "
                                                   "page; open it again to review it")
        entry_record = redact_photo(replace(job, source=source), self.redactor(),
                                    faces=boxes.faces(entry.analysis.detected) if reviewed else None,
                                    candidates=entry.analysis.candidates,
                                    decisions=boxes.decisions(entry.analysis.detected)
                                    if entry.choices is not None or entry.state is ReviewState.REVIEWED else None)
        return self._exported(entry, job, source, entry_record)

    def _export_video(self, entry: SessionFile, job: Job, progress: Progress) -> FileResult:
        """Redact a video as `unseen redact` does, with the person's changes and the tracks
        found when it was opened (verified on a sample of frames)."""
        if entry.video is None:
            entry = self.analyse(entry.id, progress=progress)
            if entry.video is None:
                return self._failed_export(entry, job, entry.message)
        source = self._source(entry)
        if _file_digest(source) != entry.video.digest:
            self._put(replace(entry, video=None, video_review=None))
            return self._failed_export(entry, job, f"{entry.name}: the file changed since it was opened on the "
                                                   "page; open it again to review it")
        config = self.redactor_config()
        review = entry.video_review
        entry_record = redact_video(
            replace(job, source=source), self.video_redactor(), progress=progress,
            check=VideoVerifyConfig(frame=config.verification) if config.verify else None, strict=config.strict,
            recognizers=self._recognizers, found=entry.video.found, review=review,
            decisions=entry.video.decisions(review) if review is not None else None)
        return self._exported(entry, job, source, entry_record)

    def _exported(self, entry: SessionFile, job: Job, source: Path, entry_record: FileRecord) -> FileResult:
        """Keep an export's record entry (named by what the page shows, not the private
        folder's path) and what its verification found, for the page to show."""
        entry_record = replace(entry_record, source=entry.name if entry.uploaded else str(source),
                               message=entry_record.message.replace(str(source), entry.name))
        failed = entry_record.status is FileStatus.FAILED
        current = self.file(entry.id)
        analysis = current.analysis
        if analysis is not None and entry_record.verification is not None:
            analysis = replace(analysis, verification=entry_record.verification)
        self._put(replace(current, record=entry_record, analysis=analysis, message=entry_record.message,
                          state=ReviewState.FAILED if failed else ReviewState.EXPORTED))
        return FileResult(job=job, record=entry_record)

    def redactor_config(self) -> RedactConfig:
        return self._config

    def _failed_export(self, entry: SessionFile, job: Job, message: str) -> FileResult:
        failed = FileRecord(source=entry.name if entry.uploaded else str(entry.source), status=FileStatus.FAILED,
                            message=message)
        self._put(replace(self.file(entry.id), record=failed, state=ReviewState.FAILED, message=message))
        return FileResult(job=job, record=failed)

    def _jobs(self) -> dict[str, Job]:
        """Every photo's job: output names as `unseen redact` gives them, unique in the
        session (numbered in the order the files were added, so a name never changes)."""
        listed = [entry for entry in self.files() if entry.source.exists()]
        planned = plan([entry.source for entry in listed], self.out_dir, output_format=self._config.output_format,
                       video_suffix=self._video_config.encode.codec.suffix).jobs
        return {entry.id: job for entry, job in zip(listed, planned)}

    def _open_record(self) -> RedactionRecord:
        config = self._config
        previous = RedactionRecord.read(self.record_path)
        video = replace(self._video_config, cover=config.cover)
        return RedactionRecord(config={**config.to_record(), "video": video.to_record()},
                               config_fingerprint=config.fingerprint,
                               runs=list(previous.runs) if previous else [],
                               files=dict(previous.files) if previous else {})

    def output(self, file_id: str) -> Path:
        """The exported file of a photo (InputFileError when it has none)."""
        entry = self.file(file_id)
        if entry.record is None or entry.record.output is None:
            raise InputFileError(f"{entry.name}: not exported yet")
        return self.out_dir / entry.record.output

    def output_display(self, file_id: str) -> bytes:
        """The exported photo as the page shows it (like `display`; not kept)."""
        exported = load(self.output(file_id), max_pixels=self.limits.max_pixels)
        return encode(_downscaled(exported.rgb, DISPLAY_SIDE), file_format=OutputFormat.JPEG, quality=88)

    def zip(self) -> Path:
        """A zip of every file exported in this session (the redacted files only: the record
        names the originals and stays beside them). Written in the private folder."""
        exported = [entry for entry in self.files() if entry.record is not None and entry.record.output]
        if not exported:
            raise InputFileError("nothing exported yet: export at least one photo first")
        path = self.workdir / "downloads" / ZIP_NAME

        def write(temporary: Path) -> None:
            with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_STORED) as archive:
                for entry in exported:
                    info = zipfile.ZipInfo(entry.record.output, date_time=(1980, 1, 1, 0, 0, 0))
                    archive.writestr(info, (self.out_dir / entry.record.output).read_bytes())

        return write_atomic(path, write)


class Upload:
    """A file being received into the session's private folder: `write` its bytes in
    pieces, then `finish` (or `abort`). More bytes than the limit abort it with UploadRefused."""

    def __init__(self, session: ReviewSession, path: Path) -> None:
        self.session, self.path = session, path
        self.received = 0
        self._handle = path.open("wb")

    def write(self, chunk: bytes) -> None:
        self.received += len(chunk)
        limit = self.session.limits.max_bytes
        if self.received > limit:
            self.abort()
            raise UploadRefused(_too_many_bytes(self.path.name, limit))
        self._handle.write(chunk)

    def abort(self) -> None:
        self._handle.close()
        if self.path.parent.exists():
            _remove(self.path.parent)

    def finish(self) -> SessionFile:
        self._handle.close()
        return self.session._listed_upload(self.path)


def _too_many_bytes(name: str, limit: int, size: int | None = None) -> str:
    what = _size(size) if size is not None else "more"
    return (f"{name}: {what} is more than the {_size(limit)} an upload may have (start the page with a larger "
            "--max-upload-mb)")


def _verification(verification) -> VerificationRecord | None:
    return VerificationRecord.of(verification) if verification is not None else None


def _digest(image: LoadedImage) -> bytes:
    """The file's SHA-256 (the same noise seed `unseen redact` uses for it)."""
    return _file_digest(image.path)


def _file_digest(path: Path) -> bytes:
    try:
        return file_digest(path)
    except OSError as error:
        raise InputFileError(f"{path.name}: cannot be read ({error.strerror or error})") from None


def _downscaled(rgb: np.ndarray, side: int) -> np.ndarray:
    height, width = rgb.shape[:2]
    scale = side / max(height, width)
    if scale >= 1:
        return rgb
    return cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))),
                      interpolation=cv2.INTER_AREA)


def _clean_name(name: str) -> str:
    """An uploaded file's own name, without any folder, safe as a file name."""
    base = Path(str(name).replace("\\", "/")).name.strip()
    cleaned = "".join(c if c.isalnum() or c in "._- ()" else "_" for c in base).lstrip(".")
    return cleaned[:120] or "upload"


def _unreadable_reason(path: Path, name: str) -> str:
    if not is_image_path(path):
        return f"its extension {path.suffix.lower() or '(none)'} is not a photo or video kind unseen reads"
    try:
        load(path)
    except InputFileError as error:
        return str(error).replace(f"{path}: ", "").replace(str(path), name)
    return "unknown reason"


def _remove(folder: Path) -> None:
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()


def _size(count: int) -> str:
    return f"{count / 2**20:,.0f} MB" if count >= 2**20 else f"{count:,} bytes"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

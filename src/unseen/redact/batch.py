"""Many photos and videos: find the inputs, redact each, write outputs and a record, resume a cut-off run.

Outputs mirror the inputs under OUTDIR as ``<name>.redacted.<ext>`` (videos as MP4, or
WebM for VP9). Each is written under a temporary name and renamed into place whole, so a
run that dies leaves no half-written file. The
record (``OUTDIR/redaction-record.json``) lists what was done; a rerun skips
a file whose output exists and whose record entry shows the same input content and the
same options, and does every other file again (the record is saved every couple of
seconds and at the end).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from unseen.errors import InputFileError, Interrupted, OutputError, UnseenError, VerificationFailedError
from unseen.media.allocator import keep_freed_memory
from unseen.media.files import FOLDER_FULL_OR_READ_ONLY, file_digest, output_error, remove_partials, write_atomic
from unseen.media.image import OutputFormat, header_size, is_image_path, load, save
from unseen.media.video import VideoCodec, is_video_path, probe
from unseen.progress import SILENT, Progress
from unseen.redact.photo import RedactConfig, Redactor, rng_for
from unseen.redact.preview import preview_image
from unseen.faces.types import Detections
from unseen.redact.record import (FileRecord, FileStatus, RedactionRecord, ReviewDecisions, RunRecord,
                                   VerificationRecord)
from unseen.redact.verify import Recognizers
from unseen.redact.verify_video import VideoVerification, VideoVerifyConfig, verify_video
from unseen.redact.video import VideoFound, VideoRedactConfig, VideoRedactor, VideoReview
from unseen.redact.video_record import VideoRecord, count_in

RECORD_NAME = "redaction-record.json"
RECORD_EVERY_S = 2.0
"""The record is rewritten at most this often during a run (and at its end): a run cut off
loses at most these seconds of record, and those files are simply done again."""
OUTPUT_TAG = ".redacted"

STILL_WITH_EXTRAS = ("MPO", "HEIF")
"""Formats whose further frames are previews, depth maps or bursts: the main picture is
redacted and the rest is not copied."""

_SUFFIX_FORMATS = {
    ".jpg": OutputFormat.JPEG, ".jpeg": OutputFormat.JPEG, ".png": OutputFormat.PNG, ".webp": OutputFormat.WEBP,
    ".tif": OutputFormat.TIFF, ".tiff": OutputFormat.TIFF, ".heic": OutputFormat.HEIF, ".heif": OutputFormat.HEIF,
    ".bmp": OutputFormat.BMP, ".gif": OutputFormat.PNG,
}


@dataclass(frozen=True)
class Job:
    """One input file and where its redacted copy goes; ``name`` is its path under OUTDIR's
    mirror of the inputs (the record's key for it)."""

    source: Path
    output: Path
    name: str
    file_format: OutputFormat | None  # None for a video

    @property
    def is_video(self) -> bool:
        return self.file_format is None


@dataclass(frozen=True)
class FileResult:
    """One input's outcome: its job and the record entry written for it."""

    job: Job
    record: FileRecord

    @property
    def status(self) -> FileStatus:
        return self.record.status

    @property
    def faces(self) -> int:
        return self.record.face_count

    @property
    def review(self) -> tuple[str, ...]:
        return self.record.review

    @property
    def verified(self) -> bool | None:
        return self.record.passed

    @property
    def message(self) -> str:
        return self.record.message

    @property
    def needs_review(self) -> bool:
        return bool(self.review)


@dataclass(frozen=True)
class RunSummary:
    """What a run did, file by file, and the record it wrote."""

    results: tuple[FileResult, ...]
    record: Path
    seconds: float
    skipped: tuple[Skipped, ...] = ()
    not_started: tuple[Job, ...] = ()

    def count(self, status: FileStatus) -> int:
        return sum(result.status is status for result in self.results)

    @property
    def faces(self) -> int:
        return sum(result.faces for result in self.results if result.record.done)

    @property
    def needing_review(self) -> int:
        return sum(result.needs_review for result in self.results)

    @property
    def verification_failed(self) -> int:
        return sum(result.verified is False for result in self.results)

    def run_record(self, started: str) -> RunRecord:
        return RunRecord(started=started, finished=_timestamp(time.time()), files=len(self.results),
                         counts=tuple((status, self.count(status)) for status in FileStatus),
                         faces_covered=self.faces, needing_review=self.needing_review,
                         verification_failed=self.verification_failed)

    def raise_for_failures(self) -> None:
        """Raise the error of the worst outcome: VerificationFailedError when an output still
        shows a face, InputFileError when a file could not be redacted; nothing when all went well."""
        failed_verification = [r.job.name for r in self.results if r.verified is False]
        if failed_verification:
            raise VerificationFailedError(f"verification failed for {_names(failed_verification)}; "
                                          f"see {self.record} for what was found")
        failed = [str(r.job.source) for r in self.results if r.status is FileStatus.FAILED]
        if failed:
            raise InputFileError(f"could not redact {_names(failed)}; the other files were done")


class BatchInterrupted(Interrupted):
    """Ctrl-C during a batch: ``summary`` holds what was finished (and what was not)."""

    def __init__(self, summary: RunSummary) -> None:
        done, left = len(summary.results), len(summary.not_started)
        super().__init__(f"interrupted after {done} of {done + left} file(s); the {left} left are not written. "
                         "Run the same command again to finish them: finished files are skipped.")
        self.summary = summary


class BatchStopped(OutputError):
    """An output could not be written and nothing more can be (a full disk, a read-only
    folder): the run stopped; ``summary`` holds what was finished (and what was not)."""

    def __init__(self, error: OutputError, summary: RunSummary) -> None:
        done, left = len(summary.results), len(summary.not_started)
        super().__init__(f"{error}. Stopped after {done} of {done + left} file(s): the files finished are kept and "
                         "recorded; run the same command again once the folder can be written to.")
        self.summary = summary


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:5]) + (f", ... ({len(names)} in all)" if len(names) > 5 else "")
    return f"{len(names)} file(s): {shown}"


@dataclass(frozen=True)
class Skipped:
    """A file found in an input folder that is not redacted, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Plan:
    """The files a run will redact, in order, and the files it found but leaves alone."""

    jobs: tuple[Job, ...]
    skipped: tuple[Skipped, ...] = ()


SIDECAR_SUFFIXES = (".xmp", ".aae", ".thm", ".json", ".xml", ".srt", ".lrv", ".exif")
"""Files cameras, phones and photo tools keep beside a photo or video: metadata (XMP, Apple
edits, Google Takeout's JSON with GPS), thumbnails (THM, low-resolution LRV copies of a video)
or subtitles holding a drone's GPS track. Never read, never copied."""


def _why_skipped(path: Path, folder: Path) -> str | None:
    """Why a file found in ``folder`` is not taken as an input (None: it is taken)."""
    if any(part.startswith(".") for part in path.relative_to(folder).parts):
        return "hidden file"
    if path.suffix.lower() in SIDECAR_SUFFIXES:
        return f"metadata sidecar or thumbnail ({path.suffix.lower()}): never copied"
    if not is_image_path(path) and not is_video_path(path):
        return f"not a photo or video ({path.suffix.lower() or 'no extension'})"
    return None


def plan(inputs: Sequence[str | Path], out_dir: str | Path, *, output_format: OutputFormat | None = None,
         video_suffix: str = VideoCodec.H264.suffix) -> Plan:
    """The jobs for ``inputs`` (files, and folders searched recursively for photos and
    videos), and the files found in those folders that are left alone, with the reason.

    A missing input raises InputFileError before anything is done. Files inside ``out_dir``
    are never taken as inputs; two inputs that would share an output name get -2, -3, ...
    """
    out_dir = Path(out_dir)
    resolved_out = out_dir.resolve()
    jobs: list[Job] = []
    skipped: list[Skipped] = []
    taken: set[Path] = set()
    for given in inputs:
        given = Path(given)
        if not given.exists():
            raise InputFileError(f"{given}: no such file or folder")
        if given.is_dir():
            found = sorted(p for p in given.rglob("*") if p.is_file() and not p.resolve().is_relative_to(resolved_out))
            reasons = [(p, _why_skipped(p, given)) for p in found]
            skipped += [Skipped(p, reason) for p, reason in reasons if reason is not None]
            pairs = [(p, Path(given.resolve().name or "input") / p.relative_to(given))
                     for p, reason in reasons if reason is None]
        else:
            pairs = [(given, Path(given.name))]
        for source, relative in pairs:
            chosen = None if is_video_path(source) else (
                output_format or _SUFFIX_FORMATS.get(source.suffix.lower(), OutputFormat.PNG))
            output = _free_name(out_dir / relative.parent, relative.stem,
                                video_suffix if chosen is None else chosen.suffix, taken)
            taken.add(output)
            jobs.append(Job(source=source, output=output, name=output.relative_to(out_dir).as_posix(),
                            file_format=chosen))
    return Plan(jobs=tuple(jobs), skipped=tuple(skipped))


def _free_name(folder: Path, stem: str, suffix: str, taken: set[Path]) -> Path:
    candidate = folder / f"{stem}{OUTPUT_TAG}{suffix}"
    number = 2
    while candidate in taken:
        candidate = folder / f"{stem}-{number}{OUTPUT_TAG}{suffix}"
        number += 1
    return candidate


def redact_files(inputs: Sequence[str | Path], *, out_dir: str | Path, config: RedactConfig | None = None,
                 video: VideoRedactConfig | None = None, progress: Progress = SILENT,
                 preview_dir: str | Path | None = None, workers: int = 1, cluster: Any = None) -> RunSummary:
    """Redact every photo and video in ``inputs`` into ``out_dir``; see the module doc.

    ``video`` sets how videos are redacted (their covers follow ``config.cover``; they are
    verified on a sample of frames when ``config.verify``). ``progress`` counts megapixels
    (so its ETA is right for mixed sizes); each video shows its own frames while it runs,
    then the count goes on. A file that fails or is refused gets a message. Errors of
    single files are recorded and the run goes on;
    `RunSummary.raise_for_failures` turns them into the run's error. Ctrl-C stops after
    the record is saved and raises `BatchInterrupted` holding the summary so far.

    ``preview_dir``: also write, for each photo redacted in this run, a downscaled copy of
    the output with the covered and flagged regions outlined (`unseen.redact.preview`),
    as ``<name>.preview.jpg`` in the same folder layout.

    ``workers``: photos redacted at once, each by its own process with its own models
    (`default_workers` suits the machine); videos are redacted one at a time, using every core.
    ``cluster``: redact the photos on a Ray cluster instead (`unseen.distributed.RayCluster`,
    entered); the outputs and the record are the same.
    """
    config = config or RedactConfig()
    video = replace(video or VideoRedactConfig(), cover=config.cover)
    out_dir = Path(out_dir)
    planned = plan(inputs, out_dir, output_format=config.output_format, video_suffix=video.encode.codec.suffix)
    remove_partials(out_dir)  # what a run that was killed left half-written
    run = _Run(out_dir / RECORD_NAME, config, video, planned, progress)
    videos = _Videos(video, verify=config.verify, strict=config.strict,
                     check=VideoVerifyConfig(frame=config.verification))
    photos = [job for job in planned.jobs if not job.is_video]
    count = max(1, min(workers, len(photos) or 1))
    try:
        previews = Path(preview_dir) if preview_dir else None
        pool = cluster.photo_workers(config, preview_dir=previews) if cluster is not None and photos \
            else PhotoWorkers(config, workers=count, preview_dir=previews)
        with pool:
            pending = {job.name: pool.submit(job, run.earlier.get(job.name)) for job in photos}
            for job in planned.jobs:
                if job.is_video:
                    entry = videos.redact(job, run.earlier.get(job.name), progress)
                    run.restart_progress()
                else:
                    entry = _photo_result(job, pending, pool, run.earlier)
                run.collect(job, entry)
    except KeyboardInterrupt:
        raise BatchInterrupted(run.finish(interrupted=True)) from None
    except OutputError as error:
        raise BatchStopped(error, run.finish(interrupted=True)) from None
    return run.finish()


WORKERS_STOPPED = ("the process redacting it stopped abruptly (a decoder crashed on this file or on one redacted "
                   "beside it); nothing was written for it: run the same command again to retry it")


def _photo_result(job: Job, pending: dict, pool: PhotoWorkers, earlier: dict[str, FileRecord]) -> FileRecord:
    """The record of ``job``'s photo. Should a worker process die (a crash in a decoder
    library), this photo fails, the workers are started again and the photos not yet
    collected are handed to them, so the batch goes on."""
    try:
        return pending.pop(job.name).result()
    except BrokenProcessPool:
        pool.restart()
        for name in list(pending):
            pending[name] = pool.submit(pool.jobs[name], earlier.get(name))
        return _failed(job, WORKERS_STOPPED)


class _Run:
    """One run's bookkeeping: the record (saved every few seconds), the results so far and
    the progress counted in megapixels."""

    def __init__(self, record_path: Path, config: RedactConfig, video: VideoRedactConfig, planned: Plan,
                 progress: Progress) -> None:
        previous = RedactionRecord.read(record_path)
        self.started = _timestamp(time.time())
        self.record_path, self.planned, self.progress = record_path, planned, progress
        self.record = RedactionRecord(config={**config.to_record(), "video": video.to_record()},
                                      config_fingerprint=config.fingerprint,
                                      runs=[*(previous.runs if previous else ()), RunRecord(started=self.started)],
                                      files=dict(previous.files) if previous else {})
        self.earlier = dict(self.record.files)
        self.megapixels = {job.name: _megapixels(job) for job in planned.jobs}
        self.results: list[FileResult] = []
        self.save()  # a folder that cannot be written to is found before any work is done
        self.began = self.saved = time.monotonic()
        self.restart_progress()

    def save(self) -> None:
        """Write the record (atomically: a record that cannot be written leaves the last one)."""
        try:
            self.record.write(self.record_path)
        except OSError as error:
            raise output_error(self.record_path, error) from None

    def restart_progress(self) -> None:
        """The batch's count again (after a video showed its own frames)."""
        self.progress.start(sum(self.megapixels.values()), unit="megapixels", description="redacting")
        if self.results:
            self.progress.advance(sum(self.megapixels[result.job.name] for result in self.results))

    def collect(self, job: Job, entry: FileRecord) -> None:
        result = FileResult(job=job, record=entry)
        self.results.append(result)
        self.record.files[job.name] = entry
        if time.monotonic() - self.saved >= RECORD_EVERY_S:
            self.save()
            self.saved = time.monotonic()
        if result.status in (FileStatus.FAILED, FileStatus.REFUSED):
            self.progress.message(f"{result.status.value}: {job.source}: {result.message}")
        self.progress.advance(self.megapixels[job.name])

    def finish(self, *, interrupted: bool = False) -> RunSummary:
        done = {result.job.name for result in self.results}
        summary = RunSummary(results=tuple(self.results), record=self.record_path,
                             seconds=time.monotonic() - self.began, skipped=self.planned.skipped,
                             not_started=tuple(job for job in self.planned.jobs if job.name not in done)
                             if interrupted else ())
        self.record.runs[-1] = summary.run_record(self.started)
        try:
            self.save()
        except OutputError:
            if not interrupted:
                raise
            # stopping already: the record on disk keeps what its last save held
        return summary


WORKER_MEMORY = 1_200_000_000
"""Memory one photo worker may need at its peak (a 12-megapixel photo: under 0.9 GB)."""


def default_workers() -> int:
    """Photo workers that suit this machine: one per core, no more than the free memory
    holds (a run never starts more than it has photos)."""
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        free = WORKER_MEMORY
    return max(1, min(os.cpu_count() or 1, free // WORKER_MEMORY))


class PhotoWorkers:
    """Redacts photos in ``workers`` processes, each with its own models loaded once and
    its share of the cores; with one worker, in this process, one photo at a time when
    its result is asked for. Use as a context manager; `submit` returns a future."""

    def __init__(self, config: RedactConfig, *, workers: int, preview_dir: Path | None) -> None:
        self.config, self.workers, self.preview_dir = config, workers, preview_dir
        self._executor: ProcessPoolExecutor | None = None
        self._redactor: Redactor | None = None
        self.jobs: dict[str, Job] = {}

    def __enter__(self) -> PhotoWorkers:
        if self.workers > 1:
            self._executor = self._start()
        else:  # photos are redacted in this process
            keep_freed_memory()
        return self

    def _start(self) -> ProcessPoolExecutor:
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context("spawn"),
                                   initializer=_start_worker, initargs=(self.config, threads))

    def restart(self) -> None:
        """New worker processes, after one died (the old ones are let go)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._start()

    def __exit__(self, kind, error, traceback) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=kind is None, cancel_futures=True)

    def submit(self, job: Job, previous: FileRecord | None):
        self.jobs[job.name] = job
        if self._executor is not None:
            return self._executor.submit(_redact_in_worker, job, previous, self.preview_dir)
        return _Deferred(lambda: _redact_one(job, self._local(), previous, self.preview_dir))

    def _local(self) -> Redactor:
        if self._redactor is None:
            self._redactor = Redactor(self.config)
        return self._redactor


class _Deferred:
    """A future that does its work when its result is first asked for."""

    def __init__(self, work) -> None:
        self._work = work

    def result(self) -> FileRecord:
        return self._work()


_worker_redactor: Redactor | None = None
"""The models of a worker process (set once by `_start_worker`; each worker has its own)."""


def _start_worker(config: RedactConfig, threads: int) -> None:
    global _worker_redactor
    import cv2

    cv2.setNumThreads(threads)
    keep_freed_memory()
    _worker_redactor = Redactor(config, threads=threads)


def _redact_in_worker(job: Job, previous: FileRecord | None, preview_dir: Path | None) -> FileRecord:
    assert _worker_redactor is not None, "photo workers start with _start_worker"
    return _redact_one(job, _worker_redactor, previous, preview_dir)


def _megapixels(job: Job) -> float:
    """The picture's size from its header (no decoding), a video's over all its frames; 0
    when it cannot be read (it then fails with its reason when its turn comes)."""
    if job.is_video:
        try:
            info = probe(job.source)
        except UnseenError:
            return 0.0
        return (info.frames or 0) * info.width * info.height / 1e6
    size = header_size(job.source)
    return size[0] * size[1] / 1e6 if size else 0.0


def _frames(job: Job) -> int | None:
    try:
        return probe(job.source).frames
    except UnseenError:
        return None


class _Videos:
    """The batch's video side: one redactor (models loaded once), verification on a sample
    of frames, and --strict refusing a video that fails it (nothing written)."""

    def __init__(self, config: VideoRedactConfig, *, verify: bool, strict: bool, check: VideoVerifyConfig) -> None:
        self.config, self.verify, self.strict, self.check = config, verify, strict, check
        self._redactor: VideoRedactor | None = None
        self._recognizers: Recognizers | None = None

    @property
    def redactor(self) -> VideoRedactor:
        if self._redactor is None:
            self._redactor = VideoRedactor(self.config)
        return self._redactor

    def recognizers(self) -> Recognizers:
        if self._recognizers is None:
            self._recognizers = Recognizers(self.check.frame.embedders)
        return self._recognizers

    def redact(self, job: Job, previous: FileRecord | None, progress: Progress) -> FileRecord:
        return redact_video(job, self.redactor, previous=previous, progress=progress,
                            check=self.check if self.verify else None, strict=self.strict,
                            recognizers=self.recognizers)


def redact_video(job: Job, redactor: VideoRedactor, *, previous: FileRecord | None = None,
                 progress: Progress = SILENT, check: VideoVerifyConfig | None = None, strict: bool = False,
                 recognizers: Callable[[], Recognizers] | None = None, found: VideoFound | None = None,
                 review: VideoReview | None = None, decisions: ReviewDecisions | None = None) -> FileRecord:
    """Redact one video as `redact_files` does: track, cover, encode, verify on a sample of
    frames (``check``; None: not verified), write atomically (``strict``: not when
    verification fails), and return its record entry. ``recognizers`` gives the models
    verification compares faces with (built on first use). ``found`` / ``review`` /
    ``decisions``: the review page's first pass, a person's changes, and what they decided.
    """
    try:
        digest = file_digest(job.source)
    except OSError as error:
        return _failed(job, f"cannot read: {error.strerror or error}")
    if (review is None and previous is not None and previous.done and previous.source_sha256 == digest.hex()
            and previous.config_fingerprint == redactor.config.fingerprint and job.output.is_file()):
        return previous.as_already_done()
    checked: list[VideoVerification] = []

    def verify(encoded: Path) -> None:
        models = recognizers() if recognizers is not None else Recognizers(check.frame.embedders)
        checked.append(verify_video(job.source, encoded, detector=redactor.detector, config=check,
                                    recognizers=models, frames=_frames(job), progress=progress))
        if strict and not checked[-1].passed:
            raise VerificationFailedError(f"{job.source}: verification failed")

    try:
        result = redactor.redact(job.source, job.output, progress=progress, check=verify if check else None,
                                 found=found, review=review)
    except VerificationFailedError:
        return _video_entry(job, redactor, digest, None, checked[-1], refused=True, decisions=decisions)
    except UnseenError as error:
        return _failed(job, str(error), digest)
    except OSError as error:
        return _write_failed(job, error, digest)
    except Exception as error:  # one file's unforeseen failure must not stop the batch
        return _failed(job, _unexpected(error), digest)
    return _video_entry(job, redactor, digest, result.record(), checked[-1] if checked else None, refused=False,
                        decisions=decisions)


def _video_entry(job: Job, redactor: VideoRedactor, digest: bytes, video: VideoRecord | None,
                 verification: VideoVerification | None, *, refused: bool,
                 decisions: ReviewDecisions | None) -> FileRecord:
    review = []
    if video is not None and video.full_frames:
        review.append(f"{count_in(video.full_frames)} frame(s) covered whole (detection collapsed)")
    if verification is not None and not verification.passed:
        review.append(verification.statement)
    config = redactor.config
    return FileRecord(
        source=str(job.source), status=FileStatus.REFUSED if refused else FileStatus.WRITTEN,
        output=None if refused else job.name, source_sha256=digest.hex(),
        config_fingerprint=config.fingerprint, width=video.width if video else None,
        height=video.height if video else None, format=config.encode.codec.container,
        review=tuple(review), video=video, video_verification=verification,
        message="verification failed: not written (--strict)" if refused else "", review_decisions=decisions)


def redact_one(job: Job, redactor: Redactor, previous: FileRecord | None, preview_dir: Path | None) -> FileRecord:
    """One photo with a redactor already loaded: what each worker does, here or on a cluster."""
    return _redact_one(job, redactor, previous, preview_dir)


def _redact_one(job: Job, redactor: Redactor, previous: FileRecord | None, preview_dir: Path | None) -> FileRecord:
    return redact_photo(job, redactor, previous=previous, preview_dir=preview_dir)


def redact_photo(job: Job, redactor: Redactor, *, previous: FileRecord | None = None,
                 preview_dir: Path | None = None, faces: Detections | None = None,
                 candidates: Detections | None = None, decisions: ReviewDecisions | None = None) -> FileRecord:
    """Redact one photo as `redact_files` does: read, cover, encode, verify, write the
    output atomically (unless --strict refuses it), and return its record entry. A failure
    becomes a FAILED entry with its reason; ``previous`` lets an unchanged file be skipped.

    ``faces`` are boxes a person chose on the review page (covered instead of what the
    detector finds), ``candidates`` what the detector found when the page opened the photo
    (see `Redactor.redact`), and ``decisions`` what the person decided, kept in the record.
    """
    try:
        digest = file_digest(job.source)
    except OSError as error:
        return _failed(job, f"cannot read: {error.strerror or error}")
    if (faces is None and previous is not None and previous.done and previous.source_sha256 == digest.hex()
            and previous.config_fingerprint == redactor.config.fingerprint and job.output.is_file()):
        return previous.as_already_done()
    try:
        image = load(job.source)
        if image.frames > 1 and image.format not in STILL_WITH_EXTRAS:
            raise InputFileError(
                f"{job.source}: {image.format} with {image.frames} frames; unseen redacts still photos only "
                "(save the frame you want as a still image, or treat the animation as a video)")
        redaction = redactor.redact(image, rng=rng_for(digest, redactor.config.seed), file_format=job.file_format,
                                    faces=faces, candidates=candidates)
    except UnseenError as error:
        return _failed(job, str(error), digest)
    except Exception as error:  # one file's unforeseen failure must not stop the batch
        return _failed(job, _unexpected(error), digest)
    verification = redaction.verification
    refused = redactor.config.strict and verification is not None and not verification.passed
    try:
        if not refused:
            write_atomic(job.output, lambda temporary: temporary.write_bytes(redaction.data))
        if preview_dir is not None:
            save(preview_path(preview_dir, job), preview_image(redaction), file_format=OutputFormat.JPEG, quality=85)
    except OSError as error:
        return _write_failed(job, error, digest)
    return FileRecord(
        source=str(job.source), status=FileStatus.REFUSED if refused else FileStatus.WRITTEN,
        output=None if refused else job.name, source_sha256=digest.hex(),
        config_fingerprint=redactor.config.fingerprint, width=image.width, height=image.height,
        format=redaction.file_format.value, faces=redaction.face_records(), review=tuple(redaction.review_reasons),
        verification=VerificationRecord.of(verification) if verification is not None else None,
        message="verification failed: not written (--strict)" if refused else "", review_decisions=decisions)


def preview_path(preview_dir: Path, job: Job) -> Path:
    """Where a job's preview goes: its output's place under OUTDIR, under ``preview_dir``."""
    return preview_dir / Path(job.name).with_suffix(".preview.jpg")


def _write_failed(job: Job, error: OSError, digest: bytes) -> FileRecord:
    """A file whose output could not be written: the run stops when the folder can take
    nothing more (full, read-only), else this file fails and the run goes on."""
    failure = output_error(job.output, error)
    if error.errno in FOLDER_FULL_OR_READ_ONLY:
        raise failure
    return _failed(job, str(failure), digest)


def _unexpected(error: Exception) -> str:
    return (f"unexpected error ({type(error).__name__}: {error}); nothing was written for it. This is a flaw in "
            "unseen: please report it with the file if you can share it")


def _failed(job: Job, message: str, digest: bytes | None = None) -> FileRecord:
    """The record of a file that failed; its message says why (the entry already names the file)."""
    message = message.removeprefix(f"{job.source}: ")
    return FileRecord(source=str(job.source), status=FileStatus.FAILED,
                      source_sha256=digest.hex() if digest else None, message=message)


def _timestamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))

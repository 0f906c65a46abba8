"""Many photos: find the inputs, redact each, write outputs and a record, resume a cut-off run.

Outputs mirror the inputs under OUTDIR as ``<name>.redacted.<ext>``. Each is encoded in
memory and renamed into place whole, so a run that dies leaves no half-written file. The
record (``OUTDIR/redaction-record.json``) lists what was done; a rerun skips
a file whose output exists and whose record entry shows the same input content and the
same options, and does every other file again (the record is saved every couple of
seconds and at the end).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from unseen.errors import InputFileError, Interrupted, UnseenError, VerificationFailedError
from unseen.media.files import write_atomic
from unseen.media.image import OutputFormat, header_size, is_image_path, load, save
from unseen.progress import SILENT, Progress
from unseen.redact.photo import RedactConfig, Redactor, rng_for
from unseen.redact.preview import preview_image
from unseen.redact.record import FileRecord, FileStatus, RedactionRecord, RunRecord, VerificationRecord

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
    file_format: OutputFormat


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
        return len(self.record.faces)

    @property
    def review(self) -> tuple[str, ...]:
        return self.record.review

    @property
    def verified(self) -> bool | None:
        return None if self.record.verification is None else self.record.verification.passed

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


VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi")


def _why_skipped(path: Path, folder: Path) -> str | None:
    """Why a file found in ``folder`` is not taken as an input (None: it is taken)."""
    if any(part.startswith(".") for part in path.relative_to(folder).parts):
        return "hidden file"
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return "video: this version redacts photos only"
    if not is_image_path(path):
        return f"not a photo ({path.suffix.lower() or 'no extension'})"
    return None


def plan(inputs: Sequence[str | Path], out_dir: str | Path, *, output_format: OutputFormat | None = None) -> Plan:
    """The jobs for ``inputs`` (files, and folders searched recursively for photos), and
    the files found in those folders that are left alone, with the reason.

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
            chosen = output_format or _SUFFIX_FORMATS.get(source.suffix.lower(), OutputFormat.PNG)
            output = _free_name(out_dir / relative.parent, relative.stem, chosen.suffix, taken)
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
                 progress: Progress = SILENT, preview_dir: str | Path | None = None) -> RunSummary:
    """Redact every photo in ``inputs`` into ``out_dir``; see the module doc.

    ``progress`` counts megapixels (so its ETA is right for mixed sizes); a file that fails
    or is refused gets a message. Errors of single files are recorded and the run goes on;
    `RunSummary.raise_for_failures` turns them into the run's error. Ctrl-C stops after
    the record is saved and raises `BatchInterrupted` holding the summary so far.

    ``preview_dir``: also write, for each photo redacted in this run, a downscaled copy of
    the output with the covered and flagged regions outlined (`unseen.redact.preview`),
    as ``<name>.preview.jpg`` in the same folder layout.
    """
    config = config or RedactConfig()
    out_dir = Path(out_dir)
    planned = plan(inputs, out_dir, output_format=config.output_format)
    record_path = out_dir / RECORD_NAME
    previous = RedactionRecord.read(record_path)
    started = _timestamp(time.time())
    record = RedactionRecord(config=config.to_record(), config_fingerprint=config.fingerprint,
                             runs=[*(previous.runs if previous else ()), RunRecord(started=started)],
                             files=dict(previous.files) if previous else {})
    earlier = dict(record.files)
    redactor = Redactor(config)
    megapixels = [_megapixels(job.source) for job in planned.jobs]
    progress.start(sum(megapixels), unit="megapixels", description="redacting")
    results: list[FileResult] = []
    began = clock = time.monotonic()

    def summary(interrupted: bool = False) -> RunSummary:
        return RunSummary(results=tuple(results), record=record_path, seconds=time.monotonic() - began,
                          skipped=planned.skipped, not_started=planned.jobs[len(results):] if interrupted else ())

    try:
        for job, size in zip(planned.jobs, megapixels):
            result = FileResult(job=job, record=_redact_one(job, redactor, earlier.get(job.name),
                                                            Path(preview_dir) if preview_dir else None))
            results.append(result)
            record.files[job.name] = result.record
            if time.monotonic() - clock >= RECORD_EVERY_S:
                record.write(record_path)
                clock = time.monotonic()
            if result.status in (FileStatus.FAILED, FileStatus.REFUSED):
                progress.message(f"{result.status.value}: {job.source}: {result.message}")
            progress.advance(size)
    except KeyboardInterrupt:
        record.runs[-1] = summary(interrupted=True).run_record(started)
        record.write(record_path)
        raise BatchInterrupted(summary(interrupted=True)) from None
    finished = summary()
    record.runs[-1] = finished.run_record(started)
    record.write(record_path)
    return finished


def _megapixels(path: Path) -> float:
    """The picture's size from its header (no decoding); 0 when it cannot be read (it then
    fails with its reason when its turn comes)."""
    size = header_size(path)
    return size[0] * size[1] / 1e6 if size else 0.0


def _redact_one(job: Job, redactor: Redactor, previous: FileRecord | None, preview_dir: Path | None) -> FileRecord:
    try:
        content = job.source.read_bytes()
    except OSError as error:
        return _failed(job, f"cannot read: {error.strerror or error}")
    digest = hashlib.sha256(content).digest()
    if (previous is not None and previous.done and previous.source_sha256 == digest.hex()
            and previous.config_fingerprint == redactor.config.fingerprint and job.output.is_file()):
        return previous.as_already_done()
    try:
        image = load(job.source)
        if image.frames > 1 and image.format not in STILL_WITH_EXTRAS:
            raise InputFileError(
                f"{job.source}: {image.format} with {image.frames} frames; unseen redacts still photos only "
                "(save the frame you want as a still image, or treat the animation as a video)")
        redaction = redactor.redact(image, rng=rng_for(digest, redactor.config.seed), file_format=job.file_format)
    except UnseenError as error:
        return _failed(job, str(error), digest)
    verification = redaction.verification
    refused = redactor.config.strict and verification is not None and not verification.passed
    if not refused:
        write_atomic(job.output, lambda temporary: temporary.write_bytes(redaction.data))
    if preview_dir is not None:
        save(preview_path(preview_dir, job), preview_image(redaction), file_format=OutputFormat.JPEG, quality=85)
    return FileRecord(
        source=str(job.source), status=FileStatus.REFUSED if refused else FileStatus.WRITTEN,
        output=None if refused else job.name, source_sha256=digest.hex(),
        config_fingerprint=redactor.config.fingerprint, width=image.width, height=image.height,
        format=redaction.file_format.value, faces=redaction.face_records(), review=tuple(redaction.review_reasons),
        verification=VerificationRecord.of(verification) if verification is not None else None,
        message="verification failed: not written (--strict)" if refused else "")


def preview_path(preview_dir: Path, job: Job) -> Path:
    """Where a job's preview goes: its output's place under OUTDIR, under ``preview_dir``."""
    return preview_dir / Path(job.name).with_suffix(".preview.jpg")


def _failed(job: Job, message: str, digest: bytes | None = None) -> FileRecord:
    return FileRecord(source=str(job.source), status=FileStatus.FAILED,
                      source_sha256=digest.hex() if digest else None, message=message)


def _timestamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))

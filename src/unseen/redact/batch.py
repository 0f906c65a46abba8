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
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from unseen import __version__
from unseen.errors import ExitCode, InputFileError, UnseenError
from unseen.media.files import write_atomic, write_json_atomic
from unseen.media.image import OutputFormat, is_image_path, load
from unseen.redact.photo import RedactConfig, Redactor, rng_for

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


class FileStatus(str, Enum):
    WRITTEN = "written"
    ALREADY_DONE = "already done"
    REFUSED = "refused"  # --strict and verification failed: nothing written
    FAILED = "failed"  # unreadable, unsupported, or an error while redacting


@dataclass(frozen=True)
class Job:
    """One input file and where its redacted copy goes; ``name`` is its path under OUTDIR's
    mirror of the inputs (what the record and messages call it)."""

    source: Path
    output: Path
    name: str
    file_format: OutputFormat


@dataclass(frozen=True)
class FileResult:
    job: Job
    status: FileStatus
    faces: int = 0
    review: tuple[str, ...] = ()
    verified: bool | None = None
    message: str = ""
    entry: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def needs_review(self) -> bool:
        return bool(self.review)


@dataclass(frozen=True)
class RunSummary:
    """What a run did, file by file, and the record it wrote."""

    results: tuple[FileResult, ...]
    record: Path
    seconds: float

    def count(self, status: FileStatus) -> int:
        return sum(result.status is status for result in self.results)

    @property
    def faces(self) -> int:
        return sum(result.faces for result in self.results if result.status in (FileStatus.WRITTEN, FileStatus.ALREADY_DONE))

    @property
    def needing_review(self) -> int:
        return sum(result.needs_review for result in self.results)

    @property
    def verification_failed(self) -> int:
        return sum(result.verified is False for result in self.results)

    @property
    def exit_code(self) -> ExitCode:
        if self.verification_failed:
            return ExitCode.VERIFICATION_FAILED
        if self.count(FileStatus.FAILED):
            return ExitCode.BAD_INPUT
        return ExitCode.OK


def plan(inputs: Sequence[str | Path], out_dir: str | Path, *, output_format: OutputFormat | None = None) -> list[Job]:
    """The jobs for ``inputs`` (files, and folders searched recursively for images).

    A missing input raises InputFileError before anything is done. Files inside ``out_dir``
    are never taken as inputs; two inputs that would share an output name get -2, -3, ...
    """
    out_dir = Path(out_dir)
    resolved_out = out_dir.resolve()
    jobs: list[Job] = []
    taken: set[Path] = set()
    for given in inputs:
        given = Path(given)
        if not given.exists():
            raise InputFileError(f"{given}: no such file or folder")
        if given.is_dir():
            found = sorted(p for p in given.rglob("*") if p.is_file() and is_image_path(p)
                           and not any(part.startswith(".") for part in p.relative_to(given).parts)
                           and not p.resolve().is_relative_to(resolved_out))
            pairs = [(p, Path(given.resolve().name or "input") / p.relative_to(given)) for p in found]
        else:
            pairs = [(given, Path(given.name))]
        for source, relative in pairs:
            chosen = output_format or _SUFFIX_FORMATS.get(source.suffix.lower(), OutputFormat.PNG)
            output = _free_name(out_dir / relative.parent, relative.stem, chosen.suffix, taken)
            taken.add(output)
            jobs.append(Job(source=source, output=output, name=output.relative_to(out_dir).as_posix(),
                            file_format=chosen))
    return jobs


def _free_name(folder: Path, stem: str, suffix: str, taken: set[Path]) -> Path:
    candidate = folder / f"{stem}{OUTPUT_TAG}{suffix}"
    number = 2
    while candidate in taken:
        candidate = folder / f"{stem}-{number}{OUTPUT_TAG}{suffix}"
        number += 1
    return candidate


def redact_files(inputs: Sequence[str | Path], *, out_dir: str | Path, config: RedactConfig | None = None,
                 on_start: Callable[[int], None] | None = None,
                 on_file: Callable[[FileResult], None] | None = None) -> RunSummary:
    """Redact every photo in ``inputs`` into ``out_dir``; see the module doc.

    ``on_start(total)`` is called once the inputs are listed, ``on_file(result)`` after each
    file (for a progress bar). Errors of single files are recorded and the run goes on.
    """
    config = config or RedactConfig()
    out_dir = Path(out_dir)
    jobs = plan(inputs, out_dir, output_format=config.output_format)
    record_path = out_dir / RECORD_NAME
    previous = _read_record(record_path)
    started = time.time()
    record: dict[str, Any] = {
        "tool": f"unseen {__version__}",
        "note": "Boxes and scores only: no face pixels, templates or metadata of the originals.",
        "config": config.to_record(),
        "config_fingerprint": config.fingerprint,
        "runs": previous.get("runs", []),
        "files": dict(previous.get("files", {})),  # files of earlier runs stay listed
    }
    run_entry: dict[str, Any] = {"started": _timestamp(started)}
    record["runs"].append(run_entry)
    redactor = Redactor(config)
    if on_start is not None:
        on_start(len(jobs))
    results = []
    saved = time.monotonic()
    try:
        for job in jobs:
            result = _redact_one(job, redactor, previous.get("files", {}).get(job.name))
            results.append(result)
            record["files"][job.name] = result.entry
            if time.monotonic() - saved >= RECORD_EVERY_S:
                write_json_atomic(record_path, record)
                saved = time.monotonic()
            if on_file is not None:
                on_file(result)
    finally:  # an interrupted run keeps the record of what it finished
        write_json_atomic(record_path, record)
    summary = RunSummary(results=tuple(results), record=record_path, seconds=time.time() - started)
    run_entry.update({
        "finished": _timestamp(time.time()), "files": len(results),
        **{status.value: summary.count(status) for status in FileStatus},
        "faces_covered": summary.faces, "needing_review": summary.needing_review,
        "verification_failed": summary.verification_failed,
    })
    write_json_atomic(record_path, record)
    return summary


def _redact_one(job: Job, redactor: Redactor, previous: dict | None) -> FileResult:
    try:
        content = job.source.read_bytes()
    except OSError as error:
        return _failed(job, f"cannot read: {error.strerror or error}")
    digest = hashlib.sha256(content).digest()
    if (previous and previous.get("status") in (FileStatus.WRITTEN.value, FileStatus.ALREADY_DONE.value)
            and previous.get("source_sha256") == digest.hex()
            and previous.get("config_fingerprint") == redactor.config.fingerprint and job.output.is_file()):
        return FileResult(job=job, status=FileStatus.ALREADY_DONE, faces=len(previous.get("faces", [])),
                          review=tuple(previous.get("review", [])),
                          verified=(previous.get("verification") or {}).get("passed"),
                          entry={**previous, "status": FileStatus.ALREADY_DONE.value})
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
    status = FileStatus.REFUSED if refused else FileStatus.WRITTEN
    entry = {
        "source": str(job.source),
        "output": job.name if not refused else None,
        "status": status.value,
        "source_sha256": digest.hex(),
        "config_fingerprint": redactor.config.fingerprint,
        "width": image.width,
        "height": image.height,
        "format": redaction.file_format.value,
        "faces": redaction.faces_record(),
        "review": redaction.review_reasons,
        "verification": verification.to_record() if verification is not None else None,
    }
    return FileResult(job=job, status=status, faces=len(redaction.faces), review=tuple(redaction.review_reasons),
                      verified=None if verification is None else verification.passed,
                      message="verification failed: not written (--strict)" if refused else "", entry=entry)


def _failed(job: Job, message: str, digest: bytes | None = None) -> FileResult:
    entry = {"source": str(job.source), "output": None, "status": FileStatus.FAILED.value,
             "source_sha256": digest.hex() if digest else None, "message": message}
    return FileResult(job=job, status=FileStatus.FAILED, message=message, entry=entry)


def _read_record(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a damaged record only means every file is done again
    return record if isinstance(record, dict) else {}


def _timestamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))

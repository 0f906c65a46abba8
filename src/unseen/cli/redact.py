"""`unseen redact`, `unseen inspect` and `unseen verify`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from unseen.cli.bars import progress_bar
from unseen.errors import ConfigError, VerificationFailedError
from unseen.examples import astronaut_photo
from unseen.faces.detectors.centerface import CenterFaceConfig
from unseen.media.image import OutputFormat, load
from unseen.media.metadata import inspect_file
from unseen.media.video import EncodeConfig, VideoCodec, is_video_path, probe
from unseen.redact.batch import BatchInterrupted, BatchStopped, FileResult, RunSummary, default_workers, redact_files
from unseen.redact.cover import CoverConfig, CoverShape, CoverStyle
from unseen.redact.photo import DEFAULT_THRESHOLD, RedactConfig, Redactor, places
from unseen.redact.record import FileStatus, VerificationRecord
from unseen.redact.verify import Verification
from unseen.redact.verify_video import VideoVerifyConfig, verify_video
from unseen.redact.video import FAST_EVERY, VideoRedactConfig

_DEFAULTS = RedactConfig()
_VIDEO_CHECK = VideoVerifyConfig()


def _config(*, threshold: Optional[float], thorough: bool, style: str, shape: Optional[str],
            padding: Optional[float], verify: bool, strict: bool, verify_threshold: Optional[float],
            output_format: Optional[str], quality: int, seed: int) -> RedactConfig:
    cover = CoverConfig(
        style=CoverStyle.parse(style, "--style"),
        shape=CoverShape.parse(shape, "--shape") if shape else _DEFAULTS.cover.shape,
        padding=(padding,) * 4 if padding is not None else _DEFAULTS.cover.padding)
    verification = _DEFAULTS.verification if verify_threshold is None else replace(
        _DEFAULTS.verification, threshold=verify_threshold)
    return RedactConfig(
        threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
        detector=replace(_DEFAULTS.detector, thorough=True, max_pass_pixels=CenterFaceConfig().max_pixels)
        if thorough else _DEFAULTS.detector,
        cover=cover, verify=verify, verification=verification, strict=strict,
        output_format=OutputFormat.parse(output_format, "--format") if output_format else None,
        quality=quality, seed=seed)


def _video_config(*, codec: str, crf: Optional[int], keep_audio: bool, paranoid: bool, fast: bool) -> VideoRedactConfig:
    encode = EncodeConfig(codec=VideoCodec.parse(codec, "--codec"), crf=crf, keep_audio=keep_audio)
    return VideoRedactConfig.fast(encode=encode, paranoid=paranoid) if fast else VideoRedactConfig(
        encode=encode, paranoid=paranoid)


def redact(
    inputs: Optional[list[Path]] = typer.Argument(
        None, help="Photos and videos, and folders searched recursively for them."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the redacted copies and the record."),
    style: str = typer.Option("solid", help="How faces are covered: solid (default), mosaic or blur."),
    shape: Optional[str] = typer.Option(None, help=f"box or ellipse (default {_DEFAULTS.cover.shape.value})."),
    padding: Optional[float] = typer.Option(
        None, help="Grow every face box by this fraction on each side (at least 0.25; default "
                   f"{', '.join(f'{p:g}' for p in _DEFAULTS.cover.padding)} for left, top, right, bottom)."),
    threshold: Optional[float] = typer.Option(None, help=f"Cover faces scoring at least this (default {DEFAULT_THRESHOLD})."),
    thorough: bool = typer.Option(False, "--thorough", help="Add MTCNN as a second opinion and upscale large photos "
                                                             "too (slower)."),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="Re-detect and re-identify on every output."),
    verify_threshold: Optional[float] = typer.Option(
        None, help=f"Detection threshold when verifying (default {_DEFAULTS.verification.threshold})."),
    strict: bool = typer.Option(False, "--strict", help="Do not write an output that fails verification."),
    output_format: Optional[str] = typer.Option(None, "--format", help="Write every output as jpeg, png, webp, tiff, heif or bmp."),
    quality: int = typer.Option(_DEFAULTS.quality, help="JPEG / WebP / HEIF quality (1-100)."),
    seed: int = typer.Option(0, help="Seed of the noise in mosaic and blur."),
    example: bool = typer.Option(False, "--example", help="Also redact the built-in example photo."),
    workers: Optional[int] = typer.Option(
        None, "--workers", min=1, help="Photos redacted at once, each in its own process (default: one per core, "
                                       "as memory allows, about 1.2 GB each)."),
    ray: Optional[str] = typer.Option(
        None, "--ray", help="Redact the photos on a Ray cluster: auto (the one this machine is in), local (a Ray "
                            "instance here, on 127.0.0.1 only) or HOST:PORT; files at the same paths on every node "
                            "(needs pip install 'unseen[ray]')."),
    preview: Optional[Path] = typer.Option(
        None, "--preview", help="Also write, into this folder, a small copy of each redacted photo with the covered "
                                "(green) and flagged (red, yellow) regions outlined, to see what to check."),
    codec: str = typer.Option("h264", help="Videos: h264 (MP4, default), hevc (MP4) or vp9 (WebM)."),
    crf: Optional[int] = typer.Option(None, help="Videos: constant quality, lower is better (default 18 for h264, "
                                                 "20 for hevc, 24 for vp9)."),
    keep_audio: bool = typer.Option(False, "--keep-audio", help="Videos: copy the audio (dropped by default: "
                                                                 "voices identify people)."),
    paranoid: bool = typer.Option(False, "--paranoid", help="Videos: cover whole frames where detection collapses "
                                                             "(e.g. motion blur over a crowd)."),
    fast: bool = typer.Option(False, "--fast", help=f"Videos: run the detector on every {FAST_EVERY}nd frame and "
                                                     "track faces between (about twice as fast; see the README for "
                                                     "what it costs)."),
) -> None:
    """Cover every face in photos and videos, strip all metadata, verify, and write copies to OUTDIR."""
    paths = list(inputs or []) + ([astronaut_photo()] if example else [])
    if not paths:
        raise ConfigError("redact: give at least one photo, video or folder, or --example")
    config = _config(threshold=threshold, thorough=thorough, style=style, shape=shape, padding=padding,
                     verify=verify, strict=strict, verify_threshold=verify_threshold,
                     output_format=output_format, quality=quality, seed=seed)
    video = _video_config(codec=codec, crf=crf, keep_audio=keep_audio, paranoid=paranoid, fast=fast)
    console = Console()
    try:
        from unseen.distributed import open_cluster

        with open_cluster(ray) as cluster, progress_bar(console) as bar:
            summary = redact_files(paths, out_dir=out, config=config, video=video, progress=bar,
                                   preview_dir=preview, workers=workers or default_workers(), cluster=cluster)
    except (BatchInterrupted, BatchStopped) as stopped:
        _print_summary(console, stopped.summary, out)
        raise
    _print_summary(console, summary, out)
    if preview is not None:
        console.print(f"previews (outlined: green covered, orange low confidence, red found by verification, "
                      f"yellow possible faces) in {preview}")
    summary.raise_for_failures()


DETAILED_UP_TO = 20
"""Runs of at most this many files get a line per file before the summary (failures and
refusals are printed as they happen in longer runs)."""


def _print_summary(console: Console, summary: RunSummary, out: Path) -> None:
    if len(summary.results) + len(summary.skipped) <= DETAILED_UP_TO:
        for result in summary.results:
            console.print(_file_line(result), highlight=False, soft_wrap=True)
        for skipped in summary.skipped:
            console.print(f"[dim]skipped[/] {skipped.path}: {skipped.reason}", highlight=False, soft_wrap=True)
    console.print(_summary_table(summary, out))


def _file_line(result: FileResult) -> str:
    source = result.job.source
    if result.status is FileStatus.FAILED:
        return f"[red]failed[/] {source}: {result.message}"
    if result.status is FileStatus.REFUSED:
        line = f"[red]refused[/] {source}: not written (--strict); {result.faces} face(s) found"
    else:
        done = "already done" if result.status is FileStatus.ALREADY_DONE else "written"
        line = f"{source} -> {result.job.output} ({done}): {result.faces} face(s) covered"
    verification = result.record.video_verification if result.job.is_video else result.record.verification
    if result.record.video is not None:
        video = result.record.video
        line = line.replace("face(s) covered", f"face track(s) covered in {video.frames} frames "
                                               f"({video.frames / max(video.seconds, 1e-9):.1f} fps, audio {video.audio})")
    if verification is None:
        line += "; not verified"
    else:
        verdict = "" if verification.passed else "[bold red]verification FAILED:[/] "
        line += f"; {verdict}{verification.statement}"
    if result.review:
        line += f"; [yellow]review:[/] {'; '.join(result.review)}"
    return line


def _summary_table(summary: RunSummary, out: Path) -> Table:
    table = Table(title=f"redacted into {out} in {summary.seconds:.1f} s", show_header=False)
    table.add_column(justify="right")
    table.add_column()
    named = len(summary.results) + len(summary.skipped) <= DETAILED_UP_TO
    rows = [
        ("files", str(len(summary.results) + len(summary.not_started))),
        ("written", str(summary.count(FileStatus.WRITTEN))),
        ("already done", str(summary.count(FileStatus.ALREADY_DONE))),
        ("faces covered", str(summary.faces)),
        ("need review", _list(r.job.source for r in summary.results if r.needs_review)),
        ("verification failed", _list(r.job.source for r in summary.results if r.verified is False)),
        ("refused (--strict)", _count(r for r in summary.results if r.status is FileStatus.REFUSED)),
        ("failed", _count(r for r in summary.results if r.status is FileStatus.FAILED)),
        ("skipped", _count(summary.skipped) if named else _skipped(summary)),
    ]
    if summary.not_started:
        rows.append(("not started (run stopped)", _list(job.source for job in summary.not_started)))
    rows.append(("record", str(summary.record)))
    for name, value in rows:
        table.add_row(name, value)
    return table


def _count(items) -> str:
    """A count; the files themselves are named once, above (in the file lines or as they failed)."""
    return str(sum(1 for _ in items))


def _list(paths) -> str:
    names = [str(path) for path in paths]
    shown = ", ".join(names[:5]) + (f", ... ({len(names)} in all)" if len(names) > 5 else "")
    return f"{len(names)}" + (f": {shown}" if names else "")


def _skipped(summary: RunSummary) -> str:
    """Skipped files by reason, a few named of each."""
    by_reason: dict[str, list[Path]] = {}
    for skipped in summary.skipped:
        by_reason.setdefault(skipped.reason, []).append(skipped.path)
    return "; ".join(f"{reason}: {_list(paths)}" for reason, paths in by_reason.items()) or "0"


def inspect(
    files: list[Path] = typer.Argument(..., help="Image or video files to look into (never changed)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """List the metadata a file carries, marking what could identify a person, place or device."""
    reports = [inspect_file(path) for path in files]
    if as_json:
        print(json.dumps([report.to_record() for report in reports], indent=2, ensure_ascii=False))
        return
    console = Console()
    for report in reports:
        if report.clean:
            console.print(f"[green]{report.path}[/] ({report.format}): no metadata", highlight=False)
            continue
        table = Table(title=f"{report.path} ({report.format}): {len(report.identifying)} identifying of "
                            f"{len(report.items)} item(s)")
        for column in ("kind", "where", "value", "identifying"):
            table.add_column(column)
        for item in report.items:
            table.add_row(item.kind.value, item.name, item.value, "[red]yes[/]" if item.identifying else "no")
        console.print(table)


def verify(
    original: Path = typer.Argument(..., help="The original photo."),
    redacted: Path = typer.Argument(..., help="Its redacted copy (made by unseen or any other tool)."),
    threshold: Optional[float] = typer.Option(None, help=f"Faces in the original: score at least this (default {DEFAULT_THRESHOLD})."),
    verify_threshold: Optional[float] = typer.Option(
        None, help=f"Detection threshold on the redacted copy (default {_DEFAULTS.verification.threshold})."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    every: int = typer.Option(_VIDEO_CHECK.every, help="Videos: re-detect on every this-many-th frame (1: all); "
                                                      f"recognizers every {_VIDEO_CHECK.recognize_every}th."),
) -> None:
    """Check a redacted photo or video: can a face be re-detected, or re-identified against the original?"""
    if is_video_path(original):
        _verify_video(original, redacted, every=every, as_json=as_json)
        return
    config = _config(threshold=threshold, thorough=False, style="solid", shape=None, padding=None, verify=True,
                     strict=False, verify_threshold=verify_threshold, output_format=None, quality=_DEFAULTS.quality,
                     seed=0)
    faces, verification = Redactor(config).verify(load(original), load(redacted))
    metadata = inspect_file(redacted)
    if as_json:
        print(json.dumps({"faces_in_original": len(faces), "verification": VerificationRecord.of(verification).to_json(),
                          "metadata": metadata.to_record()}, indent=2, ensure_ascii=False))
    else:
        _print_verification(Console(), len(faces), verification, metadata.identifying)
    if not verification.passed:
        raise VerificationFailedError(f"{redacted}: a face can still be found or matched (see above)")


def _verify_video(original: Path, redacted: Path, *, every: int, as_json: bool) -> None:
    config = replace(_VIDEO_CHECK, every=every, recognize_every=max(every, _VIDEO_CHECK.recognize_every // every * every))
    console = Console(stderr=as_json)
    with progress_bar(console) as bar:
        verification = verify_video(original, redacted, config=config, frames=probe(original).frames, progress=bar)
    metadata = inspect_file(redacted)
    if as_json:
        print(json.dumps({"verification": verification.to_json(), "metadata": metadata.to_record()}, indent=2,
                         ensure_ascii=False))
    else:
        verdict = "[green]passed[/]" if verification.passed else "[bold red]FAILED[/]"
        console.print(f"verification {verdict}: {verification.statement}", highlight=False)
        for frame, problem, box in verification.examples:
            console.print(f"  frame {frame}: {problem} at {tuple(round(v) for v in box)}", highlight=False)
        if verification.unavailable:
            console.print(f"  [yellow]not installed, not checked:[/] {', '.join(verification.unavailable)}")
        console.print(f"  identifying metadata in the redacted file: {len(metadata.identifying)}"
                      + (f" ({', '.join(sorted({item.kind.value for item in metadata.identifying}))})"
                         if metadata.identifying else ""))
    if not verification.passed:
        raise VerificationFailedError(f"{redacted}: a face can still be found or matched in "
                                      f"{len(verification.failed)} frame(s) (see above)")


def _print_verification(console: Console, faces: int, verification: Verification, identifying) -> None:
    verdict = "[green]no face found[/]" if verification.passed else "[bold red]FAILED[/]"
    console.print(f"verification: {verdict} ({faces} face(s) in the original); checked:")
    for check in verification.checks():
        console.print(f"  - {check}")
    console.print(f"  re-detected over a covered face: {len(verification.redetected)} "
                  f"(and {len(verification.on_fill)} seeing only flat fill, not a leak)")
    console.print(f"  clear faces left uncovered: {len(verification.exposed)}"
                  + (f" at {places(verification.exposed)}" if len(verification.exposed) else ""))
    console.print(f"  possible faces elsewhere, to review: {len(verification.candidates)}"
                  + (f" at {places(verification.candidates)}" if len(verification.candidates) else ""))
    if verification.embedders:
        console.print(f"  recognizers: {int(verification.matched.sum())} still matched; closest to a match "
                      f"(similarity minus threshold): {verification.closest_to_match()}; matched on the "
                      f"surroundings alone, not counted: {int(verification.uninformative.any(axis=1).sum())}")
    if verification.unavailable:
        console.print(f"  [yellow]not installed, not checked:[/] {', '.join(verification.unavailable)}")
    console.print(f"  identifying metadata in the redacted file: {len(identifying)}"
                  + (f" ({', '.join(sorted({item.kind.value for item in identifying}))})" if identifying else ""))


def register(app: typer.Typer) -> None:
    app.command()(redact)
    app.command()(inspect)
    app.command()(verify)


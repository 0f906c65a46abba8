"""How many faces the default redaction hides on a WIDER-layout pack, beside deface's defaults.

    python benchmarks/redact_wider.py PACK --out DIR [--limit N] [--verify-sample K]

For every image it runs, in the same process and one after the other:

- ours: the default `unseen redact` pipeline (ensemble detection, cover, encode) and
  writes the boxes actually covered (the box each cover shape was drawn in, in pixels of
  the original image) as ``DIR/<event>/<name>.txt`` in WIDER format, the seconds per
  image as ``DIR/times.json`` and the shape drawn in each box as ``DIR/shape.txt``;
- deface 1.5 with its defaults: its own CenterFace wrapper at threshold 0.2, boxes grown
  by 30% per side (`deface.deface.scale_bb` with mask scale 1.3) and clipped as deface
  clips them, an ellipse covered in each; written the same way under ``DIR/deface/``.

Resumable: an image whose txt exists is not run again. Verification (re-detection and
recognizers) does not change what is covered; it runs on the first ``--verify-sample``
images redacted in a run only, and its time is printed apart.

Then it prints, ours beside deface's: the share of valid faces hidden (at least 80% of
the face box covered, `unseen.audit.detection.coverage`) overall, on the protest events, by face
height and by pooled perceived skin type; the share of image area covered in all and away
from faces (mean over images); seconds per image; and how the targets are met.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from unseen.audit.detection.box_files import SHAPE_FILE, read_cover_shape, read_wider_dir, write_wider_txt
from unseen.audit.detection.coverage import PackCoverage, pack_coverage
from unseen.audit.detection.groups import (
    HEIGHT_BUCKETS, SKIN, SKIN_POOLS, FaceGroup, count_rates, height_groups, label_groups,
)
from unseen.audit.detection.pack import PROTEST_EVENTS, LabelledFaces, load_pack
from unseen.audit.detection.run import TIMES_FILE, read_times
from unseen.audit.stats.rates import Group
from unseen.faces.boxes import CoverShape, xyxy_to_xywh
from unseen.media.files import write_json_atomic, write_text_atomic
from unseen.media.image import decode, load
from unseen.redact.photo import RedactConfig, Redactor, rng_for
from unseen.redact.verify import verify_redaction

DEFACE_THRESHOLD = 0.2
DEFACE_MASK_SCALE = 1.3
DEFACE_DIR = "deface"
TARGET_GAP = 0.01


class DefaceDefaults:
    """deface's image path with its default options, as `deface photo.jpg` runs it."""

    def __init__(self) -> None:
        from deface.centerface import CenterFace

        # deface's own default backend; the CPU provider named because onnxruntime lists a
        # cloud provider first here (detections are the same, timings are the CPU's)
        self.centerface = CenterFace(backend="auto", override_execution_provider="CPUExecutionProvider")

    def covered_boxes(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """(boxes xyxy, scores, seconds): what deface covers (an ellipse in each box) and
        how long detection plus its default blur took."""
        from deface.deface import anonymize_frame, scale_bb

        frame = rgb.copy()
        start = time.perf_counter()
        dets, _ = self.centerface(frame, threshold=DEFACE_THRESHOLD)
        anonymize_frame(dets, frame, mask_scale=DEFACE_MASK_SCALE, replacewith="blur", ellipse=True,
                        draw_scores=False, replaceimg=None, mosaicsize=20)
        seconds = time.perf_counter() - start
        height, width = rgb.shape[:2]
        boxes = []
        for det in dets:  # the same steps as deface.deface.anonymize_frame
            x1, y1, x2, y2 = scale_bb(*det[:4].astype(int), DEFACE_MASK_SCALE)
            boxes.append([max(0, x1), max(0, y1), min(width - 1, x2), min(height - 1, y2)])
        return np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(dets[:, 4], np.float64), seconds


def _write_boxes(faces: LabelledFaces, directory: Path, i: int, xyxy: np.ndarray, score: np.ndarray) -> None:
    write_wider_txt(faces.boxes_file(directory, i), faces.image_stem(i), xyxy_to_xywh(xyxy), score)


def run(faces: LabelledFaces, out: Path, *, verify_sample: int, progress) -> dict[str, list[float]]:
    """Redact every image not yet done with ours and deface's defaults; returns the
    verification timings and outcomes of this run's sample."""
    config = RedactConfig(verify=False)
    redactor = Redactor(config)
    checker = Redactor(RedactConfig())
    deface = DefaceDefaults()
    deface_dir = out / DEFACE_DIR
    write_text_atomic(out / SHAPE_FILE, config.cover.shape.value + "\n")
    write_text_atomic(deface_dir / SHAPE_FILE, "ellipse\n")
    times, deface_times = read_times(out), read_times(deface_dir)
    verification: dict[str, list[float]] = {"seconds": [], "passed": []}
    warmed = False
    for i in range(faces.n_images):
        ours_file, deface_file = faces.boxes_file(out, i), faces.boxes_file(deface_dir, i)
        if ours_file.is_file() and deface_file.is_file():
            progress()
            continue
        image = load(faces.image_path(i))
        if not warmed:  # model loading stays out of the timings
            redactor.find_faces(image.rgb)
            deface.covered_boxes(image.rgb)
            warmed = True
        name = str(faces.images[i])
        start = time.perf_counter()
        redaction = redactor.redact(image, rng=rng_for(name.encode(), config.seed))
        times[name] = round(time.perf_counter() - start, 4)
        _write_boxes(faces, out, i, redaction.regions.xyxy.astype(np.float64), redaction.faces.score.astype(np.float64))
        boxes, scores, seconds = deface.covered_boxes(image.rgb)
        deface_times[name] = round(seconds, 4)
        _write_boxes(faces, deface_dir, i, boxes, scores)
        write_json_atomic(out / TIMES_FILE, times)
        write_json_atomic(deface_dir / TIMES_FILE, deface_times)
        if len(verification["seconds"]) < verify_sample:
            start = time.perf_counter()
            result = verify_redaction(original=image.rgb, redacted=decode(redaction.data)[0], faces=redaction.faces,
                                      detector=checker.detector, config=checker.config.verification,
                                      recognizers=checker.recognizers)
            verification["seconds"].append(time.perf_counter() - start)
            verification["passed"].append(float(result.passed))
        progress()
    return verification


def _rows(faces: LabelledFaces) -> list[FaceGroup]:
    """The table's rows: which valid faces each counts."""
    valid, none = faces.valid, np.zeros(len(faces), bool)

    def row(name: str, members: np.ndarray) -> FaceGroup:
        return FaceGroup(Group(name=name), members, none)

    rows = [row("all valid faces", valid), row("protest events", valid & np.isin(faces.event, PROTEST_EVENTS))]
    rows += [row(f"height {g.group.within} px", g.members) for g in height_groups(faces, valid)]
    if SKIN in faces.attributes:
        for where, suffix in ((valid, ""), (valid & (faces.height >= 16), ", >= 16 px")):
            rows += [row(f"skin {g.group.label}{suffix}", g.members)
                     for g in label_groups(SKIN, faces.attributes[SKIN], SKIN_POOLS, where=where)]
    rows += [row(">= 16 px", valid & (faces.height >= 16)),
             row("10-16 px", valid & (faces.height >= 10) & (faces.height < 16))]
    return rows


def _rates(faces: LabelledFaces, coverage: PackCoverage) -> dict[str, float]:
    return {rate.group.name: rate.value for rate in count_rates(_rows(faces), coverage.hidden)}


def _counts(faces: LabelledFaces) -> dict[str, int]:
    return {rate.group.name: rate.n for rate in count_rates(_rows(faces), faces.valid)}


def _targets(ours: dict[str, float], theirs: dict[str, float], away: tuple[float, float]) -> list[tuple[str, bool, str]]:
    groups = [f"height {label} px" for label in HEIGHT_BUCKETS[1:]] + [
        f"skin {label}" for label, _ in SKIN_POOLS]
    behind = [g for g in groups if g in ours and not ours[g] > theirs[g]]
    gap = ours.get("skin I-II, >= 16 px", np.nan) - ours.get("skin V-VI, >= 16 px", np.nan)
    return [
        ("more faces hidden than deface in every size bucket from 10 px and every skin group",
         not behind, "all ahead" if not behind else "not ahead in: " + ", ".join(behind)),
        ("no more image area covered away from faces than deface",
         away[0] <= away[1], f"{100 * away[0]:.2f}% vs {100 * away[1]:.2f}%"),
        ("hidden-rate gap I-II vs V-VI for faces >= 16 px at most 1 point",
         abs(gap) <= TARGET_GAP, f"{100 * gap:+.1f} points"),
        ("moonshot: >= 98% of faces >= 16 px hidden", ours[">= 16 px"] >= 0.98, f"{ours['>= 16 px']:.3f}"),
        ("moonshot: >= 90% of faces 10-16 px hidden", ours["10-16 px"] >= 0.90, f"{ours['10-16 px']:.3f}"),
    ]


def report(console: Console, faces: LabelledFaces, out: Path, verification: dict[str, list[float]]) -> None:
    results = {}
    for label, directory in (("ours", out), ("deface", out / DEFACE_DIR)):
        boxes = read_wider_dir(directory, faces)
        done = boxes.found
        coverage = pack_coverage(faces.only_images(done), boxes.only_images(done),
                                 shape=read_cover_shape(directory, default=CoverShape.BOX))
        seconds = np.array([read_times(directory).get(str(name), np.nan) for name in faces.images[done]])
        results[label] = (faces.only_images(done), coverage, seconds)
    sub_faces, ours_cov, ours_sec = results["ours"]
    _, deface_cov, deface_sec = results["deface"]
    ours, theirs = _rates(sub_faces, ours_cov), _rates(sub_faces, deface_cov)
    counts = _counts(sub_faces)
    table = Table(title=f"faces hidden (>= 80% of the box covered) on {sub_faces.n_images} images, "
                        f"{int(sub_faces.valid.sum())} valid faces")
    for column in ("", "faces", "ours", "deface defaults", "ours - deface"):
        table.add_column(column, justify="right")
    for key in ours:
        table.add_row(key, str(counts.get(key, "")), f"{ours[key]:.3f}", f"{theirs[key]:.3f}",
                      f"{100 * (ours[key] - theirs[key]):+.1f} pt")
    away = (ours_cov.mean_covered_away_share(), deface_cov.mean_covered_away_share())
    table.add_row("image area covered", "", f"{100 * ours_cov.mean_covered_share():.2f}%",
                  f"{100 * deface_cov.mean_covered_share():.2f}%", "")
    table.add_row("... away from faces", "", f"{100 * away[0]:.2f}%", f"{100 * away[1]:.2f}%", "")
    table.add_row("seconds per image, median", "", f"{np.nanmedian(ours_sec):.3f}", f"{np.nanmedian(deface_sec):.3f}",
                  f"x{np.nanmedian(ours_sec) / np.nanmedian(deface_sec):.1f}")
    table.add_row("seconds per image, mean", "", f"{np.nanmean(ours_sec):.3f}", f"{np.nanmean(deface_sec):.3f}", "")
    console.print(table)
    console.print("ours: detection, covering and encoding; deface: detection and its default blur. "
                  f"shapes: ours {ours_cov.shape.value}, deface {deface_cov.shape.value}.")
    if verification["seconds"]:
        console.print(f"verification (re-detection + recognizers) on {len(verification['seconds'])} images of this "
                      f"run: median {np.median(verification['seconds']):.2f} s more per image; "
                      f"{int(sum(verification['passed']))} passed")
    for name, met, detail in _targets(ours, theirs, away):
        console.print(f"[{'green' if met else 'red'}]{'met   ' if met else 'missed'}[/] {name}: {detail}")


def main(
    pack: Path = typer.Argument(..., help="WIDER-layout pack: faces.csv + images/."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the covered boxes, times.json and shape.txt."),
    limit: Optional[int] = typer.Option(None, help="Only the first N images (a quick check)."),
    verify_sample: int = typer.Option(20, help="Verify the first K images redacted in this run, timed apart."),
) -> None:
    console = Console()
    faces = load_pack(pack)
    if limit is not None:
        faces = faces.only_images(np.arange(faces.n_images) < limit)
    console.print(f"redacting {faces.n_images} images of {pack} ({len(faces)} annotated faces) with the default "
                  "configuration and with deface's defaults")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("redacting", total=faces.n_images)
        verification = run(faces, out, verify_sample=verify_sample, progress=lambda: progress.advance(task))
    report(console, faces, out, verification)


if __name__ == "__main__":
    typer.run(main)

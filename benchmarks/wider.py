"""WIDER benchmark of a face detector over a WIDER-layout pack (faces.csv + images/).

    python benchmarks/wider.py PACK --detector centerface --out DIR

Runs the detector over every image (resumable: images whose txt exists are skipped) and
writes DIR/<event>/<name>.txt in WIDER format, recorded down to a low score so AP sees
the PR curve, plus DIR/times.json (seconds per image). Then prints recall at IoU >= 0.5
at the detector's operating threshold by face height and by perceived skin type, the
official WIDER AP on easy/medium/hard, false positives per image and seconds per image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from unseen.audit.detection import DetectionSummary, summarise_detection
from unseen.audit.pack_detect import RECORDING_THRESHOLD, detect_pack, seconds_per_image
from unseen.audit.wider import load_pack
from unseen.faces.registry import build_detector


def rates_table(title: str, rates) -> Table:
    table = Table(title=title)
    for column in ("group", "faces", "found", "recall"):
        table.add_column(column, justify="right")
    for label, n, k, rate in rates.rows():
        table.add_row(label, str(n), str(k), "-" if np.isnan(rate) else f"{rate:.3f}")
    return table


def print_summary(console: Console, summary: DetectionSummary, seconds: np.ndarray) -> None:
    console.print(f"recall at IoU >= 0.5, score >= {summary.threshold}: {summary.found}/{summary.faces} valid faces "
                  f"= {summary.recall:.3f}; false positives per image: {summary.false_positives_per_image:.2f}")
    console.print(rates_table("recall by face height (px)", summary.by_height))
    if summary.by_skin is not None:
        console.print(rates_table("recall by perceived skin type", summary.by_skin))
    if summary.ap is not None:
        table = Table(title="official WIDER AP (all recorded boxes)")
        for column in ("set", "faces", "AP"):
            table.add_column(column, justify="right")
        for setting in summary.ap.settings:
            table.add_row(setting.name, str(setting.faces), f"{setting.ap:.4f}")
        console.print(table)
    timed = seconds[np.isfinite(seconds)]
    if len(timed):
        console.print(f"seconds per image: median {np.median(timed):.3f} over {len(timed)} images "
                      f"(mean {timed.mean():.3f}; detection only, at the recording threshold)")


def main(
    pack: Path = typer.Argument(..., help="WIDER-layout pack: faces.csv + images/."),
    detector: str = typer.Option(..., "--detector", "-d", help="Detector name (see `unseen models`)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for DIR/<event>/<name>.txt and times.json."),
    threshold: Optional[float] = typer.Option(None, help="Operating threshold for recall (the detector's default)."),
    record_threshold: float = typer.Option(RECORDING_THRESHOLD, help="Lowest score written to the txt files."),
    limit: Optional[int] = typer.Option(None, help="Only the first N images (a quick check)."),
) -> None:
    console = Console()
    faces = load_pack(pack)
    if limit is not None:
        faces = faces.only_images(np.arange(faces.n_images) < limit)
    model = build_detector(detector)
    operating = model.default_threshold if threshold is None else threshold
    console.print(f"{detector} on {pack}: {faces.n_images} images, {len(faces)} annotated faces; "
                  f"boxes recorded from score {record_threshold}, recall read at {operating}")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"detecting ({detector})", total=faces.n_images)
        boxes = detect_pack(faces, detector=model, out_dir=out, threshold=record_threshold,
                            on_image=lambda i, ran: progress.advance(task))
    print_summary(console, summarise_detection(faces, boxes, threshold=operating), seconds_per_image(faces, out))


if __name__ == "__main__":
    typer.run(main)

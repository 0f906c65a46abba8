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
from rich.table import Table

from unseen.audit.detection.box_files import PackBoxes
from unseen.audit.detection.groups import SKIN, SKIN_GROUPS, count_rates, height_groups, label_groups
from unseen.audit.detection.matching import match_boxes
from unseen.audit.detection.pack import SET_NAMES, LabelledFaces, load_pack
from unseen.audit.detection.run import RECORDING_THRESHOLD, detect_pack, seconds_per_image
from unseen.audit.detection.wider_ap import wider_ap
from unseen.audit.stats.rates import RateTable
from unseen.cli.bars import progress_bar
from unseen.faces.registry import build_detector


def rates_table(title: str, rates: RateTable) -> Table:
    table = Table(title=title)
    for column in ("group", "faces", "found", "recall"):
        table.add_column(column, justify="right")
    for rate in rates:
        table.add_row(rate.group.within or rate.group.label, str(rate.n), str(rate.k),
                      "-" if np.isnan(rate.value) else f"{rate.value:.3f}")
    return table


def print_summary(console: Console, faces: LabelledFaces, boxes: PackBoxes, threshold: float,
                  seconds: np.ndarray) -> None:
    """Recall at the operating threshold (valid faces), by height and skin type; AP over every
    recorded box; false positives per image."""
    matches = match_boxes(faces, boxes.above(threshold))
    valid = faces.valid
    found = int((matches.detected & valid).sum())
    fp = float(matches.false_positives_per_image().mean()) if faces.n_images else float("nan")
    recall = found / int(valid.sum()) if valid.any() else float("nan")
    console.print(f"recall at IoU >= 0.5, score >= {threshold}: {found}/{int(valid.sum())} valid faces "
                  f"= {recall:.3f}; false positives per image: {fp:.2f}")
    console.print(rates_table("recall by face height (px)", count_rates(height_groups(faces, valid), matches.detected)))
    if SKIN in faces.attributes:
        by_skin = count_rates(label_groups(SKIN, faces.attributes[SKIN], SKIN_GROUPS, where=valid), matches.detected)
        console.print(rates_table("recall by perceived skin type", by_skin))
    if all(name in faces.sets for name in SET_NAMES):
        table = Table(title="official WIDER AP (all recorded boxes)")
        for column in ("set", "faces", "AP"):
            table.add_column(column, justify="right")
        for setting in wider_ap(faces, boxes).settings:
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
    with progress_bar(console) as bar:
        boxes = detect_pack(faces, detector=model, out_dir=out, threshold=record_threshold, progress=bar)
    print_summary(console, faces, boxes, operating, seconds_per_image(faces, out))


if __name__ == "__main__":
    typer.run(main)

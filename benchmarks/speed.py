"""Speed of the face engine: milliseconds per image for each detector and per face for
each recognizer, on real crowd photos resized to 640x480 and to 1920x1080.

    python benchmarks/speed.py [DATA] [--images 6] [--repeats 3]

DATA is the evaluation data folder (default: $UNSEEN_DATA, else ../shared/data); the
photos are a fixed spread of wider/images that each hold at least one face of 40 px or
more. Each figure is the median over photos (or faces) x repeats, after one warm-up run
per model; recognizers embed the faces CenterFace finds (up to 3 per photo), one at a time.
Timings depend on the machine and on what else it runs: compare rows of the same run.
"""

from __future__ import annotations

import os
import time
from typing import Optional

import cv2
import numpy as np
import pandas as pd
import typer

from _faces import data_root
from unseen.faces.registry import build_detector, build_embedder
from unseen.media.image import load

SIZES = ((640, 480), (1920, 1080))
DETECTORS = ("centerface", "mtcnn")
RECOGNIZERS = ("dlib", "facenet")
FACES_PER_PHOTO = 3


def pick_photos(wider, count: int) -> list:
    faces = pd.read_csv(wider / "faces.csv")
    usable = sorted(faces[(faces.invalid == 0) & (faces.h >= 40)].image.unique())
    step = max(1, len(usable) // count)
    return [wider / "images" / name for name in usable[::step][:count]]


def median_ms(run, inputs, repeats: int) -> float:
    run(inputs[0])  # warm-up: loads the model
    times = []
    for _ in range(repeats):
        for item in inputs:
            start = time.perf_counter()
            run(item)
            times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def main(data: Optional[str] = typer.Argument(None, help="evaluation data folder"),
         images: int = typer.Option(6, help="how many WIDER photos"),
         repeats: int = typer.Option(3, help="timed runs per photo or face")) -> None:
    photos = [load(path).rgb for path in pick_photos(data_root(data) / "wider", images)]
    resized = {size: [cv2.resize(photo, size, interpolation=cv2.INTER_AREA if size[0] < photo.shape[1]
                                 else cv2.INTER_LINEAR) for photo in photos] for size in SIZES}
    rows = []
    for name in DETECTORS:
        detector = build_detector(name)
        rows.append((name, "ms / image", [median_ms(detector.detect, resized[size], repeats) for size in SIZES]))
    finder = build_detector("centerface")
    faces = {size: [(image, found[i:i + 1]) for image in resized[size]
                    for found in [finder.detect(image).sorted_by_score()] for i in range(min(FACES_PER_PHOTO, len(found)))]
             for size in SIZES}
    for name in RECOGNIZERS:
        embedder = build_embedder(name)
        rows.append((name, "ms / face", [median_ms(lambda item: embedder.embed(*item), faces[size], repeats)
                                         for size in SIZES]))
    counts = ", ".join(f"{len(faces[size])} faces at {size[0]}x{size[1]}" for size in SIZES)
    print(f"{len(photos)} WIDER photos, {counts}; {repeats} repeats; {os.cpu_count()} CPU cores")
    print(f"{'model':<12} {'unit':<11} " + " ".join(f"{f'{w}x{h}':>10}" for w, h in SIZES))
    for name, unit, values in rows:
        print(f"{name:<12} {unit:<11} " + " ".join(f"{value:>10.1f}" for value in values))


if __name__ == "__main__":
    typer.run(main)

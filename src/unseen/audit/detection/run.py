"""Run a detector over every image of a pack, saving its boxes as WIDER txt files.

Resumable: an image whose txt already exists is not run again. ``DIR/times.json`` maps
each image (path under ``images/``) to the seconds its detection took.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from unseen.audit.detection.box_files import PackBoxes, read_wider_dir, write_wider_txt
from unseen.audit.detection.pack import LabelledFaces
from unseen.errors import InputFileError
from unseen.faces.detectors.base import Detector, check_threshold
from unseen.faces.registry import build_detector
from unseen.media.files import write_json_atomic
from unseen.media.image import load
from unseen.progress import SILENT, Progress

TIMES_FILE = "times.json"
RECORDING_THRESHOLD = 0.1
"""Boxes are recorded down to this score so AP sees the PR curve; recall is read at the
detector's own operating threshold from the same files. Lower costs much time and memory
on crowd photos (CenterFace keeps tens of thousands of candidates before suppression)."""


def read_times(out_dir: str | Path) -> dict[str, float]:
    path = Path(out_dir) / TIMES_FILE
    if not path.is_file():
        return {}
    try:
        return {str(k): float(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    except (ValueError, AttributeError) as error:
        raise InputFileError(f"{path}: expected a JSON object of image -> seconds ({error})") from None


def detect_pack(faces: LabelledFaces, *, detector: Detector | str, out_dir: str | Path,
                threshold: float = RECORDING_THRESHOLD, progress: Progress = SILENT) -> PackBoxes:
    """Detect faces in every image of ``faces`` not yet done under ``out_dir``; return all boxes.

    ``progress`` advances once per image, done now or before. Boxes are written in pixels
    of the upright image, ``x y w h score``.
    """
    threshold = check_threshold(threshold)
    out_dir = Path(out_dir)
    model = build_detector(detector) if isinstance(detector, str) else detector
    times = read_times(out_dir)
    warmed = False
    progress.start(faces.n_images, unit="images", description=f"detecting ({model.name})")
    for i in range(faces.n_images):
        target = faces.boxes_file(out_dir, i)
        if target.is_file():
            progress.advance()
            continue
        rgb = load(faces.image_path(i)).rgb
        if not warmed:  # the first call loads the model: keep that out of the timings
            model.detect(rgb, threshold=threshold)
            warmed = True
        start = time.perf_counter()
        found = model.detect(rgb, threshold=threshold)
        seconds = time.perf_counter() - start
        write_wider_txt(target, faces.image_stem(i), found.xywh.astype(np.float64), found.score.astype(np.float64))
        times[str(faces.images[i])] = round(seconds, 4)
        write_json_atomic(out_dir / TIMES_FILE, times)
        progress.advance()
    return read_wider_dir(out_dir, faces)


def seconds_per_image(faces: LabelledFaces, out_dir: str | Path) -> np.ndarray:
    """(m,) seconds each image took (NaN where not recorded)."""
    times = read_times(out_dir)
    return np.array([times.get(str(name), np.nan) for name in faces.images], np.float64)

"""12-megapixel phone photos: unseen's default redaction beside deface, in one run.

    python benchmarks/redact_phone.py [DATA] --out DIR [--photos 6]

Makes phone-style photos from WIDER crowd photos of DATA/wider (protest events): each is
upscaled to 4000 x 3000, stored sideways with EXIF orientation 6 (as a phone held upright
stores it), with GPS, serial numbers, a thumbnail, XMP and IPTC; the annotated face boxes
are carried through the upscale. Then each tool runs in its own process, one after the
other, over the same files, as a user runs it:

- unseen: `unseen.redact.batch.redact_files` with the default options (verification
  included) on each photo; its covered boxes are read from the record;
- deface 1.5: `deface.deface.image_detect` with its defaults (threshold 0.2, boxes grown
  30%, an ellipse blurred in each), which reads the stored pixels without turning them;
  its boxes are put back in the upright photo's pixels to be judged.

It prints the share of faces hidden (at least 80% of the box covered) by face height,
seconds per photo (median, file read to file written) and each process's peak memory.
Photos are written under DIR (never inside the project); a rerun reuses them.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import typer
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' camera-file maker

from _faces import data_root  # noqa: E402
from tests.media.camera_files import camera_jpeg  # noqa: E402
from unseen.media.files import write_json_atomic  # noqa: E402

# The audit modules are imported where the parent process judges the outputs, so that a
# worker running another version of unseen (--compare) needs only its redaction API.

WIDTH, HEIGHT = 4000, 3000
MIN_FACES = 8
FACES_FILE = "faces.json"
DEFACE_THRESHOLD = 0.2
DEFACE_MASK_SCALE = 1.3
TOOLS = ("unseen", "deface")


def _upscaled(rgb: np.ndarray, xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The photo scaled to cover 4000 x 3000 and centre-cropped; its faces carried along
    (those whose centre leaves the crop are dropped, the rest clipped)."""
    height, width = rgb.shape[:2]
    scale = max(WIDTH / width, HEIGHT / height)
    big = cv2.resize(rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_CUBIC)
    x0, y0 = (big.shape[1] - WIDTH) // 2, (big.shape[0] - HEIGHT) // 2
    boxes = xyxy * scale - np.array([x0, y0, x0, y0])
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    inside = (centre[:, 0] >= 0) & (centre[:, 0] < WIDTH) & (centre[:, 1] >= 0) & (centre[:, 1] < HEIGHT)
    boxes = np.clip(boxes[inside], 0, [WIDTH, HEIGHT, WIDTH, HEIGHT])
    return np.ascontiguousarray(big[y0:y0 + HEIGHT, x0:x0 + WIDTH]), boxes


def make_photos(data: Path, folder: Path, count: int) -> dict[str, list[list[float]]]:
    """Write ``count`` phone photos under ``folder`` (reused when already there); returns
    each photo's valid faces, xyxy in the upright photo's pixels."""
    from unseen.audit.detection.pack import PROTEST_EVENTS, load_pack

    faces_path = folder / FACES_FILE
    if faces_path.is_file():
        made = json.loads(faces_path.read_text())
        if len(made) == count:
            return made
    pack = load_pack(data / "wider")
    events = pack.image_events
    per_image = np.bincount(pack.image_index[pack.valid], minlength=pack.n_images)
    chosen = np.flatnonzero(np.isin(events, PROTEST_EVENTS) & (per_image >= MIN_FACES))
    chosen = chosen[np.linspace(0, len(chosen) - 1, count).round().astype(int)]
    made = {}
    for i in chosen:
        from unseen.media.image import load

        rgb = load(pack.image_path(i)).rgb
        rows = (pack.image_index == i) & pack.valid
        upright, boxes = _upscaled(rgb, pack.xyxy[rows])
        stored = np.ascontiguousarray(np.rot90(upright, k=1))  # displayed upright by orientation 6
        name = f"phone-{len(made):02d}.jpg"
        (folder / name).write_bytes(camera_jpeg(stored, orientation=6))
        made[name] = boxes.round(2).tolist()
    write_json_atomic(faces_path, made)
    return made


def _stored_to_upright(xyxy: np.ndarray) -> np.ndarray:
    """Boxes on the stored (sideways) pixels, in the upright photo's pixels: stored =
    rot90(upright), so stored (x, y) is upright (WIDTH - y, x)."""
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    return np.stack([WIDTH - xyxy[:, 3], xyxy[:, 0], WIDTH - xyxy[:, 1], xyxy[:, 2]], axis=1)


class _Clock:
    """A progress that notes when each photo is done (the batch advances once per photo)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def start(self, total, *, unit="", description=""):
        self.times = [time.perf_counter()]

    def advance(self, amount=1.0):
        self.times.append(time.perf_counter())

    def message(self, text):
        pass


def run_unseen(folder: Path, out: Path, workers: int = 1) -> dict:
    """One run over the folder, as `unseen redact FOLDER` does (models loaded once); the
    seconds of each photo are the gaps between the batch's progress steps."""
    from unseen.redact.batch import redact_files
    from unseen.redact.photo import RedactConfig

    clock = _Clock()
    started = time.perf_counter()
    try:
        summary = redact_files([folder], out_dir=out, config=RedactConfig(), progress=clock, workers=workers)
    except TypeError:  # an older unseen, with callbacks instead of a progress
        summary = redact_files([folder], out_dir=out, config=RedactConfig(), on_start=lambda total: clock.start(total),
                               on_file=lambda result: clock.advance())
    wall = time.perf_counter() - started
    seconds, boxes = {}, {}
    for result, begin, end in zip(summary.results, clock.times, clock.times[1:]):
        name = result.job.source.name
        seconds[name] = end - begin
        faces = result.record.faces if hasattr(result, "record") else None
        boxes[name] = ([list(face.covered_box) for face in faces] if faces is not None
                       else [face["covered_box"] for face in result.entry["faces"]])  # an older unseen
    return {"seconds": seconds, "boxes": boxes, "shape": RedactConfig().cover.shape.value, "wall": wall}


def run_deface(folder: Path, out: Path) -> dict:
    import imageio.v3 as iio
    from deface.centerface import CenterFace
    from deface.deface import image_detect, scale_bb

    centerface = CenterFace(backend="auto", override_execution_provider="CPUExecutionProvider")
    centerface(np.zeros((64, 64, 3), np.uint8), threshold=DEFACE_THRESHOLD)
    out.mkdir(parents=True, exist_ok=True)
    seconds, boxes = {}, {}
    for photo in sorted(folder.glob("phone-*.jpg")):
        start = time.perf_counter()
        image_detect(str(photo), str(out / photo.name), centerface, threshold=DEFACE_THRESHOLD, replacewith="blur",
                     mask_scale=DEFACE_MASK_SCALE, ellipse=True, draw_scores=False, enable_preview=False,
                     keep_metadata=False)
        seconds[photo.name] = time.perf_counter() - start
        frame = iio.imread(str(photo))  # what deface detected on: the stored pixels
        dets, _ = centerface(frame, threshold=DEFACE_THRESHOLD)
        height, width = frame.shape[:2]
        stored = [[max(0, x1), max(0, y1), min(width - 1, x2), min(height - 1, y2)]
                  for x1, y1, x2, y2 in (scale_bb(*det[:4].astype(int), DEFACE_MASK_SCALE) for det in dets)]
        boxes[photo.name] = _stored_to_upright(np.asarray(stored)).tolist()
    return {"seconds": seconds, "boxes": boxes, "shape": "ellipse"}


def worker(tool: str, folder: Path, out: Path) -> None:
    shutil.rmtree(out / tool, ignore_errors=True)  # a run left from before would be resumed, not timed
    if tool.startswith("unseen-workers-"):
        result = run_unseen(folder, out / tool, workers=int(tool.rsplit("-", 1)[1]))
    else:
        result = (run_deface if tool == "deface" else run_unseen)(folder, out / tool)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    write_json_atomic(out / f"{tool}.json", result)


def _hidden(faces: dict[str, list], result: dict) -> tuple[np.ndarray, np.ndarray]:
    """(face heights, hidden) over every face of every photo."""
    from unseen.audit.detection.coverage import image_coverage

    heights, hidden = [], []
    for name, boxes in faces.items():
        face_xyxy = np.asarray(boxes, np.float64).reshape(-1, 4)
        coverage = image_coverage(face_xyxy=face_xyxy, cover_xyxy=np.asarray(result["boxes"][name]).reshape(-1, 4),
                                  width=WIDTH, height=HEIGHT, shape=result["shape"])
        heights.append(face_xyxy[:, 3] - face_xyxy[:, 1])
        hidden.append(coverage.hidden())
    return np.concatenate(heights), np.concatenate(hidden)


def report(console: Console, faces: dict[str, list], results: dict[str, dict]) -> None:
    from unseen.audit.detection.groups import HEIGHT_BUCKETS, height_bucket

    table = Table(title=f"{len(faces)} phone photos ({WIDTH} x {HEIGHT}, orientation 6), "
                        f"{sum(len(b) for b in faces.values())} faces")
    table.add_column("")
    table.add_column("faces", justify="right")
    for tool in results:
        table.add_column(tool, justify="right")
    hidden = {tool: _hidden(faces, result) for tool, result in results.items()}
    heights = next(iter(hidden.values()))[0]
    buckets = height_bucket(heights)
    table.add_row("hidden, all faces", str(len(heights)), *(f"{h.mean():.3f}" for _, h in hidden.values()))
    for bucket in HEIGHT_BUCKETS:
        rows = buckets == bucket
        if rows.any():
            table.add_row(f"hidden, height {bucket} px", str(int(rows.sum())),
                          *(f"{h[rows].mean():.3f}" for _, h in hidden.values()))
    medians = {tool: float(np.median(list(r["seconds"].values()))) for tool, r in results.items()}
    table.add_row("seconds per photo, median", "", *(f"{m:.1f}" for m in medians.values()))
    table.add_row("peak memory, MiB", "", *(f"{r['peak_rss_mib']:.0f}" for r in results.values()))
    console.print(table)
    if "deface" in medians and "unseen" in medians:
        console.print(f"unseen takes {medians['unseen'] / medians['deface']:.2f}x deface's seconds per photo "
                      "(unseen: read, detect, cover, encode, verify, write; deface: read, detect, blur, write)")


def main(
    data: Optional[Path] = typer.Argument(None, help="Evaluation data folder (default $UNSEEN_DATA or ../shared/data)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the photos and every tool's outputs."),
    photos: int = typer.Option(6, help="How many phone photos to make."),
    tools: str = typer.Option(",".join(TOOLS), help="Comma-separated tools to run."),
    compare: Optional[Path] = typer.Option(None, help="Also run the unseen of this source tree (another version), "
                                                      "as the tool 'unseen-other'."),
    workers_check: int = typer.Option(0, help="Also redact a folder of this many phone photos with one worker "
                                              "and with two, and print the wall times."),
    worker_tool: Optional[str] = typer.Option(None, "--worker", hidden=True),
    photos_dir: Optional[Path] = typer.Option(None, hidden=True),
) -> None:
    if worker_tool:
        worker(worker_tool, photos_dir or out / "photos", out)
        return
    root = data_root(str(data) if data else None)
    folder = out / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    faces = make_photos(root, folder, photos)
    runs = [(tool, None) for tool in tools.split(",")] + ([("unseen-other", compare)] if compare else [])
    results = {tool: _run_worker(tool, folder, out, tree) for tool, tree in runs}
    console = Console()
    report(console, faces, results)
    if workers_check:
        many = out / f"folder-{workers_check}"
        many.mkdir(parents=True, exist_ok=True)
        make_photos(root, many, workers_check)
        walls = {n: _run_worker(f"unseen-workers-{n}", many, out, None)["wall"] for n in (1, 2)}
        console.print(f"a folder of {workers_check} phone photos, unseen's default: one worker {walls[1]:.0f} s, "
                      f"two workers {walls[2]:.0f} s (x{walls[1] / walls[2]:.2f})")


def _run_worker(tool: str, folder: Path, out: Path, tree: Path | None) -> dict:
    """Run one tool in a process of its own (its peak memory is its own), return its results."""
    environment = {**os.environ, "PYTHONPATH": str(tree / "src")} if tree else None
    subprocess.run([sys.executable, __file__, "--out", str(out), "--worker", tool, "--photos-dir", str(folder)],
                   check=True, env=environment)
    return json.loads((out / f"{tool}.json").read_text())


if __name__ == "__main__":
    typer.run(main)

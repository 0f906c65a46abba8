"""ByteTrack (the tracker unseen uses) beside norfair, on the same detections of the same clips.

    python benchmarks/video_trackers.py [DATA] --out DIR [--clips N] [--frames F] [--seed S]

Makes the clips of `redact_video.py` (same seeds, same sizes), runs the default video
detector once per frame and keeps its detections under DIR (a rerun reuses them), then
tracks them with each tracker and plans the covers the same way (hold, lead,
interpolation). Judged on the cover's geometry (no encoding): face-frames hidden by face
height, flicker, faces never hidden, frame area covered, and milliseconds of tracking per
frame. norfair is not a dependency (it pins NumPy below 2); install it to run this.
"""

from __future__ import annotations

import pickle
import time
from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from _faces import data_root
from redact_video import BUCKETS, HIDDEN_SHARE, Tally, box_shares, make_clips
from unseen.faces.tracking import UNTRACKED, FaceTracker, Observations, TrackerConfig
from unseen.faces.types import Detections
from unseen.media.video import read_frames
from unseen.redact.cover import cover_mask
from unseen.redact.video import FrameDetector, VideoRedactConfig, plan_covers


class NorfairTracker:
    """norfair with IoU distance, as its README sets it up for boxes; tracks start at once
    (``initialization_delay`` 0). It has one threshold: ``weak`` lets every detection down to
    the low threshold in (each may start a track), otherwise only confident ones."""

    weak = True

    def __init__(self, config: TrackerConfig, *, frame_rate: float = 30.0) -> None:
        from norfair import Detection, Tracker

        self.config, self._detection = config, Detection
        self._tracker = Tracker(distance_function="iou", distance_threshold=1 - config.min_iou,
                                hit_counter_max=max(1, round(config.lost_seconds * frame_rate)),
                                initialization_delay=0,
                                detection_threshold=config.low_threshold if self.weak else config.threshold)
        self._rows: list[tuple[int, float, np.ndarray, np.ndarray, np.ndarray]] = []

    def update(self, frame: int, time_s: float, found: Detections) -> None:
        kept = found[found.score >= (self.config.low_threshold if self.weak else self.config.threshold)]
        detections = [self._detection(points=box.reshape(2, 2), scores=np.full(2, score), data=i)
                      for i, (box, score) in enumerate(zip(kept.xyxy, kept.score))]
        ids = np.full(len(kept), UNTRACKED, np.int64)
        for tracked in self._tracker.update(detections=detections):
            if tracked.last_detection is not None and tracked.last_detection in detections:
                ids[tracked.last_detection.data] = tracked.id
        keep = (ids != UNTRACKED) | (kept.score >= self.config.threshold)
        self._rows.append((frame, time_s, kept.xyxy[keep], kept.score[keep], ids[keep]))

    @property
    def observations(self) -> Observations:
        counts = [len(row[2]) for row in self._rows]
        return Observations(frame=np.repeat([r[0] for r in self._rows], counts),
                            time=np.repeat([r[1] for r in self._rows], counts),
                            xyxy=np.concatenate([r[2] for r in self._rows]),
                            score=np.concatenate([r[3] for r in self._rows]),
                            track_id=np.concatenate([r[4] for r in self._rows]))


class ConfidentNorfair(NorfairTracker):
    weak = False


def detections(clip, cache: Path, detector: FrameDetector, low: float) -> list[tuple[int, float, Detections]]:
    path = cache / f"{clip.path.stem}.detections.pkl"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    found = [(f.index, f.time, detector.detect(f.rgb, index=f.index, threshold=low)) for f in read_frames(clip.path)]
    path.write_bytes(pickle.dumps(found))
    return found


def main(
    data: Optional[Path] = typer.Argument(None, help="The evaluation data folder."),
    out: Path = typer.Option(..., "--out", help="Folder for the clips and the cached detections."),
    clips: int = typer.Option(4, help="Clips (half camera, half people)."),
    frames: int = typer.Option(48, help="Frames per clip."),
    seed: int = typer.Option(0, help="Seed of the clips."),
) -> None:
    config = VideoRedactConfig()
    made = make_clips(data_root(str(data) if data else None), out / "clips", clips=clips, frames=frames,
                      size=(768, 432), seed=seed)
    detector = FrameDetector(config.detection)
    trackers = {"bytetrack (trackers)": FaceTracker, "norfair, weak too": NorfairTracker,
                "norfair, confident only": ConfidentNorfair}
    tallies = {name: Tally(hidden=[], truths=[]) for name in trackers}
    seconds = dict.fromkeys(trackers, 0.0)
    for clip in made:
        found = detections(clip, out, detector, config.tracker.low_threshold)
        width, height = 768, 432
        for name, make in trackers.items():
            tracker = make(config.tracker, frame_rate=30.0)
            started = time.perf_counter()
            for index, seconds_at, faces in found:
                tracker.update(index, seconds_at, faces)
            seconds[name] += time.perf_counter() - started
            plan = plan_covers(tracker.observations, times=np.array([t for _, t, _ in found]), width=width,
                               height=height, config=config)
            hidden = np.zeros(len(clip.truth.frame), bool)
            area = []
            for index in range(len(found)):
                mask = cover_mask(plan.boxes_at(index), width=width, height=height, config=config.cover)
                rows = np.flatnonzero(clip.truth.frame == index)
                hidden[rows] = box_shares(mask, clip.truth.xyxy[rows]) >= HIDDEN_SHARE
                area.append(mask.mean())
            tallies[name].hidden.append(hidden)
            tallies[name].truths.append(clip.truth)
            tallies[name].area.append(float(np.mean(area)))
            tallies[name].frames += len(found)
    table = Table(title="trackers on the same detections (cover geometry)")
    table.add_column("")
    for name in trackers:
        table.add_column(name, justify="right")
    heights = next(iter(tallies.values())).heights()
    for low, high in BUCKETS:
        rows = (heights >= low) & (heights < high)
        if rows.any():
            table.add_row(f"hidden, {low}-{high} px ({int(rows.sum())})",
                          *[f"{t.all_hidden()[rows].mean():.3f}" for t in tallies.values()])
    table.add_row("flicker frames (>= 16 px)", *[f"{t.flicker()} ({t.flicker(16)})" for t in tallies.values()])
    table.add_row("faces never hidden", *["{} of {}".format(*t.never_hidden()) for t in tallies.values()])
    table.add_row("frame area covered", *[f"{np.mean(t.area):.3f}" for t in tallies.values()])
    table.add_row("tracking ms per frame", *[f"{1000 * seconds[n] / tallies[n].frames:.1f}" for n in trackers])
    Console().print(table)


if __name__ == "__main__":
    typer.run(main)

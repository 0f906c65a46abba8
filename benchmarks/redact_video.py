"""How many face-frames video redaction hides, beside deface, on clips made from real photos.

    python benchmarks/redact_video.py [DATA] --out DIR [--clips N] [--frames F] [--seed S]

Clips are made at run time under DIR (nothing is copied into the project) from
DATA/wider (crowd photos of protest events) and DATA/identities (portraits), with known
boxes in every frame:

- "camera" clips: a handheld camera panning and zooming over a WIDER crowd photo (smooth
  path, jitter, motion blur when it moves fast); each annotated face box is carried through
  the frame's transform, so faces move, grow, shrink and blur;
- "people" clips: three faces from the identities photos moving over a textured
  background, growing or shrinking, tilting their heads and turning (their width squeezed
  as a head turning away would be), with motion blur; the box is the one CenterFace finds
  on the still photo, carried through the same transform.

Each clip is H.264 (CRF 23, a phone's quality) in MP4 with an AAC audio track and title,
location (ISO 6709), artist, comment and creation-time tags. Every tool is judged from its
output pixels alone: a face-frame is hidden when at least 80% of its box (the part inside
the frame) is covered, a covered pixel being flat (3x3 standard deviation under 4 grey
levels) and changed against the input (by more than 8 levels). Printed for unseen (default
and fast mode) and for deface 1.5 (its defaults, solid fill: threshold 0.2, mask scale 1.3,
libx264) in the same run: hidden face-frames by face height; flicker (bare frames of faces
hidden in at least half of their frames), also counted with pixels flat in both input and
output taken as covered (black over black hair or shadow changes nothing the judge can see);
faces never hidden; audio streams and tags left; fps. Then the frame rate of each on a
1280x720 camera clip (``--fps-frames``).
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from _faces import data_root

from unseen.faces.detectors.centerface import CenterFace
from unseen.media.video import GENERIC_HANDLERS, STRUCTURAL_TAGS, probe, read_frames
from unseen.redact.video import VideoRedactConfig, VideoRedactor

BUCKETS = ((0, 10), (10, 16), (16, 24), (24, 32), (32, 64), (64, math.inf))
HIDDEN_SHARE = 0.8
FLAT_STD = 4.0
CHANGED = 8
FPS = 30
PROTEST_EVENTS = ("0--Parade", "2--Demonstration", "3--Riot", "10--People_Marching", "61--Street_Battle")
TAGS = {"title": "Rally, 3 March", "location": "+48.8566+002.3522/", "artist": "A. Person",
        "comment": "filmed on my phone", "creation_time": "2024-03-03T10:00:00Z"}


@dataclass(frozen=True, eq=False)
class Truth:
    """Known face boxes of a clip: one row per face per frame it is in."""

    frame: np.ndarray
    face: np.ndarray
    xyxy: np.ndarray


@dataclass(frozen=True)
class Clip:
    path: Path
    kind: str
    truth: Truth
    frames: int


# -- making clips ---------------------------------------------------------------------
def encode_clip(path: Path, frames: list[np.ndarray], *, fps: int = FPS, seed: int = 0) -> None:
    """H.264 at CRF 23 with a voice-like AAC track and identifying tags."""
    import av

    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        out.metadata.update(TAGS)
        video = out.add_stream("libx264", rate=fps, options={"crf": "23", "preset": "fast"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = out.add_stream("aac", rate=48000)
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        samples = int(48000 * len(frames) / fps)
        t = np.arange(samples) / 48000
        rng = np.random.default_rng(seed)
        voice = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate(rng.uniform(110, 220) * np.arange(1, 6), 1))
        voice = (0.2 * voice * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
        for start in range(0, samples, 1024):
            chunk = voice[start:start + 1024][None, :]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 48000, start
            for packet in audio.encode(frame):
                out.mux(packet)
        for packet in audio.encode(None):
            out.mux(packet)


def _smooth_walk(rng: np.random.Generator, frames: int, amplitude: float) -> np.ndarray:
    steps = rng.normal(0, 1, (frames + 8, 2))
    walk = np.cumsum(steps, axis=0)
    kernel = np.ones(5) / 5
    walk = np.stack([np.convolve(walk[:, i], kernel, mode="same") for i in range(2)], axis=1)[4:frames + 4]
    walk -= walk.mean(axis=0)
    return walk / (np.abs(walk).max() + 1e-9) * amplitude


def _motion_blur(rgb: np.ndarray, dx: float, dy: float) -> np.ndarray:
    length = int(round(math.hypot(dx, dy) * 0.6))
    if length < 3:
        return rgb
    kernel = np.zeros((length, length), np.float32)
    angle = math.atan2(dy, dx)
    centre = (length - 1) / 2
    for step in np.linspace(-centre, centre, length * 2):
        kernel[int(round(centre + step * math.sin(angle))), int(round(centre + step * math.cos(angle)))] = 1
    return cv2.filter2D(rgb, -1, kernel / kernel.sum())


def camera_clip(image_path: Path, boxes: np.ndarray, *, out: Path, size: tuple[int, int], frames: int,
                rng: np.random.Generator) -> Clip:
    """A handheld pan and zoom over one photo; ``boxes`` are its faces (x1, y1, x2, y2)."""
    photo = cv2.imread(str(image_path))[:, :, ::-1]
    height0, width0 = photo.shape[:2]
    width, height = size
    widest = min(width0, height0 * width / height)
    zoom = sorted(rng.uniform(0.55, 1.0, 2) * widest)[:: 1 if rng.random() < 0.5 else -1]
    window_w = np.linspace(zoom[0], zoom[1], frames)
    window_h = window_w * height / width
    ease = (1 - np.cos(np.linspace(0, np.pi, frames))) / 2
    start, end = rng.random(2), rng.random(2)
    jitter = _smooth_walk(rng, frames, 0.012 * widest)
    pixels, rows, faces, kept = [], [], [], []
    previous = None
    for i in range(frames):
        room_x, room_y = width0 - window_w[i], height0 - window_h[i]
        x0 = float(np.clip((start[0] + (end[0] - start[0]) * ease[i]) * room_x + jitter[i, 0], 0, room_x))
        y0 = float(np.clip((start[1] + (end[1] - start[1]) * ease[i]) * room_y + jitter[i, 1], 0, room_y))
        scale = width / window_w[i]
        matrix = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float64)
        rgb = cv2.warpAffine(photo, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        centre = np.array([x0 + window_w[i] / 2, y0 + window_h[i] / 2]) * scale
        if previous is not None:
            motion = centre - previous
            rgb = _motion_blur(rgb, float(motion[0]), float(motion[1]))
        previous = centre
        pixels.append(rgb)
        moved = boxes * scale - np.array([x0, y0, x0, y0]) * scale
        rows.append(np.full(len(boxes), i))
        faces.append(np.arange(len(boxes)))
        kept.append(moved)
    encode_clip(out, pixels, seed=int(rng.integers(1 << 30)))
    truth = _visible(Truth(frame=np.concatenate(rows), face=np.concatenate(faces), xyxy=np.concatenate(kept)),
                     width, height)
    return Clip(path=out, kind="camera", truth=truth, frames=frames)


def _visible(truth: Truth, width: int, height: int) -> Truth:
    """Boxes clipped to the frame; those less than half inside, or under 3 px tall inside, dropped."""
    clipped = truth.xyxy.copy()
    clipped[:, [0, 2]] = np.clip(clipped[:, [0, 2]], 0, width)
    clipped[:, [1, 3]] = np.clip(clipped[:, [1, 3]], 0, height)
    area = np.prod(np.maximum(truth.xyxy[:, 2:] - truth.xyxy[:, :2], 1e-6), axis=1)
    inside = np.prod(np.maximum(clipped[:, 2:] - clipped[:, :2], 0), axis=1)
    keep = (inside >= 0.5 * area) & (clipped[:, 3] - clipped[:, 1] >= 3)
    return Truth(frame=truth.frame[keep], face=truth.face[keep], xyxy=clipped[keep])


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    coarse = rng.uniform(40, 215, (6, 10, 3)).astype(np.float32)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    fine = cv2.resize(rng.normal(0, 18, (height // 4, width // 4, 3)).astype(np.float32), (width, height))
    return np.clip(smooth + fine, 0, 255).astype(np.uint8)


def people_clip(portraits: list[tuple[np.ndarray, np.ndarray]], *, out: Path, size: tuple[int, int], frames: int,
                rng: np.random.Generator) -> Clip:
    """Faces from portraits (rgb, face box) moving, scaling, tilting and turning."""
    width, height = size
    background = _background(rng, width, height)
    layers = []
    for photo, box in portraits:
        face_w, face_h = box[2] - box[0], box[3] - box[1]
        centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
        mask = np.zeros(photo.shape[:2], np.float32)
        cv2.ellipse(mask, (int(centre[0]), int(centre[1])), (int(face_w * 0.95), int(face_h * 0.9)), 0, 0, 360, 1, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), max(face_w, face_h) * 0.08)
        heights = sorted(np.exp(rng.uniform(np.log(8), np.log(100), 2)))[:: 1 if rng.random() < 0.5 else -1]
        path = rng.uniform([0.1 * width, 0.15 * height], [0.9 * width, 0.85 * height], (2, 2))
        layers.append((photo, mask, centre, face_w, face_h, heights, path, rng.uniform(0, 2 * np.pi, 2)))
    pixels, rows, faces, kept = [], [], [], []
    previous = [None] * len(layers)
    for i in range(frames):
        t = i / max(frames - 1, 1)
        rgb = background.astype(np.float32)
        for index, (photo, mask, centre, face_w, face_h, heights, path, phase) in enumerate(layers):
            scale = (heights[0] + (heights[1] - heights[0]) * t) / face_h
            turn = 1 - 0.6 * max(0.0, math.sin(2 * np.pi * 0.7 * t + phase[0])) ** 2
            roll = math.radians(20 * math.sin(2 * np.pi * 0.5 * t + phase[1]))
            position = path[0] + (path[1] - path[0]) * t
            linear = np.array([[math.cos(roll), -math.sin(roll)], [math.sin(roll), math.cos(roll)]]) @ np.diag(
                [scale * turn, scale])
            matrix = np.hstack([linear, (position - linear @ centre)[:, None]])
            layer = cv2.warpAffine(photo, matrix, (width, height), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
            alpha = cv2.warpAffine(mask, matrix, (width, height))[:, :, None]
            if previous[index] is not None:
                motion = position - previous[index]
                layer = _motion_blur(layer, float(motion[0]), float(motion[1]))
                alpha = _motion_blur(alpha[:, :, 0], float(motion[0]), float(motion[1]))[:, :, None]
            previous[index] = position
            rgb = rgb * (1 - alpha) + layer.astype(np.float32) * alpha
            a, b = scale * turn * face_w / 2, scale * face_h / 2
            half_w = math.sqrt((a * math.cos(roll)) ** 2 + (b * math.sin(roll)) ** 2)
            half_h = math.sqrt((a * math.sin(roll)) ** 2 + (b * math.cos(roll)) ** 2)
            rows.append([i])
            faces.append([index])
            kept.append([[position[0] - half_w, position[1] - half_h, position[0] + half_w, position[1] + half_h]])
        pixels.append(np.clip(rgb, 0, 255).astype(np.uint8))
    encode_clip(out, pixels, seed=int(rng.integers(1 << 30)))
    truth = _visible(Truth(frame=np.concatenate(rows), face=np.concatenate(faces),
                           xyxy=np.asarray(kept, np.float64).reshape(-1, 4)), width, height)
    return Clip(path=out, kind="people", truth=truth, frames=frames)


def wider_photos(data: Path, rng: np.random.Generator, count: int) -> list[tuple[Path, np.ndarray]]:
    """Protest-event crowd photos (at least 20 valid faces), in a seeded order."""
    faces: dict[str, list[list[float]]] = {}
    with open(data / "wider" / "faces.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["event"] in PROTEST_EVENTS and row["invalid"] == "0" and float(row["h"]) >= 1:
                x, y, w, h = (float(row[k]) for k in ("x", "y", "w", "h"))
                faces.setdefault(row["image"], []).append([x, y, x + w, y + h])
    names = sorted(name for name, boxes in faces.items() if len(boxes) >= 20)
    chosen = rng.choice(len(names), size=min(count, len(names)), replace=False)
    return [(data / "wider" / "images" / names[i], np.asarray(faces[names[i]])) for i in chosen]


def portraits(data: Path, rng: np.random.Generator, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Identity photos with the largest face CenterFace finds in each (the clip's truth box)."""
    detector = CenterFace()
    paths = sorted((data / "identities" / "images").glob("*.jpg"))
    found = []
    for i in rng.permutation(len(paths)):
        photo = cv2.imread(str(paths[i]))[:, :, ::-1].copy()
        faces = detector.detect(photo, threshold=0.5)
        if len(faces) == 1:
            found.append((photo, faces.xyxy[0].astype(np.float64)))
        if len(found) == count:
            break
    return found


def make_clips(data: Path, out: Path, *, clips: int, frames: int, size: tuple[int, int], seed: int) -> list[Clip]:
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    made = []
    cameras = (clips + 1) // 2
    for i, (image, boxes) in enumerate(wider_photos(data, rng, cameras)):
        made.append(camera_clip(image, boxes, out=out / f"camera-{i}.mp4", size=size, frames=frames, rng=rng))
    people = portraits(data, rng, 3 * (clips - cameras))
    for i in range(clips - cameras):
        made.append(people_clip(people[3 * i:3 * i + 3], out=out / f"people-{i}.mp4", size=size, frames=frames, rng=rng))
    return made


# -- judging from pixels ----------------------------------------------------------------
def flat_mask(rgb: np.ndarray) -> np.ndarray:
    grey = rgb.astype(np.float32).mean(axis=2)
    mean = cv2.blur(grey, (3, 3))
    return np.maximum(cv2.blur(grey * grey, (3, 3)) - mean * mean, 0) < FLAT_STD ** 2


def changed_mask(original: np.ndarray, redacted: np.ndarray) -> np.ndarray:
    return np.abs(redacted.astype(np.int16) - original.astype(np.int16)).max(axis=2) > CHANGED


def box_shares(mask: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
    integral = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), np.int64)
    integral[1:, 1:] = mask.cumsum(axis=0).cumsum(axis=1)
    height, width = mask.shape
    boxes = np.round(xyxy).astype(np.int64)
    x1, x2 = np.clip(boxes[:, 0], 0, width), np.clip(boxes[:, 2], 0, width)
    y1, y2 = np.clip(boxes[:, 1], 0, height), np.clip(boxes[:, 3], 0, height)
    inside = integral[y2, x2] - integral[y1, x2] - integral[y2, x1] + integral[y1, x1]
    return inside / np.maximum((x2 - x1) * (y2 - y1), 1)


@dataclass(frozen=True, eq=False)
class Judged:
    """One output judged against its clip: per truth row, hidden (as the targets count it)
    and hidden when pixels flat in both input and output also count as covered (a black
    cover over a black-haired or shadowed face changes those pixels by under 8 levels, so
    the first judge cannot tell them from uncovered ones); the share of the frame covered."""

    hidden: np.ndarray
    hidden_flat_too: np.ndarray
    area: float


def judge(clip: Clip, output: Path) -> Judged:
    hidden = np.zeros(len(clip.truth.frame), bool)
    flat_too = np.zeros(len(clip.truth.frame), bool)
    count, area = 0, 0.0
    for before, after in zip(read_frames(clip.path), read_frames(output)):
        if before.rgb.shape != after.rgb.shape:
            raise SystemExit(f"{output}: frame size {after.rgb.shape} differs from the input's {before.rgb.shape}")
        rows = np.flatnonzero(clip.truth.frame == before.index)
        flat_after = flat_mask(after.rgb)
        mask = changed_mask(before.rgb, after.rgb) & flat_after
        if len(rows):
            hidden[rows] = box_shares(mask, clip.truth.xyxy[rows]) >= HIDDEN_SHARE
            also_flat = mask | (flat_after & flat_mask(before.rgb))
            flat_too[rows] = box_shares(also_flat, clip.truth.xyxy[rows]) >= HIDDEN_SHARE
        area += float(mask.mean())
        count += 1
    if count != clip.frames:
        raise SystemExit(f"{output}: {count} frames, the input has {clip.frames}")
    return Judged(hidden=hidden, hidden_flat_too=flat_too, area=area / count)


def leftovers(output: Path) -> tuple[int, list[str]]:
    """Audio streams, and tags / chapters / extra streams left in an output."""
    info = probe(output)
    tags = [f"{key}={value}" for key, value in info.tags if key not in STRUCTURAL_TAGS]
    for stream in info.streams:
        if stream.kind not in ("video", "audio"):
            tags.append(f"{stream.kind} stream")
        tags += [f"{stream.kind}:{key}={value}" for key, value in stream.tags
                 if not (key == "language" and value == "und") and not (key == "handler_name" and value in GENERIC_HANDLERS)
                 and not (key == "vendor_id" and value.strip("[0]") == "")]
    tags += [f"chapter {title!r}" for title in info.chapters]
    return len(info.streams_of("audio")), tags


# -- the tools -------------------------------------------------------------------------
class Deface:
    """deface's own video path (`deface.deface.video_detect`) with the options its command
    line gives by default, except ``--replacewith solid``."""

    def __init__(self) -> None:
        from deface.centerface import CenterFace as DefaceCenterFace

        # onnxruntime lists a cloud provider first here; deface's detections are the same on the CPU one
        self.centerface = DefaceCenterFace(in_shape=None, backend="auto",
                                           override_execution_provider="CPUExecutionProvider")

    def run(self, source: Path, output: Path) -> float:
        from deface.deface import video_detect

        started = time.perf_counter()
        video_detect(ipath=str(source), opath=str(output), centerface=self.centerface, threshold=0.2,
                     enable_preview=False, cam=False, nested=False, replacewith="solid", mask_scale=1.3,
                     ellipse=True, draw_scores=False, ffmpeg_config={"codec": "libx264"}, replaceimg=None,
                     keep_audio=False, mosaicsize=20)
        return time.perf_counter() - started


class Unseen:
    def __init__(self, config: VideoRedactConfig) -> None:
        self.redactor = VideoRedactor(config)

    def run(self, source: Path, output: Path) -> float:
        started = time.perf_counter()
        self.redactor.redact(source, output)
        return time.perf_counter() - started


@dataclass
class Tally:
    hidden: list[np.ndarray]
    truths: list[Truth]
    hidden_flat_too: list[np.ndarray] = field(default_factory=list)
    seconds: float = 0.0
    frames: int = 0
    audio: int = 0
    tags: list[str] = field(default_factory=list)
    area: list[float] = field(default_factory=list)

    def heights(self) -> np.ndarray:
        return np.concatenate([t.xyxy[:, 3] - t.xyxy[:, 1] for t in self.truths])

    def all_hidden(self, *, flat_too: bool = False) -> np.ndarray:
        return np.concatenate(self.hidden_flat_too if flat_too else self.hidden)

    def faces(self, *, flat_too: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Per row: a face id unique over clips, and its hidden share."""
        ids = np.concatenate([t.face + 100_000 * k for k, t in enumerate(self.truths)])
        hidden = self.all_hidden(flat_too=flat_too)
        unique, inverse = np.unique(ids, return_inverse=True)
        share = np.bincount(inverse, hidden) / np.bincount(inverse)
        return inverse, share

    def flicker(self, min_height: float = 0.0, *, flat_too: bool = False) -> int:
        inverse, share = self.faces(flat_too=flat_too)
        rows = (share[inverse] >= 0.5) & ~self.all_hidden(flat_too=flat_too) & (self.heights() >= min_height)
        return int(rows.sum())

    def never_hidden(self) -> tuple[int, int]:
        _, share = self.faces()
        return int((share == 0).sum()), len(share)


def main(
    data: Optional[Path] = typer.Argument(None, help="The evaluation data folder (wider/ and identities/)."),
    out: Path = typer.Option(..., "--out", help="Folder for the clips and every tool's outputs."),
    clips: int = typer.Option(6, help="Clips (half camera, half people)."),
    frames: int = typer.Option(60, help="Frames per clip."),
    width: int = typer.Option(768, help="Clip width (a multiple of 16: deface's writer resizes otherwise)."),
    height: int = typer.Option(432, help="Clip height (a multiple of 16)."),
    seed: int = typer.Option(1, help="Seed of the clips (the defaults were chosen on seed 0)."),
    fps_frames: int = typer.Option(30, help="Frames of the 1280x720 speed clip (0 to skip)."),
) -> None:
    data = data_root(str(data) if data else None)
    console = Console()
    made = make_clips(data, out / "clips", clips=clips, frames=frames, size=(width, height), seed=seed)
    console.print(f"{len(made)} clips of {frames} frames at {width}x{height} under {out / 'clips'}")
    tools = {"unseen": Unseen(VideoRedactConfig()), "unseen fast": Unseen(VideoRedactConfig.fast()),
             "deface": Deface()}
    tallies = {name: Tally(hidden=[], truths=[]) for name in tools}
    for clip in made:
        for name, tool in tools.items():
            output = out / name.replace(" ", "-") / clip.path.name
            output.parent.mkdir(parents=True, exist_ok=True)
            seconds = tool.run(clip.path, output)
            tally = tallies[name]
            judged = judge(clip, output)
            tally.hidden.append(judged.hidden)
            tally.hidden_flat_too.append(judged.hidden_flat_too)
            tally.area.append(judged.area)
            tally.truths.append(clip.truth)
            tally.seconds += seconds
            tally.frames += clip.frames
            audio, tags = leftovers(output)
            tally.audio += audio
            tally.tags += tags
            console.print(f"{clip.path.name} {name}: {clip.frames / seconds:.2f} fps, "
                          f"{tally.hidden[-1].mean():.3f} of {len(clip.truth.frame)} face-frames hidden")
    _print_table(console, tallies)
    if fps_frames:
        _speed_at_720p(console, data, out, tools, fps_frames, seed)


def _print_table(console: Console, tallies: dict[str, Tally]) -> None:
    table = Table(title="face-frames hidden (>= 80% of the box covered, judged from output pixels)")
    table.add_column("")
    for name in tallies:
        table.add_column(name, justify="right")
    any_tally = next(iter(tallies.values()))
    heights = any_tally.heights()
    for low, high in BUCKETS:
        rows = (heights >= low) & (heights < high)
        label = f"height {low}-{high} px" if high < math.inf else f"height >= {low} px"
        table.add_row(f"{label} ({int(rows.sum())})",
                      *[f"{t.all_hidden()[rows].mean():.3f}" if rows.any() else "-" for t in tallies.values()])
    table.add_row(f"all ({len(heights)})", *[f"{t.all_hidden().mean():.3f}" for t in tallies.values()])
    table.add_row("flicker frames (faces >= 16 px)", *[f"{t.flicker()} ({t.flicker(16)})" for t in tallies.values()])
    table.add_row("the same, pixels flat before and after counted as covered",
                  *[f"{t.flicker(flat_too=True)} ({t.flicker(16, flat_too=True)})" for t in tallies.values()])
    table.add_row("faces never hidden", *["{} of {}".format(*t.never_hidden()) for t in tallies.values()])
    table.add_row("audio streams left", *[str(t.audio) for t in tallies.values()])
    table.add_row("tags left", *[", ".join(sorted(set(t.tags))) or "none" for t in tallies.values()])
    table.add_row("frame area covered (mean)", *[f"{np.mean(t.area):.3f}" for t in tallies.values()])
    table.add_row("fps", *[f"{t.frames / t.seconds:.2f}" for t in tallies.values()])
    console.print(table)


def _speed_at_720p(console: Console, data: Path, out: Path, tools: dict, frames: int, seed: int) -> None:
    rng = np.random.default_rng(seed + 1000)
    image, boxes = wider_photos(data, rng, 1)[0]
    clip = camera_clip(image, boxes, out=out / "clips" / "speed-720p.mp4", size=(1280, 720), frames=frames, rng=rng)
    table = Table(title=f"frames per second at 1280x720 ({frames} frames, same run)")
    table.add_column("tool")
    table.add_column("fps", justify="right")
    table.add_column("vs deface", justify="right")
    table.add_column("face-frames hidden", justify="right")
    results = {}
    for name, tool in tools.items():
        output = out / "speed" / f"{name.replace(' ', '-')}.mp4"
        output.parent.mkdir(parents=True, exist_ok=True)
        results[name] = (frames / tool.run(clip.path, output), judge(clip, output).hidden.mean())
    for name, (fps, hidden) in results.items():
        table.add_row(name, f"{fps:.2f}", f"{fps / results['deface'][0]:.2f}x", f"{hidden:.3f}")
    console.print(table)


if __name__ == "__main__":
    typer.run(main)

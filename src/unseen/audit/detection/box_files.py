"""Box files: a detector's (or a redactor's) boxes for every image of a pack.

Boxes are read from a folder of WIDER txt files, ``DIR/<event>/<name>.txt`` holding
``<name>``, ``<count>`` and ``count`` lines of ``x y w h score`` in pixels of the original
image, or from one JSON-lines file with a line
``{"image": "<event>/<name>.jpg", "faces": [{"box": [x1, y1, x2, y2], "score": s}, ...]}``
per image. Beside a redactor's boxes, ``shape.txt`` names the shape it covered in each.
Coordinates stay float64 so evaluations see exactly what the files say. Lines that cannot
be used as they stand are set aside and named (`PackBoxes.set_aside`; see `read_wider_txt`
and `read_jsonl`), and the rest is read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from unseen.audit.detection.pack import LabelledFaces
from unseen.audit.set_aside import RowProblem, SetAside
from unseen.errors import ConfigError, InputFileError
from unseen.faces.boxes import CoverShape, xywh_to_xyxy, xyxy_to_xywh
from unseen.media.files import write_text_atomic

SHAPE_FILE = "shape.txt"
"""Beside a redactor's boxes: ``box`` or ``ellipse``, the shape covered inside each box."""


@dataclass(frozen=True, eq=False)
class PackBoxes:
    """A detector's (or redactor's) boxes for every image of a pack, sorted by image.

    image_index: (k,) image of each box. xywh: (k, 4) float64 pixels. score: (k,) float64.
    found: (m,) True where the image had a box file or record; an image without one has
        no boxes (as the official WIDER tool treats a missing file).
    set_aside: lines of the box files left out or named (`unseen.audit.set_aside`).
    """

    image_index: np.ndarray
    xywh: np.ndarray
    score: np.ndarray
    found: np.ndarray
    set_aside: SetAside = field(default_factory=SetAside)

    def __post_init__(self) -> None:
        image_index = np.asarray(self.image_index, np.int64).reshape(-1)
        k = len(image_index)
        xywh = np.asarray(self.xywh, np.float64).reshape(-1, 4) if k else np.zeros((0, 4))
        score = np.asarray(self.score, np.float64).reshape(-1)
        found = np.asarray(self.found, bool).reshape(-1)
        if xywh.shape != (k, 4) or score.shape != (k,):
            raise ConfigError(f"PackBoxes: expected xywh ({k}, 4) and score ({k},), got {xywh.shape}, {score.shape}")
        if k and (image_index.min() < 0 or image_index.max() >= len(found)):
            raise ConfigError(f"PackBoxes.image_index: expected values in [0, {len(found)})")
        if np.any(np.diff(image_index) < 0):
            raise ConfigError("PackBoxes.image_index: boxes must be sorted by image")
        if not (np.all(np.isfinite(xywh)) and np.all(np.isfinite(score))):
            raise ConfigError("PackBoxes: boxes and scores must be finite numbers")
        for name, value in (("image_index", image_index), ("xywh", xywh), ("score", score), ("found", found)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @classmethod
    def from_lists(cls, per_image: Iterable[tuple[np.ndarray, np.ndarray] | None], *,
                   set_aside: SetAside | None = None) -> PackBoxes:
        """From one ``(xywh, score)`` pair per image, in image order (None: no file)."""
        indices, boxes, scores, found = [], [], [], []
        for i, item in enumerate(per_image):
            found.append(item is not None)
            if item is None:
                continue
            xywh, score = (np.asarray(a, np.float64) for a in item)
            indices.append(np.full(len(score), i, np.int64))
            boxes.append(xywh.reshape(-1, 4))
            scores.append(score.reshape(-1))
        set_aside = set_aside if set_aside is not None else SetAside()
        if not boxes:
            return cls(image_index=np.zeros(0, np.int64), xywh=np.zeros((0, 4)), score=np.zeros(0),
                       found=np.asarray(found, bool), set_aside=set_aside)
        return cls(image_index=np.concatenate(indices), xywh=np.concatenate(boxes),
                   score=np.concatenate(scores), found=np.asarray(found, bool), set_aside=set_aside)

    def __len__(self) -> int:
        return len(self.score)

    @property
    def n_images(self) -> int:
        return len(self.found)

    @property
    def xyxy(self) -> np.ndarray:
        return xywh_to_xyxy(self.xywh)

    def image_bounds(self) -> np.ndarray:
        return np.searchsorted(self.image_index, np.arange(self.n_images + 1), side="left")

    def above(self, threshold: float) -> PackBoxes:
        """Only boxes scoring at least ``threshold`` (which images were found is kept)."""
        keep = self.score >= threshold
        return PackBoxes(image_index=self.image_index[keep], xywh=self.xywh[keep], score=self.score[keep],
                         found=self.found, set_aside=self.set_aside)

    def only_images(self, keep: np.ndarray) -> PackBoxes:
        """The boxes of the images where ``keep`` (m,) is True, renumbered."""
        keep = np.asarray(keep, bool)
        rows = keep[self.image_index]
        return PackBoxes(image_index=np.cumsum(keep)[self.image_index[rows]] - 1, xywh=self.xywh[rows],
                         score=self.score[rows], found=self.found[keep], set_aside=self.set_aside)


# -- WIDER txt --------------------------------------------------------------------------
NO_BOXES = "read as no boxes for this image, as a missing file is"
NEGATIVE_KEPT = "kept, as the official tool keeps it: a box that can match no face (a false positive)"
LEFT_OUT = "left out"


@dataclass(frozen=True, eq=False)
class WiderFile:
    """One WIDER txt file: the image name on its first line, its boxes and scores, and the
    lines set aside (named, with what was done)."""

    name: str
    xywh: np.ndarray
    score: np.ndarray
    set_aside: SetAside


def read_wider_txt(path: str | Path, *, strict: bool = False) -> WiderFile:
    """The boxes of one WIDER txt file.

    As the official tool: the count on line 2 says how many box lines to read; each line's
    first five numbers are ``x y w h score`` (further numbers, e.g. landmarks, are ignored).
    What the official tool would stop on, or count wrongly, is set aside and named: a file
    without a count (read as no boxes), fewer lines than announced (the ones there are
    read), lines beyond the count (ignored, as the official tool ignores them), a line
    that is not five numbers, or holds a non-finite one (left out). A box with a negative
    width or height is kept, as the official tool keeps it, and named. ``strict`` raises
    InputFileError instead.
    """
    path = Path(path)
    found: list[tuple[int, RowProblem, str, str]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        return _wider_file(path, "", [], [(0, RowProblem.UNREADABLE, str(error), NO_BOXES)], strict)
    if len(lines) < 2:
        return _wider_file(path, lines[0].strip() if lines else "", [], [
            (0, RowProblem.MALFORMED, f"expected a name line and a count line, got {len(lines)} line(s)",
             NO_BOXES)], strict)
    name = lines[0].strip()
    try:
        count = int(float(lines[1].strip()))
        if count < 0:
            raise ValueError
    except (ValueError, OverflowError):
        return _wider_file(path, name, [], [(2, RowProblem.MALFORMED, f"expected the number of boxes, got "
                                                                    f"{lines[1]!r}", NO_BOXES)], strict)
    body = lines[2:2 + count]
    if len(body) < count:
        found.append((2, RowProblem.MALFORMED, f"announces {count} boxes but {len(body)} box line(s) follow",
                      "the lines there are are read"))
    found += [(number, RowProblem.MALFORMED, f"beyond the {count} boxes announced on line 2: {line.strip()!r}",
               "ignored, as the official tool ignores it")
              for number, line in enumerate(lines[2 + count:], start=3 + count) if line.strip()]
    return _wider_file(path, name, body, found, strict)


def _wider_file(path: Path, name: str, body: list[str], found: list, strict: bool) -> WiderFile:
    rows, numbers = [], []
    for number, line in enumerate(body, start=3):
        fields = line.split()
        try:
            values = [float(v) for v in fields[:5]]
        except ValueError:
            values = []
        if len(values) < 5:
            found.append((number, RowProblem.MALFORMED, f"expected 'x y w h score', got {line.strip()!r}", LEFT_OUT))
            continue
        problem = _box_problem(values)
        if problem is not None:
            found.append((number, problem, line.strip(), LEFT_OUT))
            continue
        if values[2] < 0 or values[3] < 0:
            found.append((number, RowProblem.NEGATIVE_BOX, line.strip(), NEGATIVE_KEPT))
        rows.append(values)
        numbers.append(number)
    set_aside = SetAside.of(str(path), sorted(found, key=lambda item: item[0])).check_strict(strict)
    values = np.array(rows, np.float64).reshape(-1, 5)
    return WiderFile(name=name, xywh=values[:, :4], score=values[:, 4], set_aside=set_aside)


def _box_problem(values) -> RowProblem | None:
    if all(math.isfinite(v) for v in values):
        return None
    return RowProblem.NOT_A_NUMBER if any(math.isnan(v) for v in values) else RowProblem.INFINITE


def format_wider_txt(name: str, xywh: np.ndarray, score: np.ndarray) -> str:
    xywh = np.asarray(xywh, np.float64).reshape(-1, 4)
    score = np.asarray(score, np.float64).reshape(-1)
    lines = [name, str(len(score))]
    lines += [f"{x:.2f} {y:.2f} {w:.2f} {h:.2f} {s:.6f}" for (x, y, w, h), s in zip(xywh, score)]
    return "\n".join(lines) + "\n"


def write_wider_txt(path: str | Path, name: str, xywh: np.ndarray, score: np.ndarray) -> Path:
    """Write one image's boxes in WIDER format (atomically)."""
    return write_text_atomic(path, format_wider_txt(name, xywh, score))


def read_wider_dir(directory: str | Path, faces: LabelledFaces, *, strict: bool = False) -> PackBoxes:
    """Boxes for every image of ``faces`` from ``DIR/<event>/<name>.txt`` (missing: none);
    lines set aside as `read_wider_txt` says (``strict``: an error)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputFileError(f"{directory}: no such folder of WIDER box files")
    per_image, set_aside = [], []
    for i in range(faces.n_images):
        path = faces.boxes_file(directory, i)
        if not path.is_file():
            per_image.append(None)
            continue
        read = read_wider_txt(path, strict=strict)
        per_image.append((read.xywh, read.score))
        set_aside.append(read.set_aside)
    return PackBoxes.from_lists(per_image, set_aside=SetAside.merge(set_aside))


def write_wider_dir(directory: str | Path, faces: LabelledFaces, boxes: PackBoxes) -> None:
    """One WIDER txt per image that has boxes recorded (``boxes.found``)."""
    bounds = boxes.image_bounds()
    for i in np.flatnonzero(boxes.found):
        rows = slice(bounds[i], bounds[i + 1])
        write_wider_txt(faces.boxes_file(Path(directory), i), faces.image_stem(i),
                        boxes.xywh[rows], boxes.score[rows])


# -- JSON lines -------------------------------------------------------------------------
def read_jsonl(path: str | Path, faces: LabelledFaces, *, strict: bool = False) -> PackBoxes:
    """Boxes for the images of ``faces`` from a JSON-lines file (see the module doc).

    Each line names its image by ``image`` (path under ``images/``) or ``path`` (any path
    ending in it); ``faces`` holds records with ``box`` (x1, y1, x2, y2) and ``score``.
    Several lines for one image are put together. A line that is not such a record, or a
    box with a non-finite number, is left out and named; a box with a negative width or
    height is kept and named (``strict``: an error).
    """
    path = Path(path)
    lookup = {name: i for i, name in enumerate(faces.images.tolist())}
    per_image: list[tuple[np.ndarray, np.ndarray] | None] = [None] * faces.n_images
    found: list[tuple[int, RowProblem, str, str]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputFileError(f"{path}: cannot read JSON lines ({error})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parsed = _jsonl_record(line)
        if isinstance(parsed, str):
            found.append((number, RowProblem.MALFORMED, f"expected {{'image': ..., 'faces': [{{'box': "
                                                        f"[x1, y1, x2, y2], 'score': s}}]}} ({parsed})", LEFT_OUT))
            continue
        name, xyxy, score = parsed
        i = _image_for(str(name), lookup)
        if i is None:
            continue  # an image outside this pack
        xywh = xyxy_to_xywh(xyxy)
        usable = np.ones(len(score), bool)
        for k in range(len(score)):
            problem = _box_problem([*xyxy[k], score[k]])
            if problem is not None:
                usable[k] = False
                found.append((number, problem, f"box {k} of {name}: {xyxy[k].tolist()}, score {score[k]}", LEFT_OUT))
            elif xywh[k, 2] < 0 or xywh[k, 3] < 0:
                found.append((number, RowProblem.NEGATIVE_BOX, f"box {k} of {name}: {xyxy[k].tolist()}",
                              NEGATIVE_KEPT))
        xywh, score = xywh[usable], score[usable]
        if per_image[i] is not None:
            xywh = np.concatenate([per_image[i][0], xywh])
            score = np.concatenate([per_image[i][1], score])
        per_image[i] = (xywh, score)
    set_aside = SetAside.of(str(path), found).check_strict(strict)
    return PackBoxes.from_lists(per_image, set_aside=set_aside)


def _jsonl_record(line: str) -> tuple[str, np.ndarray, np.ndarray] | str:
    """(image name, xyxy (k, 4), score (k,)) from one line, or what is wrong with it."""
    try:
        record = json.loads(line)
        name = record.get("image", record.get("path"))
        records = record["faces"]
        xyxy = np.array([r["box"] for r in records], np.float64).reshape(-1, 4)
        score = np.array([r.get("score", 1.0) for r in records], np.float64).reshape(-1)
        if name is None or len(score) != len(xyxy):
            raise ValueError("no image name, or not four numbers per box")
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as error:
        return str(error) or type(error).__name__
    return str(name), xyxy, score


def _image_for(name: str, lookup: dict[str, int]) -> int | None:
    posix = PurePosixPath(name.replace("\\", "/"))
    for start in range(len(posix.parts)):
        candidate = "/".join(posix.parts[start:])
        if candidate in lookup:
            return lookup[candidate]
    return None


def write_jsonl(path: str | Path, faces: LabelledFaces, boxes: PackBoxes) -> Path:
    bounds = boxes.image_bounds()
    lines = []
    for i in np.flatnonzero(boxes.found):
        rows = slice(bounds[i], bounds[i + 1])
        xyxy = xywh_to_xyxy(boxes.xywh[rows])
        records = [{"box": [round(float(v), 2) for v in box], "score": round(float(s), 6)}
                   for box, s in zip(xyxy, boxes.score[rows])]
        lines.append(json.dumps({"image": str(faces.images[i]), "faces": records}))
    return write_text_atomic(path, "\n".join(lines) + ("\n" if lines else ""))


def read_boxes(source: str | Path, faces: LabelledFaces, *, strict: bool = False) -> PackBoxes:
    """A folder of WIDER txt files, or a ``.jsonl`` / ``.json`` file of JSON lines."""
    source = Path(source)
    if source.is_dir():
        return read_wider_dir(source, faces, strict=strict)
    if source.is_file() and source.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        return read_jsonl(source, faces, strict=strict)
    raise InputFileError(f"{source}: expected a folder of WIDER txt files or a .jsonl file of boxes")


def read_cover_shape(directory: str | Path, *, default: CoverShape = CoverShape.BOX) -> CoverShape:
    """The shape named in ``DIR/shape.txt`` beside a redactor's boxes (``default`` if absent)."""
    path = Path(directory) / SHAPE_FILE
    if not path.is_file():
        return default
    try:
        return CoverShape.parse(path.read_text(encoding="utf-8").strip().lower(), f"{path}")
    except ConfigError as error:
        raise InputFileError(f"{path}: {error}") from None

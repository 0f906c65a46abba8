"""Labelled faces from a WIDER-layout pack, and a detector's boxes for every image of it.

A pack is a folder holding ``faces.csv`` (one row per annotated face) and ``images/``.
Columns of ``faces.csv``:

- ``image`` (path under ``images/``, e.g. ``2--Demonstration/2_Demo_1.jpg``) and the box,
  ``x y w h`` in pixels (or ``x1 y1 x2 y2``); required.
- ``face`` (index in the image's official list) and ``event``: optional.
- ``easy``, ``medium``, ``hard``: 1 where the official WIDER protocol counts the face in
  that set; optional (without them there is no AP).
- WIDER's condition labels ``blur expression illumination invalid occlusion pose``: kept as
  numbers, NaN where empty.
- Every other column (``skin``, ``gender``, ``age``, ...) is a group attribute, kept as
  text; an empty cell stays missing (`MISSING`), never guessed.

Boxes of a detector (or of a redactor: what it covered) are read from a folder of WIDER
txt files, ``DIR/<event>/<name>.txt`` holding ``<name>``, ``<count>`` and ``count`` lines of
``x y w h score`` in pixels of the original image, or from one JSON-lines file with a line
``{"image": "<event>/<name>.jpg", "faces": [{"box": [x1, y1, x2, y2], "score": s}, ...]}``
per image. Coordinates stay float64 so evaluations see exactly what the files say.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType

import numpy as np

from unseen.errors import ConfigError, InputFileError
from unseen.media.files import write_text_atomic
from unseen.media.image import is_image_path

FACES_FILE = "faces.csv"
IMAGES_DIR = "images"
SET_NAMES = ("easy", "medium", "hard")
CONDITION_NAMES = ("blur", "expression", "illumination", "invalid", "occlusion", "pose")
STRUCTURE_COLUMNS = ("image", "event", "face", "x", "y", "w", "h", "x1", "y1", "x2", "y2")
MISSING = ""
"""How a missing group label is stored (an empty cell in ``faces.csv``)."""

PROTEST_EVENTS = ("0--Parade", "2--Demonstration", "3--Riot", "10--People_Marching", "61--Street_Battle")
"""WIDER FACE events that show protests, marches and street clashes."""

SHAPE_FILE = "shape.txt"
"""Beside a redactor's boxes: ``box`` or ``ellipse``, the shape covered inside each box."""


def _frozen(mapping: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
    for value in mapping.values():
        value.setflags(write=False)
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, eq=False)
class LabelledFaces:
    """Every annotated face of a set of images, one row per face, sorted by image.

    images: (m,) relative paths of all images, faces or not (posix, under ``root``).
    image_index: (n,) which image each face is in (non-decreasing).
    face_id: (n,) index of the face in its image's official list (row order if not given).
    xywh: (n, 4) float64 boxes in pixels, as annotated.
    sets: WIDER evaluation sets present in the pack, name -> (n,) bool.
    conditions: WIDER condition labels present, name -> (n,) float64 (NaN missing).
    attributes: group labels, name -> (n,) str (`MISSING` where not labelled).
    root: the folder the image paths are relative to (None when only boxes are known).
    """

    images: np.ndarray
    image_index: np.ndarray
    face_id: np.ndarray
    xywh: np.ndarray
    sets: Mapping[str, np.ndarray] = field(default_factory=dict)
    conditions: Mapping[str, np.ndarray] = field(default_factory=dict)
    attributes: Mapping[str, np.ndarray] = field(default_factory=dict)
    root: Path | None = None

    def __post_init__(self) -> None:
        images = np.asarray(self.images, dtype=str).reshape(-1)
        image_index = np.asarray(self.image_index, dtype=np.int64).reshape(-1)
        n = len(image_index)
        xywh = np.asarray(self.xywh, dtype=np.float64).reshape(-1, 4) if n else np.zeros((0, 4))
        face_id = np.asarray(self.face_id, dtype=np.int64).reshape(-1)
        if xywh.shape != (n, 4) or face_id.shape != (n,):
            raise ConfigError(f"LabelledFaces: expected xywh ({n}, 4) and face_id ({n},), "
                              f"got {xywh.shape} and {face_id.shape}")
        if n and (image_index.min() < 0 or image_index.max() >= len(images)):
            raise ConfigError(f"LabelledFaces.image_index: expected values in [0, {len(images)}), "
                              f"got [{image_index.min()}, {image_index.max()}]")
        if np.any(np.diff(image_index) < 0):
            raise ConfigError("LabelledFaces.image_index: faces must be sorted by image")
        if not np.all(np.isfinite(xywh)) or np.any(xywh[:, 2:] < 0):
            raise ConfigError("LabelledFaces.xywh: boxes need finite coordinates and w, h >= 0")
        checked = {}
        for kind, mapping, dtype in (("sets", self.sets, bool), ("conditions", self.conditions, np.float64),
                                     ("attributes", self.attributes, str)):
            columns = {name: np.asarray(values, dtype=dtype).reshape(-1) for name, values in mapping.items()}
            for name, values in columns.items():
                if values.shape != (n,):
                    raise ConfigError(f"LabelledFaces.{kind}[{name!r}]: expected shape ({n},), got {values.shape}")
            checked[kind] = _frozen(columns)
        for name, value in (("images", images), ("image_index", image_index), ("face_id", face_id), ("xywh", xywh)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        for kind, value in checked.items():
            object.__setattr__(self, kind, value)

    # -- sizes and geometry -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.image_index)

    @property
    def n_images(self) -> int:
        return len(self.images)

    @property
    def xyxy(self) -> np.ndarray:
        return np.concatenate([self.xywh[:, :2], self.xywh[:, :2] + self.xywh[:, 2:]], axis=1)

    @property
    def width(self) -> np.ndarray:
        return self.xywh[:, 2]

    @property
    def height(self) -> np.ndarray:
        return self.xywh[:, 3]

    @property
    def valid(self) -> np.ndarray:
        """Faces to count: a box with area, not flagged ``invalid`` by the annotators."""
        invalid = self.conditions.get("invalid")
        flagged = np.zeros(len(self), bool) if invalid is None else invalid == 1
        return (self.width > 0) & (self.height > 0) & ~flagged

    def image_bounds(self) -> np.ndarray:
        """(m + 1,) offsets: the faces of image ``i`` are rows ``bounds[i]:bounds[i + 1]``."""
        return np.searchsorted(self.image_index, np.arange(self.n_images + 1), side="left")

    # -- images -------------------------------------------------------------------------
    def image_path(self, i: int) -> Path:
        if self.root is None:
            raise ConfigError("LabelledFaces.image_path: these faces came without an images folder")
        return self.root / self.images[i]

    def image_event(self, i: int) -> str:
        """The folder of the image under ``images/`` ('' for a flat pack)."""
        parent = PurePosixPath(str(self.images[i])).parent
        return "" if str(parent) == "." else str(parent)

    @property
    def image_events(self) -> np.ndarray:
        """(m,) the event (folder under ``images/``) of every image."""
        return np.array([self.image_event(i) for i in range(self.n_images)], dtype=str)

    @property
    def event(self) -> np.ndarray:
        """(n,) the event of each face's image (e.g. to pick the `PROTEST_EVENTS`)."""
        return self.image_events[self.image_index] if len(self) else np.zeros(0, dtype=str)

    def image_stem(self, i: int) -> str:
        return PurePosixPath(str(self.images[i])).stem

    def boxes_file(self, directory: Path, i: int) -> Path:
        """Where the WIDER txt of image ``i`` lives under ``directory``."""
        return Path(directory) / self.image_event(i) / f"{self.image_stem(i)}.txt"

    def image_sizes(self) -> np.ndarray:
        """(m, 2) width and height of every image, upright (read from the file headers)."""
        return np.array([_upright_size(self.image_path(i)) for i in range(self.n_images)], dtype=np.int64)

    def only_images(self, keep: np.ndarray) -> LabelledFaces:
        """The faces of the images where ``keep`` (m,) is True; the others are dropped."""
        keep = np.asarray(keep, bool)
        rows = keep[self.image_index]
        narrowed = self.select(rows)
        return LabelledFaces(
            images=self.images[keep], image_index=np.cumsum(keep)[narrowed.image_index] - 1,
            face_id=narrowed.face_id, xywh=narrowed.xywh, sets=narrowed.sets,
            conditions=narrowed.conditions, attributes=narrowed.attributes, root=self.root,
        )

    def select(self, keep: np.ndarray) -> LabelledFaces:
        """Only the faces where ``keep`` is True (every image stays)."""
        keep = np.asarray(keep)
        return LabelledFaces(
            images=self.images, image_index=self.image_index[keep], face_id=self.face_id[keep],
            xywh=self.xywh[keep], sets={k: v[keep] for k, v in self.sets.items()},
            conditions={k: v[keep] for k, v in self.conditions.items()},
            attributes={k: v[keep] for k, v in self.attributes.items()}, root=self.root,
        )


def _upright_size(path: Path) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1)
    except (OSError, UnidentifiedImageError) as error:
        raise InputFileError(f"{path}: not a readable image ({error})") from None
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


# -- reading a pack ---------------------------------------------------------------------
def load_pack(pack: str | Path) -> LabelledFaces:
    """The labelled faces of a WIDER-layout pack (``faces.csv`` + ``images/``).

    Every image under ``images/`` is listed, with faces or not; an image named in
    ``faces.csv`` but absent from ``images/`` is an error.
    """
    pack = Path(pack)
    csv_path = pack / FACES_FILE
    if not csv_path.is_file():
        raise InputFileError(f"{pack}: not a face pack (expected {FACES_FILE} and {IMAGES_DIR}/ inside)")
    images_dir = pack / IMAGES_DIR
    on_disk = _image_files(images_dir) if images_dir.is_dir() else None
    return load_faces_csv(csv_path, images_root=images_dir if on_disk is not None else None,
                          extra_images=on_disk)


def _image_files(images_dir: Path) -> list[str]:
    return sorted(p.relative_to(images_dir).as_posix() for p in images_dir.rglob("*")
                  if p.is_file() and is_image_path(p))


def load_faces_csv(path: str | Path, *, images_root: Path | None = None,
                   extra_images: Iterable[str] | None = None) -> LabelledFaces:
    """Labelled faces from any CSV with an ``image`` column and boxes (see the module doc).

    ``extra_images`` are images without faces to include (e.g. every file of the pack).
    """
    import pandas as pd

    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    except (OSError, ValueError) as error:
        raise InputFileError(f"{path}: not a readable CSV ({error})") from None
    table.columns = [c.strip() for c in table.columns]
    xywh = _boxes_from_table(table, path)
    if "image" not in table.columns:
        raise InputFileError(f"{path}: expected an 'image' column, found {list(table.columns)}")
    image_of_face = table["image"].str.strip().to_numpy(dtype=str)
    listed = set(image_of_face.tolist())
    if extra_images is not None:
        extra = set(extra_images)
        absent = sorted(listed - extra)
        if absent:
            raise InputFileError(f"{path}: {len(absent)} image(s) named in the CSV are not in "
                                 f"{images_root}, e.g. {absent[0]!r}")
        listed |= extra
    images = np.array(sorted(listed), dtype=str)
    image_index = np.searchsorted(images, image_of_face)
    face_id = _column_numbers(table, "face", path, default=None)
    if face_id is None:
        face_id = table.groupby("image").cumcount().to_numpy()
    elif np.isnan(face_id).any():
        row = int(np.flatnonzero(np.isnan(face_id))[0])
        raise InputFileError(f"{path}: column 'face' row {row + 2}: expected the face's index, got an empty cell")
    order = np.lexsort((face_id, image_index))
    sets = {name: _column_numbers(table, name, path) == 1 for name in SET_NAMES if name in table.columns}
    conditions = {name: _column_numbers(table, name, path) for name in CONDITION_NAMES if name in table.columns}
    attributes = {name: table[name].str.strip().to_numpy(dtype=str) for name in table.columns
                  if name not in STRUCTURE_COLUMNS + SET_NAMES + CONDITION_NAMES}
    return LabelledFaces(
        images=images, image_index=image_index[order], face_id=np.asarray(face_id)[order].astype(np.int64),
        xywh=xywh[order], sets={k: v[order] for k, v in sets.items()},
        conditions={k: v[order] for k, v in conditions.items()},
        attributes={k: v[order] for k, v in attributes.items()}, root=images_root,
    )


def _column_numbers(table, name: str, path: Path, default: float | None = np.nan):
    import pandas as pd

    if name not in table.columns:
        return default
    values = pd.to_numeric(table[name].str.strip().replace("", None), errors="coerce")
    bad = values.isna() & (table[name].str.strip() != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputFileError(f"{path}: column {name!r} row {row + 2}: expected a number, "
                             f"got {table[name].iloc[row]!r}")
    return values.to_numpy(dtype=np.float64)


def _boxes_from_table(table, path: Path) -> np.ndarray:
    if {"x", "y", "w", "h"} <= set(table.columns):
        columns = [_column_numbers(table, c, path) for c in ("x", "y", "w", "h")]
        xywh = np.stack(columns, axis=1) if len(table) else np.zeros((0, 4))
    elif {"x1", "y1", "x2", "y2"} <= set(table.columns):
        x1, y1, x2, y2 = (_column_numbers(table, c, path) for c in ("x1", "y1", "x2", "y2"))
        xywh = np.stack([x1, y1, x2 - x1, y2 - y1], axis=1) if len(table) else np.zeros((0, 4))
    else:
        raise InputFileError(f"{path}: expected box columns x, y, w, h (or x1, y1, x2, y2), "
                             f"found {list(table.columns)}")
    if not np.all(np.isfinite(xywh)) or np.any(xywh[:, 2:] < 0):
        row = int(np.flatnonzero(~np.all(np.isfinite(xywh), axis=1) | np.any(xywh[:, 2:] < 0, axis=1))[0])
        raise InputFileError(f"{path}: row {row + 2}: expected a box with numbers and w, h >= 0, "
                             f"got {xywh[row].tolist()}")
    return xywh


# -- boxes over a pack ------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PackBoxes:
    """A detector's (or redactor's) boxes for every image of a pack, sorted by image.

    image_index: (k,) image of each box. xywh: (k, 4) float64 pixels. score: (k,) float64.
    found: (m,) True where the image had a box file or record; an image without one has
        no boxes (as the official WIDER tool treats a missing file).
    """

    image_index: np.ndarray
    xywh: np.ndarray
    score: np.ndarray
    found: np.ndarray

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
    def from_lists(cls, per_image: Iterable[tuple[np.ndarray, np.ndarray] | None]) -> PackBoxes:
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
        if not boxes:
            return cls(image_index=np.zeros(0, np.int64), xywh=np.zeros((0, 4)), score=np.zeros(0),
                       found=np.asarray(found, bool))
        return cls(image_index=np.concatenate(indices), xywh=np.concatenate(boxes),
                   score=np.concatenate(scores), found=np.asarray(found, bool))

    def __len__(self) -> int:
        return len(self.score)

    @property
    def n_images(self) -> int:
        return len(self.found)

    @property
    def xyxy(self) -> np.ndarray:
        return np.concatenate([self.xywh[:, :2], self.xywh[:, :2] + self.xywh[:, 2:]], axis=1)

    def image_bounds(self) -> np.ndarray:
        return np.searchsorted(self.image_index, np.arange(self.n_images + 1), side="left")

    def above(self, threshold: float) -> PackBoxes:
        """Only boxes scoring at least ``threshold`` (which images were found is kept)."""
        keep = self.score >= threshold
        return PackBoxes(image_index=self.image_index[keep], xywh=self.xywh[keep], score=self.score[keep],
                         found=self.found)

    def only_images(self, keep: np.ndarray) -> PackBoxes:
        """The boxes of the images where ``keep`` (m,) is True, renumbered."""
        keep = np.asarray(keep, bool)
        rows = keep[self.image_index]
        return PackBoxes(image_index=np.cumsum(keep)[self.image_index[rows]] - 1, xywh=self.xywh[rows],
                         score=self.score[rows], found=self.found[keep])

    def per_image_counts(self) -> np.ndarray:
        return np.bincount(self.image_index, minlength=self.n_images)


# -- WIDER txt --------------------------------------------------------------------------
def read_wider_txt(path: str | Path) -> tuple[str, np.ndarray, np.ndarray]:
    """``(name, xywh (k, 4), score (k,))`` from one WIDER txt file.

    As the official tool: the count on line 2 says how many box lines to read; each line's
    first five numbers are ``x y w h score`` (further numbers, e.g. landmarks, are ignored).
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputFileError(f"{path}: cannot read WIDER boxes ({error})") from None
    if len(lines) < 2:
        raise InputFileError(f"{path}: expected a name line and a count line, got {len(lines)} line(s)")
    name = lines[0].strip()
    try:
        count = int(float(lines[1].strip()))
    except ValueError:
        raise InputFileError(f"{path}: line 2: expected the number of boxes, got {lines[1]!r}") from None
    body = lines[2:2 + count]
    if count < 0 or len(body) < count:
        raise InputFileError(f"{path}: line 2 announces {count} boxes but {len(body)} box line(s) follow")
    if any(line.strip() for line in lines[2 + count:]):
        raise InputFileError(f"{path}: more box lines than the {count} announced on line 2")
    if count == 0:
        return name, np.zeros((0, 4)), np.zeros(0)
    values = _parse_box_lines(body, path)
    return name, values[:, :4], values[:, 4]


def _parse_box_lines(body: list[str], path: Path) -> np.ndarray:
    tokens = " ".join(body).split()
    if len(tokens) == 5 * len(body):
        try:
            return np.array(tokens, dtype=np.float64).reshape(-1, 5)
        except ValueError:
            pass  # fall through to find the line at fault
    rows = []
    for number, line in enumerate(body, start=3):
        fields = line.split()
        try:
            if len(fields) < 5:
                raise ValueError
            rows.append([float(v) for v in fields[:5]])
        except ValueError:
            raise InputFileError(f"{path}: line {number}: expected 'x y w h score', got {line!r}") from None
    return np.array(rows, dtype=np.float64)


def format_wider_txt(name: str, xywh: np.ndarray, score: np.ndarray) -> str:
    xywh = np.asarray(xywh, np.float64).reshape(-1, 4)
    score = np.asarray(score, np.float64).reshape(-1)
    lines = [name, str(len(score))]
    lines += [f"{x:.2f} {y:.2f} {w:.2f} {h:.2f} {s:.6f}" for (x, y, w, h), s in zip(xywh, score)]
    return "\n".join(lines) + "\n"


def write_wider_txt(path: str | Path, name: str, xywh: np.ndarray, score: np.ndarray) -> Path:
    """Write one image's boxes in WIDER format (atomically)."""
    return write_text_atomic(path, format_wider_txt(name, xywh, score))


def read_wider_dir(directory: str | Path, faces: LabelledFaces) -> PackBoxes:
    """Boxes for every image of ``faces`` from ``DIR/<event>/<name>.txt`` (missing: none)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputFileError(f"{directory}: no such folder of WIDER box files")
    per_image = []
    for i in range(faces.n_images):
        path = faces.boxes_file(directory, i)
        per_image.append(read_wider_txt(path)[1:] if path.is_file() else None)
    return PackBoxes.from_lists(per_image)


def write_wider_dir(directory: str | Path, faces: LabelledFaces, boxes: PackBoxes) -> None:
    """One WIDER txt per image that has boxes recorded (``boxes.found``)."""
    bounds = boxes.image_bounds()
    for i in np.flatnonzero(boxes.found):
        rows = slice(bounds[i], bounds[i + 1])
        write_wider_txt(faces.boxes_file(Path(directory), i), faces.image_stem(i),
                        boxes.xywh[rows], boxes.score[rows])


# -- JSON lines -------------------------------------------------------------------------
def read_jsonl(path: str | Path, faces: LabelledFaces) -> PackBoxes:
    """Boxes for the images of ``faces`` from a JSON-lines file (see the module doc).

    Each line names its image by ``image`` (path under ``images/``) or ``path`` (any path
    ending in it); ``faces`` holds records with ``box`` (x1, y1, x2, y2) and ``score``.
    """
    path = Path(path)
    lookup = {name: i for i, name in enumerate(faces.images.tolist())}
    per_image: list[tuple[np.ndarray, np.ndarray] | None] = [None] * faces.n_images
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputFileError(f"{path}: cannot read JSON lines ({error})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            name = record.get("image", record.get("path"))
            records = record["faces"]
            xyxy = np.array([r["box"] for r in records], np.float64).reshape(-1, 4)
            score = np.array([r.get("score", 1.0) for r in records], np.float64)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InputFileError(f"{path}: line {number}: expected {{'image': ..., 'faces': "
                                 f"[{{'box': [x1, y1, x2, y2], 'score': s}}]}} ({error})") from None
        i = _image_for(str(name), lookup)
        if i is None:
            continue  # an image outside this pack
        xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
        if per_image[i] is not None:
            xywh = np.concatenate([per_image[i][0], xywh])
            score = np.concatenate([per_image[i][1], score])
        per_image[i] = (xywh, score)
    return PackBoxes.from_lists(per_image)


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
        xyxy = np.concatenate([boxes.xywh[rows, :2], boxes.xywh[rows, :2] + boxes.xywh[rows, 2:]], axis=1)
        records = [{"box": [round(float(v), 2) for v in box], "score": round(float(s), 6)}
                   for box, s in zip(xyxy, boxes.score[rows])]
        lines.append(json.dumps({"image": str(faces.images[i]), "faces": records}))
    return write_text_atomic(path, "\n".join(lines) + ("\n" if lines else ""))


def read_boxes(source: str | Path, faces: LabelledFaces) -> PackBoxes:
    """A folder of WIDER txt files, or a ``.jsonl`` / ``.json`` file of JSON lines."""
    source = Path(source)
    if source.is_dir():
        return read_wider_dir(source, faces)
    if source.is_file() and source.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        return read_jsonl(source, faces)
    raise InputFileError(f"{source}: expected a folder of WIDER txt files or a .jsonl file of boxes")

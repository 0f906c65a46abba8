"""Labelled faces: a WIDER-layout pack, or any CSV of labelled boxes.

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

Coordinates stay float64 so evaluations see exactly what the files say. Rows that cannot
be used as they stand are set aside and named (`LabelledFaces.set_aside`, see
`load_faces_csv`); a box with a negative or zero width or height is kept as a face that is
not valid, as the official WIDER evaluation has it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType

import numpy as np

from unseen.audit.set_aside import RowProblem, SetAside
from unseen.choices import Choice
from unseen.errors import ConfigError, InputFileError
from unseen.faces.boxes import xywh_to_xyxy, xyxy_to_xywh
from unseen.media.image import is_image_path

FACES_FILE = "faces.csv"
IMAGES_DIR = "images"


class WiderSet(Choice):
    """The official WIDER FACE evaluation sets (a ``faces.csv`` column each)."""

    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"


SET_NAMES = tuple(s.value for s in WiderSet)
CONDITION_NAMES = ("blur", "expression", "illumination", "invalid", "occlusion", "pose")
STRUCTURE_COLUMNS = ("image", "event", "face", "x", "y", "w", "h", "x1", "y1", "x2", "y2")
MISSING = ""
"""How a missing group label is stored (an empty cell in ``faces.csv``)."""

PROTEST_EVENTS = ("0--Parade", "2--Demonstration", "3--Riot", "10--People_Marching", "61--Street_Battle")
"""WIDER FACE events that show protests, marches and street clashes."""


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
    set_aside: the rows of the file these faces were read from that were left out or are
        kept as faces that are not valid, each with its reason (`unseen.audit.set_aside`).

    A box may have a negative width or height (the official WIDER validation set holds
    one): it is kept as a face that is not `valid`, and can match no box.
    """

    images: np.ndarray
    image_index: np.ndarray
    face_id: np.ndarray
    xywh: np.ndarray
    sets: Mapping[str, np.ndarray] = field(default_factory=dict)
    conditions: Mapping[str, np.ndarray] = field(default_factory=dict)
    attributes: Mapping[str, np.ndarray] = field(default_factory=dict)
    root: Path | None = None
    set_aside: SetAside = field(default_factory=SetAside)

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
        if not np.all(np.isfinite(xywh)):
            raise ConfigError("LabelledFaces.xywh: boxes need finite coordinates")
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
        return xywh_to_xyxy(self.xywh)

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
            set_aside=self.set_aside,
        )

    def select(self, keep: np.ndarray) -> LabelledFaces:
        """Only the faces where ``keep`` is True (every image stays)."""
        keep = np.asarray(keep)
        return LabelledFaces(
            images=self.images, image_index=self.image_index[keep], face_id=self.face_id[keep],
            xywh=self.xywh[keep], sets={k: v[keep] for k, v in self.sets.items()},
            conditions={k: v[keep] for k, v in self.conditions.items()},
            attributes={k: v[keep] for k, v in self.attributes.items()}, root=self.root,
            set_aside=self.set_aside,
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
def load_pack(pack: str | Path, *, strict: bool = False) -> LabelledFaces:
    """The labelled faces of a WIDER-layout pack (``faces.csv`` + ``images/``).

    Every image under ``images/`` is listed, with faces or not; a row naming an image
    absent from ``images/`` is set aside (an error when no named image is there).
    """
    pack = Path(pack)
    csv_path = pack / FACES_FILE
    if not csv_path.is_file():
        raise InputFileError(f"{pack}: not a face pack (expected {FACES_FILE} and {IMAGES_DIR}/ inside)")
    images_dir = pack / IMAGES_DIR
    on_disk = _image_files(images_dir) if images_dir.is_dir() else None
    return load_faces_csv(csv_path, images_root=images_dir if on_disk is not None else None,
                          extra_images=on_disk, strict=strict)


def _image_files(images_dir: Path) -> list[str]:
    return sorted(p.relative_to(images_dir).as_posix() for p in images_dir.rglob("*")
                  if p.is_file() and is_image_path(p))


NOT_A_VALID_FACE = ("kept, but not a valid face: out of recall, coverage and the miss models; in the official AP "
                    "as the official tool counts it, in the sets its flags name")
NEGATIVE_FACE = NOT_A_VALID_FACE + " (no box can match it: its area is negative)"
LEFT_OUT = "left out"


def load_faces_csv(path: str | Path, *, images_root: Path | None = None,
                   extra_images: Iterable[str] | None = None, strict: bool = False) -> LabelledFaces:
    """Labelled faces from any CSV with an ``image`` column and boxes (see the module doc).

    ``extra_images`` are images without faces to include (e.g. every file of the pack).
    Rows that cannot be used as they stand are set aside and named in
    ``LabelledFaces.set_aside`` (see `unseen.audit.set_aside`): a row with a missing or
    non-numeric value, an infinite coordinate, a (image, face) pair seen before, or an image
    missing from the pack is left out; a box with a negative or zero width or height is kept
    as a face that is not valid, as the official WIDER evaluation treats it. ``strict``
    raises on the first of them instead.
    """
    import pandas as pd

    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise InputFileError(f"{path}: not a readable CSV ({error})") from None
    table.columns = [str(c).strip() for c in table.columns]
    repeated = sorted({c for c in table.columns if list(table.columns).count(c) > 1})
    if repeated:
        raise InputFileError(f"{path}: column(s) {repeated} appear more than once in the header")
    if not ({"x", "y", "w", "h"} <= set(table.columns) or {"x1", "y1", "x2", "y2"} <= set(table.columns)):
        raise InputFileError(f"{path}: expected box columns x, y, w, h (or x1, y1, x2, y2), "
                             f"found {list(table.columns)}")
    if "image" not in table.columns:
        raise InputFileError(f"{path}: expected an 'image' column, found {list(table.columns)}")
    rows = _FaceRows(table, path)
    rows.check_images(extra_images, images_root)
    set_aside = rows.set_aside().check_strict(strict)
    table, xywh = table[rows.keep].reset_index(drop=True), rows.xywh[rows.keep]
    if len(rows.keep) and not rows.keep.any():
        raise InputFileError(f"{path}: none of its {len(rows.keep)} row(s) can be used; first: "
                             f"{set_aside.describe(0)}")
    image_of_face = table["image"].str.strip().to_numpy(dtype=str)
    listed = set(image_of_face.tolist()) | set(extra_images or ())
    images = np.array(sorted(listed), dtype=str)
    image_index = np.searchsorted(images, image_of_face)
    face_id = rows.face_id[rows.keep] if rows.face_id is not None else table.groupby("image").cumcount().to_numpy()
    order = np.lexsort((face_id, image_index))
    sets = {name: _column_numbers(table, name) == 1 for name in SET_NAMES if name in table.columns}
    conditions = {name: _column_numbers(table, name) for name in CONDITION_NAMES if name in table.columns}
    attributes = {name: table[name].str.strip().to_numpy(dtype=str) for name in table.columns
                  if name not in STRUCTURE_COLUMNS + SET_NAMES + CONDITION_NAMES}
    return LabelledFaces(
        images=images, image_index=image_index[order], face_id=np.asarray(face_id)[order].astype(np.int64),
        xywh=xywh[order], sets={k: v[order] for k, v in sets.items()},
        conditions={k: v[order] for k, v in conditions.items()},
        attributes={k: v[order] for k, v in attributes.items()}, root=images_root, set_aside=set_aside,
    )


def _column_numbers(table, name: str) -> np.ndarray:
    """A column as float64, NaN where empty or not a number (rows with such numbers where
    numbers are needed were set aside before)."""
    import pandas as pd

    return pd.to_numeric(table[name].str.strip(), errors="coerce").to_numpy(dtype=np.float64)


class _FaceRows:
    """Row-by-row checks of a labelled-faces table: which rows to keep, and why the others
    (and the kept boxes that are not valid faces) are named."""

    def __init__(self, table, path: Path) -> None:
        self.table, self.path = table, path
        self.keep = np.ones(len(table), bool)
        self.found: list[tuple[int, RowProblem, str, str]] = []
        self.xywh = self._boxes()
        self.face_id = self._numbers_of("face", required=True) if "face" in table.columns else None
        for name in SET_NAMES + CONDITION_NAMES:
            if name in table.columns:
                self._numbers_of(name, required=False)
        self._images_named()
        self._duplicates()
        self._degenerate_boxes()

    def _flag(self, rows: np.ndarray, problem: RowProblem, detail, action: str = LEFT_OUT) -> None:
        for row in np.flatnonzero(rows & (self.keep if action == LEFT_OUT else True)):
            self.found.append((int(row) + 2, problem, detail(int(row)), action))
        if action == LEFT_OUT:
            self.keep &= ~rows

    def _numbers_of(self, name: str, *, required: bool) -> np.ndarray:
        import pandas as pd

        text = self.table[name].str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        empty = (text == "").to_numpy()
        if required:
            self._flag(empty, RowProblem.MISSING_VALUE, lambda r: f"no {name!r}")
        self._flag(np.isnan(values) & ~empty, RowProblem.NOT_A_NUMBER,
                   lambda r: f"{name} {self.table[name].iloc[r]!r}")
        self._flag(np.isinf(values), RowProblem.INFINITE, lambda r: f"{name} {self.table[name].iloc[r]!r}")
        return values

    def _boxes(self) -> np.ndarray:
        corners = not {"x", "y", "w", "h"} <= set(self.table.columns)
        names = ("x1", "y1", "x2", "y2") if corners else ("x", "y", "w", "h")
        values = np.stack([self._numbers_of(c, required=True) for c in names], axis=1) if len(self.table) \
            else np.zeros((0, 4))
        return xyxy_to_xywh(values) if corners else values

    def _images_named(self) -> None:
        self._flag((self.table["image"].str.strip() == "").to_numpy(), RowProblem.MISSING_VALUE,
                   lambda r: "no image named")

    def _duplicates(self) -> None:
        import pandas as pd

        if self.face_id is None:
            return
        images = self.table["image"].str.strip().tolist()
        keys = pd.Series([f"{image}\0{face:g}" for image, face in zip(images, self.face_id)], dtype=object)
        kept = np.flatnonzero(self.keep)
        repeated = np.zeros(len(self.keep), bool)
        repeated[kept] = keys.iloc[kept].duplicated().to_numpy()
        self._flag(repeated, RowProblem.DUPLICATE,
                   lambda r: f"face {self.table['face'].iloc[r].strip()} of {images[r]} again; the first row is kept")

    def _degenerate_boxes(self) -> None:
        w, h = self.xywh[:, 2], self.xywh[:, 3]
        usable = self.keep & np.all(np.isfinite(self.xywh), axis=1)
        shown = lambda r: "x {:g}, y {:g}, w {:g}, h {:g}".format(*self.xywh[r])  # noqa: E731
        self._flag(usable & ((w < 0) | (h < 0)), RowProblem.NEGATIVE_BOX, shown, NEGATIVE_FACE)
        self._flag(usable & (w >= 0) & (h >= 0) & ((w == 0) | (h == 0)), RowProblem.EMPTY_BOX, shown,
                   NOT_A_VALID_FACE)

    def check_images(self, on_disk: Iterable[str] | None, images_root: Path | None) -> None:
        if on_disk is None:
            return
        present = set(on_disk)
        names = self.table["image"].str.strip()
        absent = (~names.isin(present)).to_numpy() & self.keep
        if absent.any() and absent.sum() == self.keep.sum():
            raise InputFileError(f"{self.path}: none of the {int(absent.sum())} image(s) named in the CSV is in "
                                 f"{images_root}, e.g. {names[absent].iloc[0]!r}")
        self._flag(absent, RowProblem.FILE_NOT_FOUND, lambda r: f"{names.iloc[r]} not in {images_root}")

    def set_aside(self) -> SetAside:
        return SetAside.of(str(self.path), sorted(self.found, key=lambda found: found[0]))


def load_labelled_faces(pack: str | Path, *, strict: bool = False) -> LabelledFaces:
    """A WIDER-layout pack folder, or any CSV of labelled boxes (images beside it in
    ``images/`` when there are any)."""
    pack = Path(pack)
    if pack.is_dir():
        return load_pack(pack, strict=strict)
    if pack.is_file():
        images = pack.parent / IMAGES_DIR
        return load_faces_csv(pack, images_root=images if images.is_dir() else None, strict=strict)
    raise InputFileError(f"{pack}: no such pack folder or CSV of labelled faces")

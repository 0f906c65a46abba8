"""Manifests: which images show whom, with which group labels.

A manifest lists images with a subject id and group labels (`read_manifest`); a pairs
list with same / different-person marks can stand in for one (`manifest_from_pairs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from unseen.audit.recognition.comparisons import CROSS
from unseen.audit.recognition.readers import LINE, RowChecks, mated_flags, mated_values
from unseen.audit.set_aside import RowProblem, SetAside
from unseen.errors import ConfigError, InputFileError


@dataclass(frozen=True)
class Manifest:
    """Images with a subject id and labels: ``labels`` is ``(n, n_attributes)`` text;
    ``set_aside``: the manifest's rows left out, each named with why."""

    paths: tuple[Path, ...]
    subjects: np.ndarray
    attributes: tuple[str, ...]
    labels: np.ndarray
    label_sources: tuple[tuple[str, str], ...] = ()
    source: str = ""
    set_aside: SetAside = field(default_factory=SetAside)

    def __len__(self) -> int:
        return len(self.paths)


def read_manifest(path: str | Path, *, path_column: str = "path", subject_column: str | None = "subject",
                  groups: Sequence[str] = (), label_sources: tuple[tuple[str, str], ...] = (),
                  one_image_per_subject: bool = False, images: str | Path | None = None,
                  strict: bool = False) -> Manifest:
    """Read a CSV manifest; relative image paths are taken from ``images`` (default: the
    manifest's folder).

    ``one_image_per_subject``: there is no subject column and every image is a different
    person (so every pair is non-mated). Rows without an image path or subject id, rows
    naming an image an earlier row named, and rows whose image file is not there are set
    aside and named (`Manifest.set_aside`; ``strict``: an error); when no named image is
    there at all, the error says where they were looked for. An empty label cell is "no
    label" for that attribute.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such manifest")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as error:  # pandas raises many kinds; all mean "cannot read this file"
        raise InputFileError(f"{path}: cannot read as a CSV manifest ({type(error).__name__}: {error})") from None
    wanted = [path_column, *groups] + ([subject_column] if subject_column and not one_image_per_subject else [])
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ConfigError(f"manifest: column(s) {missing} not in {path.name}; it has {list(frame.columns)}")
    if not groups:
        raise ConfigError("--group: name at least one label column of the manifest")
    if len(frame) == 0:
        raise InputFileError(f"{path}: the manifest lists no images")
    frame[LINE] = np.arange(len(frame)) + 2
    rows = RowChecks(frame, str(path))
    identity = path_column if one_image_per_subject else subject_column
    names = rows.texts(path_column, "image path")
    rows.texts(identity, "subject id")
    folder = Path(images) if images is not None else path.parent
    paths = [p if p.is_absolute() else folder / p for p in (Path(v) for v in names)]
    kept = np.flatnonzero(rows.keep)
    repeated = np.zeros(len(frame), bool)
    repeated[kept] = pd.Series([str(p) for p in paths]).iloc[kept].duplicated().to_numpy()
    rows.set_aside(repeated, RowProblem.DUPLICATE, lambda r: f"{names[r]} again; the first row is kept")
    absent = np.array([not p.is_file() for p in paths], bool)
    if (absent | ~rows.keep).all():
        first = paths[int(np.flatnonzero(rows.keep)[0])] if rows.keep.any() else path
        raise InputFileError(f"manifest: none of the {len(paths)} images is there (first: {first}); "
                             "relative paths are read from " + (f"{folder}" if images is not None else
                                                                f"the manifest's folder {folder} (see --images)"))
    rows.set_aside(absent, RowProblem.FILE_NOT_FOUND, lambda r: f"{paths[r]}")
    set_aside = rows.result(strict)
    keep = rows.keep
    subjects = frame[identity].str.strip().to_numpy(dtype=str)[keep]
    labels = frame[list(groups)].to_numpy(dtype=str)[keep]   # an empty cell is "no label" for that attribute
    return Manifest(tuple(p for p, k in zip(paths, keep) if k), subjects, tuple(groups), labels, label_sources,
                    path.name, set_aside)


@dataclass(frozen=True)
class PairsManifest:
    """A manifest derived from a pairs list: one row per image, subject ids from its
    same-person pairs, and the images of the folder the pairs never mention."""

    paths: tuple[Path, ...]
    subjects: tuple[str, ...]
    unlisted: tuple[Path, ...]
    set_aside: SetAside = field(default_factory=SetAside)

    def rows(self, *, group: str = "all") -> list[dict[str, str]]:
        return [{"path": str(p), "subject": s, "group": group} for p, s in zip(self.paths, self.subjects)]


def manifest_from_pairs(pairs: str | Path, *, images: str | Path | None = None, image_a: str = "image_a",
                        image_b: str = "image_b", same: str = "same_person", strict: bool = False) -> PairsManifest:
    """Subjects from a pairs list's same-person structure.

    Images joined by a chain of same-person pairs are one subject (connected components),
    named after their alphabetically first file (without its extension). A different-person
    pair inside one subject contradicts the list and raises. Only images the pairs mention are
    included (nothing is known about who the others show); they are listed in ``unlisted``.
    ``images``: the folder the names are relative to (default: the pairs file's folder).
    A row without both image names, with an unreadable same-person mark, or naming an
    image that is not in the folder is set aside and named (``strict``: an error).
    """
    import pandas as pd

    from unseen.media.image import is_image_path

    pairs = Path(pairs)
    if not pairs.is_file():
        raise InputFileError(f"{pairs}: no such pairs file")
    try:
        frame = pd.read_csv(pairs, dtype=str, keep_default_na=False)
    except Exception as error:  # pandas raises many kinds; all mean "cannot read this file"
        raise InputFileError(f"{pairs}: cannot read as a CSV pairs list ({type(error).__name__}: {error})") from None
    missing = [c for c in (image_a, image_b, same) if c not in frame.columns]
    if missing:
        raise ConfigError(f"pairs: column(s) {missing} not in {pairs.name}; it has {list(frame.columns)}")
    folder = Path(images) if images is not None else pairs.parent
    frame[LINE] = np.arange(len(frame)) + 2
    rows = RowChecks(frame, str(pairs))
    for column in (image_a, image_b):
        rows.texts(column, "image name")
    mated, readable = mated_flags(frame[same])
    if len(frame) and not readable[rows.keep].any():
        mated_values(frame[same][rows.keep])  # raises, listing what the column holds
    rows.set_aside(~readable, RowProblem.UNREADABLE_VALUE,
                   lambda r: f"{same} {frame[same].iloc[r]!r} is not 1/0 or true/false")
    absent = {name for name in set(frame[image_a]) | set(frame[image_b]) if not (folder / name).is_file()}
    named_absent = (frame[image_a].isin(absent) | frame[image_b].isin(absent)).to_numpy()
    if rows.keep.any() and named_absent[rows.keep].all():
        raise InputFileError(f"pairs: none of the images named in {pairs.name} is in {folder} "
                             f"(first: {sorted(absent)[0]}); pass the images folder")
    rows.set_aside(named_absent, RowProblem.FILE_NOT_FOUND, lambda r: ", ".join(
        f"{frame[c].iloc[r]} not in {folder}" for c in (image_a, image_b) if frame[c].iloc[r] in absent))
    set_aside = rows.result(strict)
    frame, mated = frame[rows.keep], mated[rows.keep]
    names = sorted(set(frame[image_a]) | set(frame[image_b]))
    position = {name: i for i, name in enumerate(names)}
    parent = list(range(len(names)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    a = [position[n] for n in frame[image_a]]
    b = [position[n] for n in frame[image_b]]
    for x, y, is_same in zip(a, b, mated):
        if is_same:
            parent[root(x)] = root(y)
    for x, y, is_same in zip(a, b, mated):
        if not is_same and root(x) == root(y):
            raise ConfigError(f"pairs: {names[x]} and {names[y]} are marked different people, but same-person "
                              "pairs link them; the list contradicts itself")
    first = {}
    for i, name in enumerate(names):  # names are sorted, so the first seen is the smallest
        first.setdefault(root(i), Path(name).stem)
    paths = tuple(folder / name for name in names)
    mentioned = set(paths)
    unlisted = tuple(sorted(p for p in folder.iterdir() if is_image_path(p) and p not in mentioned)) \
        if folder.is_dir() else ()
    return PairsManifest(paths, tuple(first[root(i)] for i in range(len(names))), unlisted, set_aside)



NO_LABEL = "(no label)"


def image_labels(manifest: Manifest, attribute: str) -> np.ndarray:
    """Each image's label for ``attribute`` or an intersection such as ``"race x gender"``
    (`NO_LABEL` where a part is missing)."""
    parts = attribute.split(CROSS)
    unknown = [part for part in parts if part not in manifest.attributes]
    if unknown:
        raise ConfigError(f"attribute: {unknown[0]!r} is not a manifest label; choose from {list(manifest.attributes)}")
    columns = [manifest.labels[:, manifest.attributes.index(part)] for part in parts]
    missing = np.any([column == "" for column in columns], axis=0)
    joined = columns[0].astype(object)
    for column in columns[1:]:
        joined = joined + CROSS + column.astype(object)
    return np.where(missing, NO_LABEL, joined).astype(str)

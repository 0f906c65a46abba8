"""Manifests: which images show whom, with which group labels.

A manifest lists images with a subject id and group labels (`read_manifest`); a pairs
list with same / different-person marks can stand in for one (`manifest_from_pairs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unseen.audit.recognition.comparisons import CROSS
from unseen.audit.recognition.readers import mated_values
from unseen.errors import ConfigError, InputFileError


@dataclass(frozen=True)
class Manifest:
    """Images with a subject id and labels: ``labels`` is ``(n, n_attributes)`` text."""

    paths: tuple[Path, ...]
    subjects: np.ndarray
    attributes: tuple[str, ...]
    labels: np.ndarray
    label_sources: tuple[tuple[str, str], ...] = ()
    source: str = ""

    def __len__(self) -> int:
        return len(self.paths)


def read_manifest(path: str | Path, *, path_column: str = "path", subject_column: str | None = "subject",
                  groups: Sequence[str] = (), label_sources: tuple[tuple[str, str], ...] = (),
                  one_image_per_subject: bool = False, images: str | Path | None = None) -> Manifest:
    """Read a CSV manifest; relative image paths are taken from ``images`` (default: the
    manifest's folder).

    ``one_image_per_subject``: there is no subject column and every image is a different
    person (so every pair is non-mated).
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
    identity = path_column if one_image_per_subject else subject_column
    empty = frame[[path_column, identity]].apply(lambda column: column.str.strip() == "").any(axis=1)
    if empty.any():
        raise ConfigError(f"manifest: {int(empty.sum())} row(s) of {path.name} have no {identity!r} "
                          f"(first: row {int(np.flatnonzero(empty.to_numpy())[0]) + 2} of the file)")
    folder = Path(images) if images is not None else path.parent
    paths = tuple(p if p.is_absolute() else folder / p for p in (Path(v) for v in frame[path_column]))
    absent = [p for p in paths if not p.is_file()]
    if absent:
        raise InputFileError(f"manifest: {len(absent)} of {len(paths)} images not found (first: {absent[0]}); "
                             "relative paths are read from " + (f"{folder}" if images is not None else
                                                                f"the manifest's folder {folder} (see --images)"))
    subjects = frame[identity].to_numpy(dtype=str)
    labels = frame[list(groups)].to_numpy(dtype=str)   # an empty cell is "no label" for that attribute
    return Manifest(paths, subjects, tuple(groups), labels, label_sources, path.name)


@dataclass(frozen=True)
class PairsManifest:
    """A manifest derived from a pairs list: one row per image, subject ids from its
    same-person pairs, and the images of the folder the pairs never mention."""

    paths: tuple[Path, ...]
    subjects: tuple[str, ...]
    unlisted: tuple[Path, ...]

    def rows(self, *, group: str = "all") -> list[dict[str, str]]:
        return [{"path": str(p), "subject": s, "group": group} for p, s in zip(self.paths, self.subjects)]


def manifest_from_pairs(pairs: str | Path, *, images: str | Path | None = None, image_a: str = "image_a",
                        image_b: str = "image_b", same: str = "same_person") -> PairsManifest:
    """Subjects from a pairs list's same-person structure.

    Images joined by a chain of same-person pairs are one subject (connected components),
    named after their alphabetically first file (without its extension). A different-person
    pair inside one subject contradicts the list and raises. Only images the pairs mention are
    included (nothing is known about who the others show); they are listed in ``unlisted``.
    ``images``: the folder the names are relative to (default: the pairs file's folder).
    """
    import pandas as pd

    from unseen.media.image import is_image_path

    pairs = Path(pairs)
    if not pairs.is_file():
        raise InputFileError(f"{pairs}: no such pairs file")
    frame = pd.read_csv(pairs, dtype=str, keep_default_na=False)
    missing = [c for c in (image_a, image_b, same) if c not in frame.columns]
    if missing:
        raise ConfigError(f"pairs: column(s) {missing} not in {pairs.name}; it has {list(frame.columns)}")
    folder = Path(images) if images is not None else pairs.parent
    mated = mated_values(frame[same])
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
    absent = [p for p in paths if not p.is_file()]
    if absent:
        raise InputFileError(f"pairs: {len(absent)} image(s) named in {pairs.name} are not in {folder} "
                             f"(first: {absent[0].name}); pass the images folder")
    mentioned = set(paths)
    unlisted = tuple(sorted(p for p in folder.iterdir() if is_image_path(p) and p not in mentioned)) \
        if folder.is_dir() else ()
    return PairsManifest(paths, tuple(first[root(i)] for i in range(len(names))), unlisted)



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

"""Manifest -> templates (`unseen.audit.enrolment`) -> mated and non-mated comparisons.

A manifest lists images with a subject id and group labels. An image where no face is found
is a *failure to enrol*, counted per group and reported, never dropped silently; its pairs
are left out. Comparisons: every mated pair, and every non-mated pair, within and across
groups, unless there are more than ``max_nonmated``: then a uniform random sample of that
many (seeded), and the comparisons' provenance says so. Scores are computed a block of pairs
at a time, and labels are coded once per image, so millions of pairs stay cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from unseen.audit.comparisons import Comparisons, Provenance, _codes
from unseen.audit.enrolment import Enrolment
from unseen.errors import ConfigError, InputFileError

DEFAULT_MAX_NONMATED = 20_000_000


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

    from unseen.audit.comparisons import _mated_values
    from unseen.media.image import is_image_path

    pairs = Path(pairs)
    if not pairs.is_file():
        raise InputFileError(f"{pairs}: no such pairs file")
    frame = pd.read_csv(pairs, dtype=str, keep_default_na=False)
    missing = [c for c in (image_a, image_b, same) if c not in frame.columns]
    if missing:
        raise ConfigError(f"pairs: column(s) {missing} not in {pairs.name}; it has {list(frame.columns)}")
    folder = Path(images) if images is not None else pairs.parent
    mated = _mated_values(frame[same])
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


@dataclass(frozen=True)
class FailureToEnrol:
    """Per group of one attribute: images and failures to enrol."""

    model: str
    attribute: str
    names: tuple[str, ...]
    images: np.ndarray
    failed: np.ndarray

    @property
    def rate(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.failed / self.images


NO_LABEL = "(no label)"


def image_labels(manifest: Manifest, attribute: str) -> np.ndarray:
    """Each image's label for ``attribute`` or an intersection such as ``"race x gender"``
    (`NO_LABEL` where a part is missing)."""
    from unseen.audit.comparisons import CROSS

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


def failure_to_enrol(manifest: Manifest, enrolment: Enrolment, attribute: str) -> FailureToEnrol:
    """Images and failures to enrol of one model, per group of ``attribute``."""
    labels = image_labels(manifest, attribute)
    names = tuple(sorted(set(labels.tolist())))
    images = np.array([(labels == n).sum() for n in names])
    failed = np.array([((labels == n) & enrolment.failed).sum() for n in names])
    return FailureToEnrol(enrolment.model, attribute, names, images, failed)


@dataclass(frozen=True)
class PairPlan:
    """Which image pairs (``a < b``, indices into the enrolled images) are compared."""

    a: np.ndarray
    b: np.ndarray
    mated: np.ndarray
    n_nonmated_possible: int
    sampled: bool


def plan_pairs(subjects: np.ndarray, *, max_nonmated: int = DEFAULT_MAX_NONMATED,
               rng: np.random.Generator) -> PairPlan:
    """All mated pairs, and all non-mated pairs or a uniform sample of ``max_nonmated``."""
    subjects = np.asarray(subjects)
    n = len(subjects)
    if n < 2:
        raise ConfigError("images: at least two enrolled images are needed to compare anything")
    _, codes = np.unique(subjects, return_inverse=True)
    counts = np.bincount(codes)
    n_mated = int((counts * (counts - 1) // 2).sum())
    n_nonmated = n * (n - 1) // 2 - n_mated
    mated_a, mated_b = [], []
    for code in np.flatnonzero(counts > 1):
        members = np.flatnonzero(codes == code)
        i, j = np.triu_indices(len(members), 1)
        mated_a.append(members[i])
        mated_b.append(members[j])
    mated_a = np.concatenate(mated_a) if mated_a else np.zeros(0, np.int64)
    mated_b = np.concatenate(mated_b) if mated_b else np.zeros(0, np.int64)
    if n_nonmated <= max_nonmated:
        i, j = np.triu_indices(n, 1)
        keep = codes[i] != codes[j]
        non_a, non_b = i[keep], j[keep]
        sampled = False
    else:
        chosen: set[int] = set()
        non_a_list, non_b_list = [], []
        while len(non_a_list) < max_nonmated:
            i = rng.integers(0, n, 2 * max_nonmated)
            j = rng.integers(0, n, 2 * max_nonmated)
            low, high = np.minimum(i, j), np.maximum(i, j)
            ok = (low != high) & (codes[low] != codes[high])
            for x, y in zip(low[ok], high[ok]):
                key = int(x) * n + int(y)
                if key not in chosen:
                    chosen.add(key)
                    non_a_list.append(x)
                    non_b_list.append(y)
                    if len(non_a_list) == max_nonmated:
                        break
        non_a, non_b = np.array(non_a_list), np.array(non_b_list)
        sampled = True
    a = np.concatenate([mated_a, non_a]).astype(np.int64)
    b = np.concatenate([mated_b, non_b]).astype(np.int64)
    mated = np.r_[np.ones(len(mated_a), bool), np.zeros(len(non_a), bool)]
    return PairPlan(a, b, mated, n_nonmated, sampled)


PAIR_BLOCK_VALUES = 1 << 23
"""Template values gathered per block of pairs (about 32 MB of float32 per side)."""


def pair_scores(templates: np.ndarray, plan: PairPlan, *, embedder: Any) -> np.ndarray:
    """``embedder.pair_similarity`` over the planned pairs, a block of pairs at a time."""
    out = np.empty(len(plan.a), np.float64)
    block = max(1, PAIR_BLOCK_VALUES // max(1, templates.shape[1]))
    for start in range(0, len(plan.a), block):
        stop = start + block
        out[start:stop] = embedder.pair_similarity(templates[plan.a[start:stop]], templates[plan.b[start:stop]])
    return out


def identical_files(digests: Sequence[str]) -> np.ndarray:
    """For each file, the index of the first earlier file with the same bytes (same
    `unseen.audit.enrolment.image_digest`), else -1."""
    first: dict[str, int] = {}
    out = np.full(len(digests), -1, np.int64)
    for i, digest in enumerate(digests):
        out[i] = first.setdefault(digest, i)
        if out[i] == i:
            out[i] = -1
    return out


def comparisons_from_images(manifest: Manifest, enrolments: Sequence[Enrolment], embedders: Sequence[Any], *,
                            max_nonmated: int = DEFAULT_MAX_NONMATED, seed: int = 0,
                            exclude: np.ndarray | None = None) -> Comparisons:
    """The comparisons of the images every model enrolled (others are failures to enrol),
    leaving out the images marked in ``exclude`` (e.g. identical copies of another)."""
    enrolled = np.ones(len(manifest), bool)
    for enrolment in enrolments:
        enrolled &= ~enrolment.failed
    if exclude is not None:
        enrolled &= ~np.asarray(exclude, bool)
    images = np.flatnonzero(enrolled)
    plan = plan_pairs(manifest.subjects[images], max_nonmated=max_nonmated, rng=np.random.default_rng(seed))
    columns = []
    for enrolment, embedder in zip(enrolments, embedders):
        row_of = np.full(len(manifest), -1)
        row_of[enrolment.image_index] = np.arange(len(enrolment.image_index))
        templates = enrolment.templates[row_of[images]]
        columns.append(pair_scores(templates, plan, embedder=embedder))
    a, b = images[plan.a], images[plan.b]
    left_out = int(np.sum(exclude)) if exclude is not None else 0
    note = (f"{len(images)} of {len(manifest)} images enrolled by every model"
            + (f" and compared ({left_out} identical copies left out)" if left_out else "")
            + f"; {int(plan.mated.sum()):,} mated pairs "
            f"(all); " + (f"{int((~plan.mated).sum()):,} non-mated pairs sampled uniformly at random (seed {seed}) "
                          f"from {plan.n_nonmated_possible:,}" if plan.sampled
                          else f"all {plan.n_nonmated_possible:,} non-mated pairs"))
    provenance = Provenance(source=manifest.source, label_sources=manifest.label_sources, notes=(note,))
    subject_names, subject_codes = _codes(manifest.subjects[images])   # people in some pair only
    group_names, label_codes = [], np.zeros(manifest.labels.shape, np.int64)
    for i in range(len(manifest.attributes)):
        names, label_codes[:, i] = _codes(manifest.labels[:, i])
        group_names.append(names)
    return Comparisons(scores=np.column_stack(columns), models=tuple(e.model for e in enrolments), mated=plan.mated,
                       subject_a=subject_codes[plan.a], subject_b=subject_codes[plan.b], subject_names=subject_names,
                       attributes=manifest.attributes, labels_a=label_codes[a], labels_b=label_codes[b],
                       group_names=tuple(group_names), scales=tuple(e.scale for e in enrolments), ordered=False,
                       provenance=provenance)

"""Images -> templates -> mated and non-mated comparisons (the images mode of the audit).

A manifest lists images with a subject id and group labels. Every image is run through a
detector and an embedder; an image where no face is found is a *failure to enrol*, counted
per group and reported, never dropped silently. The largest face of an image is its face.
Comparisons: every mated pair, and every non-mated pair, within and across groups, unless
there are more than ``max_nonmated``: then a uniform random sample of that many (seeded),
and the comparisons' provenance says so. Scores are computed a block of rows at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from unseen.audit.comparisons import Comparisons, Provenance, ScoreScale
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
                  one_image_per_subject: bool = False) -> Manifest:
    """Read a CSV manifest; relative image paths are taken from the manifest's folder.

    ``one_image_per_subject``: there is no subject column and every image is a different
    person (so every pair is non-mated).
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such manifest")
    frame = pd.read_csv(path)
    wanted = [path_column, *groups] + ([subject_column] if subject_column and not one_image_per_subject else [])
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ConfigError(f"manifest: column(s) {missing} not in {path.name}; it has {list(frame.columns)}")
    if not groups:
        raise ConfigError("--group: name at least one label column of the manifest")
    folder = path.parent
    paths = tuple(p if p.is_absolute() else folder / p for p in (Path(str(v)) for v in frame[path_column]))
    subjects = (frame[path_column].astype(str).to_numpy() if one_image_per_subject
                else frame[subject_column].astype(str).to_numpy())
    labels = frame[list(groups)].astype(str).to_numpy()
    return Manifest(paths, subjects, tuple(groups), labels, label_sources, path.name)


@dataclass(frozen=True)
class Enrolment:
    """One model's templates: ``templates[i]`` belongs to image ``image_index[i]``;
    ``failed[j]`` is True when image ``j`` gave no face (failure to enrol)."""

    model: str
    templates: np.ndarray
    image_index: np.ndarray
    failed: np.ndarray
    similarity_threshold: float | None
    customary_threshold: float | None
    metric: str


def _largest(faces):
    return faces[[int(np.argmax(faces.area))]]


def enrol(manifest: Manifest, *, embedder: Any, detector: Any, model: str,
          progress: Callable[[int, int, str], None] | None = None) -> Enrolment:
    """Detect and embed every image of ``manifest`` (see the module text)."""
    from unseen.media.image import load

    templates, index = [], []
    failed = np.zeros(len(manifest), bool)
    for i, image_path in enumerate(manifest.paths):
        image = load(image_path).rgb
        faces = detector.detect(image)
        if len(faces) == 0:
            failed[i] = True
        else:
            rows = embedder.embed(image, _largest(faces))
            if len(rows) == 0:
                failed[i] = True
            else:
                templates.append(np.asarray(rows[0], np.float32))
                index.append(i)
        if progress is not None:
            progress(i + 1, len(manifest), f"{model}: {image_path.name}")
    dimension = int(getattr(embedder, "dimension", len(templates[0]) if templates else 0))
    stacked = np.stack(templates) if templates else np.zeros((0, dimension), np.float32)
    customary = getattr(embedder, "customary_threshold", None)
    metric = getattr(getattr(embedder, "metric", ""), "value", str(getattr(embedder, "metric", "")))
    similarity = None
    if customary is not None:
        similarity = -float(customary) if metric == "euclidean" else float(customary)
    return Enrolment(model, stacked, np.asarray(index, np.int64), failed, similarity, customary, metric)


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


def failure_to_enrol(manifest: Manifest, enrolment: Enrolment, attribute: str) -> FailureToEnrol:
    if attribute not in manifest.attributes:
        raise ConfigError(f"attribute: {attribute!r} is not a manifest label; choose one of {manifest.attributes}")
    labels = manifest.labels[:, manifest.attributes.index(attribute)]
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


def pair_scores(templates: np.ndarray, plan: PairPlan, *, embedder: Any, block: int = 1_000_000) -> np.ndarray:
    """``embedder.pair_similarity`` over the planned pairs, ``block`` pairs at a time."""
    out = np.empty(len(plan.a), np.float64)
    for start in range(0, len(plan.a), block):
        stop = start + block
        out[start:stop] = embedder.pair_similarity(templates[plan.a[start:stop]], templates[plan.b[start:stop]])
    return out


def comparisons_from_images(manifest: Manifest, enrolments: Sequence[Enrolment], embedders: Sequence[Any], *,
                            max_nonmated: int = DEFAULT_MAX_NONMATED, seed: int = 0) -> Comparisons:
    """The comparisons of the images every model enrolled (others are failures to enrol)."""
    enrolled = np.ones(len(manifest), bool)
    for enrolment in enrolments:
        enrolled &= ~enrolment.failed
    images = np.flatnonzero(enrolled)
    plan = plan_pairs(manifest.subjects[images], max_nonmated=max_nonmated, rng=np.random.default_rng(seed))
    columns = []
    for enrolment, embedder in zip(enrolments, embedders):
        row_of = np.full(len(manifest), -1)
        row_of[enrolment.image_index] = np.arange(len(enrolment.image_index))
        templates = enrolment.templates[row_of[images]]
        columns.append(pair_scores(templates, plan, embedder=embedder))
    a, b = images[plan.a], images[plan.b]
    note = (f"{len(images)} of {len(manifest)} images enrolled by every model; {int(plan.mated.sum()):,} mated pairs "
            f"(all); " + (f"{int((~plan.mated).sum()):,} non-mated pairs sampled uniformly at random (seed {seed}) "
                          f"from {plan.n_nonmated_possible:,}" if plan.sampled
                          else f"all {plan.n_nonmated_possible:,} non-mated pairs"))
    provenance = Provenance(source=manifest.source, label_sources=manifest.label_sources, notes=(note,))
    labels_a = {attr: manifest.labels[a, i] for i, attr in enumerate(manifest.attributes)}
    labels_b = {attr: manifest.labels[b, i] for i, attr in enumerate(manifest.attributes)}
    return Comparisons.build(scores=np.column_stack(columns), mated=plan.mated, labels_a=labels_a, labels_b=labels_b,
                             subjects_a=manifest.subjects[a], subjects_b=manifest.subjects[b],
                             models=[e.model for e in enrolments], scales=[ScoreScale.SIMILARITY] * len(enrolments),
                             ordered=False, provenance=provenance)

"""From enrolled images to comparisons: which pairs are compared, and their scores.

Every mated pair is compared, and every non-mated pair, within and across groups, unless
there are more than ``max_nonmated``: then a uniform random sample of that many (seeded),
and the comparisons' provenance says so. Scores are computed a block of pairs at a time,
and labels are coded once per image, so millions of pairs stay cheap. An image every model
did not enrol (a failure to enrol) is in no pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from unseen.audit.recognition.comparisons import Comparisons, Provenance, label_codes
from unseen.audit.recognition.enrolment import Enrolment
from unseen.audit.recognition.manifest import Manifest
from unseen.errors import ConfigError

DEFAULT_MAX_NONMATED = 20_000_000


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
    mated_a, mated_b = mated_pairs(codes)
    n_nonmated = n * (n - 1) // 2 - len(mated_a)
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


def mated_pairs(subjects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``a < b`` of images of one subject, subject by subject (in sorted order)."""
    _, codes = np.unique(np.asarray(subjects), return_inverse=True)
    counts = np.bincount(codes) if len(codes) else np.zeros(0, np.int64)
    mated_a, mated_b = [], []
    for code in np.flatnonzero(counts > 1):
        members = np.flatnonzero(codes == code)
        i, j = np.triu_indices(len(members), 1)
        mated_a.append(members[i])
        mated_b.append(members[j])
    if not mated_a:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(mated_a).astype(np.int64), np.concatenate(mated_b).astype(np.int64)


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
    `unseen.audit.recognition.enrolment.image_digest`), else -1."""
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
    provenance = Provenance(source=manifest.source, label_sources=manifest.label_sources, notes=(note,),
                            set_aside=manifest.set_aside)
    subject_names, subject_codes = label_codes(manifest.subjects[images])   # people in some pair only
    group_names, codes = [], np.zeros(manifest.labels.shape, np.int64)
    for i in range(len(manifest.attributes)):
        names, codes[:, i] = label_codes(manifest.labels[:, i])
        group_names.append(names)
    return Comparisons(scores=np.column_stack(columns), models=tuple(e.model for e in enrolments), mated=plan.mated,
                       subject_a=subject_codes[plan.a], subject_b=subject_codes[plan.b], subject_names=subject_names,
                       attributes=manifest.attributes, labels_a=codes[a], labels_b=codes[b],
                       group_names=tuple(group_names), scales=tuple(e.scale for e in enrolments), ordered=False,
                       provenance=provenance)

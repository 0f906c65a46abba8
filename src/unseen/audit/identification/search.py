"""Exhaustive top-R search of probe templates against a gallery of templates.

Every probe is compared with every gallery template (no approximate index: an audit must
not miss a candidate the system would return). FAISS does the work: an exact inner-product
index (``IndexFlatIP``) over L2-normalised templates for cosine models, an exact L2 index
for euclidean ones, whose squared distances become the same negated distances
`unseen.faces.embedders.base.similarity` gives, so the scores match pairwise scoring.
A GPU build of FAISS is used where one is installed and sees a GPU. Plain numpy blocks do
the same for comparison (`SearchBackend.NUMPY`).

Probes go through in blocks: besides the gallery itself (``n_gallery x dimension`` float32,
held whole), memory stays within ``SearchConfig.block_mib``. The search only ever runs over
the gallery it is given: the labelled audit data, never anyone else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from unseen.audit.identification.candidates import NO_SAMPLE, CandidateLists
from unseen.audit.identification.samples import Samples
from unseen.audit.recognition.comparisons import ScoreScale
from unseen.choices import Choice
from unseen.errors import ConfigError, ModelUnavailableError
from unseen.faces.embedders.base import Metric
from unseen.progress import SILENT, Progress

DEFAULT_RANK = 50
"""Candidates per list unless told otherwise (NIST FRTE 1:N reports ranks 1 to 50)."""

MAX_BLOCK = 1 << 14
"""At most this many probes per block, whatever the memory allows (progress stays smooth)."""


class SearchBackend(Choice):
    """What computes the top-R candidates."""

    FAISS = "faiss"  # exact FAISS index (GPU where present)
    NUMPY = "numpy"  # plain numpy: a (block x gallery) score matrix per block


@dataclass(frozen=True)
class SearchConfig:
    """``rank``: candidates per list (R); ``block_mib``: working memory per block of probes
    (MiB, the gallery itself not counted); ``backend``: FAISS or numpy."""

    rank: int = DEFAULT_RANK
    block_mib: float = 256.0
    backend: SearchBackend = SearchBackend.FAISS

    def __post_init__(self) -> None:
        object.__setattr__(self, "backend", SearchBackend.parse(self.backend, "--backend"))
        if self.rank < 1:
            raise ConfigError(f"--rank: expected at least 1 candidate per list, got {self.rank}")
        if not self.block_mib > 0:
            raise ConfigError(f"--block-mib: expected a positive amount of memory, got {self.block_mib}")


def probes_per_block(*, n_gallery: int, dimension: int, k: int, config: SearchConfig) -> int:
    """How many probes one block may hold within ``config.block_mib``.

    numpy holds a float32 score and an int64 index per gallery template per probe; FAISS
    keeps its own fixed tiles and only the probes' templates and results grow with a block.
    """
    budget = config.block_mib * (1 << 20)
    per_probe = 12 * n_gallery if config.backend is SearchBackend.NUMPY else 4 * dimension + 12 * k
    return int(min(MAX_BLOCK, max(1, budget // max(per_probe, 1))))


def _faiss() -> Any:
    try:
        import faiss
    except ImportError:
        raise ModelUnavailableError("the identification search needs FAISS; install it with: pip install faiss-cpu") \
            from None
    return faiss


ADD_BLOCK = 1 << 16
"""Gallery templates normalised and added to an index at a time (bounded extra memory)."""


def _prepared(templates: np.ndarray, metric: Metric) -> np.ndarray:
    """A block of templates as contiguous float32, unit length for a cosine model."""
    block = np.ascontiguousarray(templates, np.float32)
    if metric is Metric.COSINE:
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        block = block / np.where(norms > 0, norms, 1.0)
    return block


def checked_templates(templates: Any, argument: str, dimension: int | None = None) -> np.ndarray:
    """``templates`` as an ``(n, d)`` floating array, not copied; finiteness checked in blocks."""
    if not isinstance(templates, np.ndarray) or templates.ndim != 2 or \
            (dimension is not None and templates.shape[1] != dimension):
        expected = f"(n, {dimension})" if dimension is not None else "(n, d)"
        raise ConfigError(f"{argument}: expected a numpy array of templates of shape {expected}, got "
                          f"{getattr(templates, 'shape', type(templates).__name__)}")
    if not np.issubdtype(templates.dtype, np.floating):
        raise ConfigError(f"{argument}: expected floating-point templates, got dtype {templates.dtype}")
    for start in range(0, len(templates), ADD_BLOCK):
        if not np.all(np.isfinite(templates[start:start + ADD_BLOCK])):
            raise ConfigError(f"{argument}: templates must be finite numbers")
    return templates


class _FaissIndex:
    def __init__(self, gallery: np.ndarray, metric: Metric) -> None:
        faiss = _faiss()
        self.metric = metric
        dimension = gallery.shape[1]
        index = faiss.IndexFlatIP(dimension) if metric is Metric.COSINE else faiss.IndexFlatL2(dimension)
        if hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0:
            index = faiss.index_cpu_to_all_gpus(index)
        for start in range(0, len(gallery), ADD_BLOCK):
            index.add(_prepared(gallery[start:start + ADD_BLOCK], metric))
        self.index = index

    def top(self, probes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        values, index = self.index.search(_prepared(probes, self.metric), k)
        if self.metric is Metric.EUCLIDEAN:
            values = -np.sqrt(np.clip(values, 0.0, None))
        return index.astype(np.int64), values.astype(np.float64)


class _NumpyIndex:
    def __init__(self, gallery: np.ndarray, metric: Metric) -> None:
        self.metric = metric
        self.gallery = np.empty(gallery.shape, np.float32)
        for start in range(0, len(gallery), ADD_BLOCK):
            self.gallery[start:start + ADD_BLOCK] = _prepared(gallery[start:start + ADD_BLOCK], metric)
        self.squared = (self.gallery * self.gallery).sum(axis=1)

    def top(self, probes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        probes = _prepared(probes, self.metric)
        scores = probes @ self.gallery.T
        if self.metric is Metric.EUCLIDEAN:  # -sqrt(|p|^2 + |g|^2 - 2 p.g), in place
            scores *= 2.0
            scores -= self.squared[None, :]
            scores -= (probes * probes).sum(axis=1)[:, None]
            np.minimum(scores, 0.0, out=scores)
            np.negative(scores, out=scores)
            np.sqrt(scores, out=scores)
            np.negative(scores, out=scores)
        if k < scores.shape[1]:
            part = np.argpartition(scores, scores.shape[1] - k, axis=1)[:, scores.shape[1] - k:]
        else:
            part = np.broadcast_to(np.arange(scores.shape[1]), scores.shape).copy()
        top_scores = np.take_along_axis(scores, part, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        return (np.take_along_axis(part, order, axis=1).astype(np.int64),
                np.take_along_axis(top_scores, order, axis=1).astype(np.float64))


def top_candidates(*, probe_templates: np.ndarray, gallery_templates: np.ndarray, metric: Metric | str, k: int,
                   config: SearchConfig = SearchConfig(), progress: Progress = SILENT) -> tuple[np.ndarray, np.ndarray]:
    """``(indices, scores)``, each ``(n_probes, k)``: every probe's ``k`` best gallery templates,
    best first, scores on the similarity scale (negated distances for euclidean models)."""
    metric = Metric.parse(metric, "metric")
    gallery = checked_templates(gallery_templates, "gallery templates")
    probes = checked_templates(probe_templates, "probe templates", gallery.shape[1])
    if len(gallery) == 0:
        raise ConfigError("gallery: no templates to search (did every gallery photo fail to enrol?)")
    k = min(k, len(gallery))
    index = (_FaissIndex if config.backend is SearchBackend.FAISS else _NumpyIndex)(gallery, metric)
    block = probes_per_block(n_gallery=len(gallery), dimension=gallery.shape[1], k=k, config=config)
    indices = np.empty((len(probes), k), np.int64)
    scores = np.empty((len(probes), k), np.float64)
    progress.start(len(probes), unit="probes", description=f"searching ({config.backend.value})")
    for start in range(0, len(probes), block):
        stop = min(start + block, len(probes))
        indices[start:stop], scores[start:stop] = index.top(probes[start:stop], k)
        progress.advance(stop - start)
    return indices, scores


def search_gallery(*, probes: Samples, gallery: Samples, probe_templates: np.ndarray, gallery_templates: np.ndarray,
                   metric: Metric | str, config: SearchConfig = SearchConfig(), probe_rows: np.ndarray | None = None,
                   same_sample: np.ndarray | None = None, system: str = "system",
                   progress: Progress = SILENT) -> CandidateLists:
    """Search every probe template against the gallery: the candidate lists of the top
    ``config.rank``.

    ``gallery_templates[j]`` belongs to ``gallery`` sample ``j``; ``probe_templates[i]`` to
    probe ``probe_rows[i]`` (default: probe ``i``); a probe without a template (no face
    found) returns an empty list. ``same_sample``: each probe's own sample in the gallery
    (default: the same id), never its candidate.
    """
    metric = Metric.parse(metric, "metric")
    if len(gallery_templates) != len(gallery):
        raise ConfigError(f"gallery templates: expected one per gallery sample ({len(gallery)}), "
                          f"got {len(gallery_templates)}")
    rows = np.arange(len(probe_templates)) if probe_rows is None else np.asarray(probe_rows, np.int64)
    if len(rows) != len(probe_templates):
        raise ConfigError(f"probe_rows: expected one per probe template ({len(probe_templates)}), got {len(rows)}")
    if len(np.unique(rows)) != len(rows) or (len(rows) and (rows.min() < 0 or rows.max() >= len(probes))):
        raise ConfigError("probe_rows: each probe template belongs to a different probe of the table")
    if same_sample is None:
        from unseen.audit.identification.candidates import same_samples

        same_sample = same_samples(probes, gallery)
    same_sample = np.asarray(same_sample, np.int64)
    own = same_sample[rows]
    k = config.rank + int(np.any(own != NO_SAMPLE))
    indices, scores = top_candidates(probe_templates=probe_templates, gallery_templates=gallery_templates,
                                     metric=metric, k=k, config=config, progress=progress)
    keep = (indices >= 0) & (indices != own[:, None])
    keep &= np.cumsum(keep, axis=1) <= config.rank
    search = np.broadcast_to(rows[:, None], indices.shape)[keep]
    rank = (np.cumsum(keep, axis=1))[keep]
    order = np.argsort(search, kind="stable")
    scale = ScoreScale.DISTANCE if metric is Metric.EUCLIDEAN else ScoreScale.SIMILARITY
    return CandidateLists.build(probes=probes, gallery=gallery, search=search[order], rank=rank[order],
                                candidate=indices[keep][order], score=scale.from_similarity(scores[keep][order]),
                                max_rank=config.rank, scale=scale, same_sample=same_sample, system=system,
                                notes=(f"exhaustive search by unseen ({config.backend.value}, exact), top "
                                       f"{config.rank} of {len(gallery)} gallery templates",))

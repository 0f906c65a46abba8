"""What every face embedder (recognizer) offers, and the comparisons they share.

An embedder turns each face of an image into a fixed-length vector (a template). Two
templates are compared in the model's own metric, but `similarity` and `pair_similarity`
always answer on one scale where higher means more alike: cosine similarity as is, and
euclidean distance negated. `similarity_threshold` puts a model's customary cut-off on
that scale, so callers never need to know which metric a model uses.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from unseen.choices import Choice
from unseen.errors import ConfigError
from unseen.faces.detectors.base import check_rgb_image
from unseen.faces.types import Detections


class Metric(Choice):
    """How a model's templates are meant to be compared."""

    COSINE = "cosine"  # cosine similarity: higher = more alike
    EUCLIDEAN = "euclidean"  # euclidean distance: lower = more alike


@runtime_checkable
class Embedder(Protocol):
    """Turns faces into templates and compares them.

    ``embed`` takes an RGB ``uint8`` image (H, W, 3) and the faces found in it, and
    returns one float32 row of length ``dimension`` per face, in order; (0, dimension)
    when there are none, never None. ``customary_threshold`` is the cut-off the model's
    authors use, in the model's own ``metric`` (None when there is no agreed one).
    """

    name: str
    dimension: int
    metric: Metric
    customary_threshold: float | None

    def embed(self, image: np.ndarray, faces: Detections) -> np.ndarray: ...

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray: ...

    def pair_similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray: ...


class TemplateScoring:
    """`Embedder.similarity` and `Embedder.pair_similarity` for a class with ``metric``
    and ``dimension``; the built-in embedders inherit them."""

    metric: Metric
    dimension: int

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(n, m) scores between every row of ``a`` (n, d) and every row of ``b`` (m, d)."""
        return similarity(a, b, metric=self.metric, dimension=self.dimension)

    def pair_similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(n,) scores between row i of ``a`` and row i of ``b``, both (n, d)."""
        return pair_similarity(a, b, metric=self.metric, dimension=self.dimension)


def similarity(a: np.ndarray, b: np.ndarray, *, metric: Metric, dimension: int | None = None) -> np.ndarray:
    """(n, m) float32 scores, higher = more alike, between all rows of ``a`` and ``b``."""
    a = check_templates(a, "a", dimension)
    b = check_templates(b, "b", a.shape[1])
    if metric == Metric.COSINE:
        return (_unit_rows(a) @ _unit_rows(b).T).astype(np.float32)
    squared = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * a @ b.T
    return (-np.sqrt(np.clip(squared, 0.0, None))).astype(np.float32)


def pair_similarity(a: np.ndarray, b: np.ndarray, *, metric: Metric, dimension: int | None = None) -> np.ndarray:
    """(n,) float32 scores, higher = more alike, between row i of ``a`` and row i of ``b``."""
    a = check_templates(a, "a", dimension)
    b = check_templates(b, "b", a.shape[1])
    if len(a) != len(b):
        raise ConfigError(f"pair_similarity: a and b need the same number of rows, got {len(a)} and {len(b)}")
    if metric == Metric.COSINE:
        return (_unit_rows(a) * _unit_rows(b)).sum(axis=1).astype(np.float32)
    return (-np.linalg.norm(a - b, axis=1)).astype(np.float32)


def as_similarity(value: float, metric: Metric) -> float:
    """A cut-off in ``metric``'s own units, on the higher-is-more-alike scale."""
    return -float(value) if metric == Metric.EUCLIDEAN else float(value)


def similarity_threshold(embedder: Embedder) -> float | None:
    """The embedder's customary match cut-off on the `similarity` scale (None if it has none):
    a pair matches when its similarity is at least this."""
    if embedder.customary_threshold is None:
        return None
    return as_similarity(embedder.customary_threshold, embedder.metric)


def check_templates(templates: np.ndarray, argument: str, dimension: int | None = None) -> np.ndarray:
    """``templates`` as a float64 (n, d) array, or a ConfigError naming the problem."""
    if not isinstance(templates, np.ndarray):
        raise ConfigError(f"{argument}: expected a numpy array of templates, got {type(templates).__name__}")
    if templates.ndim != 2 or (dimension is not None and templates.shape[1] != dimension):
        expected = f"(n, {dimension})" if dimension is not None else "(n, d)"
        raise ConfigError(f"{argument}: expected templates of shape {expected}, got {templates.shape}")
    if not np.issubdtype(templates.dtype, np.floating):
        raise ConfigError(f"{argument}: expected floating-point templates, got dtype {templates.dtype}")
    if not np.all(np.isfinite(templates)):
        raise ConfigError(f"{argument}: templates must be finite numbers")
    return templates.astype(np.float64, copy=False)


def check_faces(image: np.ndarray, faces: Detections) -> np.ndarray:
    """Validate `Embedder.embed`'s arguments; return the image as a contiguous RGB array."""
    image = check_rgb_image(image)
    if not isinstance(faces, Detections):
        raise ConfigError(f"faces: expected unseen.faces.Detections, got {type(faces).__name__}")
    too_small = (faces.width < 1) | (faces.height < 1)
    if too_small.any():
        index = int(np.flatnonzero(too_small)[0])
        raise ConfigError(f"faces: box {index} is smaller than one pixel ({faces.xyxy[index].tolist()})")
    return image


def l2_normalised(templates: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float32 (a zero row stays zero)."""
    return _unit_rows(np.asarray(templates, np.float64)).astype(np.float32)


def _unit_rows(templates: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(templates, axis=1, keepdims=True)
    return templates / np.where(norms > 0, norms, 1.0)

"""Face embedders (recognizers) behind one protocol (`Embedder`); look them up by name in
the registry (`unseen.faces.registry.build_embedder`)."""

from unseen.faces.embedders.base import Embedder, Metric, as_similarity, similarity_threshold

__all__ = ["Embedder", "Metric", "as_similarity", "similarity_threshold"]

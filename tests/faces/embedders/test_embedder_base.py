"""Comparing templates: one higher-is-more-alike scale for every metric."""

import numpy as np
import pytest

from unseen.errors import ConfigError
from unseen.faces.embedders.base import (
    Metric, as_similarity, l2_normalised, pair_similarity, similarity, similarity_threshold)
from unseen.faces.registry import build_embedder

A = np.array([[1.0, 0.0], [0.0, 2.0]], np.float32)
B = np.array([[1.0, 0.0], [3.0, 4.0], [0.0, -1.0]], np.float32)


def test_euclidean_similarity_is_negated_distance():
    scores = similarity(A, B, metric=Metric.EUCLIDEAN)
    expected = -np.linalg.norm(A[:, None, :] - B[None, :, :], axis=2)
    assert scores.shape == (2, 3)
    assert scores.dtype == np.float32
    np.testing.assert_allclose(scores, expected, atol=1e-6)
    assert scores[0, 0] == 0.0  # identical templates: the highest possible score


def test_cosine_similarity_ignores_length():
    scores = similarity(A, B, metric=Metric.COSINE)
    np.testing.assert_allclose(scores, [[1.0, 0.6, 0.0], [0.0, 0.8, -1.0]], atol=1e-6)


@pytest.mark.parametrize("metric", list(Metric))
def test_pair_similarity_is_the_diagonal_of_similarity(metric):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 8)), rng.normal(size=(5, 8))
    np.testing.assert_allclose(pair_similarity(a, b, metric=metric),
                               np.diag(similarity(a, b, metric=metric)), atol=1e-5)


def test_zero_templates_do_not_divide_by_zero():
    zero = np.zeros((1, 3))
    assert similarity(zero, zero, metric=Metric.COSINE)[0, 0] == 0.0
    assert np.all(l2_normalised(zero) == 0)


def test_empty_template_sets_give_empty_score_tables():
    assert similarity(np.zeros((0, 4)), np.ones((2, 4)), metric=Metric.EUCLIDEAN).shape == (0, 2)
    assert pair_similarity(np.zeros((0, 4)), np.zeros((0, 4)), metric=Metric.COSINE).shape == (0,)


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ([[1.0, 0.0]], A, "a: expected a numpy array"),
        (np.ones(3), A, r"a: expected templates of shape \(n, d\)"),
        (A, np.ones((2, 5)), r"b: expected templates of shape \(n, 2\)"),
        (A.astype(int), A, "floating-point"),
        (np.array([[np.nan, 0.0]]), A, "finite"),
    ],
)
def test_bad_templates_are_refused(a, b, message):
    with pytest.raises(ConfigError, match=message):
        similarity(a, b, metric=Metric.COSINE)


def test_pair_similarity_needs_equal_rows():
    with pytest.raises(ConfigError, match="same number of rows"):
        pair_similarity(A, B, metric=Metric.EUCLIDEAN)


def test_templates_of_the_wrong_model_are_refused():
    with pytest.raises(ConfigError, match=r"\(n, 128\)"):
        build_embedder("dlib").similarity(np.zeros((1, 512), np.float32), np.zeros((1, 512), np.float32))


@pytest.mark.parametrize(("name", "expected"), [("dlib", -0.6), ("facenet", -1.1)])
def test_customary_thresholds_on_the_similarity_scale(name, expected):
    embedder = build_embedder(name)
    assert similarity_threshold(embedder) == pytest.approx(expected)


def test_as_similarity_keeps_cosine_and_negates_distance():
    assert as_similarity(0.4, Metric.COSINE) == 0.4
    assert as_similarity(0.6, Metric.EUCLIDEAN) == -0.6


def test_models_load_lazily():
    embedder = build_embedder("facenet")
    assert embedder._net is None
    assert build_embedder("dlib")._network is None


def test_facenet_checks_crops_before_loading_its_graph():
    from unseen.faces.embedders.facenet import FaceNet

    embedder = FaceNet()
    with pytest.raises(ConfigError, match=r"crops: expected uint8 \(n, 160, 160, 3\)"):
        embedder.embed_crops(np.zeros((1, 112, 112, 3), np.uint8))
    assert embedder._net is None

"""Exhaustive top-R search: FAISS and numpy blocks against a brute-force ranking, the model's
own scoring scale, blocks, and a probe never finding itself."""

import numpy as np
import pytest

from unseen.audit.identification.samples import Samples
from unseen.audit.identification.search import SearchConfig, probes_per_block, search_gallery, top_candidates
from unseen.errors import ConfigError
from unseen.faces.embedders.base import Metric, similarity
from unseen.progress import Recorded


def templates(n, d=8, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def samples(n, role, prefix):
    return Samples(ids=[f"{prefix}{i}" for i in range(n)], subjects=[f"s{i}" for i in range(n)],
                   attributes=("g",), labels=[["A" if i % 2 else "B"] for i in range(n)], role=role)


@pytest.mark.parametrize("backend", ["faiss", "numpy"])
@pytest.mark.parametrize("metric", [Metric.COSINE, Metric.EUCLIDEAN])
def test_top_candidates_match_a_brute_force_ranking_in_the_models_own_scores(backend, metric):
    gallery, probes = templates(300, seed=1), templates(45, seed=2)
    expected_scores = similarity(probes, gallery, metric=metric)   # how the recognizers score pairs
    expected = np.argsort(-expected_scores, axis=1, kind="stable")[:, :7]
    progress = Recorded()
    index, scores = top_candidates(probe_templates=probes, gallery_templates=gallery, metric=metric, k=7,
                                   config=SearchConfig(backend=backend, block_mib=0.02), progress=progress)
    assert np.array_equal(index, expected)
    assert scores == pytest.approx(np.take_along_axis(expected_scores, expected, axis=1), abs=1e-5)
    assert progress.done == 45 and progress.unit == "probes"


def test_blocks_follow_the_memory_setting():
    small = SearchConfig(backend="numpy", block_mib=1)
    assert probes_per_block(n_gallery=1_000_000, dimension=512, k=50, config=small) == 1   # 12 MB per probe
    assert probes_per_block(n_gallery=10_000, dimension=512, k=50, config=small) == 8
    assert probes_per_block(n_gallery=1_000_000, dimension=512, k=50,
                            config=SearchConfig(block_mib=1)) == (1 << 20) // (4 * 512 + 12 * 50)


def test_a_probe_that_is_also_in_the_gallery_never_finds_itself():
    gallery = samples(20, "gallery", "x")
    probes = samples(5, "probes", "x")                 # the first 5 gallery samples, searched
    t = templates(20)
    lists = search_gallery(probes=probes, gallery=gallery, probe_templates=t[:5], gallery_templates=t,
                           metric="cosine", config=SearchConfig(rank=3))
    assert lists.lengths.tolist() == [3] * 5
    assert not np.any(lists.candidate == lists.search)
    scores = similarity(t[:5], t, metric=Metric.COSINE)
    np.fill_diagonal(scores[:, :5], -np.inf)
    assert lists.candidate.reshape(5, 3).tolist() == np.argsort(-scores, axis=1)[:, :3].tolist()


def test_probes_without_a_template_return_empty_lists_and_distances_stay_distances():
    gallery, probes = samples(10, "gallery", "g"), samples(4, "probes", "p")
    t = templates(14)
    lists = search_gallery(probes=probes, gallery=gallery, probe_templates=t[10:12], gallery_templates=t[:10],
                           metric="euclidean", probe_rows=np.array([1, 3]), config=SearchConfig(rank=20))
    assert lists.lengths.tolist() == [0, 10, 0, 10]     # a list cannot be longer than the gallery
    assert lists.scale.value == "distance" and np.all(lists.input_scores() > 0)
    first = lists.input_scores()[0]
    assert first == pytest.approx(float(np.linalg.norm(t[10] - t[:10], axis=1).min()), rel=1e-5)


def test_bad_templates_are_refused_by_name():
    with pytest.raises(ConfigError, match="probe templates"):
        top_candidates(probe_templates=templates(2, d=4), gallery_templates=templates(3), metric="cosine", k=1)
    with pytest.raises(ConfigError, match="gallery: no templates"):
        top_candidates(probe_templates=templates(2), gallery_templates=templates(0), metric="cosine", k=1)
    with pytest.raises(ConfigError, match="--backend"):
        SearchConfig(backend="annoy")

"""All-pairs scoring in blocks: counts per cell against brute force, the kept tail, memory."""

import tracemalloc

import numpy as np
import pytest

from unseen.audit.scale import (
    Backend, ScaleConfig, TemplateGroups, backend_name, cell_index, count_pairs, pairs_at_or_above,
)
from unseen.audit.stats.counts import SortedScores
from unseen.errors import ConfigError
from unseen.faces.embedders.base import Metric


def _groups(n=500, d=24, metric=Metric.COSINE, seed=0, n_groups=3):
    rng = np.random.default_rng(seed)
    subject = np.repeat(np.arange(n), 1)
    subject[1::7] = subject[0::7][: len(subject[1::7])]          # some subjects with two images
    templates = rng.standard_normal((n, d)).astype(np.float32)
    group = rng.integers(0, n_groups, n)
    return TemplateGroups(templates, group, subject, n_groups, metric)


def _brute_force(groups):
    """Every non-mated pair's score (float64 from the templates), and its cell."""
    rows = np.asarray(groups.templates, np.float64)
    i, j = np.triu_indices(len(rows), 1)
    keep = groups.subject[i] != groups.subject[j]
    i, j = i[keep], j[keep]
    if groups.metric is Metric.COSINE:
        unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        scores = np.einsum("ij,ij->i", unit[i], unit[j])
    else:
        scores = -np.linalg.norm(rows[i] - rows[j], axis=1)
    return i, j, scores, cell_index(groups.group[i], groups.group[j], groups.n_groups)


@pytest.mark.parametrize("metric", [Metric.COSINE, Metric.EUCLIDEAN])
@pytest.mark.parametrize("fine_share", [1.0, 0.05])
def test_counts_per_cell_and_thresholds_match_sorting(metric, fine_share):
    groups = _groups(metric=metric)
    _, _, scores, cells = _brute_force(groups)
    ordered = np.sort(scores)
    extra = float((ordered[-400] + ordered[-399]) / 2)            # an exact threshold between two scores
    counts = count_pairs(groups, config=ScaleConfig(memory_mib=64, fine_bins=1 << 12, fine_share=fine_share),
                         extra=[extra])
    assert np.array_equal(counts.total, np.bincount(cells, minlength=groups.n_cells))
    assert np.array_equal(counts.total, groups.pair_counts())
    assert counts.count_at_or_above(extra) == 399
    for c in range(groups.n_cells):
        assert counts.count_at_or_above(extra, [c]) == int(np.sum(scores[cells == c] >= extra))
    width = np.diff(counts.edges[-3:]).max()
    for target in (1e-2, 1e-3, 1e-4):
        streamed, _ = counts.threshold_at_most(target)
        exact = SortedScores.of(scores).threshold_at_most(target)
        assert abs(streamed - exact) <= width + 1e-6
        assert np.sum(scores >= streamed + 1e-6) <= target * len(scores)    # never more than the target
    assert counts.sums.sum() == pytest.approx(scores.sum(), rel=1e-5, abs=1e-3)
    assert counts.squares.sum() == pytest.approx((scores ** 2).sum(), rel=1e-5)
    assert counts.high == pytest.approx(scores.max(), abs=1e-5)


def test_pairs_at_or_above_a_floor_are_exactly_those():
    groups = _groups(metric=Metric.EUCLIDEAN)
    i, j, scores, _ = _brute_force(groups)
    floor = float(np.quantile(scores, 0.99))
    found = pairs_at_or_above(groups, floor, config=ScaleConfig(memory_mib=64))
    clear = np.abs(scores - floor) > 1e-5                         # float32 may round either way at the floor
    expected = set(zip(i[clear & (scores >= floor)], j[clear & (scores >= floor)]))
    got = set(zip(found.a.tolist(), found.b.tolist()))
    assert expected <= got and len(got - expected) <= int(np.sum(~clear))
    assert np.all(found.a < found.b)
    with pytest.raises(ConfigError, match="raise --memory"):
        pairs_at_or_above(groups, floor, config=ScaleConfig(memory_mib=64), limit=10)


def test_memory_is_bounded_by_the_setting_not_the_comparisons():
    peaks = []
    for n in (1500, 4500):                                        # 1.1 and 10 million comparisons
        groups = _groups(n=n, d=64, n_groups=4)
        tracemalloc.start()
        count_pairs(groups, config=ScaleConfig(memory_mib=64, fine_bins=1 << 16), moments=False)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert max(peaks) < 64 << 20
    assert peaks[1] < 1.5 * peaks[0]                               # nine times the comparisons


def test_options_are_checked():
    with pytest.raises(ConfigError, match="--memory"):
        ScaleConfig(memory_mib=4)
    with pytest.raises(ConfigError, match="--backend"):
        ScaleConfig(backend="tpu")
    with pytest.raises(ConfigError, match="group"):
        TemplateGroups(np.zeros((3, 2), np.float32), [0, 1, 5], [0, 1, 2], 2, "cosine")
    assert backend_name(Backend.NUMPY) == "NumPy (CPU)"


def test_torch_blocks_count_as_numpy_does():
    """The GPU path's code, on the CPU: same counts as NumPy (skipped without PyTorch)."""
    torch = pytest.importorskip("torch")
    from unseen.audit import scale

    groups = _groups(metric=Metric.EUCLIDEAN)
    config = ScaleConfig(memory_mib=64, fine_bins=1 << 12)
    expected = count_pairs(groups, config=config)
    original = scale._blocks_for
    try:
        scale._blocks_for = lambda g, order, backend: scale._TorchBlocks(g, order, device="cpu")
        got = count_pairs(groups, config=config)
    finally:
        scale._blocks_for = original
    assert torch is not None and np.array_equal(got.total, expected.total)
    assert np.abs(got.above - expected.above).max() <= 2          # float32 rounding at bin edges

"""The counts core against brute force: ties, weights, thresholds for a target rate."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unseen.audit.stats.counts import SortedScores, count_at_or_above, target_thresholds

# few distinct values, so ties are common
scores_st = st.lists(st.sampled_from([-1.0, 0.0, 0.25, 0.5, 0.5001, 1.0, 2.0]), min_size=0, max_size=30)
thresholds_st = st.lists(st.sampled_from([-2.0, -1.0, 0.0, 0.3, 0.5, 0.5001, 1.0, 3.0]), min_size=1, max_size=6)


@given(scores_st, thresholds_st)
def test_count_at_or_above_counts_ties_as_at_or_above(scores, thresholds):
    counts = count_at_or_above(np.array(scores), np.array(thresholds))
    assert counts.tolist() == [sum(s >= t for s in scores) for t in thresholds]


@st.composite
def weighted_scores(draw):
    scores = np.array(draw(st.lists(st.sampled_from([0.0, 0.1, 0.2, 0.2, 0.7, 0.9]), min_size=1, max_size=25)))
    replicates = draw(st.integers(1, 4))
    weights = np.array(draw(st.lists(st.integers(0, 3), min_size=replicates * len(scores),
                                     max_size=replicates * len(scores))), float).reshape(replicates, len(scores))
    return scores, weights


@given(weighted_scores(), st.sampled_from([-1.0, 0.0, 0.15, 0.2, 0.7, 1.0]))
def test_weighted_counts_match_sums_over_the_scores(data, threshold):
    scores, weights = data
    sorted_scores = SortedScores.of(scores)
    prefix = sorted_scores.prefix(weights)
    per_replicate = np.full(len(weights), threshold)
    above = weights[:, scores >= threshold].sum(axis=1)
    below = weights[:, scores < threshold].sum(axis=1)
    assert sorted_scores.at_or_above(prefix, per_replicate) == pytest.approx(above)
    assert sorted_scores.below(prefix, per_replicate) == pytest.approx(below)
    grid = np.array([threshold, 0.5])
    assert sorted_scores.at_or_above_grid(prefix, grid)[:, 0] == pytest.approx(above)
    assert sorted_scores.below_grid(prefix, grid)[:, 1] == pytest.approx(weights[:, scores < 0.5].sum(axis=1))
    unit = sorted_scores.prefix(None)
    assert sorted_scores.at_or_above(unit, np.array([threshold]))[0] == (scores >= threshold).sum()


def brute_force_threshold(scores, weights, target):
    """The smallest distinct score u with weighted count(>= u) <= target * total, else
    the next number above the largest score."""
    total = weights.sum()
    for u in np.unique(scores):
        if weights[scores >= u].sum() <= target * total * (1 + 1e-12):
            return u
    return np.nextafter(scores.max(), np.inf)


@given(weighted_scores(), st.sampled_from([0.01, 0.1, 0.25, 0.5, 0.9]))
@settings(max_examples=150)
def test_target_thresholds_are_the_smallest_at_most_the_target(data, target):
    scores, weights = data
    sorted_scores = SortedScores.of(scores)
    thresholds, lowest_ok = target_thresholds(sorted_scores, sorted_scores.prefix(weights), weights.sum(axis=1), target)
    for r, w in enumerate(weights):
        assert thresholds[r] == brute_force_threshold(scores, w, target)
        assert w[scores >= thresholds[r]].sum() <= target * w.sum() * (1 + 1e-12)   # at most the target
        assert lowest_ok[r] == (w.sum() <= target * w.sum() * (1 + 1e-12))          # the lowest score qualified


@given(st.lists(st.sampled_from([0.0, 0.3, 0.3, 0.6, 1.0]), min_size=1, max_size=40),
       st.sampled_from([0.05, 0.2, 0.5]))
def test_one_threshold_with_unit_weights(scores, target):
    scores = np.array(scores)
    assert SortedScores.of(scores).threshold_at_most(target) == brute_force_threshold(scores, np.ones(len(scores)),
                                                                                      target)


def test_no_scores_give_no_threshold():
    empty = SortedScores.of(np.zeros(0))
    thresholds, lowest_ok = target_thresholds(empty, empty.prefix(np.zeros((2, 0))), np.zeros(2), 0.1)
    assert np.isinf(thresholds).all() and not lowest_ok.any()

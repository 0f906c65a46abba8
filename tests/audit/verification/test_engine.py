"""The weighted engine against brute-force weighted sums over the pairs themselves."""

import numpy as np
import pytest

from unseen.audit.recognition.comparisons import Comparisons
from unseen.audit.verification.config import BootstrapUnit, OperatingPoint, VerificationConfig
from unseen.audit.verification.engine import Engine
from unseen.audit.verification.cells import pair_data
from unseen.audit.verification.weights import replicate_blocks


def _random_comparisons(rng, n_subjects=40, n_pairs=900):
    group_of = rng.integers(0, 3, n_subjects)
    a = rng.integers(0, n_subjects, n_pairs)
    mated = rng.random(n_pairs) < 0.2
    b = np.where(mated, a, rng.integers(0, n_subjects, n_pairs))
    mated = a == b
    scores = rng.normal(size=n_pairs) + 2 * mated
    names = np.array(["A", "B", "C"])
    labels_b = names[group_of[b]].astype(object)
    labels_b[:5] = ""  # some sides without a label
    return Comparisons.build(scores=scores, mated=mated, labels_a={"g": names[group_of[a]]}, labels_b={"g": labels_b},
                             subjects_a=[f"s{i}" for i in a], subjects_b=[f"s{i}" for i in b])


@pytest.mark.parametrize("unit", ["subject", "pair"])
def test_fixed_threshold_replicates_match_brute_force_weights(unit):
    """At a fixed threshold the engine counts errors without sorting; every replicate's
    counts must equal the weighted sums over the pairs themselves."""
    comparisons = _random_comparisons(np.random.default_rng(3))
    grouping = comparisons.grouping("g")
    data = pair_data(comparisons, "score", grouping)
    threshold = 0.8
    point = OperatingPoint(policy="fixed", threshold=threshold)
    config = VerificationConfig(operating_points=(point,), extra_targets=(), n_bootstrap=40, seed=5)
    engine = Engine(data, floor=np.inf)   # no tail at all: the fixed path must not need one
    assert len(engine.tail) == 0
    for weighting in replicate_blocks(comparisons, grouping, data, BootstrapUnit(unit), config,
                                      weighted_pairs=engine.weighted_pairs):
        rep = engine.run(weighting, [point], [None], shifts=False)[0]
        index = np.arange(len(data.score))
        weights = weighting.weights(index)          # (R, n_pairs), brute force
        false_match = ~data.mated & (data.score >= threshold)
        miss = data.mated & (data.score < threshold)
        for c in range(data.n_groups ** 2):
            expected = weights[:, false_match & (data.cell == c)].sum(axis=1)
            assert rep.cell_fm[:, c] == pytest.approx(expected)
        for k in range(data.n_groups):
            assert rep.fnm[:, k] == pytest.approx(weights[:, miss & (data.group == k)].sum(axis=1))
        assert rep.global_fm == pytest.approx(weights[:, false_match].sum(axis=1))
        assert rep.global_fnm == pytest.approx(weights[:, miss].sum(axis=1))
        assert rep.threshold == pytest.approx(np.full(weighting.replicates, threshold))

"""Hand-computed small cases for every metric (ties, zero errors, constant scores)."""

import numpy as np
import pytest

from unseen.audit import fairness
from unseen.audit.comparisons import Comparisons
from unseen.audit.verification import (
    OperatingPoint,
    VerificationConfig,
    audit_verification,
    count_at_or_above,
    d_prime,
    det_curve,
    error_rates,
    roc_auc,
    threshold_for_fmr,
)
from unseen.errors import ConfigError


@pytest.mark.parametrize("nonmated, target, expected", [
    ([0.1, 0.2, 0.3, 0.4], 0.25, 0.4),           # one of four may match: 0.4 itself
    ([0.1, 0.2, 0.3, 0.4], 0.5, 0.3),            # two may match
    ([0.1, 0.3, 0.3, 0.4], 0.5, 0.4),            # a tie at 0.3 would make three: stay above it
    ([0.5, 0.5, 0.5], 0.5, np.nextafter(0.5, 1)),  # constant scores: only "above all" keeps FMR <= target
    ([0.1, 0.2], 0.01, np.nextafter(0.2, 1)),    # target below 1/n: above every score, FMR 0
])
def test_threshold_for_fmr_is_at_most_target_and_never_splits_ties(nonmated, target, expected):
    t = threshold_for_fmr(nonmated=np.array(nonmated), target_fmr=target)
    assert t == expected
    assert count_at_or_above(np.array(nonmated), t) / len(nonmated) <= target


def test_threshold_for_fmr_validates():
    with pytest.raises(ConfigError, match="target_fmr"):
        threshold_for_fmr(nonmated=np.ones(3), target_fmr=0)
    with pytest.raises(ConfigError, match="nonmated"):
        threshold_for_fmr(nonmated=np.zeros(0), target_fmr=0.1)


def test_error_rates_count_ties_as_matches():
    rates = error_rates(mated=np.array([0.5, 0.7, 0.2]), nonmated=np.array([0.5, 0.1, 0.0, 0.3]), threshold=0.5)
    assert (rates.false_matches, rates.false_non_matches) == (1, 1)
    assert rates.fmr == 0.25 and rates.fnmr == pytest.approx(1 / 3)


def test_d_prime_and_det():
    assert d_prime(mated=np.array([1.0, 3.0]), nonmated=np.array([-1.0, 1.0])) == pytest.approx(2.0)
    assert d_prime(mated=np.array([1.0, 1.0]), nonmated=np.array([0.0, 0.0])) == np.inf
    det = det_curve(mated=np.array([0.6, 0.8, 0.9]), nonmated=np.array([0.1, 0.2, 0.3, 0.7]))
    assert np.all(np.diff(det.fmr) <= 0) and np.all(np.diff(det.fnmr) >= 0)
    assert det.fmr.min() == 0.25 and det.fnmr[-1] == pytest.approx(1 / 3)  # lowest FMR step is 1/n


@pytest.mark.parametrize("function, values, expected", [
    (fairness.max_min_ratio, [0.1, 0.2, 0.4], 4.0),
    (fairness.max_min_difference, [0.1, 0.2, 0.4], 0.3),
    (fairness.max_mean_ratio, [0.1, 0.2, 0.3], 1.5),
    (fairness.max_geomean_ratio, [0.1, 0.4], 2.0),           # 0.4 / sqrt(0.04)
    (fairness.gini, [1.0, 1.0], 0.0),
    (fairness.gini, [0.0, 1.0], 1.0),                          # 2/1 * 2 / (2*4*0.5)
    (fairness.gini, [1.0, 2.0, 3.0], 1 / 3),                   # 3/2 * 8 / (2*9*2)
    (fairness.skewed_error_ratio, [0.9, 0.8], 2.0),
    (fairness.accuracy_std, [0.9, 0.8], 0.05),
])
def test_summary_functions(function, values, expected):
    assert function(np.array(values)) == pytest.approx(expected)


def test_fdr_ir_garbe_by_hand():
    fmr, fnmr = np.array([0.01, 0.04]), np.array([0.1, 0.2])
    assert fairness.fairness_discrepancy_rate(fmr, fnmr) == pytest.approx(1 - (0.5 * 0.03 + 0.5 * 0.1))
    assert fairness.inequity_rate(fmr, fnmr) == pytest.approx(np.sqrt(4 * 2))
    # Gini of [a, 4a] = 2 * 6a / (8 * 2.5a) = 0.6; of [b, 2b] = 2 * 2b / (8 * 1.5b) = 1/3
    assert fairness.garbe(fmr, fnmr) == pytest.approx(0.5 * 0.6 + 0.5 / 3)
    with pytest.raises(ConfigError, match="alpha"):
        fairness.inequity_rate(fmr, fnmr, alpha=2)
    with pytest.raises(ConfigError, match="2 groups"):
        fairness.gini(np.array([1.0]))


def _tiny(ordered=False):
    # group A: mated 0.9, 0.8, 0.2; non-mated 0.7, 0.1, 0.0 ; group B: mated 0.9, 0.9; non-mated 0.6, 0.5
    # one cross pair A-B at 0.65
    scores = [0.9, 0.8, 0.2, 0.7, 0.1, 0.0, 0.9, 0.9, 0.6, 0.5, 0.65]
    mated = [1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0]
    side_a = ["A"] * 6 + ["B"] * 4 + ["A"]
    side_b = ["A"] * 6 + ["B"] * 4 + ["B"]
    subjects_a = ["a1", "a2", "a3", "a1", "a2", "a1", "b1", "b2", "b1", "b2", "a3"]
    subjects_b = ["a1", "a2", "a3", "a2", "a3", "a3", "b1", "b2", "b3", "b3", "b1"]
    return Comparisons.build(scores=scores, mated=mated, labels_a={"g": side_a}, labels_b={"g": side_b},
                             subjects_a=subjects_a, subjects_b=subjects_b, ordered=ordered)


def test_audit_on_tiny_table_matches_hand_counts():
    config = VerificationConfig(operating_points=(OperatingPoint(policy="fixed", threshold=0.6),),
                                extra_targets=(), n_bootstrap=0)
    audit = audit_verification(_tiny(), config=config)
    op = audit.results[0].operating_points[0]
    g = op.groups
    assert g.names == ("A", "B")
    assert g.false_matches.tolist() == [1, 1] and g.n_nonmated.tolist() == [3, 2]   # 0.7 in A; 0.6 (tie) in B
    assert g.fmr.tolist() == pytest.approx([1 / 3, 1 / 2])
    assert g.fnmr.tolist() == pytest.approx([1 / 3, 0.0])
    assert g.accuracy.tolist() == pytest.approx([4 / 6, 3 / 4])
    assert g.fnmr_bound_only.tolist() == [False, True]
    assert g.fnmr_ci[1].tolist() == pytest.approx([0.0, 1 - 0.05 ** 0.5])   # rule of three on 2 pairs
    assert op.cross.fmr[0, 1] == 1.0 and op.cross.fmr[1, 0] == 1.0          # unordered: pooled both ways
    assert op.global_fmr == pytest.approx(3 / 6)
    assert op.summary["fmr_max_min"] == pytest.approx(1.5)
    assert op.summary["ser"] == pytest.approx((1 / 3) / (1 / 4))
    # each group's own threshold for FMR at most the global 0.5: A allows 1 of 3 (0.7), B 1 of 2 (0.6)
    assert g.group_threshold.tolist() == pytest.approx([0.7, 0.6])


def test_ordered_cross_matrix_keeps_direction():
    config = VerificationConfig(operating_points=(OperatingPoint(policy="fixed", threshold=0.6),),
                                extra_targets=(), n_bootstrap=0)
    op = audit_verification(_tiny(ordered=True), config=config).results[0].operating_points[0]
    assert op.cross.fmr[0, 1] == 1.0 and op.cross.n_nonmated[1, 0] == 0 and np.isnan(op.cross.fmr[1, 0])


def test_zero_errors_give_rule_of_three_bounds_not_zero():
    n = 300
    scores = np.r_[np.full(n, 0.9), np.linspace(0, 0.5, n)]
    mated = np.r_[np.ones(n), np.zeros(n)]
    groups = (["A"] * (n // 2) + ["B"] * (n // 2)) * 2
    comparisons = Comparisons.build(scores=scores, mated=mated, labels_a={"g": list(groups)})
    config = VerificationConfig(operating_points=(OperatingPoint(policy="fixed", threshold=0.6),),
                                extra_targets=(), n_bootstrap=50)
    op = audit_verification(comparisons, config=config).results[0].operating_points[0]
    assert op.groups.fmr_bound_only.all() and op.groups.fnmr_bound_only.all()
    assert op.groups.fmr_ci[:, 1] == pytest.approx(np.full(2, 1 - 0.05 ** (1 / 150)))
    assert op.summary.bounded[op.summary.names.index("fmr_max_min")]
    assert op.summary["fmr_max_min"] == pytest.approx(1.0)


@pytest.mark.parametrize("policy, expected", [
    ("eer", 0.5), ("best-accuracy", 0.5),
])
def test_whole_range_policies_on_separable_scores(policy, expected):
    scores = [0.9, 0.8, 0.5, 0.2, 0.1, 0.3]
    mated = [1, 1, 1, 0, 0, 0]
    comparisons = Comparisons.build(scores=scores, mated=mated, labels_a={"g": ["A", "B"] * 3})
    config = VerificationConfig(operating_points=(OperatingPoint(policy=policy),), extra_targets=(), n_bootstrap=0)
    op = audit_verification(comparisons, config=config).results[0].operating_points[0]
    assert op.threshold == pytest.approx(expected) or (0.3 < op.threshold <= 0.5)
    assert op.global_fmr == 0 and op.global_fnmr == 0


def test_unknown_policy_lists_valid_ones():
    with pytest.raises(ConfigError, match="target-fmr"):
        OperatingPoint(policy="oracle")


def test_no_mated_pairs_is_an_fmr_only_audit():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=400)
    comparisons = Comparisons.build(scores=scores, mated=np.zeros(400), labels_a={"g": ["A", "B"] * 200},
                                    subjects_a=[f"s{i}" for i in range(400)],
                                    subjects_b=[f"t{i % 37}" for i in range(400)])
    config = VerificationConfig(operating_points=(OperatingPoint(target_fmr=0.05),), extra_targets=(), n_bootstrap=30)
    op = audit_verification(comparisons, config=config).results[0].operating_points[0]
    assert np.isnan(op.groups.fnmr).all() and np.isfinite(op.groups.fmr).all()
    assert op.global_fmr <= 0.05
    with pytest.raises(ConfigError, match="mated"):
        audit_verification(comparisons, config=VerificationConfig(operating_points=(OperatingPoint(policy="eer"),),
                                                                  n_bootstrap=0))


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
    from unseen.audit import verification as v

    comparisons = _random_comparisons(np.random.default_rng(3))
    grouping = comparisons.grouping("g")
    data = v._pair_data(comparisons, "score", grouping)
    threshold = 0.8
    point = OperatingPoint(policy="fixed", threshold=threshold)
    config = VerificationConfig(operating_points=(point,), extra_targets=(), n_bootstrap=40, seed=5)
    engine = v._Engine(data, floor=np.inf)   # no tail at all: the fixed path must not need one
    assert len(engine.tail) == 0
    for weighting in v._replicate_blocks(comparisons, grouping, data, engine, v.BootstrapUnit(unit), config):
        rep = engine.run(weighting, [point], [None], shifts=False)[0]
        index = np.arange(len(data.score))
        weights = weighting.nonmated_weights(index)          # (R, n_pairs), brute force
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


@pytest.mark.parametrize(("mated", "nonmated", "expected"), [
    ([2.0, 3.0], [0.0, 1.0], 1.0), ([0.0], [1.0], 0.0), ([1.0, 1.0], [1.0], 0.5), ([1.0, 3.0], [2.0], 0.5),
    ([1.0, 2.0, 3.0], [0.5, 2.0], 4.5 / 6),   # 2 against 2.0 counts half
    ([], [1.0], float("nan")),
])
def test_roc_auc_counts_ties_half(mated, nonmated, expected):
    value = roc_auc(mated=np.array(mated), nonmated=np.array(nonmated))
    assert value == pytest.approx(expected, nan_ok=True)

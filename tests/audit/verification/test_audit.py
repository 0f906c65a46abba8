"""The verification audit on tables small enough to count by hand (ties, zero errors,
direction of the cross matrix, threshold policies, FMR-only data)."""

import numpy as np
import pytest

from unseen.audit.recognition.comparisons import Comparisons
from unseen.audit.verification.audit import audit_verification
from unseen.audit.verification.config import OperatingPoint, VerificationConfig
from unseen.errors import ConfigError


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
    assert g.fmr.events.tolist() == [1, 1] and g.fmr.trials.tolist() == [3, 2]   # 0.7 in A; 0.6 (tie) in B
    assert g.fmr.rate.tolist() == pytest.approx([1 / 3, 1 / 2])
    assert g.fnmr.rate.tolist() == pytest.approx([1 / 3, 0.0])
    assert g.accuracy.tolist() == pytest.approx([4 / 6, 3 / 4])
    assert g.fnmr.bound_only.tolist() == [False, True]
    assert g.fnmr.ci[1].tolist() == pytest.approx([0.0, 1 - 0.05 ** 0.5])   # rule of three on 2 pairs
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
    assert op.groups.fmr.bound_only.all() and op.groups.fnmr.bound_only.all()
    assert op.groups.fmr.ci[:, 1] == pytest.approx(np.full(2, 1 - 0.05 ** (1 / 150)))
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
    assert np.isnan(op.groups.fnmr.rate).all() and np.isfinite(op.groups.fmr.rate).all()
    assert np.isnan(op.groups.accuracy).all()          # 1 - FMR is not an accuracy
    assert np.isnan(op.summary["ser"]) and np.isnan(op.summary["std"]) and np.isfinite(op.summary["fmr_max_min"])
    assert op.global_fmr <= 0.05
    with pytest.raises(ConfigError, match="mated"):
        audit_verification(comparisons, config=VerificationConfig(operating_points=(OperatingPoint(policy="eer"),),
                                                                  n_bootstrap=0))


def test_progress_hears_one_stage_per_analysis_in_replicates():
    from unseen.progress import Recorded

    progress = Recorded()
    config = VerificationConfig(operating_points=(OperatingPoint(policy="fixed", threshold=0.6),),
                                extra_targets=(), n_bootstrap=30)
    audit_verification(_tiny(), config=config, progress=progress)
    assert progress.stages == ["score / g"] and progress.unit == "replicates"
    assert progress.total == 30 and progress.done == 30

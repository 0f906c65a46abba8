"""Threshold for a target FMR, error rates, DET, d' and ROC AUC: hand-computed small cases
(ties, zero errors, constant scores)."""

import numpy as np
import pytest

from unseen.audit.stats.counts import count_at_or_above
from unseen.audit.verification.metrics import d_prime, det_curve, error_rates, roc_auc, threshold_for_fmr
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


@pytest.mark.parametrize(("mated", "nonmated", "expected"), [
    ([2.0, 3.0], [0.0, 1.0], 1.0), ([0.0], [1.0], 0.0), ([1.0, 1.0], [1.0], 0.5), ([1.0, 3.0], [2.0], 0.5),
    ([1.0, 2.0, 3.0], [0.5, 2.0], 4.5 / 6),   # 2 against 2.0 counts half
    ([], [1.0], float("nan")),
])
def test_roc_auc_counts_ties_half(mated, nonmated, expected):
    value = roc_auc(mated=np.array(mated), nonmated=np.array(nonmated))
    assert value == pytest.approx(expected, nan_ok=True)

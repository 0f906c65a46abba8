import numpy as np
import pytest

from unseen.audit.stats import uncertainty as u
from unseen.errors import ConfigError


@pytest.mark.parametrize("k, n, expected", [
    (0, 10, (0.0, 0.2775)),      # Wilson 95%, hand-computed: z^2/(n+z^2) = 3.8415/13.8415
    (10, 10, (0.7225, 1.0)),
    (5, 10, (0.2366, 0.7634)),
])
def test_wilson_matches_hand_values(k, n, expected):
    low, high = u.wilson_interval(successes=k, trials=n)
    assert low == pytest.approx(expected[0], abs=1e-4)
    assert high == pytest.approx(expected[1], abs=1e-4)


def test_wilson_rejects_impossible_counts_and_marks_empty():
    with pytest.raises(ConfigError, match="successes"):
        u.wilson_interval(successes=3, trials=2)
    assert np.isnan(u.wilson_interval(successes=0, trials=0)).all()


def test_rule_of_three():
    assert u.zero_error_upper_bound(trials=300) == pytest.approx(3 / 300, rel=0.01)
    assert u.zero_error_upper_bound(trials=1) == pytest.approx(0.95)
    assert np.isnan(u.zero_error_upper_bound(trials=0))


def test_percentile_intervals_ignore_nan_and_log_space_handles_zero_and_inf():
    values = np.array([np.nan, *np.arange(1, 101, dtype=float)])
    low, high = u.percentile_interval(values, level=0.9)
    assert low == pytest.approx(5.95) and high == pytest.approx(95.05)
    ratios = np.array([0.0, 1.0, 2.0, 3.0, np.inf])  # ends taken outward: order statistics 1 and 3
    low, high = u.log_percentile_interval(ratios, level=0.5)
    assert (low, high) == pytest.approx((1.0, 3.0))
    assert u.log_percentile_interval(np.array([0.0, 0.0, np.inf]), level=0.99).tolist() == [0.0, np.inf]


def test_holm_adjusts_step_down():
    adjusted = u.holm_adjust(np.array([0.01, 0.04, 0.03]))
    assert adjusted.tolist() == pytest.approx([0.03, 0.06, 0.06])


def test_bootstrap_p_value():
    assert u.bootstrap_p_value(np.ones(100)) == 0.0
    assert u.bootstrap_p_value(np.r_[-np.ones(50), np.ones(50)]) == 1.0


def test_sample_size_rules():
    assert u.trials_needed(rate=1e-4) == 300_000
    assert u.relative_precision(30) == pytest.approx(0.30, abs=0.01)
    with pytest.raises(ConfigError, match="rate"):
        u.trials_needed(rate=0)


def test_cluster_bootstrap_keeps_stratum_sizes_and_is_seeded():
    boot = u.ClusterBootstrap(strata=np.array(["a", "a", "a", "b", "b"]))
    counts = boot.counts(rng=np.random.default_rng(1), n_replicates=200)
    assert counts.shape == (200, 5)
    assert (counts[:, :3].sum(axis=1) == 3).all() and (counts[:, 3:].sum(axis=1) == 2).all()
    again = np.concatenate(list(boot.chunks(rng=np.random.default_rng(1), n_replicates=200, chunk_size=200)))
    assert np.array_equal(counts, again)


def test_bootstrap_ratio_is_weighted_sum_ratio():
    counts = np.array([[1, 1, 1], [3, 0, 0], [0, 0, 3]])
    missed = np.array([1.0, 0.0, 2.0])
    faces = np.array([2.0, 1.0, 2.0])
    ratio = u.bootstrap_ratio(numerator=missed, denominator=faces, counts=counts)
    assert ratio.tolist() == pytest.approx([3 / 5, 0.5, 1.0])
    assert u.cluster_sums(np.ones(4), cluster=np.array([0, 0, 2, 2]), n_clusters=3).tolist() == [2, 0, 2]

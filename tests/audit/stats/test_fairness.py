"""Summary measures by hand."""

import numpy as np
import pytest

from unseen.audit.stats import fairness
from unseen.errors import ConfigError


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

"""How estimates are reported: p-values, flags."""

import pytest

from unseen.audit.verification.estimates import p_text


@pytest.mark.parametrize(("p", "replicates", "text"), [(0.0, 1000, "p < 0.001"), (0.02, 1000, "p = 0.02"),
                                                      (0.0, 0, "p = 0")])
def test_bootstrap_p_values_are_never_printed_as_zero(p, replicates, text):
    assert p_text(p, replicates) == text

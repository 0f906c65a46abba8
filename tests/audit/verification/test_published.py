"""The published-rates audit, on a table made here in NIST Annex 15's layout with medians
worked out by hand (the NIST compilation is withdrawn)."""

import pandas as pd
import pytest

from unseen.audit.verification.published import audit_published_rates, read_published_rates


def test_published_rates_medians_worked_by_hand(tmp_path):
    """A table in Annex 15's layout made here (the NIST compilation is withdrawn): three systems,
    four groups, rates chosen so every ratio is a power of ten and the medians can be read off."""
    table = pd.DataFrame({
        "system": ["a", "b", "c"],
        "FMR.F.Black": [1e-3, 1e-2, 1e-4], "FMR.F.White": [1e-5, 1e-4, 1e-4],
        "FMR.M.Black": [1e-4, 1e-3, 1e-4], "FMR.M.White": [1e-5, 1e-4, 1e-4],
        "FNMR.F.Black": [0.04, 0.02, 0.01], "FNMR.F.White": [0.01, 0.01, 0.01],
        "FNMR.M.Black": [0.02, 0.02, 0.01], "FNMR.M.White": [0.01, 0.01, 0.01],
    })
    path = tmp_path / "annex-layout.csv"
    table.to_csv(path, index=False)
    result = audit_published_rates(read_published_rates(path))
    assert result.rates.systems == ("a", "b", "c") and len(result.rates.groups) == 4
    # max/min per system: FMR 100, 100, 1 -> median 100; FNMR 4, 2, 1 -> median 2
    assert result.median("fmr_max_min") == pytest.approx(100)
    assert result.median("fnmr_max_min") == pytest.approx(2)
    # max/geomean of system a's FMR: 1e-3 / (1e-3 * 1e-5 * 1e-4 * 1e-5) ** 0.25 = 10 ** 1.25;
    # system b the same, c is 1, so the median is 10 ** 1.25
    geomean = result.values[:, result.measures.index("fmr_max_geomean")]
    assert geomean.tolist() == pytest.approx([10 ** 1.25, 10 ** 1.25, 1.0])
    assert result.median("fmr_max_geomean") == pytest.approx(10 ** 1.25)
    # FNMR of system a: 0.04 / (0.04 * 0.01 * 0.02 * 0.01) ** 0.25 = 4 / 8 ** 0.25
    assert result.values[0, result.measures.index("fnmr_max_geomean")] == pytest.approx(4 / 8 ** 0.25)

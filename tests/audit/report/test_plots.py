"""Plots render as inline SVG."""

import numpy as np

from unseen.audit.report import plots


def test_other_plots_render():
    curve = plots.Curve("A", np.array([1e-4, 1e-3, 1e-2]), np.array([0.1, 0.05, 0.0]))
    assert "<svg" in plots.det_curves_svg(curves=[curve], marks=[curve])
    assert "<svg" in plots.heatmap_svg(matrix=np.array([[0.0, np.nan], [1.0, -1.0]]), row_labels=["a", "b"],
                                       column_labels=["a", "b"], cell_text=[["1", "2"], ["3", "4"]])
    assert "<svg" in plots.score_distributions_svg(labels=["A"], mated=[np.array([0.8, 0.9])],
                                                   nonmated=[np.array([0.1, 0.2])], threshold=0.5)
    assert "<svg" in plots.signed_bars_svg(labels=["A", "B"], values=np.array([0.1, -0.2]))

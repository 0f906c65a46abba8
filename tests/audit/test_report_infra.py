import json
import math
import re

import numpy as np
import pytest
from markupsafe import Markup

from unseen.audit.report import plots, to_jsonable, write_csv_table, write_report_json
from unseen.audit.report.html import format_rate, render_report
from unseen.audit.report.json_io import NULLS_KEY


def test_json_writes_nan_and_inf_as_null_with_their_path(tmp_path):
    path = write_report_json(tmp_path / "r.json", {"a": {"ratio": np.inf, "rate": np.float32(0.25)},
                                                   "v": np.array([1.0, np.nan])})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text)
    assert data["a"] == {"ratio": None, "rate": 0.25}
    assert data["v"] == [1.0, None]
    assert {"path": "a.ratio", "was": "inf"} in data[NULLS_KEY]
    assert {"path": "v[1]", "was": "nan"} in data[NULLS_KEY]


def test_to_jsonable_refuses_unknown_objects():
    with pytest.raises(TypeError, match="object"):
        to_jsonable({"x": object()})


def test_csv_writes_empty_cells_for_missing_numbers(tmp_path):
    path = write_csv_table(tmp_path / "t.csv", [{"g": "A", "fmr": 0.1}, {"g": "B", "fmr": math.nan}])
    assert path.read_text().splitlines() == ["g,fmr", "A,0.1", "B,"]


@pytest.mark.parametrize("value, text", [(0.0123, "0.0123"), (1.2e-05, "1.20e-05"), (None, "n/a"),
                                         (math.inf, "∞"), (0, "0")])
def test_format_rate(value, text):
    assert format_rate(value) == text


def test_base_template_renders_offline_page_with_inline_svg():
    svg = plots.rates_with_intervals_svg(labels=["A", "B"], values=np.array([0.1, 0.0]),
                                         intervals=np.array([[0.05, 0.2], [0.0, 0.03]]),
                                         upper_bound_only=np.array([False, True]), log_scale=True,
                                         reference=0.01, reference_label="target")
    assert svg.startswith("<svg") and "<metadata>" not in svg
    # a minimal report extending the base, rendered from a string template through the same filters
    import jinja2

    from unseen.audit.report import html

    environment = html._environment()
    environment.loader = jinja2.ChoiceLoader([
        jinja2.DictLoader({"t.html.j2": "{% extends 'base.html.j2' %}{% block title %}T{% endblock %}"
                           "{% block summary %}<p>{{ note }}</p>{% endblock %}"
                           "{% block content %}{{ svg }}{{ 0.5 | percent }}{% endblock %}"}),
        environment.loader])
    page = environment.get_template("t.html.j2").render(note="<b>x</b>", svg=Markup(svg), warnings=["w"])
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<svg" in page and "50.0%" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "<script" not in page


def test_other_plots_render():
    curve = plots.Curve("A", np.array([1e-4, 1e-3, 1e-2]), np.array([0.1, 0.05, 0.0]))
    assert "<svg" in plots.det_curves_svg(curves=[curve], marks=[curve])
    assert "<svg" in plots.heatmap_svg(matrix=np.array([[0.0, np.nan], [1.0, -1.0]]), row_labels=["a", "b"],
                                       column_labels=["a", "b"], cell_text=[["1", "2"], ["3", "4"]])
    assert "<svg" in plots.score_distributions_svg(labels=["A"], mated=[np.array([0.8, 0.9])],
                                                   nonmated=[np.array([0.1, 0.2])], threshold=0.5)
    assert "<svg" in plots.signed_bars_svg(labels=["A", "B"], values=np.array([0.1, -0.2]))
    assert render_report  # the public entry point exists for specific reports

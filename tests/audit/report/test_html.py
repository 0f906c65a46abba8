"""HTML pages: the base template renders offline, with inline SVG, through the same filters."""

import math
import re

import numpy as np
import pytest
from markupsafe import Markup

from unseen.audit.report import plots
from unseen.audit.report.html import format_rate


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

"""Self-contained HTML reports: Jinja2 templates extending ``base.html.j2``.

``base.html.j2`` holds the CSS and layout and four blocks a specific report fills:
``title``, ``summary`` (plain language, shown first), ``content`` and ``provenance``
(data, labels and model identity). Every plot is inline SVG; the page loads nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unseen.media.files import write_text_atomic


@dataclass(frozen=True)
class PageFigure:
    """One plot of a report page: its title, inline SVG and caption."""

    title: str
    svg: Any
    caption: str


def format_rate(value: Any, digits: int = 3) -> str:
    """A rate as a readable number: 0.0123 -> '0.0123', 1.2e-05 -> '1.20e-05', None -> 'n/a'."""
    if value is None:
        return "n/a"
    number = float(value)
    if math.isnan(number):
        return "n/a"
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    if number == 0:
        return "0"
    if abs(number) < 1e-3 or abs(number) >= 1e5:
        return f"{number:.{digits - 1}e}"
    return f"{number:.{digits}g}" if abs(number) < 1 else f"{number:,.{digits}g}"


def format_interval(interval: Any, digits: int = 3) -> str:
    if interval is None:
        return "n/a"
    low, high = interval
    return f"[{format_rate(low, digits)}, {format_rate(high, digits)}]"


def percent(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{100 * float(value):.{digits}f}%"


def _environment():
    import jinja2  # lazy

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("unseen.audit.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["rate"] = format_rate
    environment.filters["interval"] = format_interval
    environment.filters["percent"] = percent
    return environment


def render_report(template: str, context: Mapping[str, Any]) -> str:
    """Render ``template`` (a name under the package's templates folder) with ``context``.

    Inline SVG must be passed through ``markupsafe.Markup`` (or the ``|safe`` filter) by the
    caller; every other value is escaped.
    """
    return _environment().get_template(template).render(**context)


def write_html_report(path: str | Path, template: str, context: Mapping[str, Any]) -> Path:
    return write_text_atomic(path, render_report(template, context))

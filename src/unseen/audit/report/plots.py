"""Plots as inline SVG text (matplotlib, no pyplot state, no fonts or images referenced).

Each function takes plain arrays and returns an ``<svg>...</svg>`` string ready to drop
into an HTML page. Colours follow the Okabe-Ito palette (distinguishable with colour
vision deficiencies); lines also differ in style where groups are compared.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from unseen.errors import ConfigError

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
LINESTYLES = ("-", "--", "-.", ":")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure  # lazy: matplotlib is heavy and only needed here

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return figure


def svg_from_figure(figure) -> str:
    """The figure as an ``<svg>`` element: no XML prolog, no metadata, text kept as text."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "unseen"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    return text


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


@dataclass(frozen=True)
class Curve:
    """One labelled line: ``x`` and ``y`` of equal length."""

    label: str
    x: np.ndarray
    y: np.ndarray


def det_curves_svg(*, curves: Sequence[Curve], marks: Sequence[Curve] = (), title: str = "",
                   xlabel: str = "false match rate (FMR)", ylabel: str = "false non-match rate (FNMR)") -> str:
    """DET plot on log-log axes: one curve per group, optional marked operating points.

    Zero rates cannot be drawn on a log axis and are left out of the line.
    """
    figure = _figure(6.4, 4.6)
    axes = figure.add_subplot()
    for i, curve in enumerate(curves):
        keep = (np.asarray(curve.x) > 0) & (np.asarray(curve.y) > 0)
        axes.plot(np.asarray(curve.x)[keep], np.asarray(curve.y)[keep], color=colour(i),
                  linestyle=LINESTYLES[i % len(LINESTYLES)], label=curve.label, linewidth=1.6)
    for i, mark in enumerate(marks):
        keep = (np.asarray(mark.x) > 0) & (np.asarray(mark.y) > 0)
        axes.plot(np.asarray(mark.x)[keep], np.asarray(mark.y)[keep], marker="o", linestyle="none",
                  color=colour(i), markeredgecolor="black")
    drawn = [line for line in axes.get_lines() if len(line.get_xdata())]
    if drawn:  # a log axis needs at least one positive point
        axes.set_xscale("log")
        axes.set_yscale("log")
    else:
        axes.text(0.5, 0.5, "no non-zero error rates to draw", ha="center", transform=axes.transAxes)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, which="both", alpha=0.3)
    if title:
        axes.set_title(title)
    if curves:
        axes.legend(fontsize="small")
    return svg_from_figure(figure)


def rates_with_intervals_svg(*, labels: Sequence[str], values: np.ndarray, intervals: np.ndarray,
                             upper_bound_only: np.ndarray | None = None, reference: float | None = None,
                             reference_label: str = "", xlabel: str = "", title: str = "",
                             log_scale: bool = False) -> str:
    """One row per label: a dot at the value and a bar for its interval.

    Rows flagged ``upper_bound_only`` (no error observed) show only a bar from the axis to
    the upper bound, ending in a "<" marker, never a dot at zero.
    """
    values = np.asarray(values, dtype=np.float64)
    intervals = np.asarray(intervals, dtype=np.float64).reshape(-1, 2)
    if len(values) != len(labels) or len(intervals) != len(labels):
        raise ConfigError(f"rates_with_intervals_svg: expected {len(labels)} values and intervals, "
                          f"got {len(values)} and {len(intervals)}")
    bounds = np.zeros(len(labels), bool) if upper_bound_only is None else np.asarray(upper_bound_only, bool)
    figure = _figure(6.4, 0.9 + 0.38 * max(len(labels), 1))
    axes = figure.add_subplot()
    y = np.arange(len(labels))[::-1]
    finite = np.concatenate([values[np.isfinite(values) & (values > 0)],
                             intervals[np.isfinite(intervals) & (intervals > 0)]])
    log_scale = log_scale and finite.size > 0  # nothing positive to place on a log axis
    floor = finite.min() / 3 if log_scale else 0.0
    for i in range(len(labels)):
        low, high = intervals[i]
        if bounds[i]:
            axes.plot([floor, high], [y[i], y[i]], color=colour(0), linewidth=2, alpha=0.6)
            axes.plot([high], [y[i]], marker="<", color=colour(1), markersize=8)
            continue
        if np.isfinite(low) and np.isfinite(high):
            axes.plot([max(low, floor) if log_scale else low, high], [y[i], y[i]], color=colour(0), linewidth=2)
        if np.isfinite(values[i]) and (values[i] > 0 or not log_scale):
            axes.plot([values[i]], [y[i]], marker="o", color=colour(0), markeredgecolor="black")
    if reference is not None:
        axes.axvline(reference, color="grey", linestyle="--", linewidth=1, label=reference_label or None)
        if reference_label:
            axes.legend(fontsize="small", loc="best")
    axes.set_yticks(y, labels=list(labels))
    if log_scale:
        axes.set_xscale("log")
    axes.set_xlabel(xlabel)
    axes.grid(True, axis="x", which="both", alpha=0.3)
    if title:
        axes.set_title(title)
    return svg_from_figure(figure)


def score_distributions_svg(*, labels: Sequence[str], mated: Sequence[np.ndarray],
                            nonmated: Sequence[np.ndarray], threshold: float | None = None,
                            xlabel: str = "similarity score", bins: int = 60) -> str:
    """Score densities per group: non-mated dashed, mated solid, threshold as a vertical line."""
    everything = [np.asarray(s, np.float64) for s in (*mated, *nonmated) if len(s)]
    if not everything:
        raise ConfigError("score_distributions_svg: no scores to plot")
    low = min(float(s.min()) for s in everything)
    high = max(float(s.max()) for s in everything)
    edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
    figure = _figure(6.4, 3.8)
    axes = figure.add_subplot()
    for i, label in enumerate(labels):
        for scores, style, kind in ((nonmated[i], "--", "non-mated"), (mated[i], "-", "mated")):
            if len(scores) == 0:
                continue
            density, _ = np.histogram(scores, bins=edges, density=True)
            axes.stairs(density, edges, color=colour(i), linestyle=style, label=f"{label} {kind}")
    if threshold is not None and np.isfinite(threshold):
        axes.axvline(threshold, color="black", linewidth=1, label="threshold")
    axes.set_xlabel(xlabel)
    axes.set_ylabel("density")
    axes.legend(fontsize="x-small", ncol=2)
    axes.grid(True, alpha=0.3)
    return svg_from_figure(figure)


def heatmap_svg(*, matrix: np.ndarray, row_labels: Sequence[str], column_labels: Sequence[str],
                cell_text: Sequence[Sequence[str]] | None = None, colorbar_label: str = "",
                row_title: str = "", column_title: str = "", limit: float | None = None) -> str:
    """A diverging heatmap centred on zero (e.g. log10(FMR / target)); NaN cells are grey."""
    values = np.asarray(matrix, dtype=np.float64)
    if values.shape != (len(row_labels), len(column_labels)):
        raise ConfigError(f"heatmap_svg: matrix shape {values.shape} does not match "
                          f"{len(row_labels)} rows x {len(column_labels)} columns")
    finite = values[np.isfinite(values)]
    bound = limit if limit is not None else (max(1.0, float(np.abs(finite).max())) if finite.size else 1.0)
    figure = _figure(1.6 + 1.0 * len(column_labels), 1.2 + 0.7 * len(row_labels))
    axes = figure.add_subplot()
    import matplotlib

    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="#cccccc")
    image = axes.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=-bound, vmax=bound, aspect="auto")
    axes.set_xticks(range(len(column_labels)), labels=list(column_labels), rotation=30, ha="right")
    axes.set_yticks(range(len(row_labels)), labels=list(row_labels))
    axes.set_xlabel(column_title)
    axes.set_ylabel(row_title)
    if cell_text is not None:
        for r in range(values.shape[0]):
            for c in range(values.shape[1]):
                strong = np.isfinite(values[r, c]) and abs(values[r, c]) > 0.6 * bound
                axes.text(c, r, cell_text[r][c], ha="center", va="center", fontsize="small",
                          color="white" if strong else "black")
    colorbar = figure.colorbar(image, ax=axes)
    colorbar.set_label(colorbar_label)
    return svg_from_figure(figure)


def signed_bars_svg(*, labels: Sequence[str], values: np.ndarray, xlabel: str = "", title: str = "") -> str:
    """Horizontal bars left or right of zero (e.g. each group's threshold shift)."""
    values = np.asarray(values, dtype=np.float64)
    figure = _figure(6.4, 0.9 + 0.38 * max(len(labels), 1))
    axes = figure.add_subplot()
    y = np.arange(len(labels))[::-1]
    colours = [colour(1) if v > 0 else colour(0) for v in np.nan_to_num(values)]
    axes.barh(y, np.nan_to_num(values), color=colours)
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_yticks(y, labels=list(labels))
    axes.set_xlabel(xlabel)
    axes.grid(True, axis="x", alpha=0.3)
    if title:
        axes.set_title(title)
    return svg_from_figure(figure)

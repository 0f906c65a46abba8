"""The identification audit's report: JSON (the contract), CSV tables, and the HTML page.

The JSON's top level holds the first system's figures for the first attribute: ``threshold``
(the lists' own scale; null when none can be set) and ``groups`` {probe group: {fnir_rank1,
fpir, n_mated_searches, n_nonmated_searches, ...}}, as fractions. ``fnir_rank1`` is at the
threshold when one was given (``--threshold``), by rank alone otherwise; both are always
there as ``fnir_rank1_at_threshold`` and ``fnir_rank1_no_threshold``. Every system and
attribute is under ``systems``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import unseen
from unseen.audit.identification.results import AttributeAudit, GalleryCurve, IdentificationAudit, MakeUpCurve
from unseen.audit.recognition.comparisons import ScoreScale
from unseen.audit.report.html import PageFigure
from unseen.audit.report.json_io import write_report_json
from unseen.media.files import write_csv_table
from unseen.audit.stats.rates import RateTable

SCHEMA = "unseen.audit.identification/1"

CONVENTIONS = (
    "A search is mated when the gallery holds another sample of the probe's subject; otherwise it is non-mated, "
    "and every candidate it returns at the threshold is a false one. A probe is never its own candidate.",
    "FPIR: the share of non-mated searches whose list holds a candidate scoring at or above the threshold (ties "
    "count as at or above).",
    "FNIR at rank r: the share of mated searches whose mate is not among the first r candidates; at the threshold, "
    "also those whose mate scores below it. An empty list (e.g. no face found in the probe) is a miss.",
    "fnir_rank1 in the JSON is at the threshold when a fixed threshold was given, and by rank alone otherwise; "
    "both variants are always reported.",
    "A target-FPIR threshold is the smallest score at which the share of all non-mated searches returning a "
    "candidate is at most the target; it is set again in every bootstrap replicate.",
    "Groups are the probe's. A group's threshold shift is the threshold at which its searches alone reach the "
    "target FPIR (with a fixed threshold: the FPIR every search reaches there), minus the global one, on the "
    "similarity scale (positive: the group needs a stricter threshold).",
    "Intervals: percentile bootstrap drawing the people searched (all their searches) with replacement within "
    "groups, the gallery held as it is (drawing gallery people with replacement would leave about 63% of them "
    "distinct: a smaller gallery, and a lower FPIR). Where no error was seen the interval is [0, rule-of-three "
    "bound] on the number of searches.",
    "Each group is tested against the other groups' searches (bootstrap, Holm's correction over the groups); a "
    "group with no error or only errors, or under 20 searches, is not tested (its interval or bound says what "
    "the data allow).",
    "Gallery size and make-up: smaller galleries of whole people drawn at random from the gallery, the threshold "
    "held fixed; only non-mated searches. Their intervals resample the people searched, the galleries held fixed.",
    "The search only ever ran over the gallery given: unseen audits search systems on labelled audit data and "
    "offers no search of anyone outside it.",
)


# -- JSON -------------------------------------------------------------------------------------
def _value(table: RateTable | None, k: int) -> float | None:
    if table is None or table.trials[k] == 0:
        return None
    return float(table.events[k] / table.trials[k])


def _ci(table: RateTable | None, k: int) -> list[float] | None:
    return None if table is None else [float(v) for v in table.ci[k]]


def _row_record(audit: IdentificationAudit, item: AttributeAudit, k: int) -> dict[str, Any]:
    fixed = audit.config.fixed
    flags = tuple(dict.fromkeys((*item.fpir.flags[k], *item.fnir_rank1.flags[k])))
    own = item.own_threshold[k]
    return {
        "fnir_rank1": _value(item.fnir_rank1_at if fixed else item.fnir_rank1, k),
        "fpir": _value(item.fpir, k) if audit.has_threshold else None,
        "n_mated_searches": int(item.fnir_rank1.trials[k]),
        "n_nonmated_searches": int(item.fpir.trials[k]),
        "fpir_ci": _ci(item.fpir, k) if audit.has_threshold else None,
        "false_positives": int(item.fpir.events[k]),
        "fpir_upper_bound_only": bool(item.fpir.bound_only[k]),
        "fpir_holm_p": item.fpir.p_holm[k],
        "fnir_rank1_no_threshold": _value(item.fnir_rank1, k), "fnir_rank1_no_threshold_ci": _ci(item.fnir_rank1, k),
        "fnir_rank1_at_threshold": _value(item.fnir_rank1_at, k),
        "fnir_rank1_at_threshold_ci": _ci(item.fnir_rank1_at, k),
        "fnir_rank_r_no_threshold": _value(item.fnir_rank_r, k),
        "fnir_rank_r_no_threshold_ci": _ci(item.fnir_rank_r, k),
        "fnir_rank_r_at_threshold": _value(item.fnir_rank_r_at, k),
        "fnir_rank_r_at_threshold_ci": _ci(item.fnir_rank_r_at, k),
        "misses_rank1": int(item.fnir_rank1.events[k]),
        "own_threshold": float(audit.scale.from_similarity(own)) if np.isfinite(own) else None,
        "threshold_shift": item.threshold_shift[k],
        "people": int(item.people[k]),
        "flags": list(flags),
    }


def _curve_record(curve: GalleryCurve | None) -> dict[str, Any] | None:
    if curve is None:
        return None
    return {"gallery_people": curve.sizes, "draws": curve.draws, "incomplete_searches": curve.incomplete,
            "fpir": {name: curve.fpir[k] for k, name in enumerate(curve.names)},
            "ci": {name: curve.ci[k] for k, name in enumerate(curve.names)}}


def _make_up_record(curve: MakeUpCurve | None) -> dict[str, Any] | None:
    if curve is None:
        return None
    return {"gallery_people": curve.size, "own_group_share": curve.shares, "draws": curve.draws,
            "fpir": {name: curve.fpir[k] for k, name in enumerate(curve.names)},
            "ci": {name: curve.ci[k] for k, name in enumerate(curve.names)},
            "actual_share": {name: curve.actual_share[k] for k, name in enumerate(curve.names)}}


def attribute_record(audit: IdentificationAudit, item: AttributeAudit) -> dict[str, Any]:
    sources = item.sources
    return {
        "attribute": item.attribute, "label_source": item.label_source,
        "overall": _row_record(audit, item, 0),
        "groups": {name: _row_record(audit, item, k + 1) for k, name in enumerate(item.groups)},
        "candidate_sources": {"probe_groups": list(sources.names), "candidate_groups": list(sources.names),
                              "false_candidates": sources.counts, "share": sources.share, "ci": sources.share_ci,
                              "gallery_share": sources.gallery_share},
        "gallery_size": _curve_record(item.gallery_size),
        "gallery_make_up": _make_up_record(item.make_up),
        "notes": list(item.notes),
    }


def _threshold_record(audit: IdentificationAudit) -> dict[str, Any]:
    config = audit.config
    return {"threshold": audit.threshold_input if audit.has_threshold else None,
            "threshold_policy": config.policy.value, "target_fpir": None if config.fixed else config.target_fpir,
            "threshold_ci": audit.threshold_ci,
            "threshold_similarity": audit.threshold if audit.has_threshold else None,
            "scale": _scale_text(audit.scale), "rank": audit.rank}


def system_record(audit: IdentificationAudit) -> dict[str, Any]:
    return {**_threshold_record(audit),
            "searches": {"all": audit.n_searches, "mated": audit.n_mated, "nonmated": audit.n_nonmated,
                         "empty_lists": audit.n_empty_lists},
            "gallery": {"samples": audit.n_gallery, "people": audit.n_gallery_people},
            "probe_people": audit.n_probe_people, "list_length": audit.max_rank,
            "attributes": {item.attribute: attribute_record(audit, item) for item in audit.attributes},
            "flags": list(audit.flags), "notes": list(audit.notes), "caveats": list(audit.caveats)}


def _scale_text(scale: ScoreScale) -> str:
    if scale is ScoreScale.DISTANCE:
        return "distance (lower = more alike; a candidate counts when distance <= threshold)"
    return "similarity (higher = more alike; a candidate counts when score >= threshold)"


def report_data(audits: Sequence[IdentificationAudit], *, title: str = "",
                extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON document (see the module text)."""
    primary = audits[0]
    first = attribute_record(primary, primary.attributes[0])
    config = primary.config
    return {
        "schema": SCHEMA, "title": title, "unseen_version": unseen.__version__,
        "system": primary.system, **_threshold_record(primary),
        "attribute": first["attribute"], "groups": first["groups"], "overall": first["overall"],
        "data": {"probes": primary.probes_source, "gallery": primary.gallery_source,
                 "searches": primary.n_searches, "mated_searches": primary.n_mated,
                 "nonmated_searches": primary.n_nonmated, "gallery_samples": primary.n_gallery,
                 "gallery_people": primary.n_gallery_people, "probe_people": primary.n_probe_people},
        "method": {"bootstrap": {"unit": "subject", "replicates": config.n_bootstrap, "level": config.level,
                                 "seed": config.seed, "threshold_reestimated": not config.fixed},
                   "gallery_draws": config.gallery_draws, "conventions": list(CONVENTIONS)},
        "caveats": list(primary.caveats),
        "systems": {audit.system: system_record(audit) for audit in audits},
        **(extra or {}),
    }


def write_json(path: str | Path, audits: Sequence[IdentificationAudit], **kwargs: Any) -> Path:
    return write_report_json(path, report_data(audits, **kwargs))


# -- CSV --------------------------------------------------------------------------------------
def group_rows(audits: Sequence[IdentificationAudit]) -> list[dict[str, Any]]:
    rows = []
    for audit in audits:
        for item in audit.attributes:
            for k, name in enumerate(item.names):
                record = _row_record(audit, item, k)
                rows.append({"system": audit.system, "attribute": item.attribute, "group": name,
                             "threshold": audit.threshold_input if audit.has_threshold else None,
                             "n_nonmated_searches": record["n_nonmated_searches"],
                             "false_positives": record["false_positives"], "fpir": record["fpir"],
                             "fpir_low": item.fpir.ci[k][0], "fpir_high": item.fpir.ci[k][1],
                             "fpir_upper_bound_only": record["fpir_upper_bound_only"],
                             "n_mated_searches": record["n_mated_searches"],
                             **{key: record[key] for key in ("fnir_rank1_no_threshold", "fnir_rank1_at_threshold",
                                                             "fnir_rank_r_no_threshold", "fnir_rank_r_at_threshold")},
                             "rank_r": audit.rank, "own_threshold": record["own_threshold"],
                             "threshold_shift": item.threshold_shift[k], "people": record["people"],
                             "flags": "; ".join(record["flags"])})
    return rows


def source_rows(audits: Sequence[IdentificationAudit]) -> list[dict[str, Any]]:
    rows = []
    for audit in audits:
        for item in audit.attributes:
            s = item.sources
            for i, probe in enumerate(s.names):
                for j, candidate in enumerate(s.names):
                    rows.append({"system": audit.system, "attribute": item.attribute, "probe_group": probe,
                                 "candidate_group": candidate, "false_candidates": s.counts[i, j],
                                 "share": s.share[i, j], "share_low": s.share_ci[i, j, 0],
                                 "share_high": s.share_ci[i, j, 1], "gallery_share": s.gallery_share[j]})
    return rows


def curve_rows(audits: Sequence[IdentificationAudit]) -> list[dict[str, Any]]:
    return [{**row, "gallery_people": int(size), "fpir": fpir, "low": low, "high": high}
            for where, curve in _curves(audits, "gallery_size")
            for row, size, fpir, low, high in _curve_cells(where, curve, curve.sizes)]


def make_up_rows(audits: Sequence[IdentificationAudit]) -> list[dict[str, Any]]:
    return [{**row, "gallery_people": curve.size, "own_group_share": float(share), "fpir": fpir, "low": low,
             "high": high}
            for where, curve in _curves(audits, "make_up")
            for row, share, fpir, low, high in _curve_cells(where, curve, curve.shares)]


def _curves(audits: Sequence[IdentificationAudit], which: str):
    """(system and attribute, curve) for each attribute's curve ``which`` that was measured."""
    for audit in audits:
        for item in audit.attributes:
            curve = getattr(item, which)
            if curve is not None:
                yield {"system": audit.system, "attribute": item.attribute}, curve


def _curve_cells(where: dict[str, Any], curve, steps):
    """(row start with the group, step, FPIR, low, high) for each group and step of a curve."""
    for k, name in enumerate(curve.names):
        for j, step in enumerate(steps):
            yield {**where, "group": name}, step, curve.fpir[k, j], curve.ci[k, j, 0], curve.ci[k, j, 1]


def write_csv_tables(folder: str | Path, audits: Sequence[IdentificationAudit]) -> list[Path]:
    """``groups.csv``, ``candidate_sources.csv``, ``gallery_size.csv`` and ``gallery_make_up.csv``."""
    folder = Path(folder)
    written = [write_csv_table(folder / "groups.csv", group_rows(audits)),
               write_csv_table(folder / "candidate_sources.csv", source_rows(audits))]
    for name, rows, columns in (("gallery_size.csv", curve_rows(audits),
                                 ("system", "attribute", "group", "gallery_people", "fpir", "low", "high")),
                                ("gallery_make_up.csv", make_up_rows(audits),
                                 ("system", "attribute", "group", "gallery_people", "own_group_share", "fpir", "low",
                                  "high"))):
        written.append(write_csv_table(folder / name, rows, columns=columns))
    return written


# -- HTML -------------------------------------------------------------------------------------
def _lines_svg(*, x: np.ndarray, lines: Sequence[tuple[int, str, np.ndarray, np.ndarray]], xlabel: str, ylabel: str,
               log_x: bool, marks: Sequence[tuple[int, float]] = ()) -> str:
    """One line per group (``(colour index, label, values, interval)``) with a band for its
    interval, and dotted vertical ``marks`` in a group's colour; zero rates cannot sit on a log
    axis, so the y axis is linear."""
    from matplotlib.figure import Figure

    from unseen.audit.report.plots import LINESTYLES, colour, svg_from_figure

    figure = Figure(figsize=(6.4, 4.0), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    for index, label, values, ci in lines:
        axes.plot(x, values, color=colour(index), linestyle=LINESTYLES[index % len(LINESTYLES)], marker="o",
                  markersize=3, label=label)
        if np.any(np.isfinite(ci)):
            axes.fill_between(x, ci[:, 0], ci[:, 1], color=colour(index), alpha=0.12, linewidth=0)
    for index, value in marks:
        axes.axvline(value, color=colour(index), linewidth=0.8, linestyle=":")
    if log_x:
        axes.set_xscale("log")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_ylim(bottom=0)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    return svg_from_figure(figure)


def _rates_figure(table: RateTable, *, title: str, xlabel: str, caption: str,
                  reference: float | None = None, reference_label: str = "") -> PageFigure | None:
    from markupsafe import Markup

    from unseen.audit.report import plots

    shown = np.flatnonzero(table.trials > 0)
    if len(shown) == 0:
        return None
    svg = plots.rates_with_intervals_svg(
        labels=[f"{table.names[k]} (n={int(table.trials[k])})" for k in shown], values=table.rate[shown],
        intervals=table.ci[shown], upper_bound_only=table.bound_only[shown], reference=reference,
        reference_label=reference_label, xlabel=xlabel, log_scale=True)
    return PageFigure(title, Markup(svg), caption)


def _figures(audit: IdentificationAudit, item: AttributeAudit) -> list[PageFigure]:
    from markupsafe import Markup

    from unseen.audit.report import plots

    figures: list[PageFigure | None] = []
    target = None if audit.config.fixed else audit.config.target_fpir
    if audit.has_threshold:
        figures.append(_rates_figure(item.fpir, title="False positive identification rate (FPIR) per probe group",
                                     xlabel="FPIR (log scale)", reference=target,
                                     reference_label="target FPIR" if target else "",
                                     caption="Share of searches for people not in the gallery that returned a "
                                             "candidate at the threshold. Dots: measured; bars: interval; '<' an "
                                             "upper bound where none was seen."))
    fnir = item.fnir_rank1_at if item.fnir_rank1_at is not None else item.fnir_rank1
    figures.append(_rates_figure(fnir, title="False negative identification rate (FNIR) at rank 1 per probe group",
                                 xlabel="FNIR at rank 1 (log scale)",
                                 caption="Share of searches for people in the gallery whose photo was not the first "
                                         "candidate" + (" with a score at the threshold." if item.fnir_rank1_at
                                                        is not None else ".")))
    curve = item.gallery_size
    if curve is not None and len(curve.sizes) > 1:
        lines = [(k, name, curve.fpir[k], curve.ci[k]) for k, name in enumerate(curve.names)]
        figures.append(PageFigure("FPIR against gallery size", Markup(_lines_svg(
            x=curve.sizes, lines=lines, xlabel="people in the gallery (log scale)", ylabel="FPIR at the threshold",
            log_x=True)),
            f"Random galleries of each size ({curve.draws} per size), the threshold held fixed. The bigger the "
            "gallery, the more chances for a look-alike."
            + (f" {curve.incomplete} searches' lists end at the threshold, so their smaller-gallery figures are lower "
               "bounds." if curve.incomplete else "")))
    make_up = item.make_up
    if make_up is not None:
        shown = [k for k in range(len(make_up.names)) if np.any(np.isfinite(make_up.fpir[k]))]
        lines = [(k + 1, make_up.names[k], make_up.fpir[k], make_up.ci[k]) for k in shown]
        figures.append(PageFigure("FPIR against the share of the probe's own group in the gallery", Markup(_lines_svg(
            x=make_up.shares, lines=lines, xlabel=f"share of the probe's own group among {make_up.size} gallery "
                                                  "people", ylabel="FPIR at the threshold", log_x=False,
            marks=[(k + 1, make_up.actual_share[k]) for k in shown])),
            f"Galleries of {make_up.size} people with the probe's own group making up each share ({make_up.draws} "
            "random galleries per point); dotted: each group's share of the whole gallery."))
    sources = item.sources
    if sources.counts.sum() > 0 and len(sources.names) > 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            over = np.log2(sources.share / sources.gallery_share[None, :])
        text = [[f"{sources.share[i, j]:.0%}" if np.isfinite(sources.share[i, j]) else "-"
                 for j in range(len(sources.names))] for i in range(len(sources.names))]
        display = np.where(np.isfinite(over), over, np.where(np.isfinite(sources.share), -3.0, np.nan))
        figures.append(PageFigure("Where the false candidates come from", Markup(plots.heatmap_svg(
            matrix=display, row_labels=list(sources.names), column_labels=list(sources.names), cell_text=text,
            colorbar_label="log2(share / gallery share)", row_title="probe group",
            column_title="candidate's group", limit=3.0)),
            "Each row: the false candidates returned for that group's probes, by the candidate's group (the cell "
            "text is the row's share). Red: more than that group's share of the gallery; blue: fewer."))
    if np.any(np.isfinite(item.threshold_shift[1:])):
        figures.append(PageFigure("Threshold shift per group", Markup(plots.signed_bars_svg(
            labels=list(item.groups), values=item.threshold_shift[1:],
            xlabel="own threshold minus global (similarity)")),
            "How far each group's threshold would have to move for its own searches to reach the same FPIR; to the "
            "right: the group needs a stricter threshold."))
    return [f for f in figures if f is not None]


def _span(table: RateTable) -> tuple[int, int] | None:
    rows = [k for k in range(1, len(table)) if table.trials[k] > 0]
    if len(rows) < 2:
        return None
    rates = table.rate
    return min(rows, key=lambda k: rates[k]), max(rows, key=lambda k: rates[k])


def _fpir_sentence(audit: IdentificationAudit, item: AttributeAudit) -> str:
    fpir = item.fpir
    how = (f"set so that at most {audit.config.target_fpir:.1%} of them return a false candidate overall"
           if not audit.config.fixed else "given by the user")
    text = (f"At one threshold for everyone ({audit.threshold_input:.4g}, {how}), {int(fpir.events[0]):,} of "
            f"{int(fpir.trials[0]):,} such searches returned at least one false candidate ({fpir.rate[0]:.2%}).")
    span = _span(fpir)
    if span is None:
        return text
    low, high = span
    names, rates, ci = fpir.names, fpir.rate, fpir.ci
    if rates[high] == 0:
        return text + " No group's searches returned a false candidate."
    ratio = (f"{rates[high] / rates[low]:.1f} times as often" if rates[low] > 0 else
             f"at least {rates[high] / ci[low][1]:.1f} times as often (none seen for {names[low]})")
    verdict = ("a difference larger than chance and the sample size explain (Holm-adjusted)"
               if fpir.differs[1:].any() else "a difference the sample cannot tell from chance")
    return (text + f" By {item.attribute}, it was highest for {names[high]} probes ({rates[high]:.2%}, interval "
            f"{ci[high][0]:.2%}-{ci[high][1]:.2%}) and lowest for {names[low]} ({rates[low]:.2%}, "
            f"{ci[low][0]:.2%}-{ci[low][1]:.2%}): {ratio}; {verdict}.")


def _gallery_sentence(item: AttributeAudit) -> str | None:
    curve = item.gallery_size
    if curve is None or len(curve.sizes) < 2:
        return None
    highest = 1 + int(np.nanargmax(curve.fpir[1:, -1])) if len(curve.names) > 1 else 0
    return (f"As the gallery grew from {curve.sizes[0]:,} to {curve.sizes[-1]:,} people, at the same threshold, the "
            f"share of these searches that returned a false candidate rose from {curve.fpir[0, 0]:.2%} to "
            f"{curve.fpir[0, -1]:.2%} overall, and for {curve.names[highest]} probes from "
            f"{curve.fpir[highest, 0]:.2%} to {curve.fpir[highest, -1]:.2%}. Police galleries hold millions of people.")


def _sources_sentence(item: AttributeAudit) -> str | None:
    s = item.sources
    totals = s.counts.sum(axis=1)
    if len(s.names) < 2 or totals.sum() == 0:
        return None
    parts = []
    for i in np.argsort(-totals)[:2]:
        if totals[i] == 0:
            continue
        parts.append(f"of the {int(totals[i]):,} false candidates returned for {s.names[i]} probes, "
                     f"{s.share[i, i]:.0%} were themselves {s.names[i]}, who make up {s.gallery_share[i]:.0%} of the "
                     "gallery")
    return ("Where false candidates come from: " + "; ".join(parts) + ". A false candidate tends to look like the "
            "person searched for.") if parts else None


def _fnir_sentence(audit: IdentificationAudit, item: AttributeAudit) -> str | None:
    if audit.n_mated == 0:
        return None
    table = item.fnir_rank1_at if item.fnir_rank1_at is not None else item.fnir_rank1
    where = "with a score at the threshold" if item.fnir_rank1_at is not None else ""
    text = (f"Of {int(table.trials[0]):,} searches for people who are in the gallery, the right person was not the "
            f"first candidate {where} in {int(table.events[0]):,} ({table.rate[0]:.1%}; by rank alone "
            f"{item.fnir_rank1.rate[0]:.1%}, and not in the top {audit.rank} in {item.fnir_rank_r.rate[0]:.1%}).")
    span = _span(table)
    if span is not None:
        low, high = span
        text += (f" By {item.attribute}: from {table.rate[low]:.1%} ({table.names[low]}) to {table.rate[high]:.1%} "
                 f"({table.names[high]}).")
    return text.replace("  ", " ")


def _plain_summary(audits: Sequence[IdentificationAudit]) -> list[str]:
    paragraphs = []
    for audit in audits:
        item = audit.attributes[0]
        text = (f"{audit.system} searched {audit.n_searches:,} probe photos of {audit.n_probe_people:,} people "
                f"against a gallery of {audit.n_gallery_people:,} people. {audit.n_nonmated:,} searches were for "
                "people who are not in the gallery: any candidate such a search returns is a false one, the kind of "
                "mistake that can put an innocent person in front of the police.")
        if audit.has_threshold and audit.n_nonmated:
            text += " " + _fpir_sentence(audit, item)
        paragraphs.append(text)
        for sentence in (_gallery_sentence(item), _sources_sentence(item), _fnir_sentence(audit, item)):
            if sentence:
                paragraphs.append(sentence)
    return paragraphs


def _failure_table(failures: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"model": f.model, "attribute": r.group.attribute, "group": r.group.label, "failed": r.k, "photos": r.n}
            for f in failures for r in f.rates]


def html_context(audits: Sequence[IdentificationAudit], *, title: str = "Identification audit",
                 probe_failures: Sequence[Any] = (), gallery_failures: Sequence[Any] = (),
                 enrolment_notes: Sequence[str] = ()) -> dict[str, Any]:
    warnings = list(dict.fromkeys(c for audit in audits for c in audit.caveats if not c.startswith("Labels ")))
    warnings += [f"{audit.system}: {flag}" for audit in audits for flag in audit.flags]
    sections = [{"audit": audit, "item": item, "figures": _figures(audit, item)}
                for audit in audits for item in audit.attributes]
    return {"title": title, "audits": list(audits), "primary": audits[0], "sections": sections,
            "summary": _plain_summary(audits), "warnings": warnings, "conventions": CONVENTIONS,
            "unseen_version": unseen.__version__, "scale_text": _scale_text,
            "label_notes": list(dict.fromkeys(c for audit in audits for c in audit.caveats if c.startswith("Labels "))),
            "probe_failures": _failure_table(probe_failures), "gallery_failures": _failure_table(gallery_failures),
            "enrolment_notes": list(enrolment_notes)}


def write_html(path: str | Path, audits: Sequence[IdentificationAudit], *, title: str = "Identification audit",
               probe_failures: Sequence[Any] = (), gallery_failures: Sequence[Any] = (),
               enrolment_notes: Sequence[str] = ()) -> Path:
    from unseen.audit.report.html import write_html_report

    return write_html_report(path, "identification.html.j2", html_context(
        audits, title=title, probe_failures=probe_failures, gallery_failures=gallery_failures,
        enrolment_notes=enrolment_notes))

"""The verification audit's report: JSON (the contract), CSV tables, and the HTML page."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import unseen
from unseen.audit.recognition.comparisons import ScoreScale
from unseen.audit.recognition.enrolment import FailureToEnrol
from unseen.audit.report.html import PageFigure
from unseen.audit.report.json_io import write_report_json
from unseen.media.files import write_csv_table
from unseen.audit.set_aside import SetAside
from unseen.audit.verification.config import BootstrapUnit, ThresholdPolicy
from unseen.audit.verification.results import ModelAttributeAudit, OperatingPointResult, VerificationAudit

SCHEMA = "unseen.audit.verification/1"

CONVENTIONS = (
    "A comparison matches when its score is at or above the threshold (ties match).",
    "A target-FMR threshold is the smallest non-mated score at which the FMR over all non-mated pairs is at "
    "most the target (as bob.measure does); with ties the FMR reached can be lower.",
    "Per-group FMR counts only non-mated pairs with both sides in the group; FNMR counts mated pairs of the group.",
    "The cross-group matrix has enrolled group as rows and probe group as columns; when the pairs have no "
    "enrol/probe order both directions are pooled and the matrix is symmetric.",
    "A group's threshold shift is the threshold at which that group alone reaches the target FMR (or, without a "
    "target, the FMR all pairs reach), minus the global threshold.",
    "Where no error was seen, the interval is [0, rule-of-three upper bound], computed on the number of pairs "
    "(pairs sharing people make the true bound somewhat higher).",
    "Ratios with a zero rate use that rate's upper bound and are then lower bounds (flagged).",
)


def _point_block(result: OperatingPointResult, audit: ModelAttributeAudit) -> dict[str, Any]:
    groups = result.groups
    scores = audit.scores
    point = result.point
    fmr, fnmr = groups.fmr, groups.fnmr
    fmr_rate, fnmr_rate = fmr.rate, fnmr.rate
    block_groups = {}
    for k, name in enumerate(groups.names):
        block_groups[name] = {
            "fmr": fmr_rate[k], "fnmr": fnmr_rate[k],
            "fmr_ci": fmr.ci[k], "fnmr_ci": fnmr.ci[k],
            "n_mated": int(fnmr.trials[k]), "n_nonmated": int(fmr.trials[k]),
            "accuracy": groups.accuracy[k], "accuracy_ci": groups.accuracy_ci[k],
            "false_matches": fmr.events[k], "false_non_matches": fnmr.events[k],
            "fmr_upper_bound_only": bool(fmr.bound_only[k]),
            "fnmr_upper_bound_only": bool(fnmr.bound_only[k]),
            "own_threshold": groups.group_threshold[k], "threshold_shift": groups.threshold_shift[k],
            "fmr_holm_p": fmr.p_holm[k], "fnmr_holm_p": fnmr.p_holm[k],
            "d_prime": scores.d_prime[k], "auc": scores.auc[k],
            "flags": list(groups.flags[k]),
        }
    target = point.target_fmr if point.target_fmr is not None else result.global_fmr
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log10(result.cross.fmr / target) if target and target > 0 else np.full_like(result.cross.fmr,
                                                                                                 np.nan)
    summary = result.summary
    return {
        "attribute": result.attribute,
        "operating_point": point.name,
        "threshold": {"value": result.threshold_input_scale, "policy": point.policy.value,
                      "target_fmr": point.target_fmr, "similarity_value": result.threshold,
                      "ci": result.threshold_ci},
        "global": {"fmr": result.global_fmr, "fnmr": result.global_fnmr, "n_nonmated": result.n_nonmated,
                   "n_mated": result.n_mated},
        "groups": block_groups,
        "cross_group_fmr": {"rows": list(result.cross.names), "columns": list(result.cross.names),
                            "fmr": result.cross.fmr, "ci": result.cross.ci,
                            "false_matches": result.cross.false_matches, "n_nonmated": result.cross.n_nonmated,
                            "log10_fmr_over_target": log_ratio, "ordered": result.cross.ordered},
        "summary": {name: summary.values[i] for i, name in enumerate(summary.names)},
        "summary_ci": {name: summary.ci[i] for i, name in enumerate(summary.names)},
        "summary_lower_bounds": [name for i, name in enumerate(summary.names) if summary.bounded[i]],
        "flags": list(result.flags),
    }


def report_data(audit: VerificationAudit, *, title: str = "", extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON document: ``models`` {model: primary block + ``analyses`` + ``scores``}."""
    provenance = audit.provenance
    models: dict[str, Any] = {}
    for model in audit.models:
        items = [r for r in audit.results if r.model == model]
        primary = items[0]
        block = _point_block(primary.operating_points[0], primary)
        block["scale"] = _scale_text(audit, model)
        block["thresholds"] = [{"operating_point": op.point.name, "value": op.threshold_input_scale,
                                "policy": op.point.policy.value, "target_fmr": op.point.target_fmr,
                                "similarity_value": op.threshold, "ci": op.threshold_ci, "global_fmr": op.global_fmr,
                                "global_fnmr": op.global_fnmr}
                               for op in primary.operating_points]
        block["analyses"] = [_point_block(op, item) for item in items for op in item.operating_points]
        block["score_level"] = {
            item.attribute: {name: {"d_prime": item.scores.d_prime[k], "auc": item.scores.auc[k],
                                    "det": {"threshold": item.scores.det[k].thresholds, "fmr": item.scores.det[k].fmr,
                                            "fnmr": item.scores.det[k].fnmr}}
                             for k, name in enumerate(item.scores.names)}
            for item in items}
        models[model] = block
    config = audit.config
    return {
        "schema": SCHEMA,
        "title": title,
        "unseen_version": unseen.__version__,
        "data": {
            "source": getattr(provenance, "source", ""), "sha256": getattr(provenance, "sha256", ""),
            "n_pairs": audit.n_pairs, "n_mated": audit.n_mated, "n_nonmated": audit.n_pairs - audit.n_mated,
            "n_subjects": audit.n_subjects,
            "label_sources": {a: provenance.label_source(a) for a in audit.attributes} if provenance else {},
            "notes": list(audit.notes),
            "set_aside": provenance.set_aside.to_json() if provenance else SetAside().to_json(),
        },
        "method": {
            "operating_points": list(dict.fromkeys(op.point.name for item in audit.results
                                                   for op in item.operating_points)),
            "skipped_targets": list(audit.skipped_targets),
            "rates_over": config.rates_over.value,
            "alpha": config.alpha,
            "bootstrap": {"unit": audit.bootstrap_unit.value, "replicates": config.n_bootstrap
                          if audit.bootstrap_unit is not BootstrapUnit.NONE else 0,
                          "level": config.level, "seed": config.seed,
                          "threshold_reestimated": True},
            "conventions": list(CONVENTIONS),
        },
        "attributes": list(audit.attributes),
        "models": models,
        **(extra or {}),
    }


def _scale_text(audit: VerificationAudit, model: str) -> str:
    if audit.scale(model) is ScoreScale.DISTANCE:
        return "distance (lower = more alike; a pair matches when distance <= threshold)"
    return "similarity (higher = more alike; a pair matches when score >= threshold)"


def write_json(path: str | Path, audit: VerificationAudit, **kwargs: Any) -> Path:
    return write_report_json(path, report_data(audit, **kwargs))


def _each_point(audit: VerificationAudit) -> Iterator[tuple[dict[str, Any], OperatingPointResult]]:
    """Every operating point of every analysis, with the columns that say which it is."""
    for item in audit.results:
        for op in item.operating_points:
            yield {"model": item.model, "attribute": item.attribute, "operating_point": op.point.name}, op


def group_rows(audit: VerificationAudit) -> list[dict[str, Any]]:
    rows = []
    for which, op in _each_point(audit):
        g = op.groups
        fmr, fnmr = g.fmr, g.fnmr
        fmr_rate, fnmr_rate = fmr.rate, fnmr.rate
        for k, name in enumerate(g.names):
            rows.append({
                **which, "threshold": op.threshold_input_scale, "group": name,
                "fmr": fmr_rate[k], "fmr_low": fmr.ci[k][0], "fmr_high": fmr.ci[k][1],
                "fmr_upper_bound_only": bool(fmr.bound_only[k]),
                "fnmr": fnmr_rate[k], "fnmr_low": fnmr.ci[k][0], "fnmr_high": fnmr.ci[k][1],
                "fnmr_upper_bound_only": bool(fnmr.bound_only[k]),
                "accuracy": g.accuracy[k], "false_matches": fmr.events[k],
                "n_nonmated": int(fmr.trials[k]), "false_non_matches": fnmr.events[k],
                "n_mated": int(fnmr.trials[k]), "threshold_shift": g.threshold_shift[k],
                "flags": "; ".join(g.flags[k]),
            })
    return rows


def cross_rows(audit: VerificationAudit) -> list[dict[str, Any]]:
    rows = []
    for which, op in _each_point(audit):
        c = op.cross
        for i, row in enumerate(c.names):
            for j, column in enumerate(c.names):
                rows.append({**which, "enrolled": row, "probe": column, "fmr": c.fmr[i, j], "fmr_low": c.ci[i, j, 0],
                             "fmr_high": c.ci[i, j, 1], "false_matches": c.false_matches[i, j],
                             "n_nonmated": int(c.n_nonmated[i, j])})
    return rows


def summary_rows(audit: VerificationAudit) -> list[dict[str, Any]]:
    rows = []
    for which, op in _each_point(audit):
        s = op.summary
        for i, name in enumerate(s.names):
            rows.append({**which, "measure": name, "value": s.values[i], "low": s.ci[i][0], "high": s.ci[i][1],
                         "lower_bound": bool(s.bounded[i])})
    return rows


def write_csv_tables(folder: str | Path, audit: VerificationAudit) -> list[Path]:
    """``groups.csv``, ``cross_group_fmr.csv`` and ``summary.csv`` in ``folder``."""
    folder = Path(folder)
    return [write_csv_table(folder / "groups.csv", group_rows(audit)),
            write_csv_table(folder / "cross_group_fmr.csv", cross_rows(audit)),
            write_csv_table(folder / "summary.csv", summary_rows(audit))]


# -- HTML --------------------------------------------------------------------------------

def _ratio_sentence(result: OperatingPointResult) -> list[str]:
    groups = result.groups
    sentences = []
    for rate, table, ratio in (("false match rate", groups.fmr, "fmr_max_min"),
                               ("false non-match rate", groups.fnmr, "fnmr_max_min")):
        values, intervals, counts = table.rate, table.ci, table.trials
        valid = np.isfinite(values) & (counts > 0)
        if valid.sum() < 2:
            continue
        index = np.flatnonzero(valid)
        high = index[np.argmax(values[index])]
        low = index[np.argmin(values[index])]
        if values[high] == 0:
            sentences.append(f"No group had a single {rate.replace(' rate', '')} at this threshold.")
            continue
        if values[low] == 0:
            sentences.append(f"The {rate} was highest for {groups.names[high]} ({values[high]:.2g}); "
                             f"{groups.names[low]} had none in {int(counts[low]):,} comparisons, so the gap is at "
                             f"least {values[high] / intervals[low][1]:.1f} times.")
            continue
        interval = result.summary.interval(ratio)
        spread = (f" (interval of this ratio {interval[0]:.3g} to {interval[1]:.3g})"
                  if np.all(np.isfinite(interval)) else "")
        sentences.append(f"The {rate} of {groups.names[high]} ({values[high]:.2g}) was {values[high] / values[low]:.1f} "
                         f"times that of {groups.names[low]} ({values[low]:.2g}){spread}.")
    return sentences


def _threshold_how(op: OperatingPointResult) -> str:
    policy = op.point.policy
    if policy is ThresholdPolicy.TARGET_FMR:
        return (f"set so that at most {op.point.target_fmr:g} of all different-person comparisons are wrongly "
                "accepted")
    if policy is ThresholdPolicy.FIXED:
        return "given by the user" + (f" ({op.point.label})" if op.point.label else "")
    if policy is ThresholdPolicy.PER_GROUP:
        return "set separately for each group (a paper-reproduction option, not the method)"
    return f"chosen by the '{policy.value}' rule (a paper-reproduction option, not the method)"


def _plain_summary(audit: VerificationAudit) -> list[str]:
    paragraphs = []
    for model in audit.models:
        item = next(r for r in audit.results if r.model == model)
        op = item.operating_points[0]
        how = _threshold_how(op)
        text = (f"Model {model}, grouped by {item.attribute}: one threshold ({op.threshold_input_scale:.4g}) {how}. "
                + " ".join(_ratio_sentence(op)))
        for other in item.operating_points[1:]:
            rates = f"FMR {other.global_fmr:.2g}" + (f", FNMR {other.global_fnmr:.2g}" if other.n_mated else "")
            text += (f" At {other.point.name} (threshold {other.threshold_input_scale:.4g}), all pairs: {rates}. "
                     + " ".join(_ratio_sentence(other)))
        if len(item.scores.names) < 2:
            text += " There is one group only, so nothing is compared between groups."
        paragraphs.append(text.strip())
    if audit.n_mated == 0:
        paragraphs.append("Every comparison here is between two different people, so only false matches can be "
                          "measured; nothing is said about failures to recognise the same person.")
    if audit.bootstrap_unit is BootstrapUnit.PAIR:
        paragraphs.append("The data does not say who is in each photo, so the error margins shown are too narrow.")
    return paragraphs


def _figures(item: ModelAttributeAudit) -> list[PageFigure]:
    from markupsafe import Markup

    from unseen.audit.report import plots

    op = item.operating_points[0]
    groups = op.groups
    figures = []
    names = list(groups.names)
    fmr, fnmr = groups.fmr, groups.fnmr
    if np.any(fnmr.trials > 0):
        curves = [plots.Curve(n, item.scores.det[k].fmr, item.scores.det[k].fnmr) for k, n in enumerate(names)]
        marks = [plots.Curve(n, np.array([fmr.rate[k]]), np.array([fnmr.rate[k]])) for k, n in enumerate(names)]
        figures.append(PageFigure("DET curves per group", Markup(plots.det_curves_svg(curves=curves, marks=marks)),
                               "Each group's own mated and same-group non-mated pairs; dots mark the global "
                               "threshold. Lower-left is better; a curve to the right means more false matches at "
                               "the same threshold."))
    edges = item.scores.histogram_edges
    centres = (edges[:-1] + edges[1:]) / 2
    mated_samples = [np.repeat(centres, item.scores.mated_histogram[k]) for k in range(len(names))]
    nonmated_samples = [np.repeat(centres, item.scores.nonmated_histogram[k]) for k in range(len(names))]
    figures.append(PageFigure("Score distributions", Markup(plots.score_distributions_svg(
        labels=names, mated=mated_samples, nonmated=nonmated_samples,
        threshold=op.threshold if np.isfinite(op.threshold) else None)),
        "Similarity of same-person (solid) and different-person (dashed) pairs per group; the vertical line is "
        "the threshold."))
    rate_kwargs = dict(log_scale=True)
    if np.any(fmr.trials > 0):
        figures.append(PageFigure("False match rate per group", Markup(plots.rates_with_intervals_svg(
            labels=names, values=fmr.rate, intervals=fmr.ci, upper_bound_only=fmr.bound_only,
            reference=op.point.target_fmr, reference_label="target FMR" if op.point.target_fmr else "",
            xlabel="FMR (log scale)", **rate_kwargs)),
            "Dots: measured rate; bars: interval; '<' marks an upper bound where no error was seen."))
    if np.any(fnmr.trials > 0):
        figures.append(PageFigure("False non-match rate per group", Markup(plots.rates_with_intervals_svg(
            labels=names, values=fnmr.rate, intervals=fnmr.ci, upper_bound_only=fnmr.bound_only,
            xlabel="FNMR (log scale)", **rate_kwargs)), ""))
    target = op.point.target_fmr if op.point.target_fmr else op.global_fmr
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log10(op.cross.fmr / target)
    cell_text = [[("0" if op.cross.false_matches[i, j] == 0 else f"{op.cross.fmr[i, j]:.1e}")
                  if op.cross.n_nonmated[i, j] > 0 else "-" for j in range(len(names))] for i in range(len(names))]
    finite = np.isfinite(log_ratio)
    display = np.where(finite, log_ratio, np.where(op.cross.n_nonmated > 0, -3.0, np.nan))
    figures.append(PageFigure("Cross-group false match rates", Markup(plots.heatmap_svg(
        matrix=display, row_labels=names, column_labels=names, cell_text=cell_text,
        colorbar_label=f"log10(FMR / {target:.2g})", row_title="enrolled", column_title="probe")),
        "Red: more false matches than the target; blue: fewer; white: on target. Cells with no false match are "
        "drawn at the bottom of the scale."))
    if np.any(np.isfinite(groups.threshold_shift)):
        figures.append(PageFigure("Threshold shift per group", Markup(plots.signed_bars_svg(
            labels=names, values=groups.threshold_shift, xlabel="own threshold minus global (similarity)")),
            "How far each group's threshold would have to move to reach the same FMR on its own pairs; "
            "to the right: the group needs a stricter threshold."))
    return figures


def html_context(audit: VerificationAudit, *, title: str = "Verification audit", caveats: Sequence[str] = (),
                 enrolment: Sequence[FailureToEnrol] = (), enrolment_notes: Sequence[str] = ()) -> dict[str, Any]:
    """The page's data. ``enrolment``: each model's failures to enrol of an images-mode
    audit, shown with ``enrolment_notes``."""
    warnings = list(caveats)
    if audit.bootstrap_unit is BootstrapUnit.PAIR:
        warnings.append("No subject ids: intervals resample pairs and are too narrow, because pairs that share a "
                        "person are not independent.")
    if audit.n_mated == 0:
        warnings.append("No mated pairs: only false match rates can be measured (no FNMR, accuracy or "
                        "FNMR-based summaries).")
    sections = []
    for item in audit.results:
        sections.append({"item": item, "figures": _figures(item)})
    return {"title": title, "audit": audit, "sections": sections, "summary": _plain_summary(audit),
            "warnings": warnings, "conventions": CONVENTIONS, "unseen_version": unseen.__version__,
            "provenance": audit.provenance, "isfinite": math.isfinite, "enrolment": _enrolment_table(enrolment),
            "enrolment_notes": list(enrolment_notes)}


def _enrolment_table(failures: Sequence[FailureToEnrol]) -> dict[str, Any] | None:
    """Failures to enrol pivoted: one line per attribute and group, one column per model."""
    if not any(len(f.rates) for f in failures):
        return None
    models = list(dict.fromkeys(f.model for f in failures if len(f.rates)))
    lines: dict[tuple[str, str], dict[str, str]] = {}
    for f in failures:
        for r in f.rates:
            rate = f" (rate {r.value:.2g})" if r.n and r.k else ""
            lines.setdefault((r.group.attribute, r.group.label), {})[f.model] = f"{r.k} / {r.n}{rate}"
    return {"models": models, "rows": [{"attribute": a, "group": g, "cells": [cells.get(m, "") for m in models]}
                                       for (a, g), cells in lines.items()]}


def write_html(path: str | Path, audit: VerificationAudit, *, title: str = "Verification audit",
               caveats: Sequence[str] = (), enrolment: Sequence[FailureToEnrol] = (),
               enrolment_notes: Sequence[str] = ()) -> Path:
    from unseen.audit.report.html import write_html_report

    return write_html_report(path, "verification.html.j2", html_context(
        audit, title=title, caveats=caveats, enrolment=enrolment, enrolment_notes=enrolment_notes))

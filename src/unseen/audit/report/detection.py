"""The detection audit's report: JSON (the contract), CSV tables, and the HTML page."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import unseen
from unseen.audit.detection.audit import DetectionAudit
from unseen.audit.detection.groups import HEIGHT_BUCKETS, NOT_SURE, SKIN, SKIN_POOLED, SKIN_POOLS
from unseen.audit.detection.miss_model import Adjustment, MissModel
from unseen.audit.detection.rates import RateFamily
from unseen.audit.report.html import PageFigure
from unseen.audit.report.json_io import write_report_json
from unseen.media.files import write_csv_table
from unseen.audit.stats.rates import Rate

SCHEMA = "unseen.audit.detection/1"

CONVENTIONS = (
    "A face is found when a box scoring at least the operating threshold overlaps it at IoU >= 0.5 (continuous "
    "pixel IoU). Boxes are matched best score first, each to the still-unmatched face it overlaps most; a second "
    "box on a found face, and a box on no annotated face, are false positives.",
    "Recall counts valid faces: a box with area, not flagged invalid by the annotators.",
    "False positives belong to no person: they are counted per image, never per group.",
    "Intervals come from a bootstrap over images (faces in one photo share its light, blur and camera); where "
    "nothing was missed the interval is [1 - rule-of-three bound, 1].",
    "Each group is tested against the faces with another definite label of the same attribute ('Not Sure' is no "
    "group and is not tested), by a Wald test on the bootstrap's standard error, with Holm's correction over every "
    "test in the report. Groups with too few faces are flagged and not tested.",
    "Odds ratios come from logistic regressions of 'missed' with standard errors clustered by image; > 1 means "
    "more often missed than the reference level. Face size enters as log2 of the face height (per doubling).",
    "AP follows the official WIDER FACE evaluation over every box in the files: scores normalised over the run, "
    "IoU with the +1 pixel convention, faces outside a set ignored (not misses), 1,000 thresholds.",
    "Rows of the pack and lines of the box files that could not be used as they stand are set aside and named "
    "(file, line, why, what was done); a face box with a negative or zero width or height is not a valid face "
    "but stays in the AP sets its flags name, as in the official evaluation.",
)


# -- JSON -------------------------------------------------------------------------------
def rate_record(rate: Rate) -> dict[str, Any]:
    return {"value": rate.value, "ci": list(rate.ci), "n": rate.n, "successes": rate.k,
            "flags": list(rate.flags), "p_holm": rate.p_holm, "differs": rate.differs}


def _family_records(family: RateFamily, measure: str) -> dict[str, Any]:
    """``measure``: by group; ``measure_by_height``; ``measure_within_size`` (group -> height)."""
    return {
        measure: {r.group.name: rate_record(r) for r in (family.overall, *family.by_group, *family.by_intersection)},
        f"{measure}_by_height": {r.group.within: rate_record(r) for r in family.by_height},
        f"{measure}_within_size": {group: {r.group.within: rate_record(r) for r in rows}
                                   for group, rows in family.within_size_by_group().items()},
    }


def model_record(model: MissModel) -> dict[str, Any]:
    return {
        "model": model.name, "covariates": list(model.covariates), "faces": model.faces, "missed": model.missed,
        "images": model.images, "level": model.level, "note": model.note,
        "odds_ratios": [{"variable": o.variable, "level": o.level, "reference": o.reference, "value": o.value,
                         "ci": list(o.ci), "p": o.p_value} for o in model.odds_ratios],
    }


def report_data(audit: DetectionAudit, *, title: str = "") -> dict[str, Any]:
    """The JSON document: ``ap`` {easy, medium, hard} (fractions), ``recall`` {group: {value,
    ci, n, ...}}, ``regression`` {labels: {model: odds ratios with intervals}}, and the rest."""
    config = audit.config
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "title": title,
        "unseen_version": unseen.__version__,
        "data": {**audit.about, "images": audit.n_images, "faces": audit.n_faces, "valid_faces": audit.n_valid,
                 "labelled_valid_faces": audit.labelled},
        "method": {"threshold": config.threshold, "iou_threshold": config.iou_threshold,
                   "bootstrap": {"unit": "image", "replicates": config.replicates, "seed": config.seed,
                                 "level": config.level},
                   "min_group_faces": config.min_group_faces, "conventions": list(CONVENTIONS)},
        "ap": None if audit.ap is None else {s.name: s.ap for s in audit.ap.settings},
        "ap_faces": None if audit.ap is None else {s.name: s.faces for s in audit.ap.settings},
        **_family_records(audit.recall, "recall"),
        "false_positives": {"per_image": rate_record(audit.false_positives_per_image),
                            "total": audit.false_positives, "images": audit.n_images},
        "regression": {labels: {m.name: model_record(m) for m in models} for labels, models in audit.models.items()},
        "coverage": None,
        "set_aside": audit.set_aside.to_json(),
    }
    if audit.coverage is not None:
        data["coverage"] = {
            "shape": audit.coverage.shape.value, "hidden_at": config.hidden_at,
            **_family_records(audit.coverage.hidden, "hidden"),
            "image_area_covered": rate_record(audit.coverage.covered_share),
            "image_area_covered_away_from_faces": rate_record(audit.coverage.covered_away_share),
        }
    return data


def write_json(path: str | Path, audit: DetectionAudit, *, title: str = "") -> Path:
    return write_report_json(path, report_data(audit, title=title))


# -- CSV --------------------------------------------------------------------------------
RATE_COLUMNS = ("measure", "breakdown", "group", "height", "n", "successes", "value", "ci_low", "ci_high",
                "p_holm", "differs", "flags")
ODDS_COLUMNS = ("labels", "model", "variable", "level", "reference", "odds_ratio", "ci_low", "ci_high", "p",
                "faces", "missed", "note")


def rate_rows(audit: DetectionAudit) -> list[dict[str, Any]]:
    """One row per rate (recall; hidden share too when the boxes are a redactor's)."""
    rows = []
    families = [("recall", audit.recall)] + ([("hidden", audit.coverage.hidden)] if audit.coverage else [])
    for measure, family in families:
        parts = [("overall", [family.overall]), ("group", family.by_group),
                 ("intersection", family.by_intersection), ("height", family.by_height),
                 ("within size", family.within_size)]
        for breakdown, rates in parts:
            for r in rates:
                rows.append({"measure": measure, "breakdown": breakdown, "group": r.group.name,
                             "height": r.group.within, "n": r.n, "successes": r.k, "value": r.value,
                             "ci_low": r.ci[0], "ci_high": r.ci[1], "p_holm": r.p_holm, "differs": r.differs,
                             "flags": "; ".join(r.flags)})
    return rows


def odds_rows(audit: DetectionAudit) -> list[dict[str, Any]]:
    rows = []
    for labels, models in audit.models.items():
        for m in models:
            base = {"labels": labels, "model": m.name, "faces": m.faces, "missed": m.missed, "note": m.note}
            if not m.odds_ratios:
                rows.append({**base, "variable": "", "level": "", "reference": "", "odds_ratio": None,
                             "ci_low": None, "ci_high": None, "p": None})
            for o in m.odds_ratios:
                rows.append({**base, "variable": o.variable, "level": o.level, "reference": o.reference,
                             "odds_ratio": o.value, "ci_low": o.ci[0], "ci_high": o.ci[1], "p": o.p_value})
    return rows


def ap_rows(audit: DetectionAudit) -> list[dict[str, Any]]:
    if audit.ap is None:
        return []
    return [{"set": s.name, "faces": s.faces, "ap": s.ap} for s in audit.ap.settings]


def write_csv_tables(folder: str | Path, audit: DetectionAudit) -> list[Path]:
    """``rates.csv`` (recall, hidden share), ``odds_ratios.csv`` and ``ap.csv`` in ``folder``."""
    folder = Path(folder)
    written = [write_csv_table(folder / "rates.csv", rate_rows(audit), columns=RATE_COLUMNS),
               write_csv_table(folder / "odds_ratios.csv", odds_rows(audit), columns=ODDS_COLUMNS)]
    if audit.ap is not None:
        written.append(write_csv_table(folder / "ap.csv", ap_rows(audit), columns=("set", "faces", "ap")))
    return written


# -- HTML -------------------------------------------------------------------------------
def _rates_figure(estimates: Sequence[Rate], *, title: str, xlabel: str, caption: str,
                  reference: float | None = None, reference_label: str = "") -> PageFigure:
    from markupsafe import Markup

    from unseen.audit.report import plots

    shown = [e for e in estimates if e.n > 0]
    svg = plots.rates_with_intervals_svg(
        labels=[f"{e.key} (n={e.n})" for e in shown], values=np.array([e.value for e in shown]),
        intervals=np.array([e.ci for e in shown]).reshape(-1, 2), reference=reference,
        reference_label=reference_label, xlabel=xlabel)
    return PageFigure(title, Markup(svg), caption)


def _by_size_svg(lines: dict[str, Sequence[Rate]], *, ylabel: str, min_faces: int) -> str:
    """One line per group across the height buckets, with interval bars; a point resting on
    fewer than ``min_faces`` faces is drawn hollow, one on fewer than 5 is left out."""
    from matplotlib.figure import Figure

    from unseen.audit.report.plots import LINESTYLES, colour, svg_from_figure

    figure = Figure(figsize=(6.4, 4.0), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    x = np.arange(len(HEIGHT_BUCKETS))
    for i, (label, estimates) in enumerate(lines.items()):
        offset = (i - (len(lines) - 1) / 2) * 0.06
        values = np.array([e.value if e.n >= 5 else np.nan for e in estimates])
        axes.plot(x + offset, values, color=colour(i), linestyle=LINESTYLES[i % len(LINESTYLES)], label=label)
        for j, e in enumerate(estimates):
            if e.n < 5:
                continue
            axes.plot([x[j] + offset] * 2, e.ci, color=colour(i), linewidth=1, alpha=0.6)
            axes.plot([x[j] + offset], [e.value], marker="o", color=colour(i),
                      markerfacecolor=colour(i) if e.n >= min_faces else "white")
    axes.set_xticks(x, labels=[f"{b} px" for b in HEIGHT_BUCKETS])
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel("face height")
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small")
    return svg_from_figure(figure)


def _size_lines(family: RateFamily, attribute: str) -> dict[str, Sequence[Rate]]:
    lines: dict[str, list[Rate]] = {}
    for rate in family.within_size:
        if rate.group.attribute == attribute and rate.group.label != NOT_SURE:
            lines.setdefault(rate.group.label, []).append(rate)
    return lines


def _forest_figure(models: Sequence[MissModel], labels: str) -> PageFigure | None:
    from markupsafe import Markup

    from unseen.audit.report import plots

    rows = [(f"{o.level} vs {o.reference} ({m.name})" if o.variable == labels else f"{o.level} ({m.name})", o)
            for m in models for o in m.odds_ratios if o.variable == labels or m.name == Adjustment.ADJUSTED]
    if not rows:
        return None
    svg = plots.rates_with_intervals_svg(
        labels=[r[0] for r in rows], values=np.array([r[1].value for r in rows]),
        intervals=np.array([r[1].ci for r in rows]), reference=1.0, reference_label="no difference",
        xlabel="odds ratio of a miss (log scale)", log_scale=True)
    return PageFigure(f"Odds ratios of a miss: {labels}", Markup(svg),
                   "Right of 1: missed more often. Raw: skin type alone; size-controlled: plus log face height; "
                   "adjusted: plus blur, occlusion, pose and illumination. Bars: intervals clustered by image.")


def _gap_sentence(family: RateFamily, attribute: str, what: str) -> str | None:
    groups = [r for r in family.by_group.of_attribute(attribute) if r.group.label != NOT_SURE and r.n]
    if len(groups) < 2:
        return None
    low = min(groups, key=lambda e: e.value)
    high = max(groups, key=lambda e: e.value)
    verdict = ("a difference that survives Holm's correction" if low.differs or high.differs
               else "within what chance and the sample allow")
    return (f"By {attribute}: {what} was lowest for {low.group.label} ({low.value:.1%}, interval "
            f"{low.ci[0]:.1%}-{low.ci[1]:.1%}, {low.n} faces) and highest for {high.group.label} "
            f"({high.value:.1%}, {high.ci[0]:.1%}-{high.ci[1]:.1%}, {high.n} faces): {verdict}.")


def _model_sentence(audit: DetectionAudit) -> str | None:
    models = audit.models.get(SKIN_POOLED)
    if not models or not all(m.fitted for m in models):
        return None
    parts = []
    for m in models:
        darkest = [o for o in m.for_variable(SKIN_POOLED) if o.level == SKIN_POOLS[-1][0]]
        if darkest:
            o = darkest[0]
            parts.append(f"{m.name} {o.value:.2f} ({o.ci[0]:.2f}-{o.ci[1]:.2f})")
    if not parts:
        return None
    return ("Odds of a type V-VI face being missed, relative to I-II: " + "; ".join(parts)
            + ". An adjusted ratio whose interval includes 1 means the gap is accounted for by face size, blur, "
              "occlusion, pose and light; one that excludes 1 means it is not.")


PADDED_BOXES_NOTE = ("These boxes are what a redactor covered: grown well past each face, so they rarely overlap a "
                     "face box by IoU 0.5. Recall, AP and false detections below treat them as detections and "
                     "understate what was found; the share of faces hidden is the figure to read.")


def _plain_summary(audit: DetectionAudit) -> list[str]:
    recall = audit.recall.overall
    paragraphs = [f"At one threshold ({audit.config.threshold:g}) the detector found {recall.k:,} of {recall.n:,} "
                  f"valid faces ({recall.value:.1%}, interval {recall.ci[0]:.1%}-{recall.ci[1]:.1%}) and made "
                  f"{audit.false_positives_per_image.value:.2f} false detections per image."]
    for attribute in (SKIN_POOLED, *[a for a in audit.labelled if a != SKIN]):
        sentence = _gap_sentence(audit.recall, attribute, "recall")
        if sentence:
            paragraphs.append(sentence)
    sentence = _model_sentence(audit)
    if sentence:
        paragraphs.append(sentence)
    if audit.ap is not None:
        paragraphs.append("Official WIDER FACE AP: " + ", ".join(f"{s.name} {s.ap:.3f}" for s in audit.ap.settings)
                          + ".")
    if audit.coverage is not None:
        hidden = audit.coverage.hidden.overall
        paragraphs.insert(0, f"As a redactor it hid {hidden.value:.1%} of valid faces (at least "
                             f"{audit.config.hidden_at:.0%} of the face box covered), covering "
                             f"{audit.coverage.covered_share.value:.1%} of the average image, "
                             f"{audit.coverage.covered_away_share.value:.1%} of it away from any face.")
        paragraphs.insert(1, PADDED_BOXES_NOTE)
    return paragraphs


def _warnings(audit: DetectionAudit) -> list[str]:
    warnings = []
    labelled = audit.labelled.get(SKIN)
    if labelled is not None and labelled < audit.n_valid:
        warnings.append(f"Only {labelled:,} of {audit.n_valid:,} valid faces carry a skin-type label, and small faces "
                        "were mostly left unlabelled: compare groups within face-size buckets and read the "
                        "size-controlled odds ratios, not only the raw rates.")
    small = [r.group.name for r in audit.recall.by_group
             if any(f.startswith("fewer than") and "faces" in f for f in r.flags)]
    if small:
        warnings.append(f"Too few faces to support a figure (flagged, not tested): {', '.join(small[:12])}"
                        + (" ..." if len(small) > 12 else "") + ".")
    for labels, models in audit.models.items():
        for m in models:
            if m.note:
                warnings.append(f"Regression on {labels} ({m.name}): {m.note}.")
    return warnings


def _figures(audit: DetectionAudit) -> list[PageFigure]:
    from markupsafe import Markup

    figures = []
    overall = audit.recall.overall.value
    groups = [r for r in audit.recall.by_group if r.group.attribute != SKIN_POOLED]
    figures.append(_rates_figure(groups, title="Recall by group", xlabel="recall (share of faces found)",
                                 reference=overall, reference_label="all valid faces",
                                 caption="Dots: recall; bars: image-bootstrap interval."))
    figures.append(_rates_figure(audit.recall.by_height, title="Recall by face height",
                                 xlabel="recall", caption="Faces grouped by annotated height in pixels."))
    for attribute in (SKIN_POOLED, *[a for a in audit.labelled if a != SKIN]):
        lines = _size_lines(audit.recall, attribute)
        if len(lines) >= 2:
            figures.append(PageFigure(f"Recall vs face size by {attribute}", Markup(_by_size_svg(
                lines, ylabel="recall", min_faces=audit.config.min_group_faces)),
                f"Hollow points rest on fewer than {audit.config.min_group_faces} faces. Within one size bucket "
                "the comparison between groups is fairer than the raw rates."))
    for labels, models in audit.models.items():
        forest = _forest_figure(models, labels)
        if forest is not None:
            figures.append(forest)
    if audit.coverage is not None:
        hidden = [r for r in audit.coverage.hidden.by_group if r.group.attribute != SKIN_POOLED]
        figures.append(_rates_figure(hidden, title="Faces hidden by group", xlabel="share of faces hidden",
                                     reference=audit.coverage.hidden.overall.value, reference_label="all valid faces",
                                     caption=f"Hidden: at least {audit.config.hidden_at:.0%} of the face box covered."))
    return figures


def html_context(audit: DetectionAudit, *, title: str = "Detection audit") -> dict[str, Any]:
    return {"title": title, "audit": audit, "summary": _plain_summary(audit), "warnings": _warnings(audit),
            "padded_boxes_note": PADDED_BOXES_NOTE, "figures": _figures(audit), "conventions": CONVENTIONS, "unseen_version": unseen.__version__,
            "height_buckets": HEIGHT_BUCKETS, "skin_pooled": SKIN_POOLED, "isfinite": math.isfinite}


def write_html(path: str | Path, audit: DetectionAudit, *, title: str = "Detection audit") -> Path:
    from unseen.audit.report.html import write_html_report

    return write_html_report(path, "detection.html.j2", html_context(audit, title=title))

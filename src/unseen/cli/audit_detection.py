"""`unseen audit detection`: who a face detector (or a redactor) misses, by group."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from unseen.cli.audit import STRICT_HELP, print_set_aside
from unseen.cli.bars import progress_bar
from unseen.errors import ConfigError


def _label_sources(values: list[str]) -> dict[str, str]:
    sources = {}
    for value in values:
        attribute, sep, how = value.partition("=")
        if not sep or not attribute.strip() or not how.strip():
            raise ConfigError(f"--label-source: expected ATTRIBUTE=HOW (e.g. skin=annotator), got {value!r}")
        sources[attribute.strip()] = how.strip()
    return sources


def _percent(value: float) -> str:
    return "-" if not np.isfinite(value) else f"{100 * value:.1f}%"


def rates_table(title: str, estimates, *, what: str = "recall") -> Table:
    """A Rich table of `unseen.audit.stats.rates.Rate` rows."""
    table = Table(title=title)
    for column in ("group", what, "interval", "faces", "notes"):
        table.add_column(column, justify="left" if column in ("group", "notes") else "right")
    for e in estimates:
        mark = " *" if e.differs else ""
        table.add_row(e.key, _percent(e.value) + mark, f"{_percent(e.ci[0])}-{_percent(e.ci[1])}", f"{e.k}/{e.n}",
                      "; ".join(flag.split(":")[0] for flag in e.flags))
    return table


def print_audit(audit, console: Console) -> None:
    """The headline figures of a `DetectionAudit` in the terminal."""
    from unseen.audit.detection.groups import SKIN_POOLED

    if audit.coverage is not None:
        from unseen.audit.report.detection import PADDED_BOXES_NOTE

        console.print(rates_table("faces hidden by group", [audit.coverage.hidden.overall,
                                                            *audit.coverage.hidden.by_group], what="hidden"))
        console.print(rates_table("faces hidden by face height", audit.coverage.hidden.by_height, what="hidden"))
        console.print(f"covered: {audit.coverage.covered_share.value:.2%} of the average image, "
                      f"{audit.coverage.covered_away_share.value:.2%} away from faces")
        console.print(f"[yellow]{PADDED_BOXES_NOTE}[/yellow]")
    if audit.ap is not None:
        console.print("official WIDER AP: " + ", ".join(f"{s.name} {s.ap:.4f} ({s.faces} faces)"
                                                        for s in audit.ap.settings))
    fp = audit.false_positives_per_image
    console.print(f"threshold {audit.config.threshold:g}: {fp.value:.2f} false positives per image "
                  f"({fp.ci[0]:.2f}-{fp.ci[1]:.2f})")
    groups = [audit.recall.overall,
              *[r for r in audit.recall.by_group if r.group.attribute.startswith(("skin", "gender", "age"))]]
    console.print(rates_table("recall by group (* differs after Holm)", groups))
    console.print(rates_table("recall by face height", audit.recall.by_height))
    models = audit.models.get(SKIN_POOLED, ())
    if models:
        table = Table(title="odds of a miss by skin type (pooled), vs I-II")
        for column in ("model", "level", "odds ratio", "interval"):
            table.add_column(column, justify="right")
        for m in models:
            if not m.fitted:
                table.add_row(m.name, "-", "-", m.note)
            for o in m.for_variable(SKIN_POOLED):
                table.add_row(m.name, o.level, f"{o.value:.2f}", f"{o.ci[0]:.2f}-{o.ci[1]:.2f}")
        console.print(table)


def detection(
    pack: Path = typer.Argument(..., help="WIDER-layout pack (faces.csv + images/), or a CSV of labelled boxes."),
    boxes: Optional[Path] = typer.Option(None, "--boxes", help="Saved boxes: a folder of WIDER txt files "
                                                               "(DIR/<event>/<name>.txt) or a .jsonl file."),
    detector: Optional[str] = typer.Option(None, "--detector", "-d", help="Run this detector (see `unseen models`)."),
    save_boxes: Optional[Path] = typer.Option(None, "--save-boxes", help="With --detector: where its boxes go "
                                                                         "(resumable; default ./unseen-boxes-NAME)."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Operating threshold (default: the "
                                                                        "detector's; 0.5 for saved boxes)."),
    coverage: bool = typer.Option(False, "--coverage", help="The boxes are what a redactor covered: measure "
                                                            "faces hidden (every box counts)."),
    shape: Optional[str] = typer.Option(None, "--shape", help="Covered shape, box or ellipse (default: "
                                                              "shape.txt beside the boxes, else box)."),
    label_source: list[str] = typer.Option([], "--label-source", help="How a label was obtained, e.g. "
                                                                      "skin=annotator (repeatable)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write every figure as JSON here."),
    html_out: Optional[Path] = typer.Option(None, "--html", help="Write the self-contained HTML report here."),
    csv_dir: Optional[Path] = typer.Option(None, "--csv", help="Write CSV tables into this folder."),
    replicates: int = typer.Option(1000, "--bootstrap", help="Image-bootstrap replicates."),
    seed: int = typer.Option(0, "--seed"),
    level: float = typer.Option(0.95, "--level", help="Confidence level of intervals."),
    min_group_faces: int = typer.Option(30, "--min-group-faces", help="Smaller groups are flagged, not tested."),
    title: str = typer.Option("Detection audit", "--title"),
    strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
) -> None:
    """Audit face detection by group: recall, AP, false positives, odds ratios (and coverage)."""
    from unseen.audit.detection.audit import DetectionAuditConfig, audit_pack
    from unseen.audit.report import detection as report

    if (boxes is None) == (detector is None):
        raise ConfigError("audit detection: give either --boxes DIR (saved boxes) or --detector NAME")
    console = Console()
    config = DetectionAuditConfig(replicates=replicates, seed=seed, level=level, min_group_faces=min_group_faces)
    with progress_bar(console) as bar:
        audit = audit_pack(
            pack, boxes=boxes, detector=detector, boxes_out=save_boxes, config=config, threshold=threshold,
            coverage=coverage, shape=shape, label_sources=_label_sources(label_source), strict=strict,
            progress=bar)
    print_audit(audit, console)
    print_set_aside(audit.set_aside, console)
    if json_out is not None:
        console.print(f"wrote {report.write_json(json_out, audit, title=title)}")
    if csv_dir is not None:
        for path in report.write_csv_tables(csv_dir, audit):
            console.print(f"wrote {path}")
    if html_out is not None:
        console.print(f"wrote {report.write_html(html_out, audit, title=title)}")


def register(audit_app: typer.Typer) -> None:
    """Add `detection` to the `unseen audit` sub-app."""
    audit_app.command("detection")(detection)

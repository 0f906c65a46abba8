"""`unseen audit ...`: the audit sub-commands. Each parses, calls one library function, prints.

Other audit modules add their own command to `audit_app` (e.g. ``audit detection``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from unseen.cli.bars import progress_bar
from unseen.errors import ConfigError

audit_app = typer.Typer(
    name="audit",
    help="Measure how unequally a face recognition or detection system treats demographic groups.",
    no_args_is_help=True,
    add_completion=False,
)


def _pairs(value: Optional[str], option: str) -> Optional[tuple[str, str]]:
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"{option}: expected two column names separated by a comma, got {value!r}")
    return parts[0], parts[1]


def _label_sources(values: list[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for value in values:
        attribute, sep, how = value.partition("=")
        if not sep or not attribute or not how:
            raise ConfigError(f"--label-source: expected ATTRIBUTE=HOW (e.g. race=annotator), got {value!r}")
        out.append((attribute.strip(), how.strip()))
    return tuple(out)


def _targets(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"--extra-targets: expected comma-separated rates like 1e-3,1e-5, got {text!r}") from None


def _verification_config(*, policy: str, target_fmr: float, threshold: Optional[float], scale, extra_targets: str,
                         rates_over: str, bootstrap: int, bootstrap_unit: Optional[str], seed: int, level: float,
                         extra_points=()):
    from unseen.audit.verification.config import OperatingPoint, ThresholdPolicy, VerificationConfig

    parsed = ThresholdPolicy.parse(policy, argument="--threshold-policy")
    similarity_threshold = None if threshold is None else float(scale.to_similarity(threshold))
    if threshold is not None and parsed is not ThresholdPolicy.FIXED:
        raise ConfigError("--threshold: only used with --threshold-policy fixed")
    primary = OperatingPoint(policy=parsed, target_fmr=target_fmr, threshold=similarity_threshold)
    return VerificationConfig(operating_points=(primary, *extra_points), extra_targets=_targets(extra_targets),
                              rates_over=rates_over, n_bootstrap=bootstrap, bootstrap_unit=bootstrap_unit,
                              seed=seed, level=level)


def _write_outputs(audit, *, json_out, html_out, csv_dir, title, console, caveats=(), extra=None, enrolment=(),
                   enrolment_notes=()) -> None:
    from unseen.audit.report import verification as report

    if json_out is not None:
        report.write_json(json_out, audit, title=title, extra=extra)
        console.print(f"wrote {json_out}")
    if html_out is not None:
        report.write_html(html_out, audit, title=title, caveats=caveats, enrolment=enrolment,
                          enrolment_notes=enrolment_notes)
        console.print(f"wrote {html_out}")
    if csv_dir is not None:
        for path in report.write_csv_tables(csv_dir, audit):
            console.print(f"wrote {path}")


STRICT_HELP = "Refuse rows that cannot be used as they stand (by default they are set aside, named and counted)."


def print_set_aside(set_aside, console: Console) -> None:
    """One note per row a reader set aside (the first few; the JSON lists them all)."""
    for note in set_aside.notes():
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)


def _fmt(value: float) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:.3g}" if value >= 1e-3 or value == 0 else f"{value:.2e}"


def _print_thresholds(audit, console: Console) -> None:
    """Every operating point of each model: its threshold and all pairs' rates there."""
    from unseen.audit.verification.config import ThresholdPolicy

    for model in audit.models:
        item = next(r for r in audit.results if r.model == model)
        table = Table(title=f"{model}: operating points ({audit.scale(model).accept_rule})")
        for column in ("operating point", "threshold", "interval", "FMR, all pairs", "FNMR, all pairs"):
            table.add_column(column, justify="left" if column == "operating point" else "right")
        for op in item.operating_points:
            fixed = op.point.policy is ThresholdPolicy.FIXED
            table.add_row(op.point.name, f"{op.threshold_input_scale:.4g}",
                          "fixed" if fixed else f"{_fmt(op.threshold_ci[0])}-{_fmt(op.threshold_ci[1])}",
                          _fmt(op.global_fmr), _fmt(op.global_fnmr))
        console.print(table)
        for op in item.operating_points:
            for flag in op.flags:
                console.print(f"[yellow]note:[/] {model}, {op.point.name}: {flag}")


def _print_audit(audit, console: Console) -> None:
    _print_thresholds(audit, console)
    for item in audit.results:
        op = item.operating_points[0]
        table = Table(title=f"{item.model} by {item.attribute}: {op.point.name}, threshold "
                            f"{op.threshold_input_scale:.5g}")
        for column in ("group", "FMR", "FMR interval", "FNMR", "FNMR interval", "accuracy", "notes"):
            table.add_column(column, justify="left" if column in ("group", "notes") else "right")
        g = op.groups
        for k, (fmr, fnmr) in enumerate(zip(g.fmr, g.fnmr)):
            fmr_text = f"< {_fmt(fmr.ci[1])}" if fmr.bound_only else _fmt(fmr.value)
            fnmr_text = f"< {_fmt(fnmr.ci[1])}" if fnmr.bound_only else _fmt(fnmr.value)
            table.add_row(fmr.group.label, fmr_text, f"{_fmt(fmr.ci[0])}-{_fmt(fmr.ci[1])}", fnmr_text,
                          f"{_fmt(fnmr.ci[0])}-{_fmt(fnmr.ci[1])}", _fmt(g.accuracy[k]),
                          str(len(g.flags[k])) + " flag(s)" if g.flags[k] else "")
        console.print(table)
        s = op.summary
        console.print("  " + ", ".join(f"{n} {_fmt(s[n])}" for n in
                                       ("fmr_max_min", "fnmr_max_min", "fmr_max_geomean", "fdr", "ir", "garbe",
                                        "ser", "std")))
    for note in audit.notes:
        console.print(f"[yellow]note:[/] {note}")


@audit_app.command("scores")
def scores(
    file: Path = typer.Argument(..., help="Comparisons table (CSV or Parquet), one row per comparison."),
    score: list[str] = typer.Option(..., "--score", help="Score column; repeat for several models; NAME:distance marks a distance column."),
    score_scale: str = typer.Option("similarity", "--score-scale", help="similarity (higher = same) or distance."),
    mated: Optional[str] = typer.Option(None, "--mated", help="Column: 1 when both sides show the same person."),
    group: list[str] = typer.Option([], "--group", help="Group column shared by both sides; repeat per attribute."),
    group_a: Optional[str] = typer.Option(None, "--group-a", help="Group column of side a (with --group-b)."),
    group_b: Optional[str] = typer.Option(None, "--group-b", help="Group column of side b."),
    cross: list[str] = typer.Option([], "--cross", help="Also audit an intersection, e.g. 'race x gender'."),
    subjects: Optional[str] = typer.Option(None, "--subjects", help="Subject-id columns 'id_a,id_b'."),
    subjects_from: Optional[str] = typer.Option(None, "--subjects-from",
                                                help="File-name columns 'img_1,img_2' to derive subject ids from."),
    subject_pattern: Optional[str] = typer.Option(None, "--subject-pattern",
                                                  help="Regex whose first group is the subject id in a file name."),
    labels: Optional[Path] = typer.Option(None, "--labels", help="Second table joined to FILE (e.g. labels)."),
    on: Optional[str] = typer.Option(None, "--on", help="Key column(s) for --labels, comma-separated."),
    label_source: list[str] = typer.Option([], "--label-source", help="How labels were obtained: race=annotator."),
    ordered: bool = typer.Option(False, "--ordered", help="Side a is the enrolled sample, side b the probe."),
    threshold_policy: str = typer.Option("target-fmr", "--threshold-policy",
                                         help="target-fmr, fixed, eer, best-accuracy, per-group, accuracy-minus-std."),
    target_fmr: float = typer.Option(1e-4, "--target-fmr", help="Target FMR for target-fmr and per-group."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Threshold for --threshold-policy fixed."),
    extra_targets: str = typer.Option("1e-3,1e-5", "--extra-targets", help="Further FMR targets, where supported."),
    rates_over: str = typer.Option("nonmated-mated", "--rates-over",
                                   help="Rates fed to FDR/IR/GARBE: nonmated-mated or all-pairs."),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap replicates (0: no intervals)."),
    bootstrap_unit: Optional[str] = typer.Option(None, "--bootstrap-unit", help="subject (default when ids exist) "
                                                                                "or pair."),
    seed: int = typer.Option(0, "--seed"),
    level: float = typer.Option(0.95, "--level", help="Confidence level of intervals."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write every figure as JSON here."),
    html_out: Optional[Path] = typer.Option(None, "--html", help="Write the self-contained HTML report here."),
    csv_dir: Optional[Path] = typer.Option(None, "--csv", help="Write CSV tables into this folder."),
    title: str = typer.Option("Verification audit", "--title"),
    strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
) -> None:
    """Audit verification scores for demographic differentials (NIST FRVT Part 3 method)."""
    from unseen.audit.recognition.comparisons import ScoreScale
    from unseen.audit.recognition.readers import DEFAULT_SUBJECT_PATTERN, TableColumns, read_comparisons
    from unseen.audit.verification.audit import audit_verification

    console = Console()
    if (group_a is None) != (group_b is None):
        raise ConfigError("--group-a/--group-b: give both")
    groups = tuple(group) + ((f"{group_a}:{group_b}",) if group_a else ())
    if subjects and subjects_from:
        raise ConfigError("--subjects/--subjects-from: give one of them")
    scale = ScoreScale.parse(score_scale, "--score-scale")
    columns = TableColumns(
        scores=tuple(score), mated=mated, groups=groups,
        subjects=_pairs(subjects or subjects_from, "--subjects" if subjects else "--subjects-from"),
        subjects_from_files=subjects_from is not None, subject_pattern=subject_pattern or DEFAULT_SUBJECT_PATTERN,
        scale=scale, ordered=ordered, label_sources=_label_sources(label_source), join=labels,
        join_on=tuple(c.strip() for c in on.split(",")) if on else ())
    comparisons = read_comparisons(file, columns=columns, strict=strict)
    config = _verification_config(policy=threshold_policy, target_fmr=target_fmr, threshold=threshold, scale=scale,
                                  extra_targets=extra_targets, rates_over=rates_over, bootstrap=bootstrap,
                                  bootstrap_unit=bootstrap_unit, seed=seed, level=level)
    attributes = list(comparisons.attributes) + list(cross)
    with progress_bar(console) as bar:
        audit = audit_verification(comparisons, config=config, attributes=attributes, progress=bar)
    _print_audit(audit, console)
    print_set_aside(comparisons.provenance.set_aside, console)
    _write_outputs(audit, json_out=json_out, html_out=html_out, csv_dir=csv_dir, title=title, console=console)


@audit_app.command("rates")
def rates(
    file: Path = typer.Argument(..., help="Published per-group rates: one row per system, columns FMR.<group> and "
                                          "FNMR.<group>."),
    system: Optional[str] = typer.Option(None, "--system", help="Column naming the system (default: the first)."),
    separator: str = typer.Option(".", "--separator", help="Between the rate and the group in column names."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the figures as JSON here."),
    csv_out: Optional[Path] = typer.Option(None, "--csv", help="Write one row per system as CSV here."),
    show: int = typer.Option(10, "--show", help="How many systems to print (sorted by FMR max/geomean)."),
    strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
) -> None:
    """Summary measures from published per-group FMR/FNMR (no scores needed), with medians."""
    from unseen.audit.verification.published import audit_published_rates, read_published_rates
    from unseen.audit.report import write_csv_table, write_report_json

    console = Console()
    result = audit_published_rates(read_published_rates(file, system_column=system, separator=separator,
                                                        strict=strict))
    systems = result.rates.systems
    order = np.argsort(-result.values[:, result.measures.index("fmr_max_geomean")], kind="stable")
    table = Table(title=f"{len(systems)} systems, {len(result.rates.groups)} groups ({result.rates.source})")
    shown = ("fmr_max_min", "fnmr_max_min", "fmr_max_geomean", "fnmr_max_geomean", "fmr_gini", "fnmr_gini",
             "fdr", "ir", "garbe")
    table.add_column("system")
    for name in shown:
        table.add_column(name, justify="right")
    for i in order[:show]:
        table.add_row(systems[i], *(_fmt(result.values[i, result.measures.index(n)]) for n in shown))
    table.add_row("[bold]median[/]", *(f"[bold]{_fmt(result.median(n))}[/]" for n in shown))
    console.print(table)
    console.print("Rates carry the source's rounding; without counts there are no intervals.")
    print_set_aside(result.rates.set_aside, console)
    rows = [{"system": s, **{m: result.values[i, j] for j, m in enumerate(result.measures)}}
            for i, s in enumerate(systems)]
    if json_out is not None:
        write_report_json(json_out, {"schema": "unseen.audit.rates/1", "source": result.rates.source,
                                     "groups": list(result.rates.groups), "alpha": result.alpha,
                                     "medians": dict(zip(result.measures, result.medians)), "systems": rows,
                                     "set_aside": result.rates.set_aside.to_json()})
        console.print(f"wrote {json_out}")
    if csv_out is not None:
        write_csv_table(csv_out, rows)
        console.print(f"wrote {csv_out}")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


@audit_app.command("images")
def images(
    manifest: Path = typer.Argument(..., help="CSV manifest: image path, subject id, group label columns."),
    model: list[str] = typer.Option(..., "--model", help="Recognizer name (dlib, facenet, ...); repeatable."),
    group: list[str] = typer.Option(..., "--group", help="Label column of the manifest; repeat per attribute."),
    cross: list[str] = typer.Option([], "--cross", help="Also audit an intersection, e.g. 'race x gender'."),
    path_column: str = typer.Option("path", "--path-column"),
    images_folder: Optional[Path] = typer.Option(None, "--images", help="Folder the manifest's relative paths are "
                                                                         "in (default: the manifest's folder)."),
    subject_column: str = typer.Option("subject", "--subject-column"),
    one_per_person: bool = typer.Option(False, "--one-image-per-person",
                                        help="No subject column: every image is a different person (FMR only)."),
    label_source: list[str] = typer.Option([], "--label-source", help="How labels were obtained: race=perceived."),
    faces: str = typer.Option("detect", "--faces", help="detect (largest face found) or whole-image (each image "
                                                        "is one face, already cropped)."),
    detector: str = typer.Option("centerface", "--detector", help="Face detector used before embedding."),
    detection_side: int = typer.Option(1024, "--detection-side",
                                       help="Detect on a copy at most this long (0: full size); embed at full size."),
    templates: Optional[Path] = typer.Option(None, "--templates",
                                             help="Keep templates in this .npz file and reuse them on later runs "
                                                  "(biometric data: keep it as safe as the photos)."),
    target_fmr: float = typer.Option(1e-4, "--target-fmr"),
    extra_targets: str = typer.Option("1e-3,1e-5", "--extra-targets"),
    customary: bool = typer.Option(True, "--customary/--no-customary",
                                   help="Also audit at each model's customary threshold."),
    max_nonmated: int = typer.Option(20_000_000, "--max-nonmated",
                                     help="Listed table only: sample non-mated pairs above this count."),
    scoring: str = typer.Option("auto", "--scoring", help="auto (stream when the table of pairs would not fit in "
                                                          "--memory), exact (list pairs) or streaming (every pair, "
                                                          "in blocks)."),
    memory: int = typer.Option(1024, "--memory", help="MiB the comparisons may use (streaming keeps within it)."),
    backend: str = typer.Option("auto", "--backend", help="Block products on: auto (a CUDA GPU via CuPy or PyTorch "
                                                          "when present), numpy, cupy or torch."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1,
                                          help="Enrolment processes, each with the models loaded once (default: one "
                                               "per core, as memory allows)."),
    ray: Optional[str] = typer.Option(None, "--ray", help="Enrol and score on a Ray cluster: auto, local (a Ray "
                                                          "instance here, on 127.0.0.1 only) or HOST:PORT; images at "
                                                          "the same paths on every node (pip install 'unseen[ray]')."),
    bootstrap: int = typer.Option(1000, "--bootstrap"),
    seed: int = typer.Option(0, "--seed"),
    json_out: Optional[Path] = typer.Option(None, "--json"),
    html_out: Optional[Path] = typer.Option(None, "--html"),
    csv_dir: Optional[Path] = typer.Option(None, "--csv"),
    title: str = typer.Option("Verification audit from images", "--title"),
    strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
) -> None:
    """Detect, embed and compare the manifest's images, then audit like `audit scores`."""
    from unseen.audit.recognition.comparisons import ScoreScale
    from unseen.audit.recognition.enrolment import EnrolConfig
    from unseen.audit.report import write_csv_table
    from unseen.audit.scale import ScaleConfig
    from unseen.audit.verification.images import ImagesConfig, audit_images
    from unseen.redact.batch import default_workers

    console = Console()
    parsed = read_images_manifest(manifest, path_column=path_column, subject_column=subject_column, groups=group,
                                  label_source=label_source, one_per_person=one_per_person, images=images_folder,
                                  strict=strict)
    base = _verification_config(policy="target-fmr", target_fmr=target_fmr, threshold=None,
                                scale=ScoreScale.SIMILARITY, extra_targets=extra_targets, rates_over="nonmated-mated",
                                bootstrap=bootstrap, bootstrap_unit=None, seed=seed, level=0.95)
    options = ImagesConfig(enrol=EnrolConfig(faces=faces, detector=detector, detection_side=detection_side),
                           customary=customary, max_nonmated=max_nonmated, templates=templates, scoring=scoring,
                           scale=ScaleConfig(memory_mib=memory, fine_bins=1 << 16, backend=backend),
                           workers=workers or default_workers())
    from unseen.distributed import open_cluster

    with open_cluster(ray) as cluster, progress_bar(console) as bar:
        result = audit_images(parsed, models=model, config=base, images=options, attributes=list(group) + list(cross),
                              progress=bar, cluster=cluster)
    _print_audit(result.audit, console)
    print_set_aside(parsed.set_aside, console)
    for fte in result.failures:
        for attribute in dict.fromkeys(g.attribute for g in fte.rates.groups):
            console.print(f"failure to enrol, {fte.model} by {attribute}: " + ", ".join(
                f"{r.group.label} {r.k}/{r.n}" for r in fte.rates.of_attribute(attribute)))
    for line in (*result.enrolment_notes, *result.caveats):
        console.print(f"[yellow]note:[/] {line}")
    _write_outputs(result.audit, json_out=json_out, html_out=html_out, csv_dir=csv_dir, title=title,
                   console=console, caveats=result.caveats, extra=result.report_extra(),
                   enrolment=result.failures, enrolment_notes=result.enrolment_notes)
    if csv_dir is not None:
        console.print(f"wrote {write_csv_table(csv_dir / 'failure_to_enrol.csv', result.failure_rows())}")


@audit_app.command("pairs-manifest")
def pairs_manifest(
    pairs: Path = typer.Argument(..., help="Pairs list (CSV): two image columns and a same-person column."),
    out: Path = typer.Option(..., "--out", help="Write the manifest CSV here (path, subject, group)."),
    images_folder: Optional[Path] = typer.Option(None, "--images", help="Folder of the images (default: the pairs "
                                                                         "file's folder)."),
    image_a: str = typer.Option("image_a", "--image-a"),
    image_b: str = typer.Option("image_b", "--image-b"),
    same: str = typer.Option("same_person", "--same", help="Column: 1 when both images show the same person."),
    group_value: str = typer.Option("all", "--group-value", help="The one group every image is put in."),
    strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
) -> None:
    """Make an images-mode manifest from a pairs list: images linked by same-person pairs are one subject."""
    from unseen.audit.recognition.manifest import manifest_from_pairs
    from unseen.audit.report import write_csv_table

    console = Console()
    derived = manifest_from_pairs(pairs, images=images_folder, image_a=image_a, image_b=image_b, same=same,
                                  strict=strict)
    print_set_aside(derived.set_aside, console)
    write_csv_table(out, derived.rows(group=group_value))
    console.print(f"wrote {out}: {len(derived.paths)} images of {len(set(derived.subjects))} people, all in group "
                  f"{group_value!r} (the pairs carry no demographic labels)")
    if derived.unlisted:
        console.print(f"[yellow]note:[/] {len(derived.unlisted)} image(s) in the folder are in no pair, so who they "
                      "show is unknown; left out: " + ", ".join(p.name for p in derived.unlisted))


def read_images_manifest(manifest: Path, *, path_column: str, subject_column: str, groups: list[str],
                         label_source: list[str], one_per_person: bool, images: Optional[Path] = None,
                         strict: bool = False):
    from unseen.audit.recognition.manifest import read_manifest

    return read_manifest(manifest, path_column=path_column, subject_column=None if one_per_person else subject_column,
                         groups=tuple(groups), label_sources=_label_sources(label_source),
                         one_image_per_subject=one_per_person, images=images, strict=strict)

"""`unseen audit identification`: audit 1:N search, from a vendor's candidate lists or from
photos searched by unseen. Parses, calls the library, prints."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from unseen.cli.audit import _label_sources
from unseen.cli.bars import progress_bar
from unseen.errors import ConfigError


def _fmt(value: float | None) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:.3g}" if value >= 1e-3 or value == 0 else f"{value:.2e}"


def _rate_text(table, k: int) -> str:
    if table is None or table.trials[k] == 0:
        return "n/a"
    row = table.row(k)
    value = f"< {_fmt(row.ci[1])}" if row.bound_only else _fmt(row.value)
    return f"{value} [{_fmt(row.ci[0])}-{_fmt(row.ci[1])}]"


def _print(audits, console: Console) -> None:
    for audit in audits:
        threshold = (f"threshold {audit.threshold_input:.5g} ({audit.scale.accept_rule})" if audit.has_threshold
                     else "no threshold (no non-mated searches)")
        console.print(f"[bold]{audit.system}[/]: {audit.n_searches} searches ({audit.n_mated} mated, "
                      f"{audit.n_nonmated} non-mated) against {audit.n_gallery_people} gallery people; {threshold}")
        for item in audit.attributes:
            table = Table(title=f"{audit.system} by {item.attribute}")
            for column in ("group", "FPIR", "FNIR rank 1", "FNIR rank 1 at threshold", f"FNIR rank {audit.rank} at "
                           "threshold", "notes"):
                table.add_column(column, justify="left" if column in ("group", "notes") else "right")
            for k, name in enumerate(item.names):
                flags = len(set(item.fpir.flags[k]) | set(item.fnir_rank1.flags[k]))
                table.add_row(name, _rate_text(item.fpir, k) if audit.has_threshold else "n/a",
                              _rate_text(item.fnir_rank1, k), _rate_text(item.fnir_rank1_at, k),
                              _rate_text(item.fnir_rank_r_at, k), f"{flags} flag(s)" if flags else "")
            console.print(table)
        for line in (*audit.flags, *audit.caveats):
            console.print(f"[yellow]note:[/] {line}")


def _config(*, threshold: Optional[float], target_fpir: Optional[float], rank: Optional[int], bootstrap: int,
            seed: int, level: float, gallery_sizes: int, gallery_draws: int):
    from unseen.audit.identification.config import DEFAULT_TARGET_FPIR, IdentificationConfig

    if threshold is not None and target_fpir is not None:
        raise ConfigError("--threshold/--target-fpir: give one of them (a fixed threshold, or a target FPIR that "
                          "sets one)")
    policy = "fixed" if threshold is not None else "target-fpir"
    return IdentificationConfig(policy=policy, target_fpir=target_fpir or DEFAULT_TARGET_FPIR, threshold=threshold,
                                rank=rank, n_bootstrap=bootstrap, seed=seed, level=level, gallery_sizes=gallery_sizes,
                                gallery_draws=gallery_draws)


def identification(
    candidates: Optional[Path] = typer.Option(None, "--candidates", help="A vendor's candidate lists (CSV or "
                                              "Parquet): probe id, rank, candidate id, score. Omit to search photos "
                                              "with --model."),
    probes: Path = typer.Option(..., "--probes", help="Probe table: id, subject and group columns (with --model: a "
                                                      "manifest of photos, path column)."),
    gallery: Path = typer.Option(..., "--gallery", help="Gallery table, as --probes (may be the same file: a probe "
                                                        "is never its own candidate)."),
    group: list[str] = typer.Option(..., "--group", help="Label column of both tables; repeat per attribute."),
    cross: list[str] = typer.Option([], "--cross", help="Also audit an intersection, e.g. 'race x gender'."),
    threshold: Optional[float] = typer.Option(None, "--threshold",
                                              help="A fixed threshold in the scores' own scale (default: the one "
                                                   "giving FPIR --target-fpir)."),
    target_fpir: Optional[float] = typer.Option(None, "--target-fpir", help="FPIR the threshold is set for "
                                                                            "(default 0.003, NIST's)."),
    rank: Optional[int] = typer.Option(None, "--rank", help="R: list length searched for (--model; default 50), or "
                                                            "FNIR at rank R from a vendor's lists (default: their "
                                                            "length)."),
    score_scale: str = typer.Option("similarity", "--score-scale", help="similarity (higher = same) or distance "
                                                                        "(candidate lists)."),
    id_column: str = typer.Option("id", "--id-column", help="Sample id column of the tables (candidate lists)."),
    subject_column: str = typer.Option("subject", "--subject-column"),
    probe_column: Optional[str] = typer.Option(None, "--probe-column", help="Probe id column of --candidates."),
    candidate_column: Optional[str] = typer.Option(None, "--candidate-column"),
    rank_column: Optional[str] = typer.Option(None, "--rank-column"),
    score_column: Optional[str] = typer.Option(None, "--score-column"),
    system: Optional[str] = typer.Option(None, "--system", help="Name of the system the lists come from."),
    model: list[str] = typer.Option([], "--model", help="Recognizer to search photos with (dlib, facenet, ...); "
                                                        "repeatable."),
    path_column: str = typer.Option("path", "--path-column", help="Photo path column of the manifests (--model)."),
    images_folder: Optional[Path] = typer.Option(None, "--images", help="Folder the manifests' relative paths are in."),
    one_per_person: bool = typer.Option(False, "--one-image-per-person",
                                        help="No subject column: every sample is a different person."),
    faces: str = typer.Option("detect", "--faces", help="detect (largest face found) or whole-image (crops)."),
    detector: str = typer.Option("centerface", "--detector"),
    detection_side: int = typer.Option(1024, "--detection-side"),
    templates: Optional[Path] = typer.Option(None, "--templates", help="Keep templates in this .npz file and reuse "
                                                                       "them (biometric data: keep it safe)."),
    backend: str = typer.Option("faiss", "--backend", help="faiss (exact index) or numpy (plain blocks)."),
    block_mib: float = typer.Option(256.0, "--block-mib", help="Working memory per block of probes (MiB)."),
    save_candidates: Optional[Path] = typer.Option(None, "--save-candidates",
                                                   help="Write each model's candidate lists and the probe and gallery "
                                                        "tables into this folder (readable with --candidates)."),
    label_source: list[str] = typer.Option([], "--label-source", help="How labels were obtained: race=perceived."),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap replicates (0: no intervals)."),
    seed: int = typer.Option(0, "--seed"),
    level: float = typer.Option(0.95, "--level"),
    gallery_sizes: int = typer.Option(8, "--gallery-sizes", help="Gallery sizes on the FPIR-against-size curve "
                                                                 "(0: skip the gallery experiments)."),
    gallery_draws: int = typer.Option(10, "--gallery-draws", help="Random galleries per size and per make-up share."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write every figure as JSON here."),
    html_out: Optional[Path] = typer.Option(None, "--html", help="Write the self-contained HTML report here."),
    csv_dir: Optional[Path] = typer.Option(None, "--csv", help="Write CSV tables into this folder."),
    title: str = typer.Option("Identification audit", "--title"),
) -> None:
    """Audit 1:N search: false positives (FPIR) and misses (FNIR) per group at one threshold.

    Searches run only over the gallery given: unseen audits search systems on labelled audit
    data and offers no search of anyone outside it.
    """
    from unseen.audit.report import identification as report
    from unseen.audit.report import write_csv_table

    console = Console()
    if (candidates is None) == (not model):
        raise ConfigError("--candidates/--model: give a vendor's candidate lists, or one or more --model to search "
                          "the photos with (not both)")
    config = _config(threshold=threshold, target_fpir=target_fpir, rank=rank if candidates is not None else None,
                     bootstrap=bootstrap, seed=seed, level=level, gallery_sizes=gallery_sizes,
                     gallery_draws=gallery_draws)
    attributes = list(group) + list(cross)
    sources = _label_sources(label_source)
    extra, failures = None, ((), (), ())
    with progress_bar(console) as bar:
        if candidates is not None:
            audits, lists = _from_candidates(candidates, probes, gallery, group=group, sources=sources,
                                             id_column=id_column, subject_column=subject_column,
                                             one_per_person=one_per_person, columns=(probe_column, rank_column,
                                                                                    candidate_column, score_column),
                                             scale=score_scale, system=system, config=config, attributes=attributes,
                                             progress=bar)
        else:
            result = _from_images(probes, gallery, group=group, label_source=label_source, path_column=path_column,
                                  subject_column=subject_column, one_per_person=one_per_person, images=images_folder,
                                  models=model, faces=faces, detector=detector, detection_side=detection_side,
                                  templates=templates, backend=backend, block_mib=block_mib, rank=rank, config=config,
                                  attributes=attributes, progress=bar)
            audits, lists = result.audits, result.lists
            extra = result.report_extra()
            failures = (result.probe_failures, result.gallery_failures, result.notes)
    _print(audits, console)
    for note in failures[2]:
        console.print(f"[yellow]note:[/] {note}")
    if save_candidates is not None:
        _save_candidates(save_candidates, lists, console)
    if json_out is not None:
        report.write_json(json_out, audits, title=title, extra=extra)
        console.print(f"wrote {json_out}")
    if html_out is not None:
        report.write_html(html_out, audits, title=title, probe_failures=failures[0], gallery_failures=failures[1],
                          enrolment_notes=failures[2])
        console.print(f"wrote {html_out}")
    if csv_dir is not None:
        for path in report.write_csv_tables(csv_dir, audits):
            console.print(f"wrote {path}")
        if candidates is None:
            rows = [{"table": t, **row} for t, fs in (("probes", failures[0]), ("gallery", failures[1]))
                    for f in fs for row in f.rows()]
            console.print(f"wrote {write_csv_table(csv_dir / 'failure_to_enrol.csv', rows)}")


def _from_candidates(candidates: Path, probes: Path, gallery: Path, *, group, sources, id_column, subject_column,
                     one_per_person, columns, scale, system, config, attributes, progress):
    from unseen.audit.identification.audit import audit_identification
    from unseen.audit.identification.candidates import CandidateColumns, read_candidates
    from unseen.audit.identification.samples import read_samples

    tables = [read_samples(path, role=role, groups=group, id_column=id_column, subject_column=subject_column,
                           one_sample_per_subject=one_per_person, label_sources=sources)
              for path, role in ((probes, "probes"), (gallery, "gallery"))]
    probe, rank, candidate, score = columns
    lists = read_candidates(candidates, probes=tables[0], gallery=tables[1],
                            columns=CandidateColumns(probe=probe, rank=rank, candidate=candidate, score=score),
                            scale=scale, system=system)
    return (audit_identification(lists, config=config, attributes=attributes, progress=progress),), (lists,)


def _from_images(probes: Path, gallery: Path, *, group, label_source, path_column, subject_column, one_per_person,
                 images, models, faces, detector, detection_side, templates, backend, block_mib, rank, config,
                 attributes, progress):
    from unseen.audit.identification.images import SearchImagesConfig, audit_search_images
    from unseen.audit.identification.search import DEFAULT_RANK, SearchConfig
    from unseen.audit.recognition.enrolment import EnrolConfig
    from unseen.cli.audit import read_images_manifest

    manifests = [read_images_manifest(path, path_column=path_column, subject_column=subject_column, groups=group,
                                      label_source=label_source, one_per_person=one_per_person,
                                      images=images)
                 for path in (probes, gallery)]
    options = SearchImagesConfig(enrol=EnrolConfig(faces=faces, detector=detector, detection_side=detection_side),
                                 search=SearchConfig(rank=rank or DEFAULT_RANK, block_mib=block_mib, backend=backend),
                                 templates=templates)
    return audit_search_images(manifests[0], manifests[1], models=models, config=config, images=options,
                               attributes=attributes, progress=progress)


def _save_candidates(folder: Path, lists, console: Console) -> None:
    from unseen.audit.identification.candidates import write_candidates, write_samples

    written = [write_samples(folder / "probes.csv", lists[0].probes)]
    for item in lists:
        written.append(write_samples(folder / f"gallery-{item.system}.csv", item.gallery))
        written.append(write_candidates(folder / f"candidates-{item.system}.csv", item))
    for path in written:
        console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.command("identification")(identification)

"""`unseen detect` and `unseen models`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from unseen.errors import ConfigError
from unseen.examples import astronaut_photo
from unseen.faces.detect import ImageFaces, detect_files
from unseen.faces.registry import all_models
from unseen.media.files import write_json_atomic


def detect(
    images: Optional[list[Path]] = typer.Argument(None, help="Image files to search for faces."),
    detector: str = typer.Option("centerface", "--detector", "-d", help="Detector name (see `unseen models`)."),
    threshold: Optional[float] = typer.Option(None, help="Minimum score; the detector's default if omitted."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Also write the JSON to this file."),
    example: bool = typer.Option(False, "--example", help="Run on the built-in example photo."),
) -> None:
    """Find faces and print their boxes (pixels, x1 y1 x2 y2) and scores."""
    paths = list(images or []) + ([astronaut_photo()] if example else [])
    if not paths:
        raise ConfigError("detect: give at least one IMAGE, or --example")
    console = Console()
    results = list(detect_files(paths, detector=detector, threshold=threshold))
    document = {"detector": detector, "images": [result.to_record() for result in results]}
    if output is not None:
        write_json_atomic(output, document)
    if as_json:
        print(json.dumps(document, indent=2))
        return
    for result in results:
        console.print(_faces_table(result, detector))
    if output is not None:
        console.print(f"wrote {output}")


def _faces_table(result: ImageFaces, detector: str) -> Table:
    table = Table(title=f"{len(result.faces)} face(s) by {detector} in "
                        f"{result.path.name} ({result.width}x{result.height})")
    for column in ("#", "x1", "y1", "x2", "y2", "score"):
        table.add_column(column, justify="right")
    for i, (box, score) in enumerate(zip(result.faces.xyxy, result.faces.score)):
        table.add_row(str(i), *(f"{v:.0f}" for v in box), f"{score:.3f}")
    return table


def models() -> None:
    """List every model: task, weights package, licence, whether it is installed."""
    table = Table(title="models (weights ship inside the named package; nothing is downloaded)")
    for column in ("name", "task", "installed", "package", "licence", "about"):
        table.add_column(column, no_wrap=column in ("name", "task"))
    for spec in all_models():
        installed = "[green]yes[/]" if spec.installed else f"[red]no[/]: {spec.install_hint}"
        if spec.needs_file:
            installed += " (pass your .onnx file)"
        table.add_row(spec.name, spec.task.value, installed, spec.package or "-", spec.licence, spec.summary)
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command()(detect)
    app.command()(models)

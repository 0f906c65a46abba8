"""`unseen serve`: the local review page."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from unseen.web.session import Limits

_LIMITS = Limits()


def serve(
    folder: Optional[Path] = typer.Argument(
        None, help="A folder whose photos are listed on the page (read where they are, never copied)."),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Also write the exported photos and the record here (default: download them "
                                  "from the page; they are deleted when it stops)."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser; open the printed address."),
    port: int = typer.Option(0, help="Port on 127.0.0.1 (default: a free one)."),
    max_upload_mb: int = typer.Option(_LIMITS.max_bytes // 2**20, min=1, help="Largest upload, in MB."),
    max_megapixels: float = typer.Option(_LIMITS.max_pixels / 1e6, min=0.01, help="Largest photo, in megapixels."),
) -> None:
    """Review redactions in a browser: see the boxes, remove or draw them, export. Local only (127.0.0.1)."""
    from unseen.web.server import ServeConfig, Stopped, serve as serve_page  # the web stack only for this command

    console = Console()
    config = ServeConfig(folder=folder, out_dir=out, port=port,
                         limits=Limits(max_bytes=max_upload_mb * 2**20, max_pixels=int(max_megapixels * 1e6)))

    def ready(url: str, opened: bool) -> None:
        console.print(f"review page: [bold]{url}[/]", highlight=False, soft_wrap=True)
        console.print("the address holds a secret for this run: share it with nobody. "
                      + ("opened in your browser. " if opened else "open it in a browser on this computer. ")
                      + "Ctrl-C stops the page and deletes its temporary files.", highlight=False)

    try:
        serve_page(config, open_browser=not no_browser, ready=ready)
    except (KeyboardInterrupt, Stopped):  # Ctrl-C, SIGTERM, SIGHUP: the way to stop a page
        pass
    console.print("review page stopped; its temporary files are deleted"
                  + (f"; exports are in {out}" if out else ""), highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(serve)

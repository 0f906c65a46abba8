"""The `unseen` command: a thin Typer app over the library. No logic lives here."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from unseen.cli import audit, audit_detection, audit_identification, detect, redact, serve
from unseen.errors import ExitCode, UnseenError

app = typer.Typer(
    name="unseen",
    help="Audit face recognition for demographic bias, and redact faces from photos. Offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
detect.register(app)
redact.register(app)
serve.register(app)
audit_detection.register(audit.audit_app)
audit_identification.register(audit.audit_app)
audit.register(app)


def main() -> None:
    """Entry point: Typer handles usage errors (exit 2); unseen's own errors become a
    one-line message and the exit status of their class (see `unseen.errors.ExitCode`)."""
    try:
        app()
    except UnseenError as error:
        Console(stderr=True).print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(int(error.exit_code))
    except KeyboardInterrupt:  # outside a command (Typer turns one inside into exit 130)
        Console(stderr=True).print("[yellow]interrupted[/]")
        sys.exit(int(ExitCode.INTERRUPTED))
    except SystemExit as exit_:
        if exit_.code == ExitCode.INTERRUPTED:
            Console(stderr=True).print("[yellow]interrupted[/]")
        raise

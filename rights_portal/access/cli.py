"""``flask recordings …``: import a proctoring vendor's export from the command line."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from ..accounts.services import find_by_email
from ..transactions import after_commit, unit_of_work
from . import importer
from .export import ImportRejected

recordings_cli = AppGroup("recordings", help="Recordings of proctored exams.")


@recordings_cli.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--actor", "actor_email", default=None, help="E-mail of the staff member importing.")
@unit_of_work
def import_command(path: Path, actor_email: str | None) -> None:
    """Import a vendor export: a folder or ZIP with media files and a manifest (CSV or JSON).

    Every line is validated first; with any error nothing is imported and the errors are listed
    line by line (exit status 1).
    """
    actor = None
    if actor_email:
        actor = find_by_email(actor_email)
        if actor is None or not actor.is_staff:
            raise click.ClickException(f"no staff account with e-mail {actor_email}")
    try:
        result = importer.import_export(path, actor=actor, source="cli")
    except ImportRejected as rejected:  # the exit rolls the unit of work back
        click.echo(f"Nothing imported: {len(rejected.errors)} error(s) in {path}", err=True)
        # A command line has no request to choose a language from: the report is in English.
        with force_locale("en"):
            for error in rejected.errors:
                click.echo(f"  {error}", err=True)
        raise SystemExit(1) from None
    summary = (
        f"Imported {result.files} file(s) ({result.bytes} bytes) in {result.recordings} new "
        f"recording(s), with {result.flags} automated flag(s)."
    )
    after_commit(lambda: click.echo(summary))

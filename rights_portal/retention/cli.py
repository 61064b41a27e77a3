"""``flask retention purge``: delete expired recordings now, or list what would go (R25)."""

from __future__ import annotations

from datetime import date, datetime

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from ..transactions import unit_of_work
from . import runner
from .plan import plan_purge

retention_cli = AppGroup("retention", help="Retention and erasure of recordings (R25).")


@retention_cli.command("purge")
@click.option(
    "--dry-run", is_flag=True, help="List what would be deleted and held; change nothing."
)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Purge as on this day (YYYY-MM-DD); default: today in Amsterdam.",
)
@unit_of_work  # the runner commits intent by intent on purpose (R25); this rolls back the rest
def purge_command(dry_run: bool, today: datetime | None) -> None:
    """Delete every expired recording file that no open case, fraud procedure or legal hold keeps.

    Every deletion is recorded first as an intent and then as done; a run that was interrupted
    is completed by the next one, which deletes nothing twice.
    """
    day: date | None = today.date() if today else None
    # A command line has no request to choose a language from: the report is in English.
    with force_locale("en"):
        if dry_run:
            for line in plan_purge(day).lines():
                click.echo(line)
            click.echo("dry run: nothing was deleted")
            return
        for line in runner.purge(day).lines():
            click.echo(line)

"""``flask deadlines``: run one deadline sweep now; recompute open cases under changed rules."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from ..extensions import db
from ..transactions import unit_of_work
from .reminders import sweep
from .services import recompute_open_due_dates

deadlines_cli = AppGroup("deadlines", help="Deadlines, reminders and escalation.")


@deadlines_cli.command("sweep")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Run as of this date (default: today in Europe/Amsterdam).",
)
def sweep_command(today: object) -> None:
    """Send the reminders and escalations that are due."""
    as_of: date | None = today.date() if today is not None else None  # type: ignore[attr-defined]
    report = sweep(as_of)  # commits batch by batch
    for line in report.lines():
        click.echo(line)


@deadlines_cli.command("recompute")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@unit_of_work
def recompute_command(dry_run: bool) -> None:
    """Recompute the due dates of open cases under the current calendar and pause rules (R3, R6).

    A one-off after the rules changed: every change is recorded on the case's due-date history
    and the audit trail with its reason.
    """
    changes = recompute_open_due_dates(dry_run=dry_run)
    if dry_run:
        db.session.rollback()  # the unit of work then commits nothing
    for change in changes:
        click.echo(
            f"{change.reference}: statutory {change.old_statutory_due} -> "
            f"{change.new_statutory_due}, effective {change.old_effective_due} -> "
            f"{change.new_effective_due}"
        )
    verb = "would change" if dry_run else "changed"
    click.echo(f"{len(changes)} open case(s) {verb}.")

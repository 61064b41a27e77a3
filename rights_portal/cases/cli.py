"""``flask deadlines sweep``: run one deadline sweep now and print what it did."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from .reminders import sweep

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

"""``flask register …``: run the register's reminders now and list the tools' readiness."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from ..transactions import unit_of_work
from . import entries
from .reminders import sweep

register_cli = AppGroup("register", help="The register of proctoring and video-call tools.")


@register_cli.command("remind")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Run as of this date (default: today in Europe/Amsterdam).",
)
@unit_of_work
def remind_command(today: object) -> None:
    """Send the DPO the register reminders that are due (each only once)."""
    as_of: date | None = today.date() if today is not None else None  # type: ignore[attr-defined]
    report = sweep(as_of)
    for line in report.lines():
        click.echo(line)


@register_cli.command("status")
@unit_of_work  # a tool that predates the register is adopted as version 1
def status_command() -> None:
    """List every tool with its register version and what its checklist still lacks."""
    rows = entries.register_overview()
    for row in rows:
        state = "ready" if row.checklist.ready else "NOT READY"
        click.echo(f"{row.tool.name} (version {row.version.number}): {state}")
        for item in row.checklist.open_items:
            click.echo(f"  {item.state.value}: {item.key}")

"""``flask ooapi sync``: run one OOAPI sync now and print what changed (exit 1 on failure)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from ..transactions import commit, unit_of_work
from . import sync
from .client import OoapiError
from .labels import describe

ooapi_cli = AppGroup("ooapi", help="The student-information system through the OOAPI.")


@ooapi_cli.command("sync")
@unit_of_work
def sync_command() -> None:
    """Read programmes, exams and enrolments from the OOAPI and store what changed."""
    if sync.settings_from(current_app.config) is None:
        raise click.ClickException("OOAPI_BASE_URL is not set; nothing to sync")
    try:
        run = sync.run(trigger="cli")
    except OoapiError as error:  # pragma: no cover - run() records read failures itself
        raise click.ClickException(str(error)) from error
    if run.status == "skipped":
        click.echo("another OOAPI sync is running; skipped")
        return
    if run.status == "failed":
        commit()  # keep the failed run and its audit event, then fail the command
        click.echo(f"OOAPI sync failed ({run.error_kind}): {run.error_detail}", err=True)
        click.echo("nothing was changed", err=True)
        sys.exit(1)
    with force_locale("en"):
        for change in run.changes:
            click.echo(describe(change))
    for line in run.warnings:
        click.echo(f"skipped: {line}")
    if not run.changes:
        click.echo("no changes")
    click.echo(
        f"{run.counts.get('programs_listed', 0)} programs, "
        f"{run.counts.get('exams_listed', 0)} exams, "
        f"{run.counts.get('persons_matched', 0)} students matched; {run.requests} requests"
    )

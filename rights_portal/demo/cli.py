"""``flask demo seed``: demo data with which every role's journey can be walked.

What the demo holds is described where it is made: people and guardian links in
:mod:`.people`, the register of tools in :mod:`.tools`, exams and recordings in :mod:`.exams`,
cases in :mod:`.cases`. This command only calls them in order, as one unit of work (one commit).

Safe to run twice: everything is looked up by its natural key first and only created if missing.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from ..clock import today_local
from ..transactions import unit_of_work
from .cases import seed_cases
from .exams import seed_exams, seed_recordings
from .people import (
    DEMO_PASSWORD,
    demo_users,
    seed_guardian_links,
    seed_programmes,
    seed_users,
)
from .tools import register_demo_tools

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("seed")
@unit_of_work
def seed_command() -> None:
    """Create (or complete) the demo data and print the logins."""
    today = today_local()
    programmes = seed_programmes()
    users = seed_users(programmes, today)
    tool = register_demo_tools(users["admin@demo.example"])
    exams = seed_exams(programmes, tool, today, current_app.config["EXAM_BOUND_WORKING_DAYS"])
    flags = seed_recordings(users, exams)
    seed_guardian_links(users, today)
    seed_cases(users, exams, flags)
    click.echo("Demo data ready. Log in at the portal with these accounts:")
    for demo in demo_users(today):
        note = f" ({demo.note})" if demo.note else ""
        click.echo(f"  {demo.role.value:<13} {demo.email:<26} {demo.name}{note}")
    click.echo(f"Password for every demo account: {DEMO_PASSWORD}")

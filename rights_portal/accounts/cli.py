"""``flask users …``: create accounts and change roles from the command line.

Each command is one unit of work (committed when it returns, rolled back when it fails); what
it reports is printed once the change has committed.
"""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..exams.models import Programme
from ..extensions import db
from ..transactions import after_commit, unit_of_work
from .models import Role
from .services import AccountError, change_role, create_user, find_by_email

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True, help="Full name.")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--locale", type=click.Choice(["nl", "en"]), default="nl", show_default=True)
@click.option("--student-number", default=None)
@click.option("--date-of-birth", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option("--programme", "programme_code", default=None, help="Programme code (students).")
@unit_of_work
def create_command(
    email: str,
    full_name: str,
    role: str,
    password: str,
    locale: str,
    student_number: str | None,
    date_of_birth: object,
    programme_code: str | None,
) -> None:
    """Create a user account."""
    programme_id = None
    if programme_code:
        programme_id = db.session.scalars(
            select(Programme.id).where(Programme.code == programme_code)
        ).one_or_none()
        if programme_id is None:
            raise click.ClickException(f"no programme with code {programme_code}")
    dob: date | None = date_of_birth.date() if date_of_birth is not None else None  # type: ignore[attr-defined]
    try:
        user = create_user(
            email=email,
            password=password,
            full_name=full_name,
            role=Role(role),
            locale=locale,
            student_number=student_number,
            date_of_birth=dob,
            programme_id=programme_id,
        )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    line = f"created {user.role.value} {user.email} (id {user.id})"
    after_commit(lambda: click.echo(line))


@users_cli.command("set-role")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@unit_of_work
def set_role_command(email: str, role: str) -> None:
    """Give an account another role; the change is recorded on the audit trail."""
    user = find_by_email(email)
    if user is None:
        raise click.ClickException(f"no account with e-mail {email}")
    old = user.role.value
    try:
        change_role(user, Role(role), actor=None, via="cli")
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    line = f"{user.email}: role {old} -> {user.role.value}"
    after_commit(lambda: click.echo(line))

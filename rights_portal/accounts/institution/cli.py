"""``flask institution …``: link staff accounts to their institution login; confirm ages (R20)."""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ...errors import RuleViolation
from ...extensions import db
from ...transactions import unit_of_work
from ..models import Role, User
from ..services import find_by_email
from .services import confirm_age, identity_of, link_staff_account

institution_cli = AppGroup("institution", help="Log in with the institution's account.")


@institution_cli.command("link-staff")
@click.argument("email")
@click.argument("principal_name")
@click.option("--by", "admin_email", default=None, help="E-mail of the admin who links.")
@unit_of_work
def link_staff_command(email: str, principal_name: str, admin_email: str | None) -> None:
    """Let the staff account EMAIL log in as PRINCIPAL_NAME (eduperson_principal_name)."""
    user = find_by_email(email)
    if user is None:
        raise click.ClickException(f"no account with e-mail {email}")
    actor = find_by_email(admin_email) if admin_email else None
    if admin_email and (actor is None or actor.role is not Role.ADMIN):
        raise click.ClickException(f"{admin_email} is not an admin")
    try:
        link_staff_account(
            user, principal_name, issuer=current_app.config["OIDC_ISSUER"], actor=actor
        )
    except RuleViolation as refused:
        raise click.ClickException(str(refused.message)) from refused
    click.echo(f"{email} logs in as {principal_name.strip().lower()} from now on")


@institution_cli.command("confirm-age")
@click.argument("student_number")
@click.option("--by", "staff_email", required=True, help="E-mail of the staff member.")
@click.option(
    "--date-of-birth",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="From the student record; without it, confirms the student is 16 or older.",
)
@unit_of_work
def confirm_age_command(
    student_number: str, staff_email: str, date_of_birth: datetime | None
) -> None:
    """R20: record a student's date of birth, or that the student is 16 or older."""
    student = db.session.scalars(
        select(User).where(User.role == Role.STUDENT, User.student_number == student_number)
    ).one_or_none()
    identity = identity_of(student) if student is not None else None
    if identity is None:
        raise click.ClickException(
            f"no student {student_number} who logged in with the institution"
        )
    actor = find_by_email(staff_email)
    if actor is None or not actor.is_staff:
        raise click.ClickException(f"{staff_email} is not a staff account")
    confirm_age(
        identity, actor=actor, date_of_birth=date_of_birth.date() if date_of_birth else None
    )
    click.echo(f"age of student {student_number} confirmed")

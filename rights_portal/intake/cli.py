"""``flask intake register``: register a request received by letter, e-mail, phone or desk (R1)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..accounts.models import User
from ..accounts.services import find_by_email
from ..cases.models import Case, CaseType, Channel
from ..errors import RuleViolation
from ..exams.models import AutomatedFlag, Exam
from ..extensions import db
from ..permissions import can_register_requests
from ..transactions import commit
from . import requesters, services
from .models import AcknowledgeBy, RequesterRelation

intake_cli = AppGroup("intake", help="Requests received outside the portal (R1).")


@intake_cli.command("register")
@click.option("--by", "by_email", required=True, help="E-mail of the case handler entering it.")
@click.option(
    "--channel",
    type=click.Choice([c.value for c in services.OUTSIDE_CHANNELS]),
    required=True,
)
@click.option("--received-on", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
@click.option("--student-number", required=True)
@click.option("--date-of-birth", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
@click.option(
    "--type",
    "case_type",
    type=click.Choice([t.value for t in services.INTAKE_TYPES]),
    required=True,
)
@click.option("--text", "description", default="", help="What the requester asks.")
@click.option("--document", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--exam-id", type=int, default=None, help="For an objection or alternative exam.")
@click.option(
    "--acknowledge-by", type=click.Choice([a.value for a in AcknowledgeBy]), default="email"
)
@click.option("--postal-address", default="")
@click.option("--flag-id", type=int, default=None, help="For a human review: the flag's id.")
@click.option(
    "--requester-name",
    default="",
    help="A requester without an account (a former student, a parent): their name.",
)
@click.option("--requester-email", default="", help="Their e-mail address, to answer by e-mail.")
@click.option(
    "--relation",
    type=click.Choice([r.value for r in RequesterRelation]),
    default=RequesterRelation.SELF.value,
    help="Who the requester without an account is to the student (R20).",
)
@click.option("--requester-locale", type=click.Choice(["nl", "en"]), default="nl")
def register_command(
    by_email: str,
    channel: str,
    received_on: object,
    student_number: str,
    date_of_birth: object,
    case_type: str,
    description: str,
    document: Path | None,
    exam_id: int | None,
    acknowledge_by: str,
    postal_address: str,
    flag_id: int | None,
    requester_name: str,
    requester_email: str,
    relation: str,
    requester_locale: str,
) -> None:
    """Register one request with its original date of receipt and print its reference.

    With ``--requester-name`` the request comes from someone without an account, answered by
    e-mail (``--requester-email``) or by letter (``--acknowledge-by post --postal-address``).
    """
    actor = db.session.scalars(select(User).where(User.email == by_email)).one_or_none()
    if actor is None or not can_register_requests(actor):
        raise click.ClickException(f"{by_email} is not a case handler")
    student = services.find_student(student_number, date_of_birth.date())  # type: ignore[attr-defined]
    if student is None:
        raise click.ClickException("no student has this student number and date of birth")
    exam = db.session.get(Exam, exam_id) if exam_id is not None else None
    if exam_id is not None and exam is None:
        raise click.ClickException(f"no exam with id {exam_id}")
    flag = db.session.get(AutomatedFlag, flag_id) if flag_id is not None else None
    if flag_id is not None and flag is None:
        raise click.ClickException(f"no automated flag with id {flag_id}")
    external = (
        requesters.ExternalDetails(
            full_name=requester_name,
            relation=RequesterRelation(relation),
            email=requester_email,
            locale=requester_locale,
        )
        if requester_name.strip()
        else None
    )
    handle = document.open("rb") if document is not None else None
    upload = services.Upload(handle, document.name) if handle and document else None
    try:
        intake = services.register_request(
            actor=actor,
            channel=Channel(channel),
            received_on=received_on.date(),  # type: ignore[attr-defined]
            case_type=CaseType(case_type),
            description=description,
            student=student,
            document=upload,
            acknowledge_by=AcknowledgeBy(acknowledge_by),
            postal_address=postal_address,
            exam=exam,
            flag=flag,
            external=external,
        )
        commit()
    except RuleViolation as error:
        db.session.rollback()
        raise click.ClickException(str(error.message)) from None
    finally:
        if handle is not None:
            handle.close()
    case = intake.case
    click.echo(f"{case.reference}: received {case.received_on}, due {case.effective_due}")
    if intake.overdue_on_entry:
        click.echo("overdue already on entry: flagged urgent")
    if external is not None:
        click.echo(f"from {external.full_name.strip()} (no account): answered by {acknowledge_by}")


@intake_cli.command("link")
@click.option("--by", "by_email", required=True, help="E-mail of the case handler linking it.")
@click.option("--case", "reference", required=True, help="The case's reference.")
@click.option("--account", "account_email", required=True, help="The verified account's e-mail.")
def link_command(by_email: str, reference: str, account_email: str) -> None:
    """Hand a case from a requester without an account to their own verified account."""
    actor = db.session.scalars(select(User).where(User.email == by_email)).one_or_none()
    if actor is None or not can_register_requests(actor):
        raise click.ClickException(f"{by_email} is not a case handler")
    case = db.session.scalars(select(Case).where(Case.reference == reference)).one_or_none()
    requester = requesters.external_requester_for(case) if case is not None else None
    if requester is None:
        raise click.ClickException(f"{reference} has no requester without an account")
    try:
        requesters.link_requester(requester, find_by_email(account_email), actor=actor)
        commit()
    except RuleViolation as error:
        db.session.rollback()
        raise click.ClickException(str(error.message)) from None
    click.echo(f"{reference}: linked to {account_email.strip().lower()}")

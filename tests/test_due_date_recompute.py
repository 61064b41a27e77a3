"""``flask deadlines recompute``: open cases get the due dates of the corrected rules (R3, R6).

Cases filed before the calendar of the Algemene termijnenwet art. 3 (5 May every year) and the
R6 pause arithmetic (paused days before the roll) carry the old dates; the one-off command
derives them again and records every change with its reason.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from rights_portal.accounts.models import Role
from rights_portal.audit.models import AuditEvent
from rights_portal.cases import services
from rights_portal.cases.deadlines import AMSTERDAM
from rights_portal.cases.models import Case, CaseType, DueDateChange, MessageKind
from rights_portal.extensions import db
from rights_portal.transactions import commit
from tests.factories import ProgrammeFactory, UserFactory

pytestmark = pytest.mark.postgres


@pytest.fixture
def world(app_ctx):
    programme = ProgrammeFactory()
    student = UserFactory(email="student@uni.example", programme_id=programme.id)
    handler = UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER)
    db.session.commit()
    return {"student": student, "handler": handler}


def filed(world, received: datetime) -> Case:
    case = services.file_case(
        case_type=CaseType.ACCESS,
        subject=world["student"],
        filed_by=world["student"],
        description="all recordings",
        received_at=received,
    )
    services.assign(case, world["handler"], actor=world["handler"])
    return case


def with_old_dates(case: Case, due: date) -> Case:
    """Put back the due date the rules before this change computed."""
    case.statutory_due = case.effective_due = due
    commit()
    return case


def recompute(app, *args: str):
    result = CliRunner().invoke(app.cli, ["deadlines", "recompute", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_recompute_moves_a_paused_case_to_the_r6_date_and_records_why(app, world):
    # R6's worked example: received Thu 5 March 2026, paused 10 days -> Wed 15 April 2026.
    # The old code rolled first (Tue 7 April) and then added the pause: Fri 17 April.
    case = filed(world, datetime(2026, 3, 5, 10, 0, tzinfo=AMSTERDAM))
    services.ask_requester(
        case,
        actor=world["handler"],
        kind=MessageKind.QUESTION_IDENTITY,
        question="Which programme?",
        now=datetime(2026, 3, 6, 10, 0, tzinfo=AMSTERDAM),
        notify=False,
    )
    services.answer_question(
        case,
        author=world["student"],
        body="Psychology",
        now=datetime(2026, 3, 16, 10, 0, tzinfo=AMSTERDAM),
    )
    assert case.statutory_due == date(2026, 4, 15)  # new filings already follow R6
    with_old_dates(case, date(2026, 4, 17))

    output = recompute(app)

    assert f"{case.reference}: statutory 2026-04-17 -> 2026-04-15" in output
    db.session.expire_all()
    assert case.statutory_due == case.effective_due == date(2026, 4, 15)
    change = db.session.scalars(
        select(DueDateChange)
        .where(DueDateChange.case_id == case.id)
        .order_by(DueDateChange.id.desc())
        .limit(1)
    ).one()
    assert change.cause == "recomputed"
    assert change.old_statutory_due == date(2026, 4, 17)
    assert change.new_effective_due == date(2026, 4, 15)
    assert "Algemene termijnenwet" in change.reason and "R6" in change.reason
    assert change.actor_id is None
    event = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.case_id == case.id, AuditEvent.action == "case.due_date_changed")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).one()
    assert event.actor_id is None
    assert event.after["cause"] == "recomputed"
    assert event.after["reason"] == change.reason
    assert event.before["statutory_due"] == "2026-04-17"


def test_recompute_puts_5_may_back_as_a_holiday(app, world):
    # R3: received 5 April 2026 -> Tue 5 May is a holiday every year -> Wed 6 May 2026.
    case = with_old_dates(
        filed(world, datetime(2026, 4, 5, 10, 0, tzinfo=AMSTERDAM)), date(2026, 5, 5)
    )
    recompute(app)
    db.session.expire_all()
    assert case.statutory_due == case.effective_due == date(2026, 5, 6)


def test_a_dry_run_writes_nothing_and_a_second_run_finds_nothing(app, world):
    case = with_old_dates(
        filed(world, datetime(2026, 4, 5, 10, 0, tzinfo=AMSTERDAM)), date(2026, 5, 5)
    )
    changes_before = db.session.query(DueDateChange).count()

    output = recompute(app, "--dry-run")

    assert f"{case.reference}: statutory 2026-05-05 -> 2026-05-06" in output
    assert "1 open case(s) would change." in output
    db.session.expire_all()
    assert case.statutory_due == date(2026, 5, 5)
    assert db.session.query(DueDateChange).count() == changes_before

    recompute(app)
    assert "0 open case(s) changed." in recompute(app)


def test_closed_cases_keep_their_dates(app, world):
    case = filed(world, datetime(2026, 4, 5, 10, 0, tzinfo=AMSTERDAM))
    services.withdraw(case, actor=world["student"])
    with_old_dates(case, date(2026, 5, 5))
    assert "0 open case(s) changed." in recompute(app)
    db.session.expire_all()
    assert case.statutory_due == date(2026, 5, 5)

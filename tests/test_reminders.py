"""The deadline sweep on PostgreSQL: reminders to the right people, each exactly once (R9, R10)."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from rights_portal.accounts.models import Role
from rights_portal.cases import services
from rights_portal.cases.deadlines import AMSTERDAM
from rights_portal.cases.models import Case, CaseType, Reminder
from rights_portal.cases.reminders import sweep
from rights_portal.extensions import db
from rights_portal.transactions import commit
from tests.factories import ExamFactory, ProgrammeFactory, UserFactory, board_member

pytestmark = pytest.mark.postgres

RECEIVED = datetime(2026, 11, 2, 10, 0, tzinfo=AMSTERDAM)  # statutory due: Wed 2 Dec 2026
DUE = date(2026, 12, 2)


@pytest.fixture
def people(app_ctx):
    programme = ProgrammeFactory()
    people = {
        "programme": programme,
        "student": UserFactory(email="student@uni.example", programme_id=programme.id),
        "handler_a": UserFactory(email="a@uni.example", role=Role.CASE_HANDLER),
        "handler_b": UserFactory(email="b@uni.example", role=Role.CASE_HANDLER),
        "board": board_member(programme, email="board@uni.example"),
        "dpo": UserFactory(email="dpo@uni.example", role=Role.DPO),
    }
    db.session.commit()
    return people


def access_case(people) -> Case:
    case = services.file_case(
        case_type=CaseType.ACCESS,
        subject=people["student"],
        filed_by=people["student"],
        description="",
        received_at=RECEIVED,
    )
    commit()
    return case


def reminder_mails(sink, reference):
    return [m for m in sink.messages if reference in str(m["Subject"])]


def test_seven_days_before_due_the_handler_pool_is_reminded_once(people, smtp_sink):
    case = access_case(people)
    assert case.effective_due == DUE
    smtp_sink.clear()
    report = sweep(DUE - timedelta(days=7))
    commit()
    assert report.reminders_sent == [(case.reference, "before:7")]
    [mail] = smtp_sink.messages
    assert "a@uni.example" in mail["To"] and "b@uni.example" in mail["To"]
    assert "student@uni.example" not in mail["To"]
    sweep(DUE - timedelta(days=7))
    commit()
    sweep(DUE - timedelta(days=6))
    commit()
    assert len(smtp_sink.messages) == 1


def test_an_assigned_case_reminds_only_its_assignee(people, smtp_sink):
    case = access_case(people)
    services.assign(case, people["handler_a"], actor=people["handler_a"])
    commit()
    smtp_sink.clear()
    sweep(DUE - timedelta(days=2))
    commit()
    [mail] = smtp_sink.messages
    assert mail["To"] == "a@uni.example"


def test_an_unassigned_objection_reminds_the_exam_board(people, smtp_sink):
    exam = ExamFactory(
        programme=people["programme"], starts_at=datetime(2026, 12, 7, 9, tzinfo=AMSTERDAM)
    )
    case = services.file_case(
        case_type=CaseType.OBJECTION,
        subject=people["student"],
        filed_by=people["student"],
        description="grounds",
        exam=exam,
        received_at=RECEIVED,
    )
    commit()
    assert case.effective_due == date(2026, 11, 30)  # exam-bound, earlier than statutory (R7)
    smtp_sink.clear()
    sweep(date(2026, 11, 30))
    commit()
    [mail] = smtp_sink.messages
    assert mail["To"] == "board@uni.example"


def test_a_sweep_after_downtime_records_every_missed_milestone_and_escalates_once(
    people, smtp_sink
):
    case = access_case(people)
    smtp_sink.clear()
    report = sweep(DUE + timedelta(days=3))  # the first sweep in weeks (R10)
    commit()
    keys = set(db.session.scalars(select(Reminder.key).where(Reminder.case_id == case.id)))
    assert keys == {
        "before:7",
        "before:2",
        "due",
        "overdue:2026-12-03",
        "overdue:2026-12-04",
        "overdue:2026-12-05",
        "escalation",
    }
    assert report.reminders_sent == [(case.reference, "overdue:2026-12-05")]
    assert report.reminders_superseded == 5
    assert report.escalations == [case.reference]
    subjects = smtp_sink.subjects()
    assert len(subjects) == 2
    assert any("digest" in s for s in subjects)
    [escalation] = [m for m in smtp_sink.messages if "digest" in str(m["Subject"])]
    assert escalation["To"] == "dpo@uni.example"

    smtp_sink.clear()
    sweep(DUE + timedelta(days=3))
    commit()
    assert smtp_sink.messages == []
    report = sweep(DUE + timedelta(days=4))  # daily while overdue, escalated only once
    commit()
    assert report.reminders_sent == [(case.reference, "overdue:2026-12-06")]
    assert report.escalations == []
    assert len(smtp_sink.messages) == 1


def test_decided_and_withdrawn_cases_get_no_reminders(people, smtp_sink):
    case = access_case(people)
    services.withdraw(case, actor=people["student"])
    commit()
    smtp_sink.clear()
    report = sweep(DUE)
    commit()
    assert report.cases_examined == 0
    assert smtp_sink.messages == []


def test_two_concurrent_sweeps_send_each_reminder_once(app, people, smtp_sink):
    cases = [access_case(people) for _ in range(5)]
    smtp_sink.clear()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait()
                sweep(DUE)
                commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    for case in cases:
        assert len(reminder_mails(smtp_sink, case.reference)) == 1


def test_sweep_cli_prints_what_it_did(app, people, smtp_sink):
    case = access_case(people)
    result = CliRunner().invoke(
        app.cli, ["deadlines", "sweep", "--today", "2026-12-02"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "sweep for 2026-12-02" in result.output
    assert f"reminder due for {case.reference}" in result.output

"""Deadlines that hold up: extension (R4), pause (R6), refusal (R5, R8), duplicates, time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from rights_portal.accounts.models import Role
from rights_portal.audit.models import AuditEvent
from rights_portal.cases import deadlines, services
from rights_portal.cases.deadlines import AMSTERDAM
from rights_portal.cases.models import (
    Case,
    CaseMessage,
    CasePause,
    CaseStatus,
    CaseType,
    DueDateChange,
    MessageKind,
)
from rights_portal.cases.reminders import sweep
from rights_portal.errors import RuleViolation
from rights_portal.extensions import db
from rights_portal.transactions import commit
from tests.conftest import login, post_form
from tests.factories import ExamFactory, ProgrammeFactory, UserFactory

pytestmark = pytest.mark.postgres

RECEIVED = datetime(2026, 11, 2, 10, 0, tzinfo=AMSTERDAM)  # Monday; statutory due Wed 2 Dec


@pytest.fixture
def world(app_ctx):
    programme = ProgrammeFactory()
    student = UserFactory(email="student@uni.example", programme_id=programme.id)
    handler = UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER)
    db.session.commit()
    return {"student": student, "handler": handler, "programme": programme}


def new_case(world, received_at=RECEIVED, assign=True) -> Case:
    case = services.file_case(
        case_type=CaseType.ACCESS,
        subject=world["student"],
        filed_by=world["student"],
        description="all recordings",
        received_at=received_at,
    )
    if assign:
        services.assign(case, world["handler"], actor=world["handler"])
    commit()
    return case


def case_actions(case) -> set[str]:
    return set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case.id)))


def staff_post(client, case, action, data):
    url = f"/staff/cases/{case.reference}"
    return post_form(client, f"{url}/{action}", data, token_from=url)


# --- Extension (R4) ---------------------------------------------------------------------------


@time_machine.travel(datetime(2026, 11, 20, 9, 0, tzinfo=AMSTERDAM), tick=True)
def test_extension_by_two_months_moves_the_due_date_and_tells_the_requester_why(
    app, world, smtp_sink
):
    case = new_case(world)
    smtp_sink.clear()
    handler = app.test_client()
    login(handler, "handler@uni.example")
    response = staff_post(
        handler,
        case,
        "extend",
        {"months": "2", "reason": "complexity", "explanation": "Recordings from three vendors."},
    )
    assert response.status_code == 302
    db.session.refresh(case)
    assert case.extension_months == 2
    assert case.statutory_due == deadlines.max_extended_due(date(2026, 11, 2)) == date(2027, 2, 2)
    assert case.effective_due == date(2027, 2, 2)
    [notice] = smtp_sink.to("student@uni.example")
    body = notice.get_payload(decode=True).decode()
    assert "Recordings from three vendors." in body
    assert "the request is complex" in body
    message = db.session.scalars(select(CaseMessage).where(CaseMessage.case_id == case.id)).one()
    assert message.kind is MessageKind.EXTENSION_NOTICE
    change = db.session.scalars(
        select(DueDateChange).where(DueDateChange.cause == "extended")
    ).one()
    assert (change.old_statutory_due, change.new_statutory_due) == (
        date(2026, 12, 2),
        date(2027, 2, 2),
    )
    actions = set(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case.id))
    )
    assert {"case.extended", "case.due_date_changed"} <= actions
    page = handler.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    assert "Extended" in page and "Recordings from three vendors." in page


def test_extension_after_the_first_due_date_is_refused_and_changes_nothing(app, world):
    case = new_case(world)
    with time_machine.travel(datetime(2026, 12, 3, 9, 0, tzinfo=AMSTERDAM), tick=True):
        handler = app.test_client()
        login(handler, "handler@uni.example")
        page = handler.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
        assert "can no longer be extended" in page
        response = staff_post(
            handler,
            case,
            "extend",
            {"months": "1", "reason": "number_of_requests", "explanation": "Many requests."},
        )
    assert response.status_code == 409
    assert "can no longer be extended" in response.get_data(as_text=True)
    db.session.refresh(case)
    assert case.extension_months == 0
    assert case.statutory_due == date(2026, 12, 2)


def test_extension_on_the_first_due_date_itself_is_still_allowed(app_ctx, world):
    case = new_case(world)
    services.extend(
        case,
        actor=world["handler"],
        months=1,
        reason=services.ExtensionReason.COMPLEXITY,
        explanation="x",
        today=date(2026, 12, 2),
    )
    assert case.statutory_due == date(2027, 1, 4)  # 2 Jan 2027 is a Saturday


def test_extension_without_explanation_is_a_400_and_stores_nothing(app, world):
    case = new_case(world)
    with time_machine.travel(datetime(2026, 11, 20, 9, 0, tzinfo=AMSTERDAM), tick=True):
        handler = app.test_client()
        login(handler, "handler@uni.example")
        response = staff_post(
            handler, case, "extend", {"months": "1", "reason": "complexity", "explanation": " "}
        )
    assert response.status_code == 400
    db.session.refresh(case)
    assert case.extension_months == 0


def test_two_extensions_never_pass_the_three_month_limit(app_ctx, world):
    case = new_case(world)
    services.extend(
        case,
        actor=world["handler"],
        months=1,
        reason=services.ExtensionReason.COMPLEXITY,
        explanation="a",
        today=date(2026, 11, 10),
    )
    services.extend(
        case,
        actor=world["handler"],
        months=2,
        reason=services.ExtensionReason.COMPLEXITY,
        explanation="b",
        today=date(2026, 11, 20),
    )
    assert case.statutory_due == deadlines.max_extended_due(case.received_on)
    with pytest.raises(RuleViolation):
        services.extend(
            case,
            actor=world["handler"],
            months=2,
            reason=services.ExtensionReason.COMPLEXITY,
            explanation="c",
            today=date(2026, 11, 21),
        )


# --- Pause (R6) and messages ----------------------------------------------------------------


def test_a_prompt_question_pauses_the_clock_until_the_answer_and_moves_the_due_date(
    app, world, smtp_sink
):
    case = new_case(world)
    smtp_sink.clear()
    with time_machine.travel(datetime(2026, 11, 4, 10, 0, tzinfo=AMSTERDAM), tick=True):
        handler = app.test_client()
        login(handler, "handler@uni.example")
        page = handler.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
        assert "Asking now pauses the clock" in page
        response = staff_post(
            handler,
            case,
            "ask",
            {"kind": "question_clarification", "question": "Which exam do you mean?"},
        )
        assert response.status_code == 302
    db.session.refresh(case)
    assert case.status is CaseStatus.AWAITING_REQUESTER
    assert "case.paused" in case_actions(case)
    [mail] = smtp_sink.to("student@uni.example")
    assert "Which exam" not in mail.get_payload(decode=True).decode()  # a link, not the content

    # While paused the statutory clock stands still: no reminders.
    assert sweep(date(2026, 11, 30)).cases_examined == 0

    with time_machine.travel(datetime(2026, 11, 14, 15, 0, tzinfo=AMSTERDAM), tick=True):
        student = app.test_client()
        login(student, "student@uni.example")
        page = student.get(f"/my/cases/{case.reference}").get_data(as_text=True)
        assert "We are waiting for your answer" in page and "Which exam do you mean?" in page
        url = f"/my/cases/{case.reference}"
        assert (
            post_form(
                student, f"{url}/messages", {"body": "PSY-101 on 1 October."}, token_from=url
            ).status_code
            == 302
        )
    db.session.refresh(case)
    assert case.status is CaseStatus.IN_REVIEW
    pause = db.session.scalars(select(CasePause)).one()
    assert (pause.started_on, pause.ended_on, pause.days) == (
        date(2026, 11, 4),
        date(2026, 11, 14),
        10,
    )
    assert case.statutory_due == date(2026, 12, 14)  # 2 Dec + 10 days = Sat 12 Dec -> Mon 14 Dec
    change = db.session.scalars(select(DueDateChange).where(DueDateChange.cause == "resumed")).one()
    assert change.reason == "paused 10 day(s)"


def test_a_late_question_does_not_pause_and_the_handler_is_told_before_sending(app, world):
    case = new_case(world)  # received Monday 2 Nov; 5 working days later is Monday 9 Nov
    with time_machine.travel(datetime(2026, 11, 10, 10, 0, tzinfo=AMSTERDAM), tick=True):
        handler = app.test_client()
        login(handler, "handler@uni.example")
        page = handler.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
        assert "does NOT pause the clock" in page
        response = staff_post(
            handler, case, "ask", {"kind": "question_identity", "question": "Show ID at the desk"}
        )
        assert response.status_code == 302
    db.session.refresh(case)
    assert case.status is CaseStatus.IN_REVIEW
    assert db.session.scalars(select(CasePause)).all() == []
    assert case.statutory_due == date(2026, 12, 2)


def test_a_pause_across_a_month_end_counts_calendar_days(app_ctx, world):
    case = new_case(world, received_at=datetime(2027, 1, 25, 9, 0, tzinfo=AMSTERDAM))
    assert case.statutory_due == date(2027, 2, 25)
    services.ask_requester(
        case,
        actor=world["handler"],
        kind=MessageKind.QUESTION_IDENTITY,
        question="?",
        now=datetime(2027, 1, 28, 9, tzinfo=AMSTERDAM),
    )
    services.answer_question(
        case, author=world["student"], body="!", now=datetime(2027, 2, 3, 9, tzinfo=AMSTERDAM)
    )
    assert case.statutory_due == date(2027, 3, 3)  # 25 Feb + 6 days


def test_a_message_from_the_requester_reaches_the_handler_as_a_link_only(app, world, smtp_sink):
    case = new_case(world)
    smtp_sink.clear()
    student = app.test_client()
    login(student, "student@uni.example")
    url = f"/my/cases/{case.reference}"
    post_form(student, f"{url}/messages", {"body": "My secret medical details"}, token_from=url)
    [mail] = smtp_sink.to("handler@uni.example")
    body = mail.get_payload(decode=True).decode()
    assert "secret medical" not in body
    assert f"/staff/cases/{case.reference}" in body
    assert post_form(student, f"{url}/messages", {"body": "  "}, token_from=url).status_code == 400
    assert "case.message_posted" in case_actions(case)


def test_a_message_from_staff_reaches_the_requester_as_a_link_only(app, world, smtp_sink):
    case = new_case(world)
    smtp_sink.clear()
    handler = app.test_client()
    login(handler, "handler@uni.example")
    response = staff_post(handler, case, "messages", {"body": "We found two recordings."})
    assert response.status_code == 302
    [mail] = smtp_sink.to("student@uni.example")
    assert "two recordings" not in mail.get_payload(decode=True).decode()
    assert staff_post(handler, case, "messages", {"body": ""}).status_code == 400
    assert db.session.scalars(select(CaseMessage.body)).all() == ["We found two recordings."]
    assert "case.message_posted" in case_actions(case)
    student = app.test_client()
    login(student, "student@uni.example")
    page = student.get(f"/my/cases/{case.reference}").get_data(as_text=True)
    assert "We found two recordings." in page and "Privacy office" in page


# --- Refusal (R5, R8, R19) and duplicates -----------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "route", "other_route"),
    [("public", "bezwaar", "rechtbank"), ("private", "rechtbank", "bezwaar")],
)
def test_a_refusal_names_the_ap_complaint_and_the_route_of_the_kind_of_institution(
    app, world, monkeypatch, kind, route, other_route
):
    # R5, R19: objection within 6 weeks at a public institution (then the administrative
    # court), the civil court at a private one (art. 79 GDPR, art. 35 UAVG); the AP always.
    monkeypatch.setitem(app.config, "INSTITUTION_KIND", kind)
    case = new_case(world)
    handler = app.test_client()
    login(handler, "handler@uni.example")
    assert (
        staff_post(
            handler, case, "decide", {"outcome": "rejected", "reasons": "We hold no recordings."}
        ).status_code
        == 302
    )
    student = app.test_client()
    login(student, "student@uni.example")
    page = student.get(f"/my/cases/{case.reference}").get_data(as_text=True)
    assert "We hold no recordings." in page
    assert "Autoriteit Persoonsgegevens" in page and "6 weeks" in page
    assert route in page and other_route not in page
    if kind == "public":
        assert "administrative court" in page


def test_refusing_as_manifestly_unfounded_needs_its_own_justification(app, world):
    case = new_case(world)
    handler = app.test_client()
    login(handler, "handler@uni.example")
    data = {"outcome": "rejected", "reasons": "Repeated request.", "manifestly_unfounded": "y"}
    response = staff_post(handler, case, "decide", data)
    assert response.status_code == 400
    assert "Write down the justification." in response.get_data(as_text=True)
    db.session.refresh(case)
    assert case.status is CaseStatus.IN_REVIEW
    data["unfounded_justification"] = "Fifth identical request this month (R8)."
    assert staff_post(handler, case, "decide", data).status_code == 302
    db.session.refresh(case)
    assert case.manifestly_unfounded_justification == "Fifth identical request this month (R8)."


def test_a_duplicate_is_closed_with_a_notice_and_linked_to_the_original(app, world, smtp_sink):
    original = new_case(world)
    duplicate = new_case(world)
    smtp_sink.clear()
    handler = app.test_client()
    login(handler, "handler@uni.example")
    response = staff_post(handler, duplicate, "duplicate", {"original": original.reference.lower()})
    assert response.status_code == 302
    db.session.refresh(duplicate)
    assert duplicate.status is CaseStatus.CLOSED and duplicate.duplicate_of_id == original.id
    [notice] = smtp_sink.to("student@uni.example")
    assert original.reference in notice["Subject"]
    assert "case.marked_duplicate" in case_actions(duplicate)


def test_a_case_of_another_student_cannot_be_the_original(app, world):
    other = UserFactory(email="other@uni.example")
    db.session.commit()
    foreign = services.file_case(
        case_type=CaseType.ACCESS, subject=other, filed_by=other, description=""
    )
    commit()
    case = new_case(world)
    handler = app.test_client()
    login(handler, "handler@uni.example")
    response = staff_post(handler, case, "duplicate", {"original": foreign.reference})
    assert response.status_code == 409
    db.session.refresh(case)
    assert case.status is CaseStatus.IN_REVIEW


# --- What staff see, exam-bound and time zone -------------------------------------------------


def test_queue_shows_days_left_and_badges_in_words(app, world):
    paused = new_case(world)
    services.ask_requester(
        paused,
        actor=world["handler"],
        kind=MessageKind.QUESTION_CLARIFICATION,
        question="?",
        now=RECEIVED + timedelta(days=1),
    )
    commit()
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=AMSTERDAM), tick=True):
        late = new_case(world, received_at=RECEIVED)
        handler = app.test_client()
        login(handler, "handler@uni.example")
        page = handler.get("/staff/queue").get_data(as_text=True)
    assert "Paused" in page
    # Mon 23 Nov -> Wed 2 Dec: "7 working days left (2 December 2026)"
    assert '7 working days left</span> <span class="due">(<time datetime="2026-12-02">' in page
    assert "2 December 2026</time>)" in page
    assert late.reference in page


def test_an_overdue_case_shows_the_overdue_badge(app, world):
    case = new_case(world)
    with time_machine.travel(datetime(2026, 12, 4, 9, 0, tzinfo=AMSTERDAM), tick=True):
        handler = app.test_client()
        login(handler, "handler@uni.example")
        page = handler.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    assert "Overdue" in page and "Overdue by 2 days" in page


def test_a_paused_objection_still_gets_reminders_for_its_exam_bound_date(app_ctx, world, smtp_sink):
    exam = ExamFactory(
        programme=world["programme"], starts_at=datetime(2026, 11, 16, 9, tzinfo=AMSTERDAM)
    )
    case = services.file_case(
        case_type=CaseType.OBJECTION,
        subject=world["student"],
        filed_by=world["student"],
        description="grounds",
        exam=exam,
        received_at=RECEIVED,
    )
    services.assign(case, world["handler"], actor=world["handler"])
    services.ask_requester(
        case,
        actor=world["handler"],
        kind=MessageKind.QUESTION_CLARIFICATION,
        question="?",
        now=RECEIVED + timedelta(days=1),
    )
    commit()
    assert case.effective_due == date(2026, 11, 9) == case.exam_bound_due
    assert sweep(date(2026, 11, 9)).reminders_sent == [(case.reference, "due")]


def test_a_request_received_at_half_past_eleven_at_night_counts_for_that_day(app_ctx, world):
    late_evening = datetime(2027, 1, 31, 23, 30, tzinfo=AMSTERDAM)  # 22:30 UTC
    case = new_case(world, received_at=late_evening)
    assert case.received_on == date(2027, 1, 31)
    assert case.statutory_due == date(2027, 3, 1)  # 28 Feb 2027 is a Sunday
    summer = datetime(2027, 5, 31, 23, 30, tzinfo=AMSTERDAM)  # 21:30 UTC, daylight saving time
    assert new_case(world, received_at=summer).received_on == date(2027, 5, 31)

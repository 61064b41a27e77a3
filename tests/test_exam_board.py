"""Objections, alternatives and human review with the exam board (R15-R19), on PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy import func, select

from rights_portal.accounts.models import Role
from rights_portal.audit.models import AuditEvent
from rights_portal.cases import services as case_services
from rights_portal.cases.deadlines import AMSTERDAM, add_working_days
from rights_portal.cases.models import Case, CaseStatus, CaseType, Outcome
from rights_portal.cases.reminders import sweep
from rights_portal.examboard.models import AlternativeExam, AlternativeStatus
from rights_portal.exams.models import (
    AutomatedFlag,
    FileKind,
    FlagReviewStatus,
    Recording,
    RecordingFile,
)
from rights_portal.extensions import db
from rights_portal.permissions import can_open_recording
from tests.conftest import login, post_form
from tests.factories import ExamFactory, ProgrammeFactory, UserFactory, board_member

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=AMSTERDAM)  # Monday
EXAM_START = datetime(2026, 12, 14, 9, 0, tzinfo=AMSTERDAM)  # three weeks later


@pytest.fixture
def world(app_ctx):
    psy = ProgrammeFactory(code="PSY")
    cs = ProgrammeFactory(code="CS")
    exam = ExamFactory(
        programme=psy, starts_at=EXAM_START, course_code="PSY-101", title="Statistics"
    )
    student = UserFactory(email="sanne@uni.example", programme_id=psy.id)
    recording = Recording(
        student_id=student.id,
        exam_id=exam.id,
        recorded_at=EXAM_START - timedelta(days=60),
        retention_until=date(2027, 3, 1),
    )
    recording.files.append(
        RecordingFile(
            kind=FileKind.VIDEO,
            filename="cam.webm",
            media_type="video/webm",
            size_bytes=10,
            sha256=hashlib.sha256(b"x").hexdigest(),
        )
    )
    recording.flags.append(
        AutomatedFlag(code="gaze_away", description="Looked away for 14 seconds")
    )
    db.session.add(recording)
    people = {
        "student": student,
        "handler": UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER),
        "board": board_member(psy, email="board@uni.example", full_name="Fatima Board"),
        "board2": board_member(psy, email="board2@uni.example", full_name="Joost Second"),
        "other_board": board_member(cs, email="board-cs@uni.example"),
        "dpo": UserFactory(email="dpo@uni.example", role=Role.DPO),
    }
    db.session.commit()
    return {
        "exam": exam,
        "programme": psy,
        "recording": recording,
        "flag": recording.flags[0],
        **people,
    }


def client_for(app, email):
    client = app.test_client()
    login(client, email)
    return client


def file_objection(app, world, restrict=False):
    student = client_for(app, "sanne@uni.example")
    data = {
        "exam_id": world["exam"].id,
        "description": "Filming my room exposes my family's situation.",
    }
    if restrict:
        data["restrict"] = "y"
    assert post_form(student, "/my/cases/new/objection", data).status_code == 302
    return db.session.scalars(select(Case).order_by(Case.id.desc())).first()


def board_post(client, case, action, data):
    url = f"/staff/cases/{case.reference}"
    return post_form(client, f"{url}/{action}", data, token_from=url)


def take(client, case, member):
    assert board_post(client, case, "assign", {"assignee_id": member.id}).status_code == 302


@time_machine.travel(NOW, tick=True)
def test_an_objection_three_weeks_before_the_exam_lands_with_the_right_board(app, world):
    case = file_objection(app, world)
    assert case.exam_bound_due == date(2026, 12, 7) == case.effective_due
    board = client_for(app, "board@uni.example")
    workspace = board.get("/staff/board").get_data(as_text=True)
    assert case.reference in workspace and "PSY-101 Statistics" in workspace
    other = client_for(app, "board-cs@uni.example")
    assert case.reference not in other.get("/staff/board").get_data(as_text=True)
    assert other.get(f"/staff/cases/{case.reference}").status_code == 404


@time_machine.travel(NOW, tick=True)
def test_rejecting_an_objection_without_compelling_grounds_is_impossible(app, world):
    case = file_objection(app, world)
    board = client_for(app, "board@uni.example")
    take(board, case, world["board"])
    response = board_post(
        board, case, "decide", {"outcome": "rejected", "reasons": "Proctoring is needed."}
    )
    assert response.status_code == 409
    assert "compelling legitimate grounds" in response.get_data(as_text=True)
    db.session.refresh(case)
    assert case.status is CaseStatus.IN_REVIEW and case.outcome is None
    # Not even behind the application's back (R15).
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(
            sa.text(
                "UPDATE cases SET status='decided', outcome='rejected', decision_reasons='x', "
                "legal_basis='x', decided_by_id=:b, decided_at=now() WHERE id=:id"
            ),
            {"b": world["board"].id, "id": case.id},
        )
        db.session.flush()
    db.session.rollback()
    response = board_post(
        board,
        case,
        "decide",
        {
            "outcome": "rejected",
            "reasons": "Proctoring is needed.",
            "compelling_grounds": "No on-campus capacity exists; the course is accredited on it.",
        },
    )
    assert response.status_code == 302
    student = client_for(app, "sanne@uni.example")
    page = student.get(f"/my/cases/{case.reference}").get_data(as_text=True)
    assert "College van Beroep voor de Examens" in page and "6 weeks" in page
    assert "Autoriteit Persoonsgegevens" in page


@time_machine.travel(NOW, tick=True)
def test_an_alternative_beyond_ten_working_days_needs_a_justification_and_is_shown_to_the_dpo(
    app, world, smtp_sink
):
    case = file_objection(app, world)
    board = client_for(app, "board@uni.example")
    take(board, case, world["board"])
    assert (
        board_post(board, case, "decide", {"outcome": "granted", "reasons": "Upheld."}).status_code
        == 302
    )
    late_day = add_working_days(date(2026, 12, 14), 12)
    data = {
        "form": "on_campus",
        "day": late_day.isoformat(),
        "time": "09:00",
        "place": "Room A1.04",
    }
    response = board_post(board, case, "alternative", data)
    assert response.status_code == 409
    assert "12 working days after the exam" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(AlternativeExam.id))) == 0

    data["late_justification"] = "The only invigilated room is booked for two weeks."
    smtp_sink.clear()
    assert board_post(board, case, "alternative", data).status_code == 302
    alternative = db.session.scalars(select(AlternativeExam)).one()
    assert alternative.beyond_limit and alternative.working_days_after_exam == 12
    assert smtp_sink.to("sanne@uni.example")
    dpo = client_for(app, "dpo@uni.example")
    late_page = dpo.get("/staff/alternatives/late").get_data(as_text=True)
    assert case.reference in late_page and "only invigilated room" in late_page

    # Within the limit no justification is needed.
    assert alternative.status is AlternativeStatus.OFFERED


@time_machine.travel(NOW, tick=True)
def test_the_student_accepts_the_alternative_or_asks_for_another_slot_with_a_reason(app, world):
    case = file_objection(app, world)
    board = client_for(app, "board@uni.example")
    take(board, case, world["board"])
    board_post(board, case, "decide", {"outcome": "granted", "reasons": "Upheld."})
    in_time = add_working_days(date(2026, 12, 14), 3).isoformat()
    assert (
        board_post(
            board,
            case,
            "alternative",
            {"form": "oral", "day": in_time, "time": "10:00", "place": "Room B2"},
        ).status_code
        == 302
    )
    student = client_for(app, "sanne@uni.example")
    url = f"/my/cases/{case.reference}"
    assert "Your alternative exam" in student.get(url).get_data(as_text=True)
    response = post_form(student, f"{url}/alternative", {"answer": "other"}, token_from=url)
    assert response.status_code == 400
    assert (
        post_form(
            student,
            f"{url}/alternative",
            {"answer": "other", "reason": "I have a hospital appointment."},
            token_from=url,
        ).status_code
        == 302
    )
    assert (
        db.session.scalars(select(AlternativeExam)).one().status
        is AlternativeStatus.OTHER_SLOT_REQUESTED
    )
    other_day = add_working_days(date(2026, 12, 14), 4).isoformat()
    assert (
        board_post(
            board,
            case,
            "alternative",
            {"form": "oral", "day": other_day, "time": "14:00", "place": "Room B2"},
        ).status_code
        == 302
    )
    assert (
        post_form(student, f"{url}/alternative", {"answer": "accept"}, token_from=url).status_code
        == 302
    )
    db.session.refresh(case)
    assert case.status is CaseStatus.CLOSED
    history = db.session.scalars(select(AlternativeExam).order_by(AlternativeExam.id)).all()
    assert [a.status for a in history] == [
        AlternativeStatus.OTHER_SLOT_REQUESTED,
        AlternativeStatus.ACCEPTED,
    ]

    listing = board.get(f"/staff/exams/{world['exam'].id}/alternatives?format=csv").get_data(
        as_text=True
    )
    assert world["student"].student_number in listing and "accepted" in listing
    assert (
        client_for(app, "board-cs@uni.example")
        .get(f"/staff/exams/{world['exam'].id}/alternatives")
        .status_code
        == 404
    )
    actions = set(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case.id))
    )
    assert {
        "case.received",
        "case.assigned",
        "case.decided",
        "alternative.assigned",
        "alternative.other_slot_requested",
        "alternative.accepted",
    } <= actions


def test_a_flag_cannot_become_a_fraud_finding_without_a_named_review(app, world):
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(
            sa.text(
                "UPDATE automated_flags SET review_status='irregularity_suspected' WHERE id=:id"
            ),
            {"id": world["flag"].id},
        )
        db.session.flush()
    db.session.rollback()
    other = client_for(app, "board-cs@uni.example")
    assert other.get(f"/staff/flags/{world['flag'].id}").status_code == 404
    board = client_for(app, "board@uni.example")
    assert board.get(f"/staff/flags/{world['flag'].id}").status_code == 200
    url = f"/staff/flags/{world['flag'].id}"
    assert (
        post_form(board, url, {"outcome": "irregularity_suspected", "reasons": ""}).status_code
        == 400
    )
    assert (
        post_form(
            board,
            url,
            {
                "outcome": "irregularity_suspected",
                "reasons": "A second person is visible at 21:00.",
            },
        ).status_code
        == 302
    )
    flag = db.session.get(AutomatedFlag, world["flag"].id)
    assert flag.review_status is FlagReviewStatus.IRREGULARITY_SUSPECTED
    assert flag.reviewed_by_id == world["board"].id
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == str(world["recording"].id))
    ).all()
    assert "recording.material_viewed" in actions
    assert "flag.reviewed" in set(db.session.scalars(select(AuditEvent.action)))


@time_machine.travel(NOW, tick=True)
def test_the_students_view_is_in_the_file_before_the_human_review_decides(app, world):
    student = client_for(app, "sanne@uni.example")
    data = {"flag_id": world["flag"].id, "description": "My cat walked over the keyboard."}
    assert post_form(student, "/my/cases/new/human_review", data).status_code == 302
    case = db.session.scalars(select(Case)).one()
    assert case.flag_id == world["flag"].id
    board = client_for(app, "board@uni.example")
    take(board, case, world["board"])
    page = board.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    assert "My cat walked over the keyboard." in page and "Looked away for 14 seconds" in page
    response = board_post(
        board,
        case,
        "review-flag",
        {
            "outcome": "no_irregularity",
            "reasons": "The recording shows a cat; no irregularity.",
        },
    )
    assert response.status_code == 302
    db.session.refresh(case)
    assert case.status is CaseStatus.DECIDED and case.outcome is Outcome.GRANTED
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id)
    ).all()
    actions = [e.action for e in events]
    assert (
        actions.index("case.received")
        < actions.index("recording.material_viewed")
        < actions.index("flag.reviewed")
    )
    letter = student.get(f"/my/cases/{case.reference}").get_data(as_text=True)
    assert "The recording shows a cat" in letter and "College van Beroep voor de Examens" in letter


@time_machine.travel(EXAM_START + timedelta(days=2), tick=True)
def test_a_human_review_of_a_flag_from_a_past_exam_runs_on_the_statutory_term(app, world):
    # R7 binds objections and alternatives to an exam still to come; a flag was raised in an
    # exam already taken, so its review has the statutory term (R2, R3), not a date long past.
    student = client_for(app, "sanne@uni.example")
    data = {"flag_id": world["flag"].id, "description": "My cat walked over the keyboard."}
    assert post_form(student, "/my/cases/new/human_review", data).status_code == 302
    case = db.session.scalars(select(Case)).one()
    assert case.received_on == date(2026, 12, 16)
    assert case.exam_bound_due is None
    assert case.statutory_due == date(2027, 1, 18)  # 16 January 2027 is a Saturday (R3)
    assert case.effective_due == case.statutory_due
    assert not case.urgent
    report = sweep(case.received_on)  # nothing overdue, nothing even near its due date
    assert report.cases_examined == 0 and report.escalations == []
    board = client_for(app, "board@uni.example")
    page = board.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    assert "Exam-bound due date" not in page


@pytest.mark.parametrize("case_type", [CaseType.OBJECTION, CaseType.ALTERNATIVE_EXAM])
@time_machine.travel(NOW, tick=True)
def test_objections_and_alternative_requests_are_due_before_their_exam(app, world, case_type):
    case = case_services.file_case(
        case_type=case_type,
        subject=world["student"],
        filed_by=world["student"],
        description="Being filmed at home is unbearable.",
        exam=world["exam"],
    )
    db.session.commit()
    assert case.statutory_due == date(2026, 12, 23)
    assert case.exam_bound_due == date(2026, 12, 7) == case.effective_due  # R7
    assert not case.urgent


@time_machine.travel(NOW, tick=True)
def test_a_board_that_requires_sign_off_needs_a_second_member(app, world):
    world["programme"].exam_board.requires_second_signoff = True
    db.session.commit()
    case = file_objection(app, world)
    board = client_for(app, "board@uni.example")
    take(board, case, world["board"])
    assert (
        board_post(board, case, "decide", {"outcome": "granted", "reasons": "Upheld."}).status_code
        == 302
    )
    db.session.refresh(case)
    assert case.status is CaseStatus.IN_REVIEW
    assert board_post(board, case, "sign-off", {}).status_code == 409  # not the proposer
    second = client_for(app, "board2@uni.example")
    assert board_post(second, case, "sign-off", {}).status_code == 302
    db.session.refresh(case)
    assert case.status is CaseStatus.DECIDED and case.decided_by_id == world["board"].id
    actions = set(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case.id))
    )
    assert {"case.decision_proposed", "case.decision_signed_off", "case.decided"} <= actions


@time_machine.travel(NOW, tick=True)
def test_a_restricted_recording_opens_only_to_decide_the_objection(app, world):
    case = file_objection(app, world, restrict=True)
    recording = world["recording"]
    assert case.restrict_processing
    assert not can_open_recording(world["handler"], recording)
    assert not can_open_recording(world["board"], recording)
    assert can_open_recording(world["board"], recording, case)
    assert not can_open_recording(world["handler"], recording, case)  # handlers do not decide it
    board = client_for(app, "board@uni.example")
    take(board, case, world["board"])
    board_post(board, case, "decide", {"outcome": "granted", "reasons": "Upheld."})
    assert can_open_recording(world["handler"], recording)  # the decision lifted the restriction

"""The Foundation's walk-through over HTTP on PostgreSQL with a real SMTP sink.

A student files an objection; the acknowledgement arrives; a handler finds it in the queue with
the right due date; the exam board decides with reasons; the student reads the decision.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
import time_machine
from sqlalchemy import func, select

from rights_portal.accounts.models import Role
from rights_portal.audit.models import AuditEvent
from rights_portal.cases.deadlines import AMSTERDAM
from rights_portal.cases.models import Case, CaseStatus, CaseType, Outcome
from rights_portal.extensions import db
from tests.conftest import login, post_form
from tests.factories import ExamFactory, ProgrammeFactory, UserFactory, board_member

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=AMSTERDAM)  # a Monday
EXAM_START = datetime(2026, 12, 14, 9, 0, tzinfo=AMSTERDAM)  # three weeks later, a Monday


@pytest.fixture
def world(app_ctx):
    programme = ProgrammeFactory(code="PSY", name="Psychology")
    other_programme = ProgrammeFactory(code="CS", name="Computer Science")
    exam = ExamFactory(
        programme=programme, starts_at=EXAM_START, course_code="PSY-101", title="Statistics"
    )
    people = {
        "student": UserFactory(email="sanne@uni.example", programme_id=programme.id),
        "other_student": UserFactory(email="daan@uni.example", programme_id=programme.id),
        "handler": UserFactory(
            email="handler@uni.example", role=Role.CASE_HANDLER, full_name="Pieter Handler"
        ),
        "board": board_member(programme, email="board@uni.example", full_name="Fatima Board"),
        "other_board": board_member(other_programme, email="board-cs@uni.example"),
        "dpo": UserFactory(email="dpo@uni.example", role=Role.DPO),
        "admin": UserFactory(email="admin@uni.example", role=Role.ADMIN),
    }
    db.session.commit()
    return {"exam": exam, **people}


def file_objection(
    client, exam_id, grounds="I have an anxiety disorder; being filmed at home is unbearable."
):
    return post_form(
        client, "/my/cases/new/objection", {"exam_id": exam_id, "description": grounds}
    )


@time_machine.travel(NOW, tick=True)
def test_objection_walkthrough_from_filing_to_decision(app, world, smtp_sink):
    student = app.test_client()
    login(student, "sanne@uni.example")
    response = file_objection(student, world["exam"].id)
    assert response.status_code == 302
    case = db.session.scalars(select(Case)).one()
    assert case.reference == "RP-2026-000001"
    assert case.case_type is CaseType.OBJECTION
    assert case.received_on == date(2026, 11, 23)
    assert case.statutory_due == date(2026, 12, 23)
    assert case.exam_bound_due == date(2026, 12, 7)  # R7: 5 working days before the exam
    assert case.effective_due == date(2026, 12, 7)
    assert not case.urgent

    # The acknowledgement carries the reference and the due date, in the student's language.
    [ack] = smtp_sink.to("sanne@uni.example")
    assert "RP-2026-000001" in ack["Subject"]
    body = ack.get_payload(decode=True).decode()
    assert "7 December 2026" in body  # the one date format
    assert "http://portal.test/my/cases/RP-2026-000001" in body

    # The handler finds it in the queue with the effective due date.
    handler = app.test_client()
    login(handler, "handler@uni.example")
    queue = handler.get("/staff/queue").get_data(as_text=True)
    assert "RP-2026-000001" in queue
    assert '(<time datetime="2026-12-07">7 December 2026</time>)' in queue
    page = handler.get("/staff/cases/RP-2026-000001").get_data(as_text=True)
    assert "The exam board of the programme decides this case." in page

    # The exam board member takes it and decides with reasons.
    board = app.test_client()
    login(board, "board@uni.example")
    case_url = "/staff/cases/RP-2026-000001"
    assert (
        post_form(
            board, f"{case_url}/assign", {"assignee_id": world["board"].id}, token_from=case_url
        ).status_code
        == 302
    )
    response = post_form(
        board,
        f"{case_url}/decide",
        {
            "outcome": "granted",
            "reasons": "Your situation outweighs the need for proctoring;"
            " you take the exam on campus.",
        },
        token_from=case_url,
    )
    assert response.status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.status is CaseStatus.DECIDED
    assert case.outcome is Outcome.GRANTED
    assert case.decided_by_id == world["board"].id
    assert case.legal_basis == "AVG art. 21"

    # The student is told by e-mail (without the content) and reads decision and reasons.
    decision_mail = [m for m in smtp_sink.to("sanne@uni.example") if "decision" in m["Subject"]]
    assert len(decision_mail) == 1
    assert "outweighs" not in decision_mail[0].get_payload(decode=True).decode()
    page = student.get("/my/cases/RP-2026-000001").get_data(as_text=True)
    assert "Granted" in page
    assert "you take the exam on campus" in page
    assert "College van Beroep voor de Examens" in page  # R19
    for label in ("Request received", "Taken into review", "Decision made"):
        assert label in page

    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.case_id == case.id)
    ).all()
    assert {"case.received", "case.assigned", "case.decided", "case.viewed"} <= set(actions)


def test_objection_without_grounds_is_refused_and_nothing_is_stored(app, world):
    student = app.test_client()
    login(student, "sanne@uni.example")
    response = file_objection(student, world["exam"].id, grounds="   ")
    assert response.status_code == 400
    assert "Describe the grounds of your objection." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Case.id))) == 0


def test_objection_for_an_unknown_exam_is_refused(app, world):
    student = app.test_client()
    login(student, "sanne@uni.example")
    response = file_objection(student, 999_999)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(Case.id))) == 0


def test_access_request_is_decided_by_a_case_handler(app, world, smtp_sink):
    student = app.test_client()
    login(student, "sanne@uni.example")
    assert (
        post_form(
            student, "/my/cases/new/access", {"description": "Everything about my exams"}
        ).status_code
        == 302
    )
    case = db.session.scalars(select(Case)).one()
    assert case.exam_bound_due is None
    assert case.effective_due == case.statutory_due

    board = app.test_client()
    login(board, "board@uni.example")
    assert board.get(f"/staff/cases/{case.reference}").status_code == 200  # same programme
    assert (
        post_form(
            board,
            f"/staff/cases/{case.reference}/assign",
            {"assignee_id": world["board"].id},
            token_from=f"/staff/cases/{case.reference}",
        ).status_code
        == 403
    )

    handler = app.test_client()
    login(handler, "handler@uni.example")
    url = f"/staff/cases/{case.reference}"
    assert (
        post_form(
            handler, f"{url}/assign", {"assignee_id": world["handler"].id}, token_from=url
        ).status_code
        == 302
    )
    # A decision without reasons is impossible (R15/R23) and leaves the case as it was.
    response = post_form(
        handler, f"{url}/decide", {"outcome": "rejected", "reasons": ""}, token_from=url
    )
    assert response.status_code == 400
    assert "Write down the reasons for this decision." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, case.id).status is CaseStatus.IN_REVIEW
    response = post_form(
        handler,
        f"{url}/decide",
        {"outcome": "partly_granted", "reasons": "Screenshots of others are withheld."},
        token_from=url,
    )
    assert response.status_code == 302
    page = student.get(f"/my/cases/{case.reference}").get_data(as_text=True)
    assert "Partly granted" in page
    assert "Autoriteit Persoonsgegevens" in page  # R19: GDPR decision names objection and AP


def test_another_students_case_is_a_404(app, world):
    owner = app.test_client()
    login(owner, "sanne@uni.example")
    file_objection(owner, world["exam"].id)
    reference = db.session.scalars(select(Case.reference)).one()

    intruder = app.test_client()
    login(intruder, "daan@uni.example")
    assert intruder.get(f"/my/cases/{reference}").status_code == 404
    assert (
        post_form(
            intruder, f"/my/cases/{reference}/withdraw", {}, token_from="/my/cases"
        ).status_code
        == 404
    )
    assert reference not in intruder.get("/my/cases").get_data(as_text=True)
    assert intruder.get("/my/cases/RP-2026-999999").status_code == 404


def test_exam_board_of_another_programme_gets_404(app, world):
    student = app.test_client()
    login(student, "sanne@uni.example")
    file_objection(student, world["exam"].id)
    reference = db.session.scalars(select(Case.reference)).one()
    other_board = app.test_client()
    login(other_board, "board-cs@uni.example")
    assert other_board.get(f"/staff/cases/{reference}").status_code == 404
    assert reference not in other_board.get("/staff/queue").get_data(as_text=True)


def test_roles_reach_only_their_areas(app, world):
    student = app.test_client()
    login(student, "sanne@uni.example")
    assert student.get("/staff/queue").status_code == 403
    admin = app.test_client()
    login(admin, "admin@uni.example")
    assert admin.get("/staff/queue").status_code == 403  # admins see no case contents
    home = admin.get("/staff/admin")
    assert home.status_code == 200
    # The institution's systems are each one link away from the administration page.
    for path in (
        "/staff/integrations/ooapi",
        "/staff/integrations/vendors",
        "/staff/api-clients",
        "/staff/webhooks",
    ):
        assert f'href="{path}"' in home.get_data(as_text=True)
        assert admin.get(path).status_code == 200
    dpo = app.test_client()
    login(dpo, "dpo@uni.example")
    assert dpo.get("/staff/queue").status_code == 200
    assert dpo.get("/my/cases").status_code == 403
    anonymous = app.test_client()
    response = anonymous.get("/my/cases")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_dpo_can_read_but_not_decide(app, world):
    student = app.test_client()
    login(student, "sanne@uni.example")
    post_form(student, "/my/cases/new/access", {"description": ""})
    reference = db.session.scalars(select(Case.reference)).one()
    dpo = app.test_client()
    login(dpo, "dpo@uni.example")
    url = f"/staff/cases/{reference}"
    assert dpo.get(url).status_code == 200
    assert (
        post_form(
            dpo, f"{url}/assign", {"assignee_id": world["dpo"].id}, token_from=url
        ).status_code
        == 403
    )


def test_student_can_withdraw_an_open_request_once(app, world):
    student = app.test_client()
    login(student, "sanne@uni.example")
    post_form(student, "/my/cases/new/access", {"description": ""})
    reference = db.session.scalars(select(Case.reference)).one()
    url = f"/my/cases/{reference}"
    assert post_form(student, f"{url}/withdraw", {}, token_from=url).status_code == 302
    db.session.expire_all()
    assert db.session.scalars(select(Case.status)).one() is CaseStatus.CLOSED
    response = post_form(student, f"{url}/withdraw", {}, token_from=url)
    assert response.status_code == 409
    assert "no longer open" in response.get_data(as_text=True)


def test_a_request_too_late_for_the_exam_bound_date_is_accepted_and_urgent(app, world):
    with time_machine.travel(datetime(2026, 12, 10, 12, 0, tzinfo=AMSTERDAM), tick=True):
        student = app.test_client()
        login(student, "sanne@uni.example")
        assert file_objection(student, world["exam"].id).status_code == 302
    case = db.session.scalars(select(Case)).one()
    assert case.urgent
    assert case.effective_due == date(2026, 12, 7)  # the target stays; the case is flagged (R7)


def test_a_request_filed_after_its_exam_bound_date_shows_priority_not_overdue(
    app, world, smtp_sink
):
    # R7: filed Thursday 10 December for an exam on Monday 14 December (exam-bound date Monday
    # 7 December). The student sees that it is handled with priority and the statutory date
    # (Monday 11 January 2027: 10 January is a Sunday), never "overdue by 3 days".
    smtp_sink.clear()
    with time_machine.travel(datetime(2026, 12, 10, 12, 0, tzinfo=AMSTERDAM), tick=True):
        student = app.test_client()
        login(student, "sanne@uni.example")
        assert file_objection(student, world["exam"].id).status_code == 302
        case = db.session.scalars(select(Case)).one()
        assert case.filed_after_exam_bound_date and case.statutory_due == date(2027, 1, 11)
        for url in (f"/my/cases/{case.reference}", "/my/cases"):
            page = student.get(url).get_data(as_text=True)
            assert "Handled with priority" in page
            assert "11 January 2027" in page
            assert "Overdue" not in page
        handler = app.test_client()
        login(handler, "handler@uni.example")
        staff_page = handler.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
        assert "badge-urgent" in staff_page
    [mail] = smtp_sink.to("sanne@uni.example")
    body = mail.get_payload(decode=True).decode()
    assert "met voorrang" in body or "with priority" in body
    assert "7 december" not in body.lower()


def test_objection_and_alternative_forms_offer_only_exams_still_to_come(app, world):
    past = ExamFactory(
        programme=world["exam"].programme,
        starts_at=datetime(2026, 11, 20, 9, 0, tzinfo=AMSTERDAM),
        course_code="PSY-099",
        title="Past exam",
    )
    db.session.commit()
    with time_machine.travel(NOW, tick=True):
        student = app.test_client()
        login(student, "sanne@uni.example")
        for kind in ("objection", "alternative_exam"):
            page = student.get(f"/my/cases/new/{kind}").get_data(as_text=True)
            assert "PSY-101" in page
            assert "PSY-099" not in page
        assert file_objection(student, past.id).status_code == 400
    assert db.session.scalars(select(Case)).all() == []


def test_post_without_csrf_token_is_rejected(app, world):
    client = app.test_client()
    response = client.post("/login", data={"email": "sanne@uni.example", "password": "x"})
    assert response.status_code == 400

"""Identity only on reasonable doubt (R22), over HTTP on PostgreSQL.

A handler records why they doubt the requester's identity; the requester is asked for proof in
the portal and the case waits for them; the handler records "checked, document type, date" and
the case is back in review. Each step is on the audit trail.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy import select

from rights_portal.accounts.models import (
    IdentityAnswer,
    IdentityCheck,
    IdentityCheckStatus,
    IdentityDocument,
    Role,
)
from rights_portal.audit.models import AuditEvent
from rights_portal.cases import services as cases
from rights_portal.cases.deadlines import AMSTERDAM
from rights_portal.cases.models import Case, CaseStatus, CaseType
from rights_portal.extensions import db
from tests.conftest import login, post_form
from tests.factories import ProgrammeFactory, UserFactory, board_member, guardian_link

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=AMSTERDAM)
REASON = "The request asks for all recordings but came from an address abroad we do not know."


@pytest.fixture
def world(app_ctx):
    programme = ProgrammeFactory()
    handler = UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER)
    student = UserFactory(email="sanne@uni.example", programme_id=programme.id)
    case = cases.file_case(
        case_type=CaseType.ACCESS, subject=student, filed_by=student, description="All of it"
    )
    cases.assign(case, handler, actor=handler)
    board_member(programme, email="board@uni.example")
    UserFactory(email="dpo@uni.example", role=Role.DPO)
    db.session.commit()
    return {"case": case, "handler": handler, "student": student, "programme": programme}


def client_for(app, email):
    client = app.test_client()
    login(client, email)
    return client


def staff_url(case: Case, tail: str = "") -> str:
    return f"/staff/cases/{case.reference}{tail}"


def raise_doubt(client, case, reason=REASON):
    return post_form(
        client, staff_url(case, "/identity/doubt"), {"reason": reason}, token_from=staff_url(case)
    )


def events(case: Case) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.case_id == case.id, AuditEvent.action.startswith("identity."))
            .order_by(AuditEvent.id)
        )
    )


@time_machine.travel(NOW, tick=True)
def test_doubt_asks_the_requester_for_proof_and_the_check_returns_the_case_to_review(
    app, world, smtp_sink
):
    case = world["case"]
    handler = client_for(app, "handler@uni.example")
    assert "Reasonable doubt about identity" in handler.get(staff_url(case)).get_data(as_text=True)

    # No reason, no request for proof (R22): nothing changes.
    response = raise_doubt(handler, case, reason="  ")
    assert response.status_code == 400
    assert "Write down why you doubt the requester" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, case.id).status is CaseStatus.IN_REVIEW

    assert raise_doubt(handler, case).status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).status is CaseStatus.AWAITING_REQUESTER
    check = db.session.scalars(select(IdentityCheck)).one()
    assert check.reason == REASON and check.requested_by_id == world["handler"].id
    [mail] = [m for m in smtp_sink.to("sanne@uni.example") if "identity" in m["Subject"]]
    assert REASON not in mail.get_payload(decode=True).decode()  # the reason is read in the portal

    # Asking twice is refused while the first request is open.
    response = raise_doubt(handler, case, reason="Again")
    assert response.status_code == 409

    # The requester sees the request and the reason, and answers.
    student = client_for(app, "sanne@uni.example")
    page = student.get(f"/my/cases/{case.reference}").get_data(as_text=True)
    assert "We need to check your identity" in page and REASON in page
    assert "Waiting for your answer" in page
    answer_url = f"/my/cases/{case.reference}/identity"
    assert post_form(student, answer_url, {"answer": ""}).status_code == 400
    response = post_form(student, answer_url, {"answer": "will_show_at_desk"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(IdentityCheck, check.id).answer is IdentityAnswer.WILL_SHOW_AT_DESK

    # The handler records "checked, document type, date".
    check_url = staff_url(case, "/identity/check")
    page = handler.get(check_url).get_data(as_text=True)
    assert "I will show my identity document at the desk" in page
    response = post_form(
        handler,
        check_url,
        {"status": "verified", "document_type": "passport", "document_seen_on": "2026-11-23"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    check = db.session.get(IdentityCheck, check.id)
    assert check.status is IdentityCheckStatus.VERIFIED
    assert check.document_type is IdentityDocument.PASSPORT
    assert check.document_seen_on == date(2026, 11, 23)
    assert check.checked_by_id == world["handler"].id
    assert db.session.get(Case, case.id).status is CaseStatus.IN_REVIEW
    staff_page = handler.get(staff_url(case)).get_data(as_text=True)
    assert "Checked, Passport, 23 November 2026" in staff_page
    assert "We need to check your identity" not in student.get(
        f"/my/cases/{case.reference}"
    ).get_data(as_text=True)

    assert events(case) == ["identity.doubt_raised", "identity.answered", "identity.checked"]
    checked = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "identity.checked")
    ).one()
    assert checked.after["document_type"] == "passport"
    assert checked.after["case_status"] == "in_review"


@time_machine.travel(NOW, tick=True)
def test_recording_a_check_needs_document_and_day_or_else_a_reason(app, world):
    case = world["case"]
    handler = client_for(app, "handler@uni.example")
    raise_doubt(handler, case)
    check_url = staff_url(case, "/identity/check")

    response = post_form(handler, check_url, {"status": "verified"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Choose the document that was seen." in text and "Enter the day." in text
    response = post_form(
        handler,
        check_url,
        {"status": "verified", "document_type": "passport", "document_seen_on": "2026-11-30"},
    )
    assert response.status_code == 400
    assert "cannot be in the future" in response.get_data(as_text=True)
    response = post_form(handler, check_url, {"status": "not_verified", "note": ""})
    assert response.status_code == 400
    assert "Write down why the identity could not be checked." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, case.id).status is CaseStatus.AWAITING_REQUESTER

    response = post_form(
        handler,
        check_url,
        {"status": "not_verified", "note": "The requester did not come to the desk."},
    )
    assert response.status_code == 302
    db.session.expire_all()
    check = db.session.scalars(select(IdentityCheck)).one()
    assert check.status is IdentityCheckStatus.NOT_VERIFIED
    assert check.document_type is None and check.document_seen_on is None
    assert db.session.get(Case, case.id).status is CaseStatus.IN_REVIEW  # the handler decides


@time_machine.travel(NOW, tick=True)
def test_proof_for_a_case_a_guardian_filed_is_asked_of_the_guardian(app, world, smtp_sink):
    child = UserFactory(
        email="noor@uni.example",
        date_of_birth=date(2012, 3, 3),
        programme_id=world["programme"].id,
    )
    parent = UserFactory(email="marieke@home.example", role=Role.GUARDIAN)
    guardian_link(parent, child, verifier=world["handler"])
    case = cases.file_case(
        case_type=CaseType.ACCESS, subject=child, filed_by=parent, description="Everything"
    )
    cases.assign(case, world["handler"], actor=world["handler"])
    db.session.commit()

    handler = client_for(app, "handler@uni.example")
    assert raise_doubt(handler, case).status_code == 302
    assert [m for m in smtp_sink.to("marieke@home.example") if "identity" in m["Subject"]]
    assert not smtp_sink.to("noor@uni.example")
    guardian = client_for(app, "marieke@home.example")
    assert REASON in guardian.get(f"/my/cases/{case.reference}").get_data(as_text=True)
    response = post_form(
        guardian, f"/my/cases/{case.reference}/identity", {"answer": "shown_at_desk"}
    )
    assert response.status_code == 302
    child_client = client_for(app, "noor@uni.example")
    assert child_client.get(f"/my/cases/{case.reference}/identity").status_code == 404


@time_machine.travel(NOW, tick=True)
def test_only_case_handlers_ask_for_or_record_proof_of_identity(app, world):
    case = world["case"]
    for email in ("board@uni.example", "dpo@uni.example"):
        client = client_for(app, email)
        assert client.get(staff_url(case)).status_code == 200  # they may read the case
        assert "Reasonable doubt about identity" not in client.get(staff_url(case)).get_data(
            as_text=True
        )
        assert raise_doubt(client, case).status_code == 403
    db.session.expire_all()
    assert db.session.scalars(select(IdentityCheck)).all() == []
    other_student = UserFactory(email="daan@uni.example")
    db.session.commit()
    intruder = client_for(app, other_student.email)
    assert intruder.get(f"/my/cases/{case.reference}/identity").status_code == 404


@time_machine.travel(NOW, tick=True)
def test_proof_is_asked_only_while_a_case_is_in_review(app, world):
    student = world["student"]
    received = cases.file_case(
        case_type=CaseType.ACCESS, subject=student, filed_by=student, description=""
    )
    db.session.commit()
    handler = client_for(app, "handler@uni.example")
    response = raise_doubt(handler, received)
    assert response.status_code == 409
    assert "only be asked while a case is in review" in response.get_data(as_text=True)


def test_the_database_refuses_a_verified_check_without_document_and_day(app, world):
    check = IdentityCheck(
        case_id=world["case"].id,
        reason="Doubt",
        requested_by_id=world["handler"].id,
        status=IdentityCheckStatus.VERIFIED,
        checked_by_id=world["handler"].id,
        checked_at=NOW,
    )
    db.session.add(check)
    with pytest.raises(sa.exc.IntegrityError, match="outcome_complete"):
        db.session.commit()
    db.session.rollback()

"""Requests from people without a portal account, registered by staff (R1, R20-R22).

A former student or the parent of a child under 16 writes a letter; a handler registers it with
the requester's name, e-mail or postal address and relation. They are answered by e-mail or by a
printed letter — the acknowledgement, questions, the decision with its reasons and redress (R5,
R19) — never through the portal: they cannot log in, reset a password or take over the record
by registering. Personal data and decisions are held until staff record the requester's identity
(R22) and, for a parent, their authority (R21). Once the person has a verified account of their
own, staff link the case to it.
"""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import func, select

from rights_portal.accounts.models import LinkStatus, Role, User
from rights_portal.audit.models import AuditEvent
from rights_portal.cases import services as case_services
from rights_portal.cases.deadlines import AMSTERDAM
from rights_portal.cases.models import Case, CaseType, MessageKind, Outcome
from rights_portal.exams.models import AutomatedFlag, FileKind, Recording, RecordingFile
from rights_portal.extensions import db
from rights_portal.intake.letters import STAND_IN_DOMAIN
from rights_portal.intake.models import (
    CaseIntake,
    ExternalRequester,
    RequesterLetter,
    RequesterRelation,
)
from rights_portal.retention.models import ErasureItem
from rights_portal.transactions import commit
from tests.conftest import login, post_form
from tests.factories import ExamFactory, ProgrammeFactory, UserFactory, guardian_link

pytestmark = pytest.mark.postgres

TODAY = datetime(2026, 12, 2, 10, 0, tzinfo=AMSTERDAM)  # Wednesday
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PARENT = "marieke@home.example"
PAST_EXAM = datetime(2026, 6, 1, 9, 0, tzinfo=AMSTERDAM)


@pytest.fixture
def world(app_ctx):
    programme = ProgrammeFactory()
    child = UserFactory(
        email="noor@uni.example",
        programme_id=programme.id,
        student_number="s7654321",
        date_of_birth=date(2012, 3, 1),  # 14 on the day of receipt
        full_name="Noor Jansen",
    )
    former = UserFactory(
        email="old-address@uni.example",
        programme_id=programme.id,
        student_number="s1111111",
        date_of_birth=date(1999, 1, 9),
        full_name="Femke Oud",
        is_active_account=False,  # left the institution: no login any more
    )
    handler = UserFactory(
        email="handler@uni.example", role=Role.CASE_HANDLER, full_name="Pieter Handler"
    )
    db.session.commit()
    return {"child": child, "former": former, "handler": handler, "programme": programme}


def parent_letter(**overrides):
    data = {
        "channel": "letter",
        "received_on": "2026-11-23",
        "student_number": "s7654321",
        "date_of_birth": "2012-03-01",
        "requester": "external",
        "requester_name": "Marieke Jansen",
        "requester_relation": "legal_representative",
        "requester_email": PARENT,
        "requester_locale": "en",
        "case_type": "access",
        "exam_id": "0",
        "flag_id": "0",
        "description": "Ik wil namens mijn dochter Noor haar opnames inzien.",
        "acknowledge_by": "email",
        "postal_address": "",
        "document": (io.BytesIO(PDF), "brief.pdf"),
    }
    data.update(overrides)
    return data


def register(app, **overrides):
    handler = app.test_client()
    login(handler, "handler@uni.example")
    response = post_form(
        handler, "/staff/intake/new", parent_letter(**overrides), content_type="multipart/form-data"
    )
    return handler, response


def counts() -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Case, CaseIntake, ExternalRequester, RequesterLetter, User)
    )


def recording_of(student: User, exam) -> Recording:
    recording = Recording(
        student_id=student.id,
        exam_id=exam.id,
        recorded_at=exam.starts_at,
        retention_until=date(2027, 1, 1),
    )
    db.session.add(recording)
    db.session.flush()
    return recording


def body_of(mail) -> str:
    return mail.get_payload(decode=True).decode()


@time_machine.travel(TODAY, tick=True)
def test_a_parent_without_an_account_registers_for_a_child_under_16_and_is_answered_by_e_mail(
    app, world, smtp_sink
):
    handler, response = register(app)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]

    case = db.session.scalars(select(Case)).one()
    requester = db.session.scalars(select(ExternalRequester)).one()
    assert case.subject_id == world["child"].id  # R20: the request is about the child
    assert requester.relation is RequesterRelation.LEGAL_REPRESENTATIVE
    assert requester.full_name == "Marieke Jansen" and requester.email == PARENT
    assert case.filed_by_id == requester.stand_in_id != world["child"].id
    # The stand-in gives no way into the portal.
    stand_in = db.session.get(User, requester.stand_in_id)
    assert not stand_in.is_active_account and not stand_in.email_verified
    assert stand_in.email.endswith("@" + STAND_IN_DOMAIN) and stand_in.full_name == "Marieke Jansen"

    # The acknowledgement goes to the parent's own address, not to the child (R20), in English.
    [mail] = smtp_sink.to(PARENT)
    body = body_of(mail)
    assert case.reference in body and "23 December 2026" in body  # the one date format of English
    assert "/my/cases" not in body  # no portal to point to
    assert "identity document" in body and "custody register" in body
    assert smtp_sink.to("noor@uni.example") == []
    assert not any(STAND_IN_DOMAIN in (m["To"] or "") for m in smtp_sink.messages)

    # The audit trail names who entered it, when, the receipt date and the requester.
    events = {
        e.action: e
        for e in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id))
    }
    assert events["case.registered"].actor_id == world["handler"].id
    assert events["case.registered"].after["received_on"] == "2026-11-23"
    external = events["intake.external_requester"]
    assert external.actor_id == world["handler"].id
    assert external.after["relation"] == "legal_representative"

    # The case page shows the requester and how they are answered.
    page = handler.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    assert "Marieke Jansen" in page and PARENT in page
    assert "Not checked yet" in page and "Pieter Handler" in page


@time_machine.travel(TODAY, tick=True)
def test_the_stand_in_cannot_log_in_reset_a_password_or_be_taken_over_by_registering(
    app, world, smtp_sink
):
    register(app)
    requester = db.session.scalars(select(ExternalRequester)).one()
    stand_in = db.session.get(User, requester.stand_in_id)
    smtp_sink.clear()

    visitor = app.test_client()
    for password in ("!", "", "correct-horse-battery"):
        response = post_form(visitor, "/login", {"email": stand_in.email, "password": password})
        assert response.status_code != 302
    post_form(visitor, "/password/forgot", {"email": stand_in.email})
    post_form(visitor, "/password/forgot", {"email": PARENT})
    assert smtp_sink.messages == []  # no reset link for the stand-in, nor for the bare address

    # Registering with the parent's own address makes a new account of their own; the record
    # stays as it was and the case is not theirs until staff link it.
    post_form(
        visitor,
        "/register",
        {
            "email": PARENT,
            "full_name": "Marieke Jansen",
            "password": "a-long-enough-password",
            "confirm": "a-long-enough-password",
        },
    )
    db.session.expire_all()
    stand_in = db.session.get(User, requester.stand_in_id)
    assert not stand_in.is_active_account and stand_in.email.endswith(STAND_IN_DOMAIN)
    case = db.session.get(Case, requester.case_id)
    assert case.filed_by_id == stand_in.id


@time_machine.travel(TODAY, tick=True)
def test_the_decision_is_held_until_identity_and_authority_are_checked_then_e_mailed(
    app, world, smtp_sink
):
    handler, _ = register(app)
    case = db.session.scalars(select(Case)).one()
    case_services.assign(case, world["handler"], actor=world["handler"])
    case_services.decide(
        case,
        actor=world["handler"],
        outcome=Outcome.REJECTED,
        reasons="Er zijn geen opnames van Noor bewaard.",
    )
    commit()

    # R21/R22: an unchecked requester is told only that news waits for an identity check.
    [_ack, notice] = smtp_sink.to(PARENT)
    assert "Er zijn geen opnames" not in body_of(notice)
    assert "identity document" in body_of(notice)
    [staff_notice] = smtp_sink.to("handler@uni.example")
    assert case.reference in body_of(staff_notice)
    held = db.session.scalars(
        select(RequesterLetter).where(RequesterLetter.template == "case_decided")
    ).one()
    assert held.held and held.outbox_message_id is None
    assert handler.get(f"/staff/intake/{case.reference}/letters/{held.id}.pdf").status_code == 409

    # A parent's check needs the document that showed their authority: refused without it.
    path = f"/staff/intake/{case.reference}/requester/identity"
    refused = post_form(handler, path, {"identity_document": "passport", "seen_on": "2026-12-01"})
    assert refused.status_code == 400
    assert "authority" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(ExternalRequester, held.requester_id).identity_checked

    checked = post_form(
        handler,
        path,
        {
            "identity_document": "passport",
            "seen_on": "2026-12-01",
            "authority_document": "custody_register_extract",
        },
    )
    assert checked.status_code == 302, checked.get_data(as_text=True)[:2000]
    mails = smtp_sink.to(PARENT)
    decision = body_of(mails[-1])
    # The decision with its reasons and the routes of redress of a public institution (R19).
    assert "Er zijn geen opnames van Noor bewaard." in decision
    assert "bezwaar" in decision and "Autoriteit Persoonsgegevens" in decision
    actions = set(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case.id))
    )
    assert {"intake.letter_held", "intake.requester_identity_checked"} <= actions
    assert "intake.letter_released" in actions


@time_machine.travel(TODAY, tick=True)
def test_a_requester_answered_by_post_gets_printable_letters_and_no_e_mail(app, world, smtp_sink):
    handler, response = register(
        app,
        acknowledge_by="post",
        requester_email="",
        postal_address="Dorpsstraat 1\n1234 AB Ergens",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    case = db.session.scalars(select(Case)).one()
    assert smtp_sink.messages == []
    letter = db.session.scalars(select(RequesterLetter)).one()
    assert letter.template == "case_received" and letter.state == "to_print"

    page = handler.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    assert f"/staff/intake/{case.reference}/letters/{letter.id}.pdf" in page
    assert "Dorpsstraat 1" in page
    pdf = handler.get(f"/staff/intake/{case.reference}/letters/{letter.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    db.session.expire_all()
    assert db.session.get(RequesterLetter, letter.id).state == "printed"
    assert "intake.letter_printed" in set(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case.id))
    )
    # A later message waits as a letter too, and the handler is told to post it.
    case_services.assign(case, world["handler"], actor=world["handler"])
    case_services.ask_requester(
        case,
        actor=world["handler"],
        kind=MessageKind.QUESTION_CLARIFICATION,
        question="Welke tentamens bedoelt u?",
    )
    commit()
    question = db.session.scalars(
        select(RequesterLetter).where(RequesterLetter.template == "case_question")
    ).one()
    assert "Welke tentamens bedoelt u?" in question.body and question.state == "to_print"
    [staff_notice] = smtp_sink.to("handler@uni.example")
    assert case.reference in body_of(staff_notice)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        # R20: a child under 16 does not file alone, not even by letter.
        ({"requester_relation": "self"}, "under 16"),
        # R20: from 16 the student acts alone; a parent cannot file for them.
        (
            {"student_number": "s1111111", "date_of_birth": "1999-01-09"},
            "16 or older",
        ),
        ({"requester_email": ""}, "e-mail address"),
        ({"requester_email": "not-an-address"}, "not valid"),
        ({"requester_email": f"someone@{STAND_IN_DOMAIN}"}, "not valid"),
        ({"requester_name": "  "}, "name"),
        ({"acknowledge_by": "post", "postal_address": ""}, "postal address"),
        ({"requester_relation": "uncle"}, "Not a valid choice"),
    ],
)
@time_machine.travel(TODAY, tick=True)
def test_a_requester_without_an_account_the_rules_do_not_allow_is_refused_and_nothing_stored(
    app, world, smtp_sink, overrides, message
):
    before = counts()
    _, response = register(app, **overrides)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert counts() == before
    assert smtp_sink.messages == []


@time_machine.travel(TODAY, tick=True)
def test_a_child_under_16_with_an_account_is_refused_with_the_way_to_register_it(app, world):
    _, response = register(app, requester="student")
    assert response.status_code == 400
    assert "someone without an account" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


@time_machine.travel(TODAY, tick=True)
def test_the_case_is_linked_to_the_parents_account_only_once_their_guardian_link_is_verified(
    app, world, smtp_sink
):
    handler, _ = register(app)
    case = db.session.scalars(select(Case)).one()
    parent = UserFactory(email=PARENT, role=Role.GUARDIAN, student_number=None)
    UserFactory(email="other@home.example", role=Role.GUARDIAN, student_number=None)
    pending = guardian_link(parent, world["child"], status=LinkStatus.PENDING)
    db.session.commit()
    portal = app.test_client()
    login(portal, PARENT)
    assert portal.get(f"/my/cases/{case.reference}").status_code == 404

    # R21: a pending link, a guardian without a link, an unknown address: all refused.
    path = f"/staff/intake/{case.reference}/requester/link"
    for email in (PARENT, "other@home.example", "nobody@home.example"):
        refused = post_form(handler, path, {"account_email": email})
        assert refused.status_code == 400
    db.session.expire_all()
    assert db.session.get(Case, case.id).filed_by_id != parent.id

    db.session.delete(db.session.get(type(pending), pending.id))
    db.session.flush()
    guardian_link(parent, world["child"], status=LinkStatus.VERIFIED)
    db.session.commit()
    linked = post_form(handler, path, {"account_email": PARENT.upper()})
    assert linked.status_code == 302, linked.get_data(as_text=True)[:2000]
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.filed_by_id == parent.id
    assert portal.get(f"/my/cases/{case.reference}").status_code == 200
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "intake.requester_linked")
    ).one()
    assert event.actor_id == world["handler"].id and event.after["filed_by_id"] == parent.id
    # From now on it is an ordinary case: the portal's own e-mails go to the account.
    smtp_sink.clear()
    case_services.assign(case, world["handler"], actor=world["handler"])
    case_services.decide(case, actor=world["handler"], outcome=Outcome.GRANTED, reasons="Ja.")
    commit()
    [mail] = smtp_sink.to(PARENT)
    assert "/my/cases/" in body_of(mail)


@time_machine.travel(TODAY, tick=True)
def test_a_former_student_asks_by_e_mail_for_erasure_of_their_recordings(app, world, smtp_sink):
    exam = ExamFactory(programme_id=world["programme"].id, starts_at=PAST_EXAM)
    recording = recording_of(world["former"], exam)
    db.session.add(
        RecordingFile(
            recording_id=recording.id,
            kind=FileKind.VIDEO,
            filename="webcam.mp4",
            media_type="video/mp4",
            size_bytes=10,
            sha256="0" * 64,
            storage_key="not-read-here",
        )
    )
    db.session.commit()
    _, response = register(
        app,
        channel="email",
        student_number="s1111111",
        date_of_birth="1999-01-09",
        requester_name="Femke Oud",
        requester_relation="self",
        requester_email="femke@home.example",
        case_type="erasure",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    case = db.session.scalars(select(Case)).one()
    assert case.case_type is CaseType.ERASURE and case.subject_id == world["former"].id
    assert db.session.scalars(select(ErasureItem.recording_id)).all() == [recording.id]
    [mail] = smtp_sink.to("femke@home.example")
    assert case.reference in body_of(mail)
    assert smtp_sink.to("old-address@uni.example") == []


@time_machine.travel(TODAY, tick=True)
def test_a_human_review_by_letter_names_one_of_the_students_flags(app, world):
    exam = ExamFactory(programme_id=world["programme"].id, starts_at=PAST_EXAM)
    recording = recording_of(world["former"], exam)
    flag = AutomatedFlag(recording_id=recording.id, code="gaze_away", description="Looked away")
    db.session.add(flag)
    db.session.commit()
    fields = {
        "student_number": "s1111111",
        "date_of_birth": "1999-01-09",
        "requester_name": "Femke Oud",
        "requester_relation": "self",
        "requester_email": "femke@home.example",
        "case_type": "human_review",
    }
    _, first = register(app, **fields)
    assert first.status_code == 400
    page = first.get_data(as_text=True)
    assert "Choose the automated flag" in page and "Looked away" in page  # now offered
    _, second = register(app, flag_id=str(flag.id), **fields)
    assert second.status_code == 302, second.get_data(as_text=True)[:3000]
    case = db.session.scalars(select(Case)).one()
    assert case.case_type is CaseType.HUMAN_REVIEW and case.flag_id == flag.id


@time_machine.travel(datetime(2026, 4, 7, 10, 0, tzinfo=AMSTERDAM), tick=True)
def test_a_letter_received_on_5_april_2026_is_due_on_6_may_2026(app, world):
    """DESIGN's worked example of R3 through intake: 5 May is a holiday every year (Atw art. 3)."""
    _, response = register(
        app,
        received_on="2026-04-05",
        student_number="s1111111",
        date_of_birth="1999-01-09",
        requester_relation="self",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    case = db.session.scalars(select(Case)).one()
    assert case.statutory_due == date(2026, 5, 6)


@time_machine.travel(TODAY, tick=True)
def test_the_cli_registers_a_parents_letter_and_links_the_case_later(
    app, world, tmp_path, smtp_sink
):
    scan = tmp_path / "brief.pdf"
    scan.write_bytes(PDF)
    runner = CliRunner()
    args = [
        "intake", "register", "--by", "handler@uni.example", "--channel", "letter",
        "--received-on", "2026-11-23", "--student-number", "s7654321",
        "--date-of-birth", "2012-03-01", "--type", "access", "--document", str(scan),
        "--requester-name", "Marieke Jansen", "--requester-email", PARENT,
        "--relation", "legal_representative",
    ]  # fmt: skip
    result = runner.invoke(app.cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Marieke Jansen (no account)" in result.output
    case = db.session.scalars(select(Case)).one()
    assert smtp_sink.to(PARENT)

    refused = runner.invoke(app.cli, [*args[:-2], "--relation", "self"])
    assert refused.exit_code != 0 and "16" in refused.output  # R20, in Dutch by default

    parent = UserFactory(email=PARENT, role=Role.GUARDIAN, student_number=None)
    guardian_link(parent, world["child"])
    db.session.commit()
    link = [
        "intake", "link", "--by", "handler@uni.example", "--case", case.reference,
        "--account", PARENT,
    ]  # fmt: skip
    result = runner.invoke(app.cli, link, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(Case, case.id).filed_by_id == parent.id


@time_machine.travel(TODAY, tick=True)
def test_the_handler_enters_the_answer_given_by_letter_and_the_clock_runs_again(app, world):
    """R6: a requester without an account cannot answer in the portal; staff enter the answer."""
    handler, _ = register(app, received_on="2026-11-30")
    case = db.session.scalars(select(Case)).one()
    case_services.assign(case, world["handler"], actor=world["handler"])
    case_services.ask_requester(
        case,
        actor=world["handler"],
        kind=MessageKind.QUESTION_CLARIFICATION,
        question="Welke tentamens bedoelt u?",
    )
    commit()
    assert case.status.value == "awaiting_requester"
    page = handler.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    path = f"/staff/intake/{case.reference}/requester/answer"
    assert path in page

    empty = post_form(handler, path, {"received_on": "2026-12-02", "body": " "})
    assert empty.status_code == 400
    future = post_form(handler, path, {"received_on": "2026-12-09", "body": "Statistiek."})
    assert future.status_code == 400 and "future" in future.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, case.id).status.value == "awaiting_requester"

    answered = post_form(handler, path, {"received_on": "2026-12-02", "body": "Statistiek."})
    assert answered.status_code == 302, answered.get_data(as_text=True)[:2000]
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.status.value == "in_review"
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "intake.answer_recorded")
    ).one()
    assert event.actor_id == world["handler"].id and event.after["received_on"] == "2026-12-02"


@time_machine.travel(TODAY, tick=True)
def test_only_case_handlers_reach_the_requesters_pages_and_the_child_sees_nothing(app, world):
    """R20/R21: the child never sees the case a parent without an account asked for."""
    register(app, acknowledge_by="post", postal_address="Dorpsstraat 1")
    case = db.session.scalars(select(Case)).one()
    letter = db.session.scalars(select(RequesterLetter)).one()
    UserFactory(email="dpo@uni.example", role=Role.DPO)
    db.session.commit()
    child = app.test_client()
    login(child, "noor@uni.example")
    assert child.get(f"/my/cases/{case.reference}").status_code == 404
    assert case.reference not in child.get("/my/cases").get_data(as_text=True)
    dpo = app.test_client()
    login(dpo, "dpo@uni.example")
    for path in (
        f"/staff/intake/{case.reference}/letters/{letter.id}.pdf",
        f"/staff/intake/{case.reference}/requester/identity",
        f"/staff/intake/{case.reference}/requester/link",
        f"/staff/intake/{case.reference}/requester/answer",
    ):
        assert child.get(path).status_code == 403
        assert dpo.get(path).status_code == 403
    # The DPO reads the case page, with the requester on it.
    assert "Marieke Jansen" in dpo.get(f"/staff/cases/{case.reference}").get_data(as_text=True)


@time_machine.travel(TODAY, tick=True)
def test_a_check_recorded_through_the_cases_identity_steps_releases_the_held_letters(
    app, world, smtp_sink
):
    """R22: the case page's "checked, type, date" checks a requester without an account too."""
    handler, response = register(
        app,
        channel="email",
        student_number="s1111111",
        date_of_birth="1999-01-09",
        requester_name="Femke Oud",
        requester_relation="self",
        requester_email="femke@home.example",
        case_type="access",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    case = db.session.scalars(select(Case)).one()
    case_services.assign(case, world["handler"], actor=world["handler"])
    case_services.post_message(case, author=world["handler"], body="Wij zoeken uw opnames op.")
    commit()
    held = db.session.scalars(select(RequesterLetter).where(RequesterLetter.held.is_(True))).one()
    assert held.template == "case_message"
    before = len(smtp_sink.to("femke@home.example"))

    doubt = f"/staff/cases/{case.reference}/identity/doubt"
    assert post_form(handler, doubt, {"reason": "Nieuw e-mailadres."}).status_code == 302
    response = post_form(
        handler,
        f"/staff/cases/{case.reference}/identity/check",
        {"status": "verified", "document_type": "passport", "document_seen_on": "2026-12-01"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    requester = db.session.get(ExternalRequester, held.requester_id)
    assert requester.identity_checked and requester.identity_seen_on == date(2026, 12, 1)
    assert not db.session.get(RequesterLetter, held.id).held
    mails = smtp_sink.to("femke@home.example")[before:]
    assert any("Wij zoeken uw opnames op." in body_of(mail) for mail in mails)
    actions = list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.case_id == case.id)
            .order_by(AuditEvent.id)
        )
    )
    tail = actions[actions.index("identity.checked") :]
    assert tail[:3] == [
        "identity.checked",
        "intake.requester_identity_checked",
        "intake.letter_released",
    ]


@time_machine.travel(TODAY, tick=True)
def test_a_parents_letters_stay_held_after_a_case_check_until_the_authority_is_recorded(
    app, world, smtp_sink
):
    """R21: the case's identity check has no place for the parent's authority."""
    handler, _ = register(app)
    case = db.session.scalars(select(Case)).one()
    case_services.assign(case, world["handler"], actor=world["handler"])
    case_services.post_message(case, author=world["handler"], body="Wij zoeken de opnames op.")
    commit()
    doubt = f"/staff/cases/{case.reference}/identity/doubt"
    assert post_form(handler, doubt, {"reason": "Geen account."}).status_code == 302
    response = post_form(
        handler,
        f"/staff/cases/{case.reference}/identity/check",
        {"status": "verified", "document_type": "passport", "document_seen_on": "2026-12-01"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    held = db.session.scalars(select(RequesterLetter).where(RequesterLetter.held.is_(True))).one()
    assert not db.session.get(ExternalRequester, held.requester_id).identity_checked

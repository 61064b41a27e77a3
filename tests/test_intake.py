"""Requests that reached the institution by letter, e-mail, phone or at a desk (R1).

Staff register them with the channel and the original date of receipt, so the clock runs from
then (R1-R3); the letter or e-mail is kept with the case; the acknowledgement goes out by e-mail
or as a PDF letter for post; the audit trail shows who entered it when.
"""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import select

from rights_portal.access.storage import recordings_storage
from rights_portal.accounts.models import Role
from rights_portal.audit.models import AuditEvent
from rights_portal.cases import services as case_services
from rights_portal.cases.deadlines import AMSTERDAM
from rights_portal.cases.models import Case, CaseType, Channel
from rights_portal.errors import RuleViolation
from rights_portal.extensions import db
from rights_portal.intake import services
from rights_portal.intake.documents import sniff
from rights_portal.intake.models import AcknowledgeBy, CaseIntake
from rights_portal.retention.runner import purge
from rights_portal.transactions import commit
from tests.conftest import login, post_form
from tests.factories import ProgrammeFactory, UserFactory

pytestmark = pytest.mark.postgres

TODAY = datetime(2026, 12, 2, 10, 0, tzinfo=AMSTERDAM)  # Wednesday
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EML = (
    b"From: Sanne de Vries <sanne@home.example>\r\n"
    b"To: privacy@uni.example\r\n"
    b"Subject: Inzageverzoek\r\n"
    b"Date: Mon, 23 Nov 2026 09:12:00 +0100\r\n"
    b"\r\n"
    b"Ik wil graag mijn opnames inzien.\r\n"
)


@pytest.fixture
def world(app_ctx):
    programme = ProgrammeFactory()
    student = UserFactory(
        email="sanne@uni.example",
        programme_id=programme.id,
        student_number="s1234567",
        date_of_birth=date(2003, 5, 17),
        full_name="Sanne de Vries",
    )
    handler = UserFactory(
        email="handler@uni.example", role=Role.CASE_HANDLER, full_name="Pieter Handler"
    )
    db.session.commit()
    return {"student": student, "handler": handler}


def letter_form(**overrides):
    data = {
        "channel": "letter",
        "received_on": "2026-11-23",
        "student_number": "s1234567",
        "date_of_birth": "2003-05-17",
        "case_type": "access",
        "exam_id": "0",
        "description": "Ik wil graag alle opnames van mijn tentamens inzien.",
        "acknowledge_by": "email",
        "postal_address": "",
        "document": (io.BytesIO(PDF), "brief.pdf"),
    }
    data.update(overrides)
    return data


def register_over_http(app, **overrides):
    handler = app.test_client()
    login(handler, "handler@uni.example")
    response = post_form(
        handler,
        "/staff/intake/new",
        letter_form(**overrides),
        content_type="multipart/form-data",
    )
    return handler, response


@time_machine.travel(TODAY, tick=True)
def test_a_handler_registers_a_letter_and_the_clock_runs_from_its_receipt(app, world, smtp_sink):
    smtp_sink.clear()
    handler, response = register_over_http(app)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]

    case = db.session.scalars(select(Case)).one()
    assert case.channel is Channel.LETTER
    assert case.received_on == date(2026, 11, 23)  # R1: the letter's date, not today's
    assert case.statutory_due == date(2026, 12, 23)  # R2 from receipt
    assert case.subject_id == case.filed_by_id == world["student"].id
    intake = db.session.scalars(select(CaseIntake)).one()
    assert intake.entered_by_id == world["handler"].id
    assert intake.document_type == "application/pdf" and not intake.overdue_on_entry

    # The audit trail shows who entered it, when, next to the receipt date.
    events = {
        e.action: e
        for e in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id))
    }
    assert events["case.received"].actor_id == world["handler"].id
    registered = events["case.registered"]
    assert registered.actor_id == world["handler"].id
    assert registered.after["received_on"] == "2026-11-23"
    assert registered.after["channel"] == "letter"
    assert registered.after["entered_at"].startswith("2026-12-02")

    # The student gets the acknowledgement by e-mail, with the due date counted from receipt.
    [mail] = smtp_sink.to("sanne@uni.example")
    body = mail.get_payload(decode=True).decode()
    assert case.reference in body and "23 December 2026" in body

    # The letter is kept with the case, byte for byte, and opening it is audited.
    page = handler.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    assert "brief.pdf" in page and "Pieter Handler" in page
    document = handler.get(f"/staff/intake/{case.reference}/document")
    assert document.status_code == 200 and document.data == PDF
    assert document.headers["Content-Type"].startswith("application/pdf")
    assert "intake.document_opened" in set(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case.id))
    )


@time_machine.travel(TODAY, tick=True)
def test_a_receipt_date_in_the_future_is_refused_and_nothing_is_stored(app, world):
    _, response = register_over_http(app, received_on="2026-12-03")
    assert response.status_code == 400
    assert "future" in response.get_data(as_text=True) or "toekomst" in response.get_data(
        as_text=True
    )
    assert db.session.scalars(select(Case)).all() == []


@time_machine.travel(TODAY, tick=True)
def test_a_request_overdue_already_on_entry_is_accepted_and_flagged(app, world, smtp_sink):
    smtp_sink.clear()
    _, response = register_over_http(app, received_on="2026-09-15", channel="email")
    assert response.status_code == 302
    case = db.session.scalars(select(Case)).one()
    intake = db.session.scalars(select(CaseIntake)).one()
    assert case.statutory_due == date(2026, 10, 15)
    assert intake.overdue_on_entry and case.urgent
    [mail] = smtp_sink.to("sanne@uni.example")
    body = mail.get_payload(decode=True).decode()
    assert (
        "October 15" not in body and "with priority" in body
    )  # never "we answer by" a date already passed


@time_machine.travel(TODAY, tick=True)
@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"PK\x03\x04zip archive", "brief.pdf"),
        (b"<html><script>alert(1)</script></html>", "brief.pdf"),
        (b"just some text\nno headers here", "mail.eml"),
    ],
)
def test_an_upload_that_is_no_pdf_image_or_e_mail_is_refused_whatever_its_name(
    app, world, content, name
):
    _, response = register_over_http(app, document=(io.BytesIO(content), name))
    assert response.status_code == 400
    assert db.session.scalars(select(Case)).all() == []


@time_machine.travel(TODAY, tick=True)
def test_an_upload_over_the_size_limit_is_refused(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "INTAKE_DOCUMENT_MAX_BYTES", 50)
    _, response = register_over_http(app)
    assert response.status_code == 400
    assert db.session.scalars(select(Case)).all() == []


@time_machine.travel(TODAY, tick=True)
def test_the_student_is_found_only_by_student_number_and_date_of_birth_together(app, world):
    _, response = register_over_http(app, date_of_birth="2003-05-18")
    assert response.status_code == 400
    assert db.session.scalars(select(Case)).all() == []
    assert services.find_student("s1234567", date(2003, 5, 17)) == world["student"]
    assert services.find_student("s1234567", None) is None


@time_machine.travel(TODAY, tick=True)
def test_a_letter_without_its_document_is_refused_but_a_phone_call_needs_none(app, world):
    _, response = register_over_http(app, document=(io.BytesIO(b""), ""))
    assert response.status_code == 400
    _, response = register_over_http(app, channel="phone", document=(io.BytesIO(b""), ""))
    assert response.status_code == 302
    intake = db.session.scalars(select(CaseIntake)).one()
    assert intake.document_key is None and intake.case.channel is Channel.PHONE


@time_machine.travel(TODAY, tick=True)
def test_an_acknowledgement_for_post_is_a_pdf_letter_and_no_e_mail(app, world, smtp_sink):
    smtp_sink.clear()
    handler, response = register_over_http(
        app, acknowledge_by="post", postal_address="Dorpsstraat 1\n1234 AB Ergens"
    )
    assert response.status_code == 302
    case = db.session.scalars(select(Case)).one()
    assert smtp_sink.to("sanne@uni.example") == []
    pdf = handler.get(f"/staff/intake/{case.reference}/acknowledgement.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert case.reference in text and "Dorpsstraat 1" in text
    assert "intake.acknowledgement_printed" in set(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case.id))
    )


@time_machine.travel(TODAY, tick=True)
def test_post_needs_an_address(app, world):
    _, response = register_over_http(app, acknowledge_by="post", postal_address=" ")
    assert response.status_code == 400
    assert db.session.scalars(select(Case)).all() == []


@time_machine.travel(TODAY, tick=True)
def test_only_case_handlers_register_requests(app, world):
    student = app.test_client()
    login(student, "sanne@uni.example")
    assert student.get("/staff/intake/new").status_code == 403


@time_machine.travel(TODAY, tick=True)
def test_an_objection_by_letter_needs_its_exam(app, world):
    _, response = register_over_http(app, case_type="objection")
    assert response.status_code == 400
    assert db.session.scalars(select(Case)).all() == []


@time_machine.travel(TODAY, tick=True)
def test_the_cli_registers_an_e_mail_with_its_eml_file(app, world, tmp_path, smtp_sink):
    eml = tmp_path / "verzoek.eml"
    eml.write_bytes(EML)
    result = CliRunner().invoke(
        app.cli,
        [
            "intake",
            "register",
            "--by",
            "handler@uni.example",
            "--channel",
            "email",
            "--received-on",
            "2026-11-23",
            "--student-number",
            "s1234567",
            "--date-of-birth",
            "2003-05-17",
            "--type",
            "access",
            "--text",
            "Ik wil graag mijn opnames inzien.",
            "--document",
            str(eml),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    intake = db.session.scalars(select(CaseIntake)).one()
    assert intake.document_type == "message/rfc822"
    assert intake.case.reference in result.output and "2026-12-23" in result.output
    stored = recordings_storage().open(intake.document_key, intake.document_sha256).read()
    assert stored == EML


def test_the_cli_refuses_someone_who_is_not_a_case_handler(app, world):
    result = CliRunner().invoke(
        app.cli,
        [
            "intake",
            "register",
            "--by",
            "sanne@uni.example",
            "--channel",
            "letter",
            "--received-on",
            "2026-11-23",
            "--student-number",
            "s1234567",
            "--date-of-birth",
            "2003-05-17",
            "--type",
            "access",
        ],
    )
    assert result.exit_code != 0 and "not a case handler" in result.output


def test_the_service_refuses_a_channel_that_is_not_outside_the_portal(app, world):
    with pytest.raises(RuleViolation):
        services.register_request(
            actor=world["handler"],
            channel=Channel.PORTAL,
            received_on=date(2026, 11, 23),
            case_type=CaseType.ACCESS,
            description="",
            student=world["student"],
            document=None,
            acknowledge_by=AcknowledgeBy.EMAIL,
        )


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PDF, "application/pdf"),
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0....JFIF", "image/jpeg"),
        (b"II*\x00....", "image/tiff"),
        (EML, "message/rfc822"),
        (EML.replace(b"\r\n", b"\n"), "message/rfc822"),
        (b"Subject: no sender\n\nbody", None),
        (b"GIF89a....", None),
        (b"", None),
    ],
)
def test_the_document_type_is_decided_by_its_first_bytes(head, expected):
    stream = io.BytesIO(head)
    assert sniff(stream) == expected
    assert stream.tell() == 0


def registered(world, received_on: date, *, exam=None) -> CaseIntake:
    intake = services.register_request(
        actor=world["handler"],
        channel=Channel.LETTER,
        received_on=received_on,
        case_type=CaseType.ACCESS,
        description="a letter",
        student=world["student"],
        document=services.Upload(io.BytesIO(PDF), "brief.pdf"),
        acknowledge_by=AcknowledgeBy.EMAIL,
        today=date(2026, 12, 2),
    )
    commit()
    return intake


def test_the_letter_is_kept_like_a_recording_and_purged_once_the_case_is_closed(app, world):
    # R25 through R1: 90 days after receipt (the default retention of recordings), and never
    # while the case is open.
    intake = registered(world, date(2026, 11, 23))
    assert intake.retention_until == date(2027, 2, 21)
    store = recordings_storage()
    key = intake.document_key

    purge(date(2027, 3, 1), store=store)  # past the date, but the case is still open
    db.session.expire_all()
    assert intake.document_deleted_at is None and store.exists(key)

    case_services.withdraw(intake.case, actor=world["student"])
    commit()
    purge(date(2027, 2, 21), store=store)  # on the date itself: still kept
    db.session.expire_all()
    assert store.exists(key)

    result = purge(date(2027, 2, 22), store=store)
    db.session.expire_all()
    assert result.intake_documents == [intake.id]
    assert intake.document_deleted_at is not None and not store.exists(key)
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "intake.document_deleted")
    ).one()
    assert event.case_id == intake.case_id and event.after["sha256"] == intake.document_sha256
    assert purge(date(2027, 2, 23), store=store).intake_documents == []  # deleted once

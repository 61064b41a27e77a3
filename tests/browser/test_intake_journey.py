"""R1 in a real browser: a handler registers a letter; the requester receives the acknowledgement.

The handler opens "Register a request" from the navigation, enters the letter with its original
date of receipt (a week ago), finds the student by student number and date of birth, uploads the
scan and sends the form from the keyboard. The case page shows the receipt date, who registered
it and the letter; the student gets the acknowledgement by e-mail, with the due date counted
from the letter's date, and finds the request under "My requests". A second journey registers
the letter of a parent without an account writing for a child under 16 (R1, R20): the parent
gets the acknowledgement at their own address, the child nothing, and the case page shows the
requester, how they are answered and that their identity is still to be checked (R21, R22).
Every page is axe-checked.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from rights_portal.accounts.models import Role
from rights_portal.cases.models import Case, Channel
from rights_portal.clock import today_local
from rights_portal.extensions import db
from rights_portal.formatting import format_day
from tests.factories import PASSWORD, ProgrammeFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.browser]

SCAN = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_handler_registers_a_letter_and_the_student_receives_the_acknowledgement(
    app_ctx, open_journey, smtp_sink, lang
):
    programme = ProgrammeFactory(code="PSY", name="Psychology")
    student = UserFactory(
        email=f"noor-{lang}@uni.example",
        full_name="Noor Bakker",
        programme_id=programme.id,
        student_number=f"s77{lang}001",
        date_of_birth=date(2002, 3, 14),
        locale=lang,
    )
    handler_user = UserFactory(
        email=f"intake-{lang}@uni.example", role=Role.CASE_HANDLER, locale=lang
    )
    db.session.commit()
    smtp_sink.clear()
    received = today_local() - timedelta(days=7)

    handler = open_journey("1-handler", lang)
    page = handler.page
    handler.login(handler_user.email, PASSWORD)
    handler.nav("/staff/intake/new")
    handler.check("register form")
    page.check("input[name=channel][value=letter]")
    page.fill("#received_on", received.isoformat())
    page.fill("#student_number", student.student_number)
    page.fill("#date_of_birth", "2002-03-14")
    page.select_option("#case_type", "access")
    page.fill("#description", "Ik wil alle opnames van mijn tentamens van dit jaar zien.")
    page.set_input_files(
        "#document", files=[{"name": "brief.pdf", "mimeType": "application/pdf", "buffer": SCAN}]
    )
    page.check("input[name=acknowledge_by][value=email]")
    handler.submit()
    handler.check("registered case")

    db.session.expire_all()
    case = db.session.scalars(select(Case).where(Case.subject_id == student.id)).one()
    assert case.channel is Channel.LETTER and case.received_on == received
    assert page.url.endswith(f"/staff/cases/{case.reference}")
    assert "brief.pdf" in handler.text()

    # The student receives the acknowledgement, with the due date counted from the letter.
    [mail] = smtp_sink.to(student.email)
    body = mail.get_payload(decode=True).decode()
    assert case.reference in body
    with force_locale(lang):
        assert format_day(case.effective_due) in body  # the one date format of the language

    reader = open_journey("2-student", lang)
    reader.login(student.email, PASSWORD)
    reader.check("my requests")
    assert case.reference in reader.text()


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_handler_registers_a_parents_letter_and_the_parent_without_an_account_is_answered(
    app_ctx, open_journey, smtp_sink, lang
):
    programme = ProgrammeFactory(code="INF", name="Informatica")
    today = today_local()
    child = UserFactory(
        email=f"child-{lang}@uni.example",
        full_name="Noor Jansen",
        programme_id=programme.id,
        student_number=f"s88{lang}001",
        date_of_birth=date(today.year - 14, 1, 10),  # 14: her parent acts (R20)
        locale=lang,
    )
    handler_user = UserFactory(
        email=f"intake-parent-{lang}@uni.example", role=Role.CASE_HANDLER, locale=lang
    )
    db.session.commit()
    smtp_sink.clear()
    received = today - timedelta(days=3)
    parent_email = f"marieke-{lang}@home.example"

    handler = open_journey("3-handler-parent", lang)
    page = handler.page
    handler.login(handler_user.email, PASSWORD)
    handler.nav("/staff/intake/new")
    page.check("input[name=channel][value=letter]")
    page.fill("#received_on", received.isoformat())
    page.fill("#student_number", child.student_number)
    page.fill("#date_of_birth", child.date_of_birth.isoformat())
    page.check("input[name=requester][value=external]")
    page.fill("#requester_name", "Marieke Jansen")
    page.check("input[name=requester_relation][value=legal_representative]")
    page.fill("#requester_email", parent_email)
    page.select_option("#requester_locale", lang)
    page.select_option("#case_type", "access")
    page.fill("#description", "Namens mijn dochter Noor vraag ik inzage in haar opnames.")
    page.set_input_files(
        "#document", files=[{"name": "brief.pdf", "mimeType": "application/pdf", "buffer": SCAN}]
    )
    page.check("input[name=acknowledge_by][value=email]")
    handler.check("register form, requester without an account")
    handler.submit()
    handler.check("registered case of a requester without an account")

    db.session.expire_all()
    case = db.session.scalars(select(Case).where(Case.subject_id == child.id)).one()
    assert page.url.endswith(f"/staff/cases/{case.reference}")
    text = handler.text()
    assert "Marieke Jansen" in text and parent_email in text

    # The parent receives the acknowledgement at their own address; the child receives nothing.
    [mail] = smtp_sink.to(parent_email)
    body = mail.get_payload(decode=True).decode()
    assert case.reference in body and "/my/cases" not in body
    with force_locale(lang):
        assert format_day(case.effective_due) in body
    assert smtp_sink.to(child.email) == []

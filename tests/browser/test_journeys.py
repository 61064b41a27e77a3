"""The portal's journeys in a real browser, in Dutch and in English, with axe-core on every page.

A student files an access request, an objection (after reading the exam's privacy notice) and an
alternative-exam request; a case handler decides the access request; an exam-board member decides
the objection; the student reads both decisions. A verified guardian files for a child under 16
(R20, R21). Forms are submitted from the keyboard; each step is screenshotted under
``tests/artifacts/browser/`` and must have zero WCAG 2.1 A/AA violations according to axe-core.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from rights_portal.accounts.models import Role
from rights_portal.cases.models import Case, CaseStatus, CaseType, Outcome
from rights_portal.exams.models import ToolKind
from rights_portal.extensions import db
from rights_portal.register import entries as register_entries
from tests.browser.conftest import AXE
from tests.factories import PASSWORD, ExamFactory, ProgrammeFactory, UserFactory, board_member
from tests.factories import guardian_link as make_guardian_link
from tests.test_register import complete_facts

pytestmark = [pytest.mark.postgres, pytest.mark.browser]

LANGUAGES = ["nl", "en"]
WORDS = {
    "nl": {"my_requests": "Mijn verzoeken", "decision": "Besluit", "privacy": "Privacy bij"},
    "en": {"my_requests": "My requests", "decision": "Decision", "privacy": "Privacy at"},
}

# What staff write in the register is in the institution's own language; here, the journey's.
STAFF_TEXT = {
    "nl": {
        "purpose": "Toezicht bij tentamens op afstand, om fraude te voorkomen en te ontdekken.",
        "intrusion_limits": "Alleen camera en scherm. Geen volgen van je ogen.",
        "privacy_notice": "Tijdens het tentamen nemen we je camera en je scherm op.",
    },
    "en": {},
}


def build_world(lang: str) -> dict[str, Any]:
    programme = ProgrammeFactory(code="PSY", name="BSc Psychologie")
    tool = register_entries.create_entry(
        name="ProctorCam",
        kind=ToolKind.PROCTORING,
        facts=complete_facts(
            data_categories=["camera video", "screen recording", "audio", "room scan"],
            **STAFF_TEXT[lang],
        ),
        actor=None,
    )
    exam = ExamFactory(
        programme=programme,
        course_code="PSY-1010",
        title="Inleiding Statistiek",
        proctoring_tool=tool,
        starts_at=datetime.now(UTC) + timedelta(days=30),
    )
    handler = UserFactory(
        email="handler@uni.example", full_name="Pieter van Dijk", role=Role.CASE_HANDLER
    )
    people = {
        "student": UserFactory(
            email="student@uni.example",
            full_name="Sanne de Vries",
            programme_id=programme.id,
            date_of_birth=date(2004, 5, 17),
        ),
        "child": UserFactory(
            email="child@uni.example",
            full_name="Noor Jansen",
            programme_id=programme.id,
            date_of_birth=date.today().replace(year=date.today().year - 13),
        ),
        "guardian": UserFactory(
            email="guardian@home.example", full_name="Marieke Jansen", role=Role.GUARDIAN
        ),
        "handler": handler,
        "board": board_member(programme, email="board@uni.example", full_name="Fatima El Amrani"),
    }
    for person in people.values():
        person.locale = lang
    make_guardian_link(people["guardian"], people["child"], verifier=handler)
    db.session.commit()
    return {"exam": exam, **people}


def case_of(reference: str) -> Case:
    db.session.expire_all()
    return db.session.scalars(select(Case).where(Case.reference == reference)).one()


def file_from_my_requests(journey: Any, kind: CaseType, description: str) -> str:
    """Open a filing form from "My requests", fill the description, send; the new reference."""
    journey.go("/my/cases")
    journey.page.locator(f"a[href$='/my/cases/new/{kind.value}']").click()
    journey.check(f"{kind.value} form")
    journey.page.fill("#description", description)
    journey.submit()
    journey.check(f"{kind.value} filed")
    return journey.page.url.rsplit("/", 1)[-1]


def decide(journey: Any, reference: str, user_id: int, outcome: Outcome, reasons: str) -> None:
    """Assign the case to oneself and decide it, from the staff case page."""
    journey.go(f"/staff/cases/{reference}")
    journey.check(f"case {reference}")
    journey.page.select_option("#assignee_id", str(user_id))
    journey.submit("form[action$='/assign']")
    journey.check(f"assigned {reference}")
    journey.page.check(f"input[name=outcome][value={outcome.value}]")
    journey.page.fill("#reasons", reasons)
    journey.submit("form[action$='/decide']")
    journey.check(f"decided {reference}")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_student_files_three_requests_staff_decide_and_the_student_reads_the_decisions(
    app_ctx, open_journey, lang
):
    world = build_world(lang)
    words = WORDS[lang]
    exam = world["exam"]
    student = open_journey("1-student", lang)
    page = student.page

    # Keyboard first: the skip link is the first thing Tab reaches, and it is visible then.
    student.go("/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator(".skip-link").is_visible()
    student.login(world["student"].email, PASSWORD)
    assert page.get_attribute("html", "lang") == lang
    student.check("my requests")
    assert words["my_requests"] in page.inner_text("h1")

    access_ref = file_from_my_requests(student, CaseType.ACCESS, "All recordings of my exams.")

    # The objection form links the exam's privacy notice; its objection button files for that exam.
    student.go("/my/cases")
    page.locator("a[href$='/my/cases/new/objection']").click()
    student.check("objection form")
    page.locator(f"a[href$='/my/exams/{exam.id}/privacy']").first.click()
    student.check("privacy notice")
    assert words["privacy"] in page.inner_text("h1")
    assert "ProctorCam B.V." in student.text()
    page.locator(f"a[href*='/my/cases/new/objection?exam={exam.id}']").click()
    assert page.input_value("#exam_id") == str(exam.id)
    page.fill("#description", "Being filmed in my bedroom is too intrusive.")
    student.submit()
    student.check("objection filed")
    objection_ref = page.url.rsplit("/", 1)[-1]
    assert page.locator(".status-timeline [aria-current=step]").count() == 1

    # An alternative exam: sending the empty form shows the errors, linked to their fields.
    student.go("/my/cases")
    page.locator("a[href$='/my/cases/new/alternative_exam']").click()
    student.submit()
    student.check("alternative errors")
    assert page.locator(".error-summary a[href='#exam_id']").count() == 1
    page.select_option("#exam_id", str(exam.id))
    page.fill("#description", "I have no quiet room at home.")
    student.submit()
    student.check("alternative filed")
    assert case_of(page.url.rsplit("/", 1)[-1]).case_type is CaseType.ALTERNATIVE_EXAM

    handler = open_journey("2-handler", lang)
    handler.login(world["handler"].email, PASSWORD)
    handler.check("queue")
    decide(handler, access_ref, world["handler"].id, Outcome.GRANTED, "You receive everything.")
    assert case_of(access_ref).status is CaseStatus.DECIDED

    board = open_journey("3-exam-board", lang)
    board.login(world["board"].email, PASSWORD)
    board.check("queue")
    decide(board, objection_ref, world["board"].id, Outcome.GRANTED, "You take it on campus.")
    assert case_of(objection_ref).outcome is Outcome.GRANTED

    student.go("/my/cases")
    student.check("my requests after the decisions")
    for reference in (access_ref, objection_ref):
        student.go("/my/cases")
        page.locator(f"a[href$='/my/cases/{reference}']").click()
        student.check(f"decision {reference}")
        assert words["decision"] in page.inner_text("#decision-heading")
    student.logout()
    student.check("logged out")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_verified_guardian_reads_the_privacy_notice_and_objects_for_a_child(
    app_ctx, open_journey, lang
):
    world = build_world(lang)
    exam = world["exam"]
    guardian = open_journey("guardian", lang)
    page = guardian.page
    guardian.login(world["guardian"].email, PASSWORD)
    assert page.get_attribute("html", "lang") == lang
    guardian.check("my requests")
    guardian.go("/my/children")
    guardian.check("my children")
    page.locator("a[href*='/cases/new/objection']").first.click()
    guardian.check("objection form for the child")
    page.locator(f"a[href$='/my/exams/{exam.id}/privacy']").first.click()
    guardian.check("privacy notice")
    assert "Noor Jansen" in guardian.text()
    page.locator(f"a[href*='/cases/new/objection?exam={exam.id}']").click()
    assert page.input_value("#exam_id") == str(exam.id)
    page.fill("#description", "My child may not be filmed at home.")
    guardian.submit()
    guardian.check("objection filed")
    case = case_of(page.url.rsplit("/", 1)[-1])
    assert case.subject_id == world["child"].id
    assert case.filed_by_id == world["guardian"].id


def test_the_axe_check_does_find_violations_on_a_page_that_has_them(open_journey):
    """The journeys' zero is meaningful: the same check reports an image without text."""
    journey = open_journey("axe-self-check", "en")
    journey.tally = False
    journey.page.set_content('<html><body><main><img src="x.png"></main></body></html>')
    journey.page.add_script_tag(path=str(AXE))
    with pytest.raises(AssertionError, match="image-alt"):
        journey.check("a page with an unlabelled image")

"""Every role's pages in a real browser, in Dutch and in English: words, not codes; axe clean.

Each role logs in and walks every page its header offers, plus the pages behind them (a case,
the access workspace, the package's status page, a flag, a guardian link, a tool). On every page:
axe-core finds no WCAG 2.1 A/AA violation, no word is shaped like a stored code (``case.viewed``,
``gaze_away``), and on a Dutch page no text is English from the catalogue
(``tests/browser/page_text.py``). The package status page follows its build with the script from
``static/`` (no meta refresh), and a stuck build offers staff a retry. The staff header is
screenshotted at 1280 and 375 px; the folder is printed.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from rights_portal.access import filing as access_filing
from rights_portal.access import importer
from rights_portal.access import lifecycle as access_lifecycle
from rights_portal.access.models import AccessPackage, PackageStatus
from rights_portal.accounts.models import GuardianBasis, GuardianLink, LinkStatus, Role
from rights_portal.audit.models import AuditEvent
from rights_portal.breaches import services as breaches
from rights_portal.cases import services as case_services
from rights_portal.cases.models import CaseType, MessageKind
from rights_portal.exams.models import AutomatedFlag, ToolKind
from rights_portal.extensions import db
from rights_portal.register import entries as register
from rights_portal.transactions import commit
from tests.access_support import standard_files, standard_rows, write_export
from tests.browser.conftest import ARTIFACTS, Journey
from tests.browser.page_text import COLLECT_TEXT, english_in_dutch, raw_codes
from tests.factories import PASSWORD, ExamFactory, ProgrammeFactory, UserFactory, board_member
from tests.factories import guardian_link as make_guardian_link
from tests.test_register import complete_facts

pytestmark = [pytest.mark.postgres, pytest.mark.browser]

# What staff type is in the institution's language: Dutch in the Dutch walk.
DUTCH_FACTS = {
    "purpose": "Toezicht bij tentamens op afstand, om fraude te voorkomen.",
    "necessity": "Studenten in het buitenland kunnen het tentamen op afstand maken.",
    "alternatives_considered": "Een essay en een mondeling tentamen zijn overwogen.",
    "intrusion_limits": "Alleen camera en scherm, geen volgen van de ogen.",
    "legal_basis_explanation": "Artikel 7.12b WHW.",
    "data_categories": ["camera video", "screen recording", "audio", "room scan"],
    "sub_processors": ["EuroCloud GmbH (Duitsland)"],
    "dpia_outcome": "Aanvaardbaar met de genomen maatregelen.",
    "dpo_advice_summary": "Positief, onder voorwaarden.",
    "stakeholders_consulted": "Studentenraad op 20 januari 2026.",
    "privacy_notice": "Tijdens het tentamen nemen we je camera en je scherm op.",
    "incident_procedure": "Meld datalekken binnen 24 uur bij het privacyloket.",
}


def build_world(lang: str, tmp: Path) -> dict[str, Any]:
    programme = ProgrammeFactory(code="PSY", name="Psychologie" if lang == "nl" else "Psychology")
    tool = register.create_entry(
        name="ProctorCam",
        kind=ToolKind.PROCTORING,
        facts=complete_facts(**(DUTCH_FACTS if lang == "nl" else {})),
        actor=None,
    )
    exam = ExamFactory(
        programme=programme,
        course_code="PSY-101",
        title="Statistiek" if lang == "nl" else "Statistics",
        proctoring_tool=tool,
        starts_at=datetime.now(UTC) + timedelta(days=30),
    )
    people = {
        "student": UserFactory(
            email="student@uni.example",
            full_name="Sanne de Vries",
            programme_id=programme.id,
            student_number="s1234567",
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
        "handler": UserFactory(
            email="handler@uni.example", full_name="Pieter van Dijk", role=Role.CASE_HANDLER
        ),
        "board": board_member(programme, email="board@uni.example", full_name="Fatima El Amrani"),
        "dpo": UserFactory(email="dpo@uni.example", full_name="Dirk de Wit", role=Role.DPO),
        "admin": UserFactory(email="admin@uni.example", full_name="Ada Admin", role=Role.ADMIN),
    }
    for person in people.values():
        person.locale = lang
    make_guardian_link(people["guardian"], people["child"], verifier=people["handler"])
    pending = GuardianLink(
        guardian_id=people["guardian"].id,
        student_id=None,
        claimed_student_number="s0000001",
        claimed_date_of_birth=date.today().replace(year=date.today().year - 12),
        basis=GuardianBasis.PARENTAL_AUTHORITY,
        status=LinkStatus.PENDING,
        requested_at=datetime.now(UTC),
    )
    db.session.add(pending)
    rows = standard_rows()
    if lang == "nl":
        rows[0]["flags"] = "second_voice@312: Een tweede stem is te horen; gaze_away@1400: Keek weg"
    importer.import_export(write_export(tmp / "export", standard_files(), rows), actor=None)
    student = people["student"]
    access = access_filing.file_access_request(
        subject=student, filed_by=student, description="Alle opnames.", all_data=True
    )
    case_services.assign(access, people["handler"], actor=people["handler"])
    case_services.ask_requester(
        access,
        actor=people["handler"],
        kind=MessageKind.QUESTION_CLARIFICATION,
        question="Welk tentamen bedoel je?" if lang == "nl" else "Which exam do you mean?",
        notify=False,
    )
    flag = db.session.scalars(select(AutomatedFlag).order_by(AutomatedFlag.id)).first()
    review = case_services.file_case(
        case_type=CaseType.HUMAN_REVIEW,
        subject=student,
        filed_by=student,
        description="Ik keek naar mijn aantekeningen op papier, dat mocht.",
        exam=exam,
        flag_id=flag.id,
    )
    objection = case_services.file_case(
        case_type=CaseType.OBJECTION,
        subject=student,
        filed_by=student,
        description="Filmen in mijn slaapkamer gaat te ver.",
        exam=exam,
    )
    breach = breaches.report_breach(
        reporter=people["dpo"],
        description="Een opname is naar de verkeerde student gestuurd.",
        discovered_at=datetime.now(UTC) - timedelta(hours=3),
        data_categories="camerabeelden",
        data_subjects="1 student",
    )
    commit()
    return {
        "exam": exam,
        "tool": tool,
        "flag": flag,
        "access": access,
        "review": review,
        "objection": objection,
        "breach": breach,
        "pending_link": pending,
        **people,
    }


def read_page(journey: Journey, name: str, lang: str) -> None:
    """Axe, screenshot, and the text checks: no raw code; in Dutch, no English."""
    journey.check(name)
    texts = journey.page.evaluate(COLLECT_TEXT)
    where = f"{journey.folder.name}/{name} ({journey.page.url})"
    codes = raw_codes(texts)
    assert not codes, f"raw codes on {where}: {codes}"
    if lang == "nl":
        # "English" is the name of the language switch's other language, written in it.
        english = english_in_dutch(texts, allowed=frozenset({"english"}))
        assert not english, f"English on the Dutch page {where}: {english}"


def walk(journey: Journey, lang: str, extra: list[tuple[str, str]]) -> list[str]:
    """Every page the header offers, then ``extra`` (name, path); the paths visited."""
    page = journey.page
    hrefs = page.eval_on_selector_all(
        "header nav a[href]", "links => links.map(a => a.getAttribute('href'))"
    )
    visited = []
    for href in dict.fromkeys(hrefs):
        journey.go(href)
        read_page(journey, href.strip("/").replace("/", " ") or "home", lang)
        visited.append(href)
    for name, path in extra:
        journey.go(path)
        read_page(journey, name, lang)
        visited.append(path)
    return visited


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_role_reads_words_not_codes_on_every_page(app_ctx, open_journey, tmp_path, lang):
    world = build_world(lang, tmp_path)
    access, review, objection = world["access"], world["review"], world["objection"]

    visitor = open_journey("0-visitor", lang)
    for name, path in [
        ("login", "/login"),
        ("register", "/register"),
        ("forgot password", "/password/forgot"),
        ("page not found", "/this-page-does-not-exist"),
    ]:
        visitor.go(path) if name != "page not found" else visitor.page.goto(visitor.base_url + path)
        read_page(visitor, name, lang)

    student = open_journey("1-student", lang)
    student.login(world["student"].email, PASSWORD)
    walk(
        student,
        lang,
        [
            ("access case", f"/my/cases/{access.reference}"),
            ("review case", f"/my/cases/{review.reference}"),
            ("file access", "/my/cases/new/access"),
            ("file human review", "/my/cases/new/human_review"),
            ("privacy notice", f"/my/exams/{world['exam'].id}/privacy"),
            ("account security", "/account/security"),
            ("another's case is not found", "/my/cases/NOPE-2026-1"),
        ],
    )

    guardian = open_journey("2-guardian", lang)
    guardian.login(world["guardian"].email, PASSWORD)
    walk(guardian, lang, [("ask for a link", "/my/children/new")])
    # R20 at once: a child of 16 or older is refused with the reason, on the form.
    guardian.page.fill("#student_number", "s7777777")
    guardian.page.fill("#date_of_birth", date(date.today().year - 17, 3, 1).isoformat())
    guardian.page.check("input[name=basis][value=parental_authority]")
    guardian.submit()
    read_page(guardian, "link to an adult refused", lang)
    assert "16" in guardian.page.inner_text(".error-summary")

    handler = open_journey("3-handler", lang)
    handler.login(world["handler"].email, PASSWORD)
    package = access_lifecycle.request_build(access, actor=world["handler"])
    commit()  # queued, no task sent: as if no worker were running
    package_path = f"/staff/cases/{access.reference}/access/packages/{package.id}"
    walk(
        handler,
        lang,
        [
            ("case", f"/staff/cases/{access.reference}"),
            ("access workspace", f"/staff/cases/{access.reference}/access"),
            ("package status", package_path),
            ("guardian link", f"/staff/guardians/{world['pending_link'].id}"),
            ("tool", f"/staff/register/tools/{world['tool'].id}"),
            ("breach", f"/staff/breaches/{world['breach'].id}"),
        ],
    )
    follow_and_retry_the_build(handler, package, package_path, lang)

    board = open_journey("4-exam-board", lang)
    board.login(world["board"].email, PASSWORD)
    walk(
        board,
        lang,
        [
            ("human review", f"/staff/cases/{review.reference}"),
            ("objection", f"/staff/cases/{objection.reference}"),
            ("flag review", f"/staff/flags/{world['flag'].id}"),
            ("invigilation list", f"/staff/exams/{world['exam'].id}/alternatives"),
        ],
    )

    dpo = open_journey("5-dpo", lang)
    dpo.login(world["dpo"].email, PASSWORD)
    walk(dpo, lang, [("case", f"/staff/cases/{access.reference}")])

    admin = open_journey("6-admin", lang)
    admin.login(world["admin"].email, PASSWORD)
    walk(
        admin,
        lang,
        [
            ("administration", "/staff/admin"),
            ("student-information system", "/staff/integrations/ooapi"),
            ("vendor connectors", "/staff/integrations/vendors"),
            ("api clients", "/staff/api-clients"),
            ("webhooks", "/staff/webhooks"),
        ],
    )
    admin.logout()
    read_page(admin, "logged out", lang)


def follow_and_retry_the_build(journey: Journey, package: AccessPackage, path: str, lang: str):
    """The status page follows the build by script; a stuck build offers a retry, audited."""
    page = journey.page
    journey.go(path)
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    assert page.locator("script[src$='/static/package-status.js']").count() == 1
    assert not page.locator("#build-refresh").is_visible()  # the script took over
    db.session.execute(
        update(AccessPackage)
        .where(AccessPackage.id == package.id)
        .values(status=PackageStatus.BUILDING, progress=40, heartbeat_at=datetime.now(UTC))
    )
    db.session.commit()
    wait_until(lambda: page.evaluate("() => document.getElementById('build-progress').value") == 40)
    assert "40" in page.inner_text("#build-progress-text")
    read_page(journey, "package building 40", lang)

    db.session.execute(
        update(AccessPackage)
        .where(AccessPackage.id == package.id)
        .values(heartbeat_at=datetime.now(UTC) - timedelta(hours=1))
    )
    db.session.commit()
    page.wait_for_selector("form[action$='/retry'] button", timeout=15_000)  # reloaded itself
    read_page(journey, "package stuck", lang)
    journey.submit("form[action$='/retry']")
    read_page(journey, "package retried", lang)
    # The cover letter's preview is a sandboxed document (CSP sandbox, no script), so axe cannot
    # run in it; its contents are tested in tests/test_access_package.py.
    db.session.expire_all()
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "package.build_retried")
    ).one()


def wait_until(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the page did not follow the build"
        time.sleep(0.2)


def test_the_same_page_without_script_still_offers_a_way_to_see_progress(
    app_ctx, chromium, live_server, tmp_path
):
    world = build_world("en", tmp_path)
    package = access_lifecycle.request_build(world["access"], actor=world["handler"])
    commit()
    context = chromium.new_context(java_script_enabled=False, locale="en-GB")
    try:
        page = context.new_page()
        page.goto(live_server + "/login")
        page.fill("#email", world["handler"].email)
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.locator("main form.form button[type=submit]").click()
        page.goto(
            f"{live_server}/staff/cases/{world['access'].reference}/access/packages/{package.id}"
        )
        assert page.locator("#build-refresh").is_visible()
        # the header's menus are disclosure widgets: they open without script
        page.locator("header details.menu summary").first.click()
        assert page.locator("header details.menu[open] a").first.is_visible()
    finally:
        context.close()


def test_the_staff_header_fits_one_line_at_1280_and_works_at_375(
    app_ctx, open_journey, tmp_path, capsys
):
    world = build_world("nl", tmp_path)
    journey = open_journey("staff-header", "nl")
    journey.login(world["dpo"].email, PASSWORD)  # the DPO has the most pages
    page = journey.page
    folder = ARTIFACTS / "staff-header"
    folder.mkdir(parents=True, exist_ok=True)

    page.set_viewport_size({"width": 1280, "height": 800})
    tops = page.eval_on_selector_all(
        "header .nav > li, header .language-switch, header .brand",
        "items => items.map(i => Math.round(i.getBoundingClientRect().top))",
    )
    assert max(tops) - min(tops) <= 8, f"the header wraps at 1280 px: tops {tops}"
    page.locator("header").screenshot(path=str(folder / "staff-header-1280.png"))

    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, "sideways scrolling"
    page.locator("header").screenshot(path=str(folder / "staff-header-375.png"))
    # Keyboard: Tab reaches each menu, Enter opens it, its links are then visible.
    summaries = page.locator("header details.menu > summary")
    for index in range(summaries.count()):
        summary = summaries.nth(index)
        summary.focus()
        page.keyboard.press("Enter")
        assert summary.locator("xpath=..").locator("ul a, ul button").first.is_visible()
        page.keyboard.press("Enter")  # and closes it again
        assert not summary.locator("xpath=..").locator("ul a, ul button").first.is_visible()
    summaries.first.focus()
    page.keyboard.press("Enter")
    page.locator("header").screenshot(path=str(folder / "staff-header-375-menu-open.png"))
    read_page(journey, "header at 375 with a menu open", "nl")
    with capsys.disabled():
        print(f"\n[browser] staff header screenshots: {folder}")

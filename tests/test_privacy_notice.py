"""The privacy notice of a proctored exam, the case timeline and the due-date phrasing (issue 9).

The notice is generated from the current register facts of the exam's tool, with the staff's own
text on top, and offers a button for each right; who may read it is the permission layer's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from rights_portal.accounts.models import Role
from rights_portal.audit.models import AuditEvent
from rights_portal.cases import services as cases
from rights_portal.cases.deadlines import AMSTERDAM
from rights_portal.cases.models import CaseType
from rights_portal.exams.models import ToolKind
from rights_portal.extensions import db
from rights_portal.register import entries as register_entries
from tests.conftest import login
from tests.factories import ExamFactory, ProgrammeFactory, UserFactory, guardian_link
from tests.test_register import complete_facts

pytestmark = pytest.mark.postgres


@pytest.fixture
def world(app_ctx):
    programme = ProgrammeFactory(code="PSY")
    tool = register_entries.create_entry(
        name="ProctorCam",
        kind=ToolKind.PROCTORING,
        facts=complete_facts(
            data_categories=["camera video", "room scan", "keystroke dynamics"],
            outside_eea=True,
            transfer_safeguards="Standard contractual clauses.",
            retention_days=30,
            privacy_notice="Our own words: we only look when a warning comes up.",
        ),
        actor=None,
    )
    exam = ExamFactory(programme=programme, proctoring_tool=tool, title="Statistics")
    student = UserFactory(
        email="student@uni.example", programme_id=programme.id, date_of_birth=date(2004, 5, 1)
    )
    UserFactory(email="outsider@uni.example", programme_id=ProgrammeFactory().id)
    db.session.commit()
    return {"tool": tool, "exam": exam, "student": student, "programme": programme}


def privacy_page(client, exam_id):
    return client.get(f"/my/exams/{exam_id}/privacy")


def test_the_notice_says_what_is_recorded_why_by_whom_how_long_and_offers_each_right(
    app, client, world
):
    exam = world["exam"]
    login(client, "student@uni.example")
    response = privacy_page(client, exam.id)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    # The staff's own text comes first, then the generated facts.
    assert page.index("Our own words: we only look") < page.index("What is recorded?")
    assert "You on camera: your face and what is behind you." in page
    assert "A room scan: at the start you show your room with the camera." in page
    assert "keystroke dynamics" in page  # a category without plain words is shown as written
    assert "Surveillance of remote exams to prevent and detect fraud." in page
    assert "ProctorCam B.V." in page and "EuroCloud GmbH (Germany)" in page
    assert "outside Europe (outside the EEA)" in page
    assert "Standard contractual clauses." in page
    assert "We keep the recordings for 30 days after the exam." in page
    assert "A person from the exam board always looks at every warning." in page
    for kind in CaseType:
        assert f'href="/my/cases/new/{kind.value}?exam={exam.id}"' in page


def test_a_staff_edit_of_the_notice_text_shows_on_the_page(app, client, world):
    dpo = UserFactory(email="dpo@uni.example", role=Role.DPO)
    register_entries.save_version(
        world["tool"],
        complete_facts(privacy_notice="New text: recordings are deleted after 30 days."),
        actor=dpo,
        change_note="Clearer notice.",
    )
    db.session.commit()
    login(client, "student@uni.example")
    page = privacy_page(client, world["exam"].id).get_data(as_text=True)
    assert "New text: recordings are deleted after 30 days." in page
    assert "Our own words" not in page
    assert "version 2" in page


def test_others_get_404_and_a_verified_guardian_gets_a_button_per_child(app, world):
    exam = world["exam"]
    outsider = app.test_client()
    login(outsider, "outsider@uni.example")
    assert privacy_page(outsider, exam.id).status_code == 404
    unproctored = ExamFactory(programme=world["programme"], proctoring_tool=None)
    guardian = UserFactory(email="parent@home.example", role=Role.GUARDIAN)
    child = UserFactory(
        email="child@uni.example",
        full_name="Noor Jansen",
        programme_id=world["programme"].id,
        date_of_birth=date.today() - timedelta(days=13 * 365),
    )
    link = guardian_link(guardian, child)
    db.session.commit()
    student = app.test_client()
    login(student, "student@uni.example")
    assert privacy_page(student, unproctored.id).status_code == 404
    parent = app.test_client()
    login(parent, "parent@home.example")
    page = privacy_page(parent, exam.id).get_data(as_text=True)
    assert f'href="/my/children/{link.id}/cases/new/objection?exam={exam.id}"' in page
    assert "Noor Jansen" in page


def test_opening_the_notice_of_a_tool_that_predates_the_register_adopts_it_on_the_trail(
    app, client, world
):
    exam = ExamFactory(programme=world["programme"])  # its tool has no register version yet
    db.session.commit()
    login(client, "student@uni.example")
    assert privacy_page(client, exam.id).status_code == 200
    adopted = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "register.entry_adopted")
    ).all()
    assert [event.object_id for event in adopted] == [str(exam.proctoring_tool_id)]


def test_the_objection_form_links_the_notice_and_the_link_back_chooses_the_exam(app, client, world):
    exam = world["exam"]
    login(client, "student@uni.example")
    form = client.get("/my/cases/new/objection").get_data(as_text=True)
    assert f'href="/my/exams/{exam.id}/privacy"' in form
    chosen = client.get(f"/my/cases/new/objection?exam={exam.id}").get_data(as_text=True)
    assert f'<option selected value="{exam.id}">' in chosen


def test_the_case_page_shows_the_status_as_a_timeline_and_links_the_exam_notice(app, client, world):
    case = cases.file_case(
        case_type=CaseType.OBJECTION,
        subject=world["student"],
        filed_by=world["student"],
        description="No camera at home.",
        exam=world["exam"],
    )
    db.session.commit()
    login(client, "student@uni.example")
    page = client.get(f"/my/cases/{case.reference}").get_data(as_text=True)
    assert f'href="/my/exams/{world["exam"].id}/privacy"' in page
    timeline = page[page.index('class="status-timeline"') : page.index("</ol>")]
    assert timeline.count('aria-current="step"') == 1
    assert 'class="step step-now" aria-current="step">\n      <span class="step-name">Received' in (
        timeline
    )
    assert "Still to come" in timeline


def test_the_due_date_reads_as_working_days_left_with_the_date_in_dutch(app, client, world):
    world["student"].locale = "nl"
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=AMSTERDAM), tick=False):
        case = cases.file_case(
            case_type=CaseType.ACCESS,
            subject=world["student"],
            filed_by=world["student"],
            description="all recordings",
            received_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        )
        db.session.commit()
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=AMSTERDAM), tick=True):
        login(client, "student@uni.example")
        page = client.get("/my/cases").get_data(as_text=True)
    assert case.effective_due == date(2026, 12, 2)
    assert (
        "nog 7 werkdagen" in page
        and '(<time datetime="2026-12-02">2 december 2026</time>)' in page  # one date format
    )

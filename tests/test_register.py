"""The register of tools on PostgreSQL: the AP checklists, readiness, versions and reminders.

Issue 12: a tool missing a DPIA is not ready and an exam cannot use it without a DPO override; a
DPIA review due in 30 days reminds the DPO once; a changed retention period is a new version while
the old version's facts stay readable; the checklist view lists exactly the missing items.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from click.testing import CliRunner
from flask_babel import force_locale
from sqlalchemy import func, select

from rights_portal.accounts.models import Role
from rights_portal.audit.models import AuditEvent
from rights_portal.audit.verify import verify_chain
from rights_portal.cases.deadlines import AMSTERDAM
from rights_portal.exams.models import Exam, ProctoringTool, ToolKind
from rights_portal.extensions import db
from rights_portal.register import entries, exam_tools
from rights_portal.register import facts as register_facts
from rights_portal.register.checklist import ItemState
from rights_portal.register.models import (
    ExamToolOverride,
    LegalBasis,
    RegisterReminder,
    RegisterVersion,
    ReminderKind,
)
from rights_portal.register.reminders import sweep
from rights_portal.transactions import commit
from tests.conftest import login, post_form
from tests.factories import ExamFactory, ProctoringToolFactory, ProgrammeFactory, UserFactory

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=AMSTERDAM)  # a Monday
TODAY = date(2026, 11, 23)


@pytest.fixture(autouse=True)
def frozen_clock() -> Any:
    with time_machine.travel(NOW, tick=True):
        yield


def complete_facts(**overrides: Any) -> dict[str, Any]:
    """Facts that tick every box of the AP checklist as of TODAY."""
    facts: dict[str, Any] = {
        "purpose": "Surveillance of remote exams to prevent and detect fraud.",
        "necessity": "Students abroad can take the exam remotely.",
        "alternatives_considered": "An essay and an oral exam were considered.",
        "necessity_reviewed_on": date(2026, 9, 1),
        "intrusion_limits": "Camera only, no eye tracking.",
        "legal_basis": LegalBasis.PUBLIC_TASK,
        "legal_basis_explanation": "Art. 7.12b WHW.",
        "in_use_since": date(2026, 2, 1),
        "data_categories": ["camera video", "screen recording"],
        "vendor": "ProctorCam B.V.",
        "vendor_email": "privacy@proctorcam.example",
        "sub_processors": ["EuroCloud GmbH (Germany)"],
        "outside_eea": False,
        "transfer_safeguards": "",
        "retention_days": 90,
        "recording_rules": "",
        "dpia_on": date(2026, 1, 10),
        "dpia_outcome": "Acceptable with the measures taken.",
        "dpia_next_review_on": date(2027, 1, 10),
        "dpo_advice_on": date(2026, 1, 15),
        "dpo_advice_summary": "Positive, on conditions.",
        "stakeholders_consulted": "Student council on 2026-01-20.",
        "processor_agreement_on": date(2026, 1, 5),
        "processor_agreement_expires_on": date(2028, 1, 5),
        "policy_url": "https://uni.example/privacy/proctoring",
        "privacy_notice": "We record your camera and screen during the exam.",
        "incident_procedure": "Report breaches to the privacy office within 24 hours.",
    }
    facts.update(overrides)
    return facts


def form_data(facts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The register form's POST data for ``facts``."""
    data: dict[str, Any] = {}
    for name, value in facts.items():
        if isinstance(value, bool):
            if value:
                data[name] = "y"
        elif isinstance(value, list):
            data[name] = "\n".join(value)
        elif isinstance(value, date):
            data[name] = value.isoformat()
        elif value is None:
            data[name] = ""
        else:
            data[name] = str(value)
    data.update(extra)
    return data


@pytest.fixture
def world(app_ctx):
    programme = ProgrammeFactory(code="PSY", name="Psychology")
    people = {
        "programme": programme,
        "admin": UserFactory(email="admin@uni.example", role=Role.ADMIN, full_name="Ada Admin"),
        "dpo": UserFactory(email="dpo@uni.example", role=Role.DPO, full_name="Dirk DPO"),
        "handler": UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER),
        "student": UserFactory(email="sanne@uni.example", programme_id=programme.id),
    }
    db.session.commit()
    return people


def add_tool(world, name: str = "ProctorCam", kind=ToolKind.PROCTORING, **overrides: Any):
    tool = entries.create_entry(
        name=name, kind=kind, facts=complete_facts(**overrides), actor=world["admin"]
    )
    commit()
    return tool


def checklist_states(html: str, tool_id: int) -> dict[str, str]:
    """Item → state of one tool's checklist table on a page."""
    table = re.search(
        rf'<table class="table checklist" id="tool-{tool_id}-checklist">(.*?)</table>', html, re.S
    )
    assert table, f"no checklist for tool {tool_id}"
    return dict(re.findall(r'data-item="(\w+)" data-state="(\w+)"', table.group(1)))


# --- readiness and the checklist ------------------------------------------------------------


def test_a_complete_entry_is_ready(world):
    tool = add_tool(world)
    checklist = entries.checklist_for(tool)
    assert checklist.ready
    assert checklist.open_keys == []
    assert "recording_rules" not in [item.key for item in checklist.items]  # proctoring only


def test_a_tool_missing_a_dpia_is_not_ready_and_only_the_dpia_is_missing(world):
    tool = add_tool(world, dpia_on=None, dpia_outcome="", dpia_next_review_on=None)
    checklist = entries.checklist_for(tool)
    assert not checklist.ready
    assert checklist.open_keys == ["dpia"]
    [item] = checklist.open_items
    assert item.state is ItemState.MISSING
    with force_locale("en"):
        assert [str(p) for p in item.problems] == ["No DPIA is recorded."]


def test_the_checklist_view_lists_exactly_the_missing_items(app, world):
    ready = add_tool(world, "ProctorCam")
    lacking = add_tool(
        world,
        "CampusMeet",
        kind=ToolKind.VIDEO_CALL,
        dpia_on=None,
        dpia_outcome="",
        dpia_next_review_on=None,
        policy_url="",
        recording_rules="",
    )
    client = app.test_client()
    login(client, "handler@uni.example")  # every staff member reads the register
    response = client.get("/staff/register")
    assert response.status_code == 200
    html = response.get_data(as_text=True)

    states = checklist_states(html, lacking.id)
    assert {key for key, state in states.items() if state != "done"} == {
        "dpia",
        "policy",
        "recording_rules",
    }
    assert set(states) == {
        "purpose",
        "necessity",
        "intrusion",
        "legal_basis",
        "dpia",
        "dpo_advice",
        "stakeholders",
        "supplier",
        "policy",
        "informing",
        "rights_process",
        "incidents",
        "recording_rules",
    }
    summary = re.search(rf'id="tool-{lacking.id}-missing">(.*?)</div>', html, re.S)
    assert summary is not None
    assert re.findall(r'data-missing="(\w+)"', summary.group(1)) == [
        "dpia",
        "policy",
        "recording_rules",
    ]
    assert "No DPIA is recorded." in html
    assert "No policy document is linked." in html
    lacking_heading = re.search(rf'<h2 id="tool-{lacking.id}-heading">(.*?)</h2>', html, re.S)
    ready_heading = re.search(rf'<h2 id="tool-{ready.id}-heading">(.*?)</h2>', html, re.S)
    assert lacking_heading is not None and ready_heading is not None
    assert "Not ready" in lacking_heading.group(1)  # said in words, not by colour alone
    assert "Not ready" not in ready_heading.group(1) and "Ready" in ready_heading.group(1)
    assert set(checklist_states(html, ready.id).values()) == {"done"}
    assert f'id="tool-{ready.id}-missing"' not in html


def test_a_passed_dpia_review_date_makes_the_dpia_due_for_review(world):
    tool = add_tool(world, dpia_next_review_on=TODAY - timedelta(days=1))
    checklist = entries.checklist_for(tool)
    assert not checklist.ready
    [item] = checklist.open_items
    assert (item.key, item.state) == ("dpia", ItemState.DUE_FOR_REVIEW)


def test_dpo_advice_dated_after_the_first_exam_does_not_count(world):
    tool = add_tool(world, in_use_since=None, dpo_advice_on=date(2026, 3, 2))
    ExamFactory(
        programme=world["programme"],
        proctoring_tool=tool,
        starts_at=datetime(2026, 3, 2, 9, tzinfo=AMSTERDAM),
    )
    db.session.commit()
    checklist = entries.checklist_for(tool)
    assert checklist.open_keys == ["dpo_advice"]
    with force_locale("en"):
        problem = str(checklist.open_items[0].problems[0])
    assert "informing the DPO afterwards is not enough" in problem
    assert "2 March 2026" in problem  # the one date format


def test_an_expired_processor_agreement_or_unprotected_transfer_is_missing(world):
    tool = add_tool(
        world,
        processor_agreement_expires_on=TODAY - timedelta(days=1),
        outside_eea=True,
        transfer_safeguards="",
    )
    [item] = entries.checklist_for(tool).open_items
    assert item.key == "supplier"
    assert len(item.problems) == 2


def test_recording_rules_are_checked_for_video_calls_only(world):
    call = add_tool(world, "CampusMeet", kind=ToolKind.VIDEO_CALL, recording_rules="")
    assert entries.checklist_for(call).open_keys == ["recording_rules"]
    proctor = add_tool(world, "ProctorCam", recording_rules="")
    assert entries.checklist_for(proctor).ready


# --- exams and the DPO override -------------------------------------------------------------


def exam_form(world, tool_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "course_code": "PSY-101",
        "title": "Statistics",
        "programme_id": world["programme"].id,
        "starts_at": "2026-12-14T09:00",
        "tool_id": tool_id,
        "override_dpo_id": 0,
        "override_decided_on": "",
        "override_reason": "",
        **extra,
    }


def test_an_exam_cannot_use_a_tool_without_a_dpia_unless_the_dpo_overrides(app, world, smtp_sink):
    tool = add_tool(world, dpia_on=None, dpia_outcome="", dpia_next_review_on=None)
    admin = app.test_client()
    login(admin, "admin@uni.example")

    refused = post_form(admin, "/staff/exams/new", exam_form(world, tool.id))
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "ProctorCam is not ready" in text
    assert "DPIA carried out" in text
    assert db.session.scalar(select(func.count(Exam.id))) == 0

    incomplete = post_form(
        admin, "/staff/exams/new", exam_form(world, tool.id, override_dpo_id=world["dpo"].id)
    )
    assert incomplete.status_code == 400
    assert db.session.scalar(select(func.count(Exam.id))) == 0

    smtp_sink.clear()
    allowed = post_form(
        admin,
        "/staff/exams/new",
        exam_form(
            world,
            tool.id,
            override_dpo_id=world["dpo"].id,
            override_decided_on="2026-11-20",
            override_reason="DPIA is being finalised; no other way to hold the resit in time.",
        ),
    )
    assert allowed.status_code == 302, allowed.get_data(as_text=True)[:2000]
    exam = db.session.scalars(select(Exam)).one()
    assert exam.proctoring_tool_id == tool.id
    assert exam.starts_at == datetime(2026, 12, 14, 9, tzinfo=AMSTERDAM)
    override = db.session.scalars(select(ExamToolOverride)).one()
    assert (override.exam_id, override.tool_id, override.dpo_id) == (
        exam.id,
        tool.id,
        world["dpo"].id,
    )
    assert override.decided_on == date(2026, 11, 20)
    assert override.missing_items == ["dpia"]
    assert override.register_version == 1
    assert override.recorded_by_id == world["admin"].id
    actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-2:] == ["exam.created", "exam.tool_override"]
    [mail] = smtp_sink.to("dpo@uni.example")  # the DPO learns of a decision in their name
    assert "override" in str(mail["Subject"])


def test_an_exam_can_use_a_ready_tool_without_an_override(app, world):
    tool = add_tool(world)
    admin = app.test_client()
    login(admin, "admin@uni.example")
    response = post_form(admin, "/staff/exams/new", exam_form(world, tool.id))
    assert response.status_code == 302
    assert db.session.scalars(select(Exam.proctoring_tool_id)).one() == tool.id
    assert db.session.scalar(select(func.count(ExamToolOverride.id))) == 0


def test_an_override_must_come_from_a_dpo(world):
    tool = add_tool(world, dpia_on=None, dpia_outcome="", dpia_next_review_on=None)
    from rights_portal.errors import RuleViolation

    with (
        force_locale("en"),
        pytest.raises(RuleViolation, match="must be given by a data protection"),
    ):
        exam_tools.save_exam(
            None,
            course_code="PSY-1",
            title="Stats",
            programme=world["programme"],
            starts_at=datetime(2026, 12, 14, 9, tzinfo=AMSTERDAM),
            tool=tool,
            actor=world["admin"],
            override=exam_tools.OverrideRequest(world["handler"], TODAY, "because"),
        )
    db.session.rollback()
    assert db.session.scalar(select(func.count(Exam.id))) == 0


def test_an_exam_already_linked_keeps_its_tool_when_its_title_changes(app, world):
    tool = add_tool(world)
    exam = ExamFactory(programme=world["programme"], proctoring_tool=tool)
    db.session.commit()
    entries.save_version(
        tool, complete_facts(dpia_on=None, dpia_outcome="", dpia_next_review_on=None), actor=None
    )
    commit()
    admin = app.test_client()
    login(admin, "admin@uni.example")
    page = admin.get(f"/staff/exams/{exam.id}/edit")
    assert page.status_code == 200
    response = post_form(
        admin,
        f"/staff/exams/{exam.id}/edit",
        exam_form(world, tool.id, course_code=exam.course_code, title="Statistics (resit)"),
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Exam, exam.id).title == "Statistics (resit)"
    assert "exam.updated" in set(db.session.scalars(select(AuditEvent.action)))


def test_only_the_admin_manages_exams(app, world):
    for email in ("dpo@uni.example", "handler@uni.example", "sanne@uni.example"):
        client = app.test_client()
        login(client, email)
        assert client.get("/staff/exams/new").status_code == 403


# --- versions: one source of truth ----------------------------------------------------------


def test_a_changed_retention_period_is_a_new_version_and_the_old_facts_stay(world):
    tool = add_tool(world)
    assert register_facts.current_facts(tool.id).version == 1

    version = entries.save_version(
        tool,
        complete_facts(retention_days=30),
        actor=world["dpo"],
        change_note="Shorter retention after the DPIA review.",
    )
    commit()
    assert version is not None and version.number == 2

    now = register_facts.current_facts(tool.id)
    assert (now.version, now.retention_days) == (2, 30)
    old = register_facts.facts_at_version(tool.id, 1)
    assert (old.version, old.retention_days) == (1, 90)
    assert old.purposes == now.purposes == (complete_facts()["purpose"],)
    assert [r.name for r in now.recipients] == ["ProctorCam B.V.", "EuroCloud GmbH (Germany)"]
    assert now.legal_basis is LegalBasis.PUBLIC_TASK
    assert db.session.get(ProctoringTool, tool.id).retention_days == 30  # R25 reads the tool

    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "register.version_created")
    ).one()
    assert event.actor_id == world["dpo"].id
    assert event.before == {"version": 1, "retention_days": 90}
    assert event.after == {
        "version": 2,
        "retention_days": 30,
        "change_note": "Shorter retention after the DPIA review.",
    }
    assert verify_chain().ok

    with pytest.raises(LookupError):
        register_facts.facts_at_version(tool.id, 3)


def test_register_versions_cannot_be_changed_behind_the_applications_back(world):
    tool = add_tool(world)
    with pytest.raises(sa.exc.DBAPIError, match="immutable"):
        db.session.execute(
            sa.text("UPDATE register_versions SET retention_days = 1 WHERE tool_id = :id"),
            {"id": tool.id},
        )
    db.session.rollback()
    with pytest.raises(sa.exc.DBAPIError, match="immutable"):
        db.session.execute(sa.text("DELETE FROM register_versions"))
    db.session.rollback()


def test_saving_unchanged_facts_records_no_version(world):
    tool = add_tool(world)
    assert entries.save_version(tool, complete_facts(), actor=world["dpo"]) is None
    assert db.session.scalar(select(func.count(RegisterVersion.id))) == 1


def test_a_tool_that_predates_the_register_is_adopted_as_version_1(world):
    tool = ProctoringToolFactory(name="Legacy", retention_days=45, purpose="Old purpose")
    db.session.commit()
    facts = register_facts.current_facts(tool.id)
    commit()
    assert (facts.version, facts.retention_days, facts.purpose) == (1, 45, "Old purpose")
    assert db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == str(tool.id))
    ).all() == ["register.entry_adopted"]
    assert register_facts.current_facts(tool.id).version == 1  # adopted once


def test_a_change_of_purpose_is_refused_with_the_advice_to_create_a_new_entry(app, world):
    tool = add_tool(world)
    dpo = app.test_client()
    login(dpo, "dpo@uni.example")
    url = f"/staff/register/tools/{tool.id}/edit"
    response = post_form(
        dpo, url, form_data(complete_facts(purpose="Also measuring student engagement."))
    )
    assert response.status_code == 409
    assert "Create a new register entry" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(RegisterVersion.id))) == 1


def test_the_dpo_records_a_change_through_the_form_and_the_history_shows_it(app, world):
    tool = add_tool(world)
    dpo = app.test_client()
    login(dpo, "dpo@uni.example")
    url = f"/staff/register/tools/{tool.id}/edit"
    assert dpo.get(url).status_code == 200
    response = post_form(
        dpo,
        url,
        form_data(
            complete_facts(retention_days=60, sub_processors=[]),
            change_note="Renegotiated with the supplier.",
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert register_facts.current_facts(tool.id).retention_days == 60
    assert register_facts.current_facts(tool.id).sub_processors == ()
    page = dpo.get(f"/staff/register/tools/{tool.id}").get_data(as_text=True)
    assert "Version 2" in page and "Renegotiated with the supplier." in page
    assert "<del>90</del> → <ins>60</ins>" in page
    old = dpo.get(f"/staff/register/tools/{tool.id}/versions/1")
    assert old.status_code == 200
    assert "90 days" in old.get_data(as_text=True)
    assert dpo.get(f"/staff/register/tools/{tool.id}/versions/9").status_code == 404
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert "register.version_created" in actions


def test_inconsistent_dates_are_refused_with_the_form_and_nothing_is_stored(app, world):
    tool = add_tool(world)
    dpo = app.test_client()
    login(dpo, "dpo@uni.example")
    response = post_form(
        dpo,
        f"/staff/register/tools/{tool.id}/edit",
        form_data(complete_facts(dpia_next_review_on=date(2025, 1, 1), retention_days=0)),
    )
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "The next DPIA review must come after the DPIA." in text
    assert db.session.scalar(select(func.count(RegisterVersion.id))) == 1


def test_the_admin_adds_a_tool_through_the_form(app, world):
    admin = app.test_client()
    login(admin, "admin@uni.example")
    assert admin.get("/staff/register/new").status_code == 200
    missing_vendor = post_form(
        admin,
        "/staff/register/new",
        form_data(complete_facts(vendor=""), name="MeetUp", kind="video_call"),
    )
    assert missing_vendor.status_code == 400
    assert db.session.scalar(select(func.count(ProctoringTool.id))) == 0
    response = post_form(
        admin,
        "/staff/register/new",
        form_data(
            complete_facts(recording_rules="Not recorded."), name="MeetUp", kind="video_call"
        ),
    )
    assert response.status_code == 302
    tool = db.session.scalars(select(ProctoringTool)).one()
    assert tool.kind is ToolKind.VIDEO_CALL
    assert "register.entry_created" in set(db.session.scalars(select(AuditEvent.action)))
    assert entries.checklist_for(tool).ready
    duplicate = post_form(
        admin,
        "/staff/register/new",
        form_data(complete_facts(), name="MeetUp", kind="video_call"),
    )
    assert duplicate.status_code == 409


def test_admin_and_dpo_edit_the_register_other_staff_read_it_and_students_cannot(app, world):
    tool = add_tool(world)
    handler = app.test_client()
    login(handler, "handler@uni.example")
    assert handler.get("/staff/register").status_code == 200
    assert handler.get(f"/staff/register/tools/{tool.id}").status_code == 200
    assert handler.get("/staff/register/new").status_code == 403
    edit = f"/staff/register/tools/{tool.id}/edit"
    assert handler.get(edit).status_code == 403
    token_page = f"/staff/register/tools/{tool.id}"
    refused = post_form(handler, edit, form_data(complete_facts()), token_from=token_page)
    assert refused.status_code == 403
    student = app.test_client()
    login(student, "sanne@uni.example")
    assert student.get("/staff/register").status_code == 403
    assert student.get(f"/staff/register/tools/{tool.id}").status_code == 403
    for email in ("admin@uni.example", "dpo@uni.example"):
        editor = app.test_client()
        login(editor, email)
        assert editor.get(edit).status_code == 200
    assert handler.get("/staff/register/tools/999").status_code == 404


# --- reminders ------------------------------------------------------------------------------


def test_a_dpia_review_due_in_30_days_reminds_the_dpo_once(app, world, smtp_sink):
    # The task as beat sends it, through this app's Celery (eager in tests).
    task = app.extensions["celery"].tasks["rights_portal.register_reminders"]
    add_tool(world, dpia_next_review_on=TODAY + timedelta(days=30))
    smtp_sink.clear()
    task.delay()
    task.delay()  # a second scheduler, or a retried task
    assert len(smtp_sink.messages) == 1
    [mail] = smtp_sink.messages
    assert mail["To"] == "dpo@uni.example"
    assert "DPIA of ProctorCam" in str(mail["Subject"])
    reminder = db.session.scalars(select(RegisterReminder)).one()
    assert (reminder.kind, reminder.due_on) == (ReminderKind.DPIA_REVIEW, TODAY + timedelta(30))
    assert reminder.outbox_message_id is not None


def test_no_dpia_reminder_more_than_30_days_ahead(world, smtp_sink):
    add_tool(world, dpia_next_review_on=TODAY + timedelta(days=31))
    smtp_sink.clear()
    assert sweep(TODAY).sent == []
    commit()
    assert smtp_sink.messages == []
    assert [kind for _, kind, _ in sweep(TODAY + timedelta(days=1)).sent] == [
        ReminderKind.DPIA_REVIEW
    ]


def test_a_processor_agreement_is_reminded_60_days_before_it_expires(world, smtp_sink):
    add_tool(world, processor_agreement_expires_on=TODAY + timedelta(days=61))
    smtp_sink.clear()
    assert sweep(TODAY).sent == []
    report = sweep(TODAY + timedelta(days=1))
    commit()
    assert report.sent == [
        ("ProctorCam", ReminderKind.AGREEMENT_EXPIRY, TODAY + timedelta(days=61))
    ]
    assert sweep(TODAY + timedelta(days=2)).sent == []
    commit()
    assert len(smtp_sink.to("dpo@uni.example")) == 1


def test_a_year_of_use_without_a_new_necessity_evaluation_reminds_the_dpo_once(world, smtp_sink):
    used = {"in_use_since": date(2025, 11, 23), "dpo_advice_on": date(2025, 10, 1)}
    tool = add_tool(world, necessity_reviewed_on=None, **used)
    checklist = entries.checklist_for(tool)
    assert checklist.open_keys == ["necessity"]
    assert checklist.open_items[0].state is ItemState.DUE_FOR_REVIEW
    smtp_sink.clear()
    report = sweep(TODAY)
    commit()
    assert report.sent == [("ProctorCam", ReminderKind.NECESSITY_REVIEW, TODAY)]
    assert sweep(TODAY + timedelta(days=1)).sent == []
    commit()
    [mail] = smtp_sink.messages
    assert "necessity of ProctorCam" in str(mail["Subject"])

    entries.save_version(
        tool,
        complete_facts(necessity_reviewed_on=TODAY, **used),
        actor=None,
    )
    commit()
    assert entries.checklist_for(tool).ready
    assert sweep(TODAY + timedelta(days=2)).sent == []


def test_the_register_reminders_run_daily_on_beat(app):
    entry = app.extensions["celery"].conf.beat_schedule["register-reminders"]
    assert entry["task"] == "rights_portal.register_reminders"
    assert entry["schedule"].hour == {7}


def test_register_cli_prints_reminders_and_readiness(app, world):
    add_tool(world, dpia_on=None, dpia_outcome="", dpia_next_review_on=None)
    runner = CliRunner()
    status = runner.invoke(app.cli, ["register", "status"], catch_exceptions=False)
    assert "ProctorCam (version 1): NOT READY" in status.output
    assert "missing: dpia" in status.output
    remind = runner.invoke(app.cli, ["register", "remind", "--today", "2026-11-23"])
    assert remind.exit_code == 0 and "0 sent" in remind.output


# --- demo data ------------------------------------------------------------------------------


def test_the_demo_has_a_ready_tool_and_a_video_call_tool_missing_its_dpia(app, app_ctx):
    runner = CliRunner()
    for _ in range(2):  # safe to run twice
        result = runner.invoke(app.cli, ["demo", "seed"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    db.session.expire_all()
    tools = {t.name: t for t in db.session.scalars(select(ProctoringTool))}
    assert entries.checklist_for(tools["ProctorCam"]).ready
    assert entries.checklist_for(tools["CampusMeet"]).open_keys == ["dpia"]
    assert tools["CampusMeet"].kind is ToolKind.VIDEO_CALL
    assert db.session.scalar(select(func.count(RegisterVersion.id))) == 2
    assert {e.proctoring_tool_id for e in db.session.scalars(select(Exam))} == {
        tools["ProctorCam"].id
    }


def test_moving_an_exam_in_the_register_moves_its_open_objections_due_date(app, world):
    """R7: the exam-bound date follows the exam's start, whoever moves it; the reason is kept."""
    from rights_portal.cases import deadlines, services
    from rights_portal.cases.models import Case, CaseType, DueDateChange

    exam = ExamFactory(
        programme=world["programme"], starts_at=datetime(2027, 1, 18, 9, tzinfo=AMSTERDAM)
    )
    db.session.commit()
    case = services.file_case(
        case_type=CaseType.OBJECTION,
        subject=world["student"],
        filed_by=world["student"],
        description="Ik maak bezwaar tegen cameratoezicht.",
        exam=exam,
    )
    commit()
    old_due = case.effective_due
    admin = app.test_client()
    login(admin, "admin@uni.example")
    response = post_form(
        admin,
        f"/staff/exams/{exam.id}/edit",
        exam_form(
            world, 0, course_code=exam.course_code, title=exam.title, starts_at="2026-12-14T09:00"
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    working_days = app.config["EXAM_BOUND_WORKING_DAYS"]
    new_due = deadlines.exam_bound_due(datetime(2026, 12, 14, 9, tzinfo=AMSTERDAM), working_days)
    assert new_due < old_due and case.effective_due == case.exam_bound_due == new_due
    (change,) = db.session.scalars(
        select(DueDateChange).where(
            DueDateChange.case_id == case.id, DueDateChange.cause == "exam_moved"
        )
    ).all()
    assert change.cause == "exam_moved" and change.actor_id == world["admin"].id
    assert "2027-01-18 09:00" in change.reason and "2026-12-14 09:00" in change.reason

    # A change that keeps the start moves nothing.
    post_form(
        admin,
        f"/staff/exams/{exam.id}/edit",
        exam_form(
            world, 0, course_code=exam.course_code, title="Statistiek", starts_at="2026-12-14T09:00"
        ),
    )
    assert (
        db.session.scalar(
            select(func.count(DueDateChange.id)).where(
                DueDateChange.case_id == case.id, DueDateChange.cause == "exam_moved"
            )
        )
        == 1
    )

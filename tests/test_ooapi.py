"""The OOAPI sync against a stand-in OOAPI v5 server over real HTTP (tests/ooapi_support.py).

The stand-in checks every request against the contract and validates every response it sends;
the fixture fails a test that caused a violation either way. The sync creates programmes, exams
(test offerings) and enrolments and takes released dates of birth; a second run changes
nothing; an exam moved in the source moves the exam-bound due date of its open objection (R7),
with the reason in the due-date history and on the audit trail; a removed offering is marked,
not deleted; a server that times out, fails or pages forever leaves nothing half-stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from rights_portal.accounts.models import Role, User
from rights_portal.audit.models import AuditEvent
from rights_portal.cases import deadlines, services
from rights_portal.cases.models import CaseType, DueDateChange
from rights_portal.delivery.models import OutboxTask
from rights_portal.examboard.case_types import upcoming_exams
from rights_portal.exams.models import Exam, ExamEnrolment, Programme
from rights_portal.extensions import db
from rights_portal.ooapi import mapping
from rights_portal.ooapi.client import ClientSettings, OoapiClient, OoapiError
from rights_portal.ooapi.models import OoapiRecord, OoapiSyncRun
from rights_portal.ooapi.sync import UNASSIGNED_BOARD
from rights_portal.transactions import commit
from tests.conftest import login, post_form
from tests.factories import UserFactory
from tests.ooapi_support import CLIENT_ID, CLIENT_SECRET, OoapiServer
from workers.schedule import beat_schedule

pytestmark = pytest.mark.postgres


@pytest.fixture
def ooapi(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[OoapiServer]:
    server = OoapiServer().start()
    # Small pages and a low cap, so paging is exercised and endless paging stops quickly.
    settings = server.config(OOAPI_TIMEOUT_SECONDS=0.5, OOAPI_PAGE_SIZE=10, OOAPI_MAX_PAGES=5)
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    yield server
    server.stop()
    assert not server.violations, "\n".join(server.violations)


def in_days(days: int, hour: int = 9) -> datetime:
    moment = datetime.now(UTC) + timedelta(days=days)
    return moment.replace(hour=hour, minute=0, second=0, microsecond=0)


@pytest.fixture
def university(app_ctx: Flask, ooapi: OoapiServer) -> dict[str, Any]:
    """A programme with a course, a test with two offerings (and a lecture), two students."""
    data = ooapi.data
    program = data.add_program("B-PSY", "Psychologie")
    course = data.add_course("PSY101", "Statistiek", program)
    test = data.add_component(course, "Schriftelijk tentamen Statistiek")
    data.add_component(course, "Hoorcollege Statistiek", component_type="lecture")
    first = data.add_offering(test, "Tentamen Statistiek", in_days(20))
    resit = data.add_offering(test, "Hertentamen Statistiek", in_days(60))
    # Twelve more tests so the offerings' lists span two pages of ten.
    for n in range(12):
        data.add_component(course, f"Deeltoets {n}")
    anna = data.add_person("s1000001", date_of_birth="2004-05-06")
    data.enrol(anna, first)
    data.enrol(anna, resit, state="pending")
    bram = data.add_person("s1000002")  # the SIS does not release his date of birth
    data.enrol(bram, first)
    data.add_person("s9999999")  # a student without a portal account: not looked at
    students = {
        "anna": UserFactory(email="anna@uni.example", student_number="s1000001"),
        "bram": UserFactory(email="bram@uni.example", student_number="s1000002"),
    }
    handler = UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER)
    admin = UserFactory(email="admin@uni.example", role=Role.ADMIN)
    db.session.commit()
    return {
        "test": test,
        "first": first,
        "resit": resit,
        "students": students,
        "handler": handler,
        "admin": admin,
        "server": ooapi,
    }


def sync(app: Flask) -> tuple[int, str]:
    result = CliRunner().invoke(app.cli, ["ooapi", "sync"], catch_exceptions=False)
    db.session.expire_all()
    return result.exit_code, result.output  # stdout and stderr, interleaved (Click 8.2+)


def exam_of(offering_id: str) -> Exam:
    stored = db.session.scalars(
        select(OoapiRecord).where(
            OoapiRecord.kind == "offering", OoapiRecord.ooapi_id == offering_id
        )
    ).one()
    exam = db.session.get(Exam, stored.local_id)
    assert exam is not None
    return exam


def audit_actions(after_id: int = 0) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.id > after_id).order_by(AuditEvent.id)
        )
    )


def last_event_id() -> int:
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def state_of_the_portal() -> dict[str, Any]:
    """Everything the sync may write, to compare before and after a run."""
    return {
        "programmes": db.session.execute(
            select(Programme.id, Programme.code, Programme.name).order_by(Programme.id)
        ).all(),
        "exams": db.session.execute(
            select(
                Exam.id, Exam.course_code, Exam.title, Exam.starts_at, Exam.removed_in_source_at
            ).order_by(Exam.id)
        ).all(),
        "enrolments": db.session.execute(
            select(
                ExamEnrolment.id,
                ExamEnrolment.state,
                ExamEnrolment.removed_in_source_at,
            ).order_by(ExamEnrolment.id)
        ).all(),
        "records": db.session.execute(
            select(OoapiRecord.kind, OoapiRecord.ooapi_id, OoapiRecord.content_hash).order_by(
                OoapiRecord.id
            )
        ).all(),
        "births": db.session.execute(select(User.id, User.date_of_birth).order_by(User.id)).all(),
        "due_changes": db.session.scalar(select(func.count()).select_from(DueDateChange)),
    }


def test_a_sync_takes_programmes_exams_enrolments_and_birth_dates_and_a_second_changes_nothing(
    app, university
):
    code, output = sync(app)

    assert code == 0, output
    assert "programme B-PSY created (Psychologie)" in output
    assert "exam PSY101 Tentamen Statistiek created" in output
    assert "enrolments: 3 new, 0 changed" in output
    programme = db.session.scalars(select(Programme).where(Programme.code == "B-PSY")).one()
    assert programme.name == "Psychologie"
    assert programme.exam_board.name == UNASSIGNED_BOARD  # no OOAPI_EXAM_BOARD set
    first, resit = exam_of(university["first"]), exam_of(university["resit"])
    assert (first.course_code, first.title, first.programme_id) == (
        "PSY101",
        "Tentamen Statistiek",
        programme.id,
    )
    assert first.starts_at == in_days(20)
    assert resit.starts_at == in_days(60)
    # only the test offerings became exams (not the lecture, not the tests without offerings)
    assert db.session.scalar(select(func.count()).select_from(Exam)) == 2
    anna, bram = university["students"]["anna"], university["students"]["bram"]
    enrolments = {
        (e.student_id, e.exam_id): e.state for e in db.session.scalars(select(ExamEnrolment))
    }
    assert enrolments == {
        (anna.id, first.id): "associated",
        (anna.id, resit.id): "pending",
        (bram.id, first.id): "associated",
    }
    assert anna.date_of_birth == date(2004, 5, 6)
    assert bram.date_of_birth is None
    actions = audit_actions()
    assert actions.count("exam.created") == 2
    assert actions.count("enrolment.recorded") == 3
    assert {"programme.created", "user.date_of_birth_from_source"} <= set(actions)
    created = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "exam.created").limit(1)
    ).one()
    assert created.actor_id is None and created.after["source"] == "ooapi"
    run = db.session.scalars(select(OoapiSyncRun)).one()
    assert (run.status, run.trigger) == ("ok", "cli")
    # every request was an operation of the contract, with its parameters (checked by the
    # stand-in); these are the ones the sync needs, paged
    paths = {
        re.sub(r"[0-9a-f-]{36}", "{id}", p.split("?")[0]) for _, p in ooapi_requests(university)
    }
    assert paths == {
        "/ooapi/organizations/{id}/programs",
        "/ooapi/organizations/{id}/courses",
        "/ooapi/organizations/{id}/components",
        "/ooapi/components/{id}/offerings",
        "/ooapi/persons",
        "/ooapi/persons/{id}/associations",
    }
    assert any("pageNumber=2" in p for _, p in ooapi_requests(university))

    before, events = state_of_the_portal(), last_event_id()
    university["server"].requests.clear()
    code, output = sync(app)

    assert code == 0, output
    assert "no changes" in output
    assert state_of_the_portal() == before
    assert audit_actions(events) == []
    # incremental: a matched student is not looked up again; one without a date of birth is
    second = {
        re.sub(r"[0-9a-f-]{36}", "{id}", p.split("?")[0]) for _, p in ooapi_requests(university)
    }
    assert "/ooapi/persons" not in second
    assert "/ooapi/persons/{id}" in second


def ooapi_requests(university: dict[str, Any]) -> list[tuple[str, str]]:
    return list(university["server"].requests)


def test_an_exam_moved_in_the_source_moves_the_due_date_of_its_open_objection(app, university):
    assert sync(app)[0] == 0
    exam = exam_of(university["first"])
    anna = university["students"]["anna"]
    case = services.file_case(
        case_type=CaseType.OBJECTION,
        subject=anna,
        filed_by=anna,
        description="I object to camera proctoring.",
        exam=exam,
    )
    services.assign(case, university["handler"], actor=university["handler"])
    commit()
    working_days = app.config["EXAM_BOUND_WORKING_DAYS"]
    assert case.exam_bound_due == deadlines.exam_bound_due(in_days(20), working_days)
    assert case.effective_due == case.exam_bound_due  # earlier than the statutory date (R7)
    old_due = case.effective_due

    university["server"].data.move_offering(university["first"], in_days(12, hour=13))
    code, output = sync(app)

    assert code == 0, output
    new_due = deadlines.exam_bound_due(in_days(12, hour=13), working_days)
    assert new_due < old_due
    assert "due dates of 1 open case(s) recomputed" in output
    assert f"{case.reference}: effective due {old_due} -> {new_due}" in output
    db.session.refresh(case)
    assert case.exam_bound_due == case.effective_due == new_due
    change = db.session.scalars(
        select(DueDateChange)
        .where(DueDateChange.case_id == case.id)
        .order_by(DueDateChange.id.desc())
        .limit(1)
    ).one()
    local = deadlines.AMSTERDAM
    reason = (
        "Exam moved in the student-information system (OOAPI): from "
        f"{in_days(20).astimezone(local):%Y-%m-%d %H:%M} to "
        f"{in_days(12, hour=13).astimezone(local):%Y-%m-%d %H:%M}"
    )
    assert (change.cause, change.reason, change.actor_id) == ("exam_moved", reason, None)
    assert (change.old_effective_due, change.new_effective_due) == (old_due, new_due)
    event = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.case_id == case.id, AuditEvent.action == "case.due_date_changed"
        )
    ).one()
    assert event.after["reason"] == reason
    assert event.after["exam_bound_due"] == new_due.isoformat()
    assert event.before["exam_bound_due"] == old_due.isoformat()
    moved = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "exam.updated", AuditEvent.object_id == str(exam.id)
        )
    ).one()
    assert moved.after["starts_at"] != moved.before["starts_at"]

    client = app.test_client()
    login(client, "handler@uni.example")
    page = client.get(f"/staff/cases/{case.reference}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Exam moved" in html and reason in html


def test_an_offering_removed_in_the_source_is_marked_and_kept(app, university):
    assert sync(app)[0] == 0
    resit = exam_of(university["resit"])
    anna = university["students"]["anna"]
    assert resit in upcoming_exams(anna)
    case = services.file_case(
        case_type=CaseType.ALTERNATIVE_EXAM,
        subject=anna,
        filed_by=anna,
        description="I cannot use a webcam at home.",
        exam=resit,
    )
    commit()

    removed_offering = university["server"].data.offering(university["resit"])
    university["server"].data.remove_offering(university["resit"])
    code, output = sync(app)

    assert code == 0, output
    assert "exam PSY101 Hertentamen Statistiek no longer offered: marked as removed" in output
    db.session.refresh(resit)
    assert resit.removed_in_source_at is not None  # marked, not deleted
    enrolment = db.session.scalars(
        select(ExamEnrolment).where(
            ExamEnrolment.exam_id == resit.id, ExamEnrolment.student_id == anna.id
        )
    ).one()
    assert enrolment.removed_in_source_at is not None
    actions = audit_actions()
    assert "exam.removed_in_source" in actions and "enrolment.removed_in_source" in actions

    client = app.test_client()
    login(client, "admin@uni.example")
    page = client.get("/staff/integrations/ooapi").get_data(as_text=True)
    assert "Exams removed in the student-information system" in page
    assert "PSY101 Hertentamen Statistiek" in page
    assert resit not in upcoming_exams(anna)  # not offered for new objections
    staff = app.test_client()
    login(staff, "handler@uni.example")
    case_page = staff.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    assert "Removed in the student-information system" in case_page

    university["server"].data.offerings[university["test"]][university["resit"]] = removed_offering
    code, output = sync(app)
    assert code == 0, output
    assert "exam PSY101 Hertentamen Statistiek listed again" in output
    db.session.refresh(resit)
    assert resit.removed_in_source_at is None


@pytest.mark.parametrize(
    ("fault", "fault_on", "kind", "message"),
    [
        ("timeout", "/offerings", "timeout", "no answer within 0.5 s"),
        ("error", "/associations", "http", "HTTP 500"),
        ("endless", "/components", "paging", "still had a next page after 5 pages"),
    ],
)
def test_a_failing_server_leaves_nothing_half_stored_and_says_why(
    app, university, fault, fault_on, kind, message
):
    assert sync(app)[0] == 0
    server = university["server"]
    # changes the failing run would have stored had it not failed
    server.data.move_offering(university["first"], in_days(15))
    server.data.add_program("M-DS", "Data Science")
    before, events = state_of_the_portal(), last_event_id()
    server.fault, server.fault_on, server.delay = fault, fault_on, 1.5

    code, output = sync(app)

    assert code == 1
    assert message in output and "nothing was changed" in output
    assert state_of_the_portal() == before
    assert audit_actions(events) == ["ooapi.sync_failed"]
    run = db.session.scalars(select(OoapiSyncRun).order_by(OoapiSyncRun.id.desc()).limit(1)).one()
    assert (run.status, run.error_kind) == ("failed", kind)
    assert message in (run.error_detail or "")

    client = app.test_client()
    login(client, "admin@uni.example")
    page = client.get("/staff/integrations/ooapi").get_data(as_text=True)
    assert "failed, nothing was changed" in page
    assert message in page


def test_a_wrong_client_secret_is_refused_by_the_token_endpoint(app, university, monkeypatch):
    monkeypatch.setitem(app.config, "OOAPI_CLIENT_SECRET", "wrong")
    code, output = sync(app)
    assert code == 1 and "refused" in output
    run = db.session.scalars(select(OoapiSyncRun)).one()
    assert run.error_kind == "auth"
    assert db.session.scalar(select(func.count()).select_from(Programme)) == 0
    assert university["server"].requests == []  # nothing reached the API without a token


def test_the_admin_sees_the_connector_and_syncs_now_and_others_may_not(app, university):
    client = app.test_client()
    login(client, "admin@uni.example")
    page = client.get("/staff/integrations/ooapi")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert university["server"].base_url in html
    assert "s3cret-for-tests" not in html  # the secret never reaches a page
    assert "No sync has run yet." in html

    response = post_form(
        client, "/staff/integrations/ooapi/sync", {}, token_from="/staff/integrations/ooapi"
    )

    assert response.status_code == 302
    task = db.session.scalars(select(OutboxTask)).one()
    assert (task.task_name, task.args) == ("rights_portal.ooapi_sync", ["manual"])
    requested = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "ooapi.sync_requested")
    ).one()
    assert requested.actor_id == university["admin"].id
    # what a worker does with the outbox row (tests/test_worker.py runs real workers)
    app.extensions["celery"].tasks[task.task_name].apply(args=task.args).get()
    db.session.expire_all()
    run = db.session.scalars(select(OoapiSyncRun)).one()
    assert (run.trigger, run.status) == ("manual", "ok")
    html = client.get("/staff/integrations/ooapi").get_data(as_text=True)
    assert "programme B-PSY created (Psychologie)" in html
    assert re.search(r"<td>Exams \(test offerings\)</td><td>2</td>", html)
    university["admin"].locale = "nl"  # the page says what changed in the reader's language
    commit()
    html = client.get("/staff/integrations/ooapi").get_data(as_text=True)
    assert "opleiding B-PSY aangemaakt (Psychologie)" in html
    assert "Laatste synchronisatie" in html

    other = app.test_client()
    login(other, "handler@uni.example")
    assert other.get("/staff/integrations/ooapi").status_code == 403


def test_the_beat_runs_the_sync_only_where_a_source_is_configured(app):
    config = dict(app.config)
    config["OOAPI_BASE_URL"] = ""
    assert "ooapi-sync" not in beat_schedule(config)
    config["OOAPI_BASE_URL"] = "https://sis.example/ooapi"
    entry = beat_schedule(config)["ooapi-sync"]
    assert entry["task"] == "rights_portal.ooapi_sync"
    assert entry["schedule"] == timedelta(minutes=app.config["OOAPI_SYNC_MINUTES"])


def test_the_facts_hash_ignores_what_the_portal_does_not_use():
    item = {
        "programId": "123e4567-e89b-12d3-a456-426614174000",
        "primaryCode": {"codeType": "programCode", "code": "B-PSY"},
        "name": [
            {"language": "en-GB", "value": "Psychology"},
            {"language": "nl-NL", "value": "Psychologie"},
        ],
        "description": [{"language": "nl-NL", "value": "one text"}],
    }
    _, facts = mapping.program_facts(item)
    assert facts == {"code": "B-PSY", "name": "Psychologie"}  # Dutch first
    _, again = mapping.program_facts({**item, "description": [{"language": "nl-NL", "value": "x"}]})
    assert mapping.content_hash(again) == mapping.content_hash(facts)
    with pytest.raises(mapping.Unusable):
        mapping.program_facts(
            {**item, "primaryCode": {"codeType": "programCode", "code": "X" * 40}}
        )
    moment = mapping.parse_moment("2027-01-20T09:00:00")  # no offset: Amsterdam time
    assert moment.utcoffset() == timedelta(hours=1)


def test_the_stand_in_reports_requests_and_answers_outside_the_contract():
    """The checks the fixture relies on can fail: a path, a parameter and a body off-contract."""
    server = OoapiServer().start()
    try:
        program = server.data.add_program("B-PSY", "Psychologie")
        del server.data.programs[program]["name"]  # required by the contract
        client = OoapiClient(
            ClientSettings(server.base_url, server.token_url, CLIENT_ID, CLIENT_SECRET)
        )
        with pytest.raises(OoapiError):
            client.get("/components")  # the contract lists components per organisation only
        client.get(f"/organizations/{server.data.organization_id}/programs", {"modifiedSince": "x"})
    finally:
        server.stop()
    found = "\n".join(server.violations)
    assert "GET /components: not an operation of the contract" in found
    assert "unknown parameters ['modifiedSince']" in found
    assert "'name' is a required property" in found


def test_without_a_base_url_the_command_says_so_and_the_task_does_nothing(app_ctx, app):
    assert not app.config["OOAPI_BASE_URL"]
    result = CliRunner().invoke(app.cli, ["ooapi", "sync"])
    assert result.exit_code == 1
    assert "OOAPI_BASE_URL is not set" in result.output
    outcome = app.extensions["celery"].tasks["rights_portal.ooapi_sync"].apply().get()
    assert outcome == {"status": "not configured"}
    assert db.session.scalar(select(func.count()).select_from(OoapiSyncRun)) == 0

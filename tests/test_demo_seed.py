"""The demo (``flask demo seed``) holds what every role's journey needs; seeding twice adds nothing.

The seed runs twice through the Flask CLI, as ``make run`` does, on PostgreSQL and on an SQLite
file (the embedded default). The journeys' starting points are then checked through the pages a
demo user would use: the mother of the child under 16 files for her under *My children*, the
father whose link waits for a check sees nothing of her, the handler finds the access request
with a housemate in the picture and redacts it, the exam board finds its cases.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select

from rights_portal.access.models import AccessPackage, PackageStatus, Release
from rights_portal.access.storage import recordings_storage
from rights_portal.accounts.guardianship import acts_alone_from, is_minor_on
from rights_portal.accounts.models import GuardianLink, LinkStatus, User
from rights_portal.audit.models import AuditEvent
from rights_portal.audit.verify import verify_chain
from rights_portal.cases.deadlines import local_date, working_days_between
from rights_portal.cases.models import Case, CaseStatus, CaseType
from rights_portal.clock import today_local
from rights_portal.demo.cases import BYSTANDER_REQUEST
from rights_portal.demo.exams import SECOND_PERSON
from rights_portal.demo.people import DEMO_PASSWORD
from rights_portal.exams.models import Exam, Programme, Recording, RecordingFile
from rights_portal.extensions import db
from tests.conftest import IsolatedClient, csrf_token, login, post_form

pytestmark = pytest.mark.postgres

CHILD = "child@demo.example"
MOTHER = "guardian@demo.example"
FATHER = "guardian2@demo.example"
STUDENT = "student@demo.example"
HANDLER = "handler@demo.example"


def seed(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table)) or 0
        for table in db.metadata.sorted_tables
    }


def stored_files(app: Flask) -> int:
    return sum(1 for path in Path(app.config["RECORDINGS_DIR"]).rglob("*") if path.is_file())


@pytest.fixture(params=["postgresql", "sqlite"])
def demo(request: pytest.FixtureRequest, app: Flask) -> Iterator[dict]:
    """An app seeded twice, with the row and file counts after each run."""
    target = app
    if request.param == "sqlite":
        target = request.getfixturevalue("sqlite_app")
        target.test_client_class = IsolatedClient
        target.config["ARGON2_PARAMS"] = app.config["ARGON2_PARAMS"]  # cheap, as on PostgreSQL
        with target.app_context():
            upgrade()
    with target.app_context():
        first_output = seed(target)
        first = (row_counts(), stored_files(target))
        second_output = seed(target)
        db.session.expire_all()
        second = (row_counts(), stored_files(target))
        yield {
            "app": target,
            "outputs": (first_output, second_output),
            "first": first,
            "second": second,
        }


def user(email: str) -> User:
    return db.session.scalars(select(User).where(User.email == email)).one()


def logged_in(app: Flask, email: str) -> IsolatedClient:
    client = app.test_client()
    login(client, email, DEMO_PASSWORD)
    return client


def link_of(guardian_email: str) -> GuardianLink:
    return db.session.scalars(
        select(GuardianLink).where(
            GuardianLink.guardian_id == user(guardian_email).id,
            GuardianLink.student_id == user(CHILD).id,
        )
    ).one()


def actions_on(object_type: str, object_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id))
            .order_by(AuditEvent.id)
        )
    )


def bystander_case() -> Case:
    return db.session.scalars(select(Case).where(Case.description == BYSTANDER_REQUEST)).one()


# --- twice -----------------------------------------------------------------------------------


def test_seeding_twice_adds_no_rows_and_stores_no_files_and_the_trail_verifies(demo):
    (first_rows, first_files), (second_rows, second_files) = demo["first"], demo["second"]
    assert second_rows == first_rows
    assert second_files == first_files
    assert first_rows["users"] == 10 and first_rows["cases"] == 3
    for output in demo["outputs"]:
        for email in (STUDENT, CHILD, MOTHER, FATHER, HANDLER, "dpo@demo.example"):
            assert email in output
        assert DEMO_PASSWORD in output
    result = verify_chain()
    assert result.ok, result.problem


# --- the parents ----------------------------------------------------------------------------


def test_the_child_is_under_16_today_and_for_more_than_a_year(demo):
    born = user(CHILD).date_of_birth
    today = today_local()
    assert (born.month, born.day) != (2, 29)
    assert is_minor_on(born, today)
    assert acts_alone_from(born) > today + timedelta(days=365)


def test_the_mother_sees_the_child_under_my_children_and_files_for_her(demo):
    link = link_of(MOTHER)
    assert link.status is LinkStatus.VERIFIED
    assert link.verified_by_id == user(HANDLER).id  # checked by staff, as R21 asks
    assert actions_on("guardian_link", link.id) == [
        "guardian_link.requested",
        "guardian_link.verified",
    ]

    mother = logged_in(demo["app"], MOTHER)
    page = mother.get("/my/children").get_data(as_text=True)
    assert "Noor Jansen" in page
    form = f"/my/children/{link.id}/cases/new/access"
    assert form in page
    filed = post_form(mother, form, {"scope": "all", "description": "Alles over onze dochter."})
    assert filed.status_code == 302, filed.get_data(as_text=True)[:2000]
    case = db.session.scalars(select(Case).where(Case.filed_by_id == user(MOTHER).id)).one()
    assert case.subject_id == user(CHILD).id and case.case_type is CaseType.ACCESS
    assert case.reference in mother.get("/my/cases").get_data(as_text=True)


def test_the_father_waits_for_the_check_and_sees_nothing_of_the_child(demo):
    pending, verified = link_of(FATHER), link_of(MOTHER)
    assert pending.status is LinkStatus.PENDING

    father = logged_in(demo["app"], FATHER)
    page = father.get("/my/children").get_data(as_text=True)
    assert pending.claimed_student_number in page
    assert "Noor Jansen" not in page
    for link in (pending, verified):
        assert father.get(f"/my/children/{link.id}/cases/new/access").status_code == 404
    assert "Noor Jansen" not in father.get("/my/cases").get_data(as_text=True)

    handler = logged_in(demo["app"], HANDLER)
    checks = handler.get("/staff/guardians").get_data(as_text=True)
    assert "Bram Jansen" in checks and f"/staff/guardians/{pending.id}" in checks


# --- exams and recordings --------------------------------------------------------------------


def test_each_programme_has_an_exam_past_one_inside_the_exam_bound_window_and_one_later(demo):
    bound = demo["app"].config["EXAM_BOUND_WORKING_DAYS"]
    today = today_local()
    for programme in db.session.scalars(select(Programme)):
        ahead = [
            working_days_between(today, local_date(exam.starts_at))
            for exam in db.session.scalars(select(Exam).where(Exam.programme_id == programme.id))
        ]
        assert any(days < 0 for days in ahead), programme.code
        assert any(0 < days < bound for days in ahead), programme.code
        assert any(days > bound for days in ahead), programme.code

    objection = db.session.scalars(select(Case).where(Case.case_type == CaseType.OBJECTION)).one()
    assert 0 < working_days_between(today, local_date(objection.exam.starts_at)) < bound
    assert objection.urgent  # R7: filed too late for its exam-bound date, accepted and flagged


def test_every_demo_student_has_a_recording_with_stored_files_and_flags(demo):
    store = recordings_storage()
    for email in (STUDENT, "student2@demo.example", CHILD):
        [recording] = db.session.scalars(
            select(Recording).where(Recording.student_id == user(email).id)
        ).all()
        assert recording.flags, email
        assert recording.files, email
        for stored in recording.files:
            with store.open(stored.storage_key, stored.sha256, stored.size_bytes) as reader:
                assert len(reader.read()) == stored.size_bytes  # reading to the end verifies


# --- the case handler and the exam board ----------------------------------------------------


def test_the_handler_finds_the_bystander_case_in_the_queue_and_redacts_the_housemate(demo):
    case = bystander_case()
    assert case.case_type is CaseType.ACCESS and case.status is CaseStatus.IN_REVIEW
    assert case.subject_id == case.filed_by_id == user(STUDENT).id
    assert case.assignee_id == user(HANDLER).id
    recording = db.session.scalars(
        select(Recording).where(Recording.student_id == case.subject_id)
    ).one()
    assert SECOND_PERSON in {flag.code for flag in recording.flags}
    case_actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id)
    ).all()
    assert case_actions[:3] == ["case.received", "access.scope_recorded", "case.assigned"]

    handler = logged_in(demo["app"], HANDLER)
    assert case.reference in handler.get("/staff/queue").get_data(as_text=True)
    workspace = f"/staff/cases/{case.reference}/access"
    page = handler.get(workspace).get_data(as_text=True)
    # The flag in words (never the vendor's code on a page) beside her own words.
    assert "Een andere persoon in beeld" in page and "huisgenoot" in page
    assert SECOND_PERSON not in page

    video = db.session.scalars(
        select(RecordingFile).where(
            RecordingFile.recording_id == recording.id, RecordingFile.filename == "webcam.webm"
        )
    ).one()
    key = f"file-{video.id}"
    redacted = handler.post(
        f"{workspace}/items/file/{video.id}",
        data={
            f"{key}-csrf_token": csrf_token(handler, workspace),
            f"{key}-decision": Release.REDACTED.value,
            f"{key}-protects": "De huisgenoot van de student, die door het beeld loopt.",
            f"{key}-redacted_file": (io.BytesIO(b"huisgenoot vervaagd"), "webcam-vervaagd.webm"),
        },
        content_type="multipart/form-data",
    )
    assert redacted.status_code == 302, redacted.get_data(as_text=True)[:2000]
    built = post_form(handler, f"{workspace}/packages", {}, token_from=workspace)
    assert built.status_code == 302
    db.session.expire_all()
    package = db.session.scalars(
        select(AccessPackage).where(AccessPackage.case_id == case.id)
    ).one()
    assert package.status is PackageStatus.READY, package.error
    assert package.partial_refusals == 1  # the redaction, a partial refusal (R13)


def test_the_psychology_exam_board_finds_the_objection_and_the_review_to_decide(demo):
    board = logged_in(demo["app"], "board@demo.example")
    page = board.get("/staff/board").get_data(as_text=True)
    for kind in (CaseType.OBJECTION, CaseType.HUMAN_REVIEW):
        case = db.session.scalars(select(Case).where(Case.case_type == kind)).one()
        assert case.status is CaseStatus.RECEIVED
        assert case.reference in page


def test_the_dpo_opens_the_dashboard_and_the_audit_trail(demo):
    dpo = logged_in(demo["app"], "dpo@demo.example")
    assert dpo.get("/staff/dpo").status_code == 200
    trail = dpo.get("/staff/audit/")
    assert trail.status_code == 200
    assert "guardian_link.verified" in trail.get_data(as_text=True)


def test_a_demo_students_access_request_includes_recordings_fetched_through_a_connector(demo):
    """Issue 25: an admin connects the demo's video-call tool to Zoom (a local stand-in), the
    demo student asks for her data, the handler fetches what Zoom holds, the package has it."""
    from rights_portal.cases import services as case_services
    from rights_portal.exams.models import ProctoringTool
    from rights_portal.vendors.models import VendorConnector
    from tests.test_access_package import zip_of
    from tests.vendor_support import ZoomFile, ZoomStandIn
    from workers import tasks

    app = demo["app"]
    zoom = ZoomStandIn()
    try:
        exam = db.session.scalars(select(Exam).where(Exam.course_code == "PSY-1005")).one()
        zoom.add_meeting(
            "84400011122",
            exam.starts_at.isoformat(),
            [ZoomFile("z-1", "MP4", b"\x00oral exam" * 5000)],
        )
        tool = db.session.scalars(
            select(ProctoringTool).where(ProctoringTool.name == "CampusMeet")
        ).one()
        admin = logged_in(app, "admin@demo.example")
        saved = post_form(
            admin,
            "/staff/integrations/vendors",
            {
                "name": "Zoom",
                "kind": "zoom",
                "tool_id": str(tool.id),
                "base_url": zoom.api,
                "token_url": zoom.token_url,
                "enabled": "y",
                "account_id": zoom.account_id,
                "client_id": zoom.client_id,
                "client_secret": zoom.client_secret,
            },
        )
        assert saved.status_code == 302, saved.get_data(as_text=True)[:1000]
        connector = db.session.scalars(select(VendorConnector)).one()
        page = f"/staff/integrations/vendors/{connector.id}"
        linked = post_form(
            admin,
            f"{page}/links",
            {
                "exam_id": str(exam.id),
                "vendor_ref": "84400011122",
                "student_number": "s1234567",
            },
            token_from=page,
        )
        assert linked.status_code == 302, linked.get_data(as_text=True)[:1000]

        student = logged_in(app, STUDENT)
        filed = post_form(student, "/my/cases/new/access", {"scope": "all"})
        assert filed.status_code == 302, filed.get_data(as_text=True)[:1000]
        db.session.expire_all()
        case = db.session.scalars(
            select(Case)
            .where(Case.subject_id == user(STUDENT).id, Case.case_type == CaseType.ACCESS)
            .order_by(Case.id.desc())
        ).first()
        case_services.assign(case, user(HANDLER), actor=user(HANDLER))
        db.session.commit()

        handler = logged_in(app, HANDLER)
        detail = f"/staff/cases/{case.reference}"
        assert (
            post_form(handler, f"{detail}/vendors/fetch", {}, token_from=detail).status_code == 302
        )
        tasks.fetch_vendor_files.run(case.id)
        assert "Alles opgehaald" in handler.get(detail).get_data(as_text=True)
        workspace = f"{detail}/access"
        assert (
            post_form(handler, f"{workspace}/packages", {}, token_from=workspace).status_code == 302
        )
        db.session.expire_all()
        package = db.session.scalars(
            select(AccessPackage).where(AccessPackage.case_id == case.id)
        ).one()
        assert package.status is PackageStatus.READY, package.error
        archive = zip_of(package)
        fetched = [n for n in archive.namelist() if archive.read(n) == b"\x00oral exam" * 5000]
        assert len(fetched) == 1 and fetched[0].startswith("recordings/PSY-1005"), fetched
    finally:
        zoom.close()

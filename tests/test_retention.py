"""Retention and erasure (R25, art. 17-19): delete what is no longer needed, and prove it.

The purge runs as the daily task, the CLI and a separate process that is killed halfway; the
erasure runs through the portal and the staff pages. Files live in the real local storage
backend, the database is PostgreSQL and the vendor's e-mail reaches the SMTP sink.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from rights_portal.access.models import AccessPackage, ItemDecision, PackageStatus, Release
from rights_portal.access.package import build
from rights_portal.access.storage import packages_storage, recordings_storage
from rights_portal.accounts.models import Role
from rights_portal.audit.models import AuditEvent
from rights_portal.cases import services as cases
from rights_portal.cases.models import Case, CaseStatus, CaseType, Outcome
from rights_portal.clock import today_local
from rights_portal.delivery.models import OutboxTask
from rights_portal.errors import RuleViolation
from rights_portal.examboard import services as examboard
from rights_portal.exams.models import (
    AutomatedFlag,
    FileKind,
    FlagReviewStatus,
    Recording,
    RecordingFile,
    RecordingRestriction,
)
from rights_portal.extensions import db
from rights_portal.permissions import can_open_recording
from rights_portal.retention import erasure, holds, intents, runner
from rights_portal.retention.erasure import DELETE_DECIDED_FILES_TASK
from rights_portal.retention.models import (
    DeletionOutcome,
    DeletionRecord,
    DeletionRule,
    VendorNotice,
)
from rights_portal.transactions import commit
from tests.access_support import HandledAccess, handled_access_case
from tests.conftest import login, post_form, wait_for
from tests.factories import (
    ExamFactory,
    ProctoringToolFactory,
    ProgrammeFactory,
    UserFactory,
    board_member,
)

pytestmark = pytest.mark.postgres

TODAY = today_local()
EXPIRED = TODAY - timedelta(days=1)  # retention ended yesterday
FRESH = TODAY + timedelta(days=10)  # due within the DPO's 30-day window
VENDOR = "privacy@proctoreye.example"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def world(app_ctx) -> dict[str, Any]:
    programme = ProgrammeFactory(code="PSY")
    tool = ProctoringToolFactory(name="ProctorEye", vendor="ProctorEye B.V.", vendor_email=VENDOR)
    people = {
        "programme": programme,
        "tool": tool,
        "exam": ExamFactory(programme=programme, proctoring_tool=tool, course_code="PSY-101"),
        "other_exam": ExamFactory(programme=programme, proctoring_tool=tool, course_code="PSY-102"),
        "student": UserFactory(email="sanne@uni.example", programme_id=programme.id, locale="en"),
        "other_student": UserFactory(email="ali@uni.example", programme_id=programme.id),
        "handler": UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER),
        "board": board_member(programme, email="board@uni.example"),
        "dpo": UserFactory(email="dpo@uni.example", role=Role.DPO),
    }
    db.session.commit()
    return people


def make_recording(student, exam, retention_until: date, files: int = 2) -> Recording:
    """A recording with ``files`` files really stored in the recordings backend."""
    store = recordings_storage()
    recording = Recording(
        student_id=student.id,
        exam_id=exam.id,
        recorded_at=datetime(2026, 12, 14, 9, 0, tzinfo=UTC),
        retention_until=retention_until,
    )
    for number in range(files):
        content = f"{student.email} {exam.course_code} file {number}".encode() * 50
        stored = store.put(io.BytesIO(content))
        recording.files.append(
            RecordingFile(
                kind=FileKind.VIDEO,
                filename=f"video-{number}.webm",
                media_type="video/webm",
                size_bytes=stored.size,
                sha256=stored.sha256,
                storage_key=stored.key,
            )
        )
    db.session.add(recording)
    db.session.commit()
    return recording


def stored(file: RecordingFile) -> bool:
    return recordings_storage().exists(file.storage_key or "")


def actions(since: int = 0) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.id > since).order_by(AuditEvent.id)
        )
    )


def last_event_id() -> int:
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def run_task(app) -> list[str]:
    return app.extensions["celery"].tasks["rights_portal.retention_purge"].apply().get()


def final_state() -> dict[str, Any]:
    """What a purge leaves behind, without the times: records, files' flags, stored files."""
    db.session.expire_all()
    records = sorted(
        (r.file_id, r.recording_id, r.rule.value, r.outcome.value if r.outcome else None, r.sha256)
        for r in db.session.scalars(select(DeletionRecord))
    )
    files = sorted(
        (f.id, f.deleted_at is not None, stored(f))
        for f in db.session.scalars(select(RecordingFile))
    )
    deleted_events = sorted(
        int(object_id)
        for object_id in db.session.scalars(
            select(AuditEvent.object_id).where(AuditEvent.action == "recording_file.deleted")
        )
    )
    return {"records": records, "files": files, "deleted_events": deleted_events}


def expected_state(expired: list[Recording], kept: list[Recording]) -> dict[str, Any]:
    """The state an uninterrupted purge must reach: each expired file deleted once, exactly."""
    gone = [f for r in expired for f in r.files]
    return {
        "records": sorted((f.id, f.recording_id, "retention", "deleted", f.sha256) for f in gone),
        "files": sorted(
            [(f.id, True, False) for f in gone]
            + [(f.id, False, True) for r in kept for f in r.files]
        ),
        "deleted_events": sorted(f.id for f in gone),
    }


# --- retention ---------------------------------------------------------------------------------


def test_an_expired_recording_is_deleted_by_the_daily_job_and_its_record_kept_r25(app, world):
    expired = make_recording(world["student"], world["exam"], EXPIRED)
    fresh = make_recording(world["student"], world["other_exam"], FRESH)
    files = {f.id: (f.sha256, f.size_bytes, f.storage_key) for f in expired.files}

    lines = run_task(app)

    assert final_state() == expected_state([expired], [fresh])
    for record in db.session.scalars(select(DeletionRecord)):
        assert (record.sha256, record.size_bytes, record.storage_key) == files[record.file_id]
        assert record.rule.value == "retention" and record.case_id is None
        assert record.intended_at <= record.deleted_at
    assert actions().count("recording_file.deleted") == 2
    assert "retention.purged" in actions()
    assert any("2 files to delete" in line for line in lines)
    # Idempotent: a second run finds nothing to do and deletes nothing twice.
    before = last_event_id()
    run_task(app)
    assert final_state() == expected_state([expired], [fresh])
    assert actions(before) == ["retention.purged"]


def test_a_file_already_missing_from_storage_is_reported_not_raised(app, world):
    recording = make_recording(world["student"], world["exam"], EXPIRED)
    missing, present = recording.files
    recordings_storage().delete(missing.storage_key or "")

    run_task(app)

    outcomes = {r.file_id: r.outcome for r in db.session.scalars(select(DeletionRecord))}
    assert outcomes == {
        missing.id: DeletionOutcome.ALREADY_MISSING,
        present.id: DeletionOutcome.DELETED,
    }


def test_held_recordings_are_kept_and_listed_with_the_reason_until_the_hold_ends(app, world):
    student, other = world["student"], world["other_student"]
    by_case = make_recording(student, world["exam"], EXPIRED)
    by_hold = make_recording(other, world["other_exam"], EXPIRED, files=1)
    by_fraud = make_recording(other, world["exam"], EXPIRED, files=1)
    by_access = make_recording(student, world["other_exam"], EXPIRED, files=1)
    free = make_recording(UserFactory(programme_id=world["programme"].id), world["exam"], EXPIRED)
    objection = cases.file_case(
        case_type=CaseType.OBJECTION,
        subject=student,
        filed_by=student,
        description="Being filmed at home is unbearable.",
        exam=world["exam"],
    )
    access = cases.file_case(
        case_type=CaseType.ACCESS, subject=student, filed_by=student, description=""
    )
    by_fraud.flags.append(
        AutomatedFlag(
            code="second_person",
            description="A second person in view",
            review_status=FlagReviewStatus.IRREGULARITY_SUSPECTED,
            reviewed_by_id=world["board"].id,
            reviewed_at=datetime.now(UTC),
            review_reasons="A second voice answers question 4.",
        )
    )
    commit()
    dpo = app.test_client()
    login(dpo, "dpo@uni.example")
    response = post_form(
        dpo,
        "/staff/retention/holds",
        {"recording_id": by_hold.id, "reason": "Complaint at the College van Beroep."},
        token_from="/staff/retention",
    )
    assert response.status_code == 302
    assert event_of(response) == ["retention.hold_placed"]

    # The dry run lists what goes and what stays, and why; it changes nothing.
    with_time = CliRunner().invoke(
        app.cli, ["retention", "purge", "--dry-run", "--today", TODAY.isoformat()]
    )
    assert with_time.exit_code == 0, with_time.output
    output = with_time.output
    assert f"hold      recording {by_case.id} " in output
    assert f"open case {objection.reference}" in output
    assert f"recording {by_access.id} " in output and f"open case {access.reference}" in output
    assert "legal hold: Complaint at the College van Beroep." in output
    assert "pending fraud procedure" in output
    for file in free.files:
        assert f"delete    file {file.id} " in output
    assert "dry run: nothing was deleted" in output
    assert db.session.scalar(select(func.count(DeletionRecord.id))) == 0

    # The DPO's page shows every held recording with its reason.
    page = dpo.get("/staff/retention").get_data(as_text=True)
    assert "Complaint at the College van Beroep." in page
    assert objection.reference in page and "pending fraud procedure" in page

    result = CliRunner().invoke(app.cli, ["retention", "purge", "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    held = [by_case, by_hold, by_fraud, by_access]
    assert all(stored(f) and f.deleted_at is None for r in held for f in r.files)
    assert all(not stored(f) and f.deleted_at is not None for f in free.files)
    purged = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "retention.purged")
    ).one()
    assert set(purged.after["held"]) == {str(r.id) for r in held}

    # Released with a reason, the legal hold no longer keeps the recording.
    hold = holds.active_hold(by_hold)
    assert hold is not None
    response = post_form(
        dpo,
        "/staff/retention/holds/release",
        {"hold_id": hold.id, "reason": "The appeal was decided."},
        token_from="/staff/retention",
    )
    assert response.status_code == 302
    assert event_of(response) == ["retention.hold_released"]
    CliRunner().invoke(app.cli, ["retention", "purge", "--today", TODAY.isoformat()])
    db.session.expire_all()
    assert all(not stored(f) for f in by_hold.files)
    assert all(stored(f) for r in (by_case, by_fraud, by_access) for f in r.files)


def event_of(response: Any) -> list[str]:
    request_id = response.headers["X-Request-ID"]
    return list(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.request_id == request_id))
    )


def queued_deletions(case: Case) -> list[OutboxTask]:
    """The outbox rows of the file-deletion task queued for ``case``'s decision."""
    rows = db.session.scalars(
        select(OutboxTask).where(OutboxTask.task_name == DELETE_DECIDED_FILES_TASK)
    )
    return [row for row in rows if row.args == [case.id]]


def run_queued_deletion(app, case: Case) -> list[str]:
    """Run the deletion task ``case``'s decision queued, as the worker does; its audit actions."""
    (row,) = queued_deletions(case)
    before = last_event_id()
    app.extensions["celery"].tasks[row.task_name].apply(args=row.args).get()
    db.session.expire_all()
    return actions(before)


def test_a_legal_hold_needs_a_reason_and_only_the_dpo_places_it(app, world):
    recording = make_recording(world["student"], world["exam"], EXPIRED, files=1)
    dpo, handler = app.test_client(), app.test_client()
    login(dpo, "dpo@uni.example")
    login(handler, "handler@uni.example")
    response = post_form(
        dpo,
        "/staff/retention/holds",
        {"recording_id": recording.id, "reason": "  "},
        token_from="/staff/retention",
    )
    assert response.status_code == 400
    assert "Write down why the recording must be kept." in response.get_data(as_text=True)
    assert handler.get("/staff/retention").status_code == 403
    response = post_form(
        dpo,
        "/staff/retention/holds",
        {"recording_id": 999999, "reason": "Court case"},
        token_from="/staff/retention",
    )
    assert response.status_code == 404
    assert holds.active_hold(recording) is None


# --- a purge killed halfway --------------------------------------------------------------------


def purge_process(database_url: str, instance_dir: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            # Pauses are the kill tests' own app (tests/purge_pauses.py); reruns are the portal's.
            "tests.purge_pauses" if env else "wsgi",
            "retention",
            "purge",
            "--today",
            TODAY.isoformat(),
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "RIGHTS_PORTAL_INSTANCE": instance_dir,
            "RIGHTS_PORTAL_ENV": "test",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def grant(client: Any, case: Case, reasons: str) -> Any:
    """The logged-in, assigned staff member grants ``case`` through its case page."""
    url = f"/staff/cases/{case.reference}"
    return post_form(
        client, f"{url}/decide", {"outcome": "granted", "reasons": reasons}, token_from=url
    )


def kill_purge_halfway(
    database_url: str, instance_dir: str, kill_point: str, first_file: RecordingFile
) -> None:
    """Run a purge that pauses at ``kill_point`` and SIGKILL it there, on ``first_file``'s intent.

    At the intent pause the intent is committed and nothing deleted; at the delete pause the
    file (and its redacted copies) are gone but the intent is not yet marked done.
    """

    def intent_written() -> bool:
        db.session.rollback()
        intent = db.session.scalars(select(DeletionRecord)).first()
        if intent is None or intent.outcome is not None:
            return False
        return kill_point.endswith("INTENT") or not stored(first_file)

    process = purge_process(database_url, instance_dir, **{kill_point: "60"})
    try:
        assert wait_for(intent_written, timeout=90), "the first intent was never written"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
    db.session.rollback()


@pytest.mark.parametrize(
    "kill_point", ["RETENTION_PURGE_PAUSE_AFTER_INTENT", "RETENTION_PURGE_PAUSE_AFTER_DELETE"]
)
def test_a_purge_killed_halfway_and_rerun_ends_as_an_uninterrupted_one(
    app, world, database_url, instance_dir, kill_point
):
    expired = [
        make_recording(world["student"], world["exam"], EXPIRED),
        make_recording(world["other_student"], world["exam"], EXPIRED),
    ]
    kept = [make_recording(world["student"], world["other_exam"], FRESH)]
    first_file = expired[0].files[0]

    kill_purge_halfway(database_url, instance_dir, kill_point, first_file)
    # Halfway: one committed intent not yet marked done, every other file untouched.
    intents = db.session.scalars(select(DeletionRecord)).all()
    assert [(i.file_id, i.deleted_at) for i in intents] == [(first_file.id, None)]
    assert stored(first_file) is kill_point.endswith("INTENT")
    assert all(stored(f) for r in expired[1:] + kept for f in r.files)

    rerun = purge_process(database_url, instance_dir)
    output, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, output.decode()
    assert f"complete  file {first_file.id} " in output.decode()

    assert final_state() == expected_state(expired, kept)


# --- erasure (art. 17) and the vendor's notice (art. 19) -------------------------------------


def test_an_erasure_decision_deletes_the_chosen_files_and_notifies_the_vendor_once(
    app, world, smtp_sink
):
    chosen = make_recording(world["student"], world["exam"], FRESH)
    not_chosen = make_recording(world["student"], world["other_exam"], FRESH)
    student, handler = app.test_client(), app.test_client()
    login(student, "sanne@uni.example")
    form = student.get("/my/cases/new/erasure").get_data(as_text=True)
    assert "PSY-101" in form and "PSY-102" in form
    response = post_form(
        student,
        "/my/cases/new/erasure",
        {"recording_ids": [chosen.id], "description": "My objection was upheld."},
    )
    assert response.status_code == 302
    case = db.session.scalars(select(Case)).one()
    assert case.case_type is CaseType.ERASURE and case.exam_id is None
    assert set(event_of(response)) >= {"case.received", "erasure.requested"}

    login(handler, "handler@uni.example")
    url = f"/staff/cases/{case.reference}"
    post_form(handler, f"{url}/assign", {"assignee_id": world["handler"].id}, token_from=url)
    response = post_form(
        handler,
        f"{url}/decide",
        {"outcome": "granted", "reasons": "We delete the recording of PSY-101."},
        token_from=url,
    )
    assert response.status_code == 302
    written = event_of(response)
    assert {"case.decided", "erasure.scheduled", "erasure.vendor_notified"} <= set(written)
    # The decision commits the intents and queues the deletion; the task deletes the files.
    assert "recording_file.deleted" not in written
    assert all(stored(f) for f in chosen.files)
    deleted = run_queued_deletion(app, case)
    assert deleted.count("recording_file.deleted") == 2

    db.session.expire_all()
    assert all(not stored(f) and f.deleted_at is not None for f in chosen.files)
    assert all(stored(f) and f.deleted_at is None for f in not_chosen.files)
    records = db.session.scalars(select(DeletionRecord)).all()
    assert {(r.file_id, r.rule.value, r.case_id, r.outcome) for r in records} == {
        (f.id, "erasure", case.id, DeletionOutcome.DELETED) for f in chosen.files
    }
    assert wait_for(lambda: len(smtp_sink.to(VENDOR)) == 1, timeout=10)
    mail = smtp_sink.to(VENDOR)[0]
    assert case.reference in str(mail["Subject"])
    body = mail.get_payload(decode=True).decode() if not mail.is_multipart() else str(mail)
    assert "PSY-101" in body and "PSY-102" not in body

    # Once: a repeated notice or a purge afterwards sends nothing more.
    assert erasure.notify_vendors(case, [chosen], actor=world["handler"]) == []
    commit()
    CliRunner().invoke(app.cli, ["retention", "purge", "--today", TODAY.isoformat()])
    time.sleep(0.5)
    assert len(smtp_sink.to(VENDOR)) == 1
    assert db.session.scalar(select(func.count(VendorNotice.id))) == 1
    assert actions().count("erasure.vendor_notified") == 1


def granted_erasure_over_http(app, world, recording: Recording) -> tuple[Case, Any]:
    """An erasure request for ``recording``, assigned and granted on the staff case page."""
    case = erasure.file_erasure_request(
        subject=world["student"], filed_by=world["student"], description="", recordings=[recording]
    )
    cases.assign(case, world["handler"], actor=world["handler"])
    commit()
    handler = app.test_client()
    login(handler, "handler@uni.example")
    return case, grant(handler, case, "We delete the recording of PSY-101.")


def deletion_events(since: int = 0) -> list[tuple[str, int | None]]:
    """(file id, actor id) of every recording_file.deleted event after ``since``."""
    return [
        (event.object_id, event.actor_id)
        for event in db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.id > since, AuditEvent.action == "recording_file.deleted")
            .order_by(AuditEvent.id)
        )
    ]


def test_the_deletion_task_completes_a_killed_run_and_deletes_and_records_nothing_twice(app, world):
    recording = make_recording(world["student"], world["exam"], FRESH)
    first, second = recording.files
    case, response = granted_erasure_over_http(app, world, recording)
    assert response.status_code == 302
    assert len(queued_deletions(case)) == 1  # the row in outbox_tasks, committed with the decision
    assert all(stored(f) for f in recording.files)
    # A worker killed after the first file left storage, before it marked the intent done:
    recordings_storage().delete(first.storage_key or "")

    run_queued_deletion(app, case)

    db.session.expire_all()
    assert not stored(first) and not stored(second)
    records = {r.file_id: r.outcome for r in db.session.scalars(select(DeletionRecord))}
    # The first was there when the intent was written: deleted (by the killed run), not missing.
    assert records == {first.id: DeletionOutcome.DELETED, second.id: DeletionOutcome.DELETED}
    # Audited as the decision used to be: once per file, by whoever decided.
    handler_id = world["handler"].id
    assert sorted(deletion_events()) == sorted(
        [(str(first.id), handler_id), (str(second.id), handler_id)]
    )
    # The relay may send the row again: the second run deletes and records nothing.
    before = last_event_id()
    run_queued_deletion(app, case)
    assert actions(before) == []
    assert len(db.session.scalars(select(DeletionRecord)).all()) == 2


def test_a_decision_that_rolls_back_queues_no_deletion_and_deletes_nothing(app, world, monkeypatch):
    recording = make_recording(world["student"], world["exam"], FRESH)

    def vendors_unreachable(*args: Any, **kwargs: Any) -> list[int]:
        raise RuleViolation("The vendors cannot be told now.")  # after the intents were written

    monkeypatch.setattr(erasure, "notify_vendors", vendors_unreachable)
    case, response = granted_erasure_over_http(app, world, recording)
    assert response.status_code == 409

    db.session.expire_all()
    assert queued_deletions(case) == []
    assert db.session.scalar(select(func.count(DeletionRecord.id))) == 0
    assert db.session.get_one(Case, case.id).status is not CaseStatus.DECIDED
    # Even a stray run of the task for this case finds nothing to delete.
    task = app.extensions["celery"].tasks[DELETE_DECIDED_FILES_TASK]
    assert task.apply(args=[case.id]).get() == 0
    assert all(stored(f) and f.deleted_at is None for f in recording.files)
    assert "recording_file.deleted" not in actions()


@pytest.mark.redis
@pytest.mark.worker
def test_a_real_worker_deletes_the_decided_files_once_though_the_task_arrives_twice(
    app, world, redis_url, smtp_sink, start_worker
):
    from celery import Celery

    recording = make_recording(world["student"], world["exam"], FRESH)
    case, response = granted_erasure_over_http(app, world, recording)
    assert response.status_code == 302
    (row,) = queued_deletions(case)

    worker = start_worker(smtp_sink.port)
    broker = Celery(broker=redis_url)
    broker.send_task(row.task_name, args=row.args)
    broker.send_task(row.task_name, args=row.args)  # re-sent by the relay

    def deleted() -> bool:
        db.session.rollback()
        return len(deletion_events()) == 2

    assert wait_for(deleted, timeout=60), "the worker did not delete the files"
    time.sleep(2)  # let the second delivery finish before counting
    db.session.rollback()
    assert all(not stored(f) for f in recording.files)
    assert len(deletion_events()) == 2
    assert worker.poll() is None, "the worker died"


def test_an_erasure_request_cannot_name_someone_elses_recording(app, world):
    others = make_recording(world["other_student"], world["exam"], FRESH, files=1)
    student = app.test_client()
    login(student, "sanne@uni.example")
    response = post_form(
        student, "/my/cases/new/erasure", {"recording_ids": [others.id], "description": ""}
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(Case.id))) == 0


def test_a_rejected_erasure_request_deletes_nothing(app, world, smtp_sink):
    recording = make_recording(world["student"], world["exam"], FRESH, files=1)
    case = erasure.file_erasure_request(
        subject=world["student"], filed_by=world["student"], description="", recordings=[recording]
    )
    cases.assign(case, world["handler"], actor=world["handler"])
    erasure.decide_erasure(
        case,
        actor=world["handler"],
        outcome=Outcome.REJECTED,
        reasons="The exam board still needs the recording for a pending appeal.",
    )
    commit()
    assert all(stored(f) for f in recording.files)
    assert db.session.scalar(select(func.count(VendorNotice.id))) == 0


def test_an_upheld_objection_erases_that_exams_recordings_r25(app, world, smtp_sink):
    recording = make_recording(world["student"], world["exam"], FRESH)
    other = make_recording(world["student"], world["other_exam"], FRESH)
    objection = examboard.file_objection(
        student=world["student"],
        filed_by=world["student"],
        exam=world["exam"],
        grounds="Being filmed at home is unbearable.",
        restrict=True,
    )
    cases.assign(objection, world["board"], actor=world["board"])
    commit()
    board = app.test_client()
    login(board, "board@uni.example")
    response = grant(board, objection, "You take the exam on campus.")
    assert response.status_code == 302
    run_queued_deletion(app, objection)
    assert all(not stored(f) for f in recording.files)
    assert all(stored(f) for f in other.files)
    assert {r.rule.value for r in db.session.scalars(select(DeletionRecord))} == {"objection"}
    assert wait_for(lambda: len(smtp_sink.to(VENDOR)) == 1, timeout=10)


# --- restriction (art. 18) --------------------------------------------------------------------


def test_a_restricted_recording_opens_only_to_decide_its_case_and_only_a_decision_lifts_it(
    app, world
):
    recording = make_recording(world["student"], world["exam"], EXPIRED, files=1)
    objection = examboard.file_objection(
        student=world["student"],
        filed_by=world["student"],
        exam=world["exam"],
        grounds="Being filmed at home is unbearable.",
        restrict=True,
    )
    other_case = cases.file_case(
        case_type=CaseType.ACCESS,
        subject=world["student"],
        filed_by=world["student"],
        description="",
    )
    commit()
    handler, board, dpo = world["handler"], world["board"], world["dpo"]
    # Outside the restricting case nobody opens it, not even the DPO.
    for user in (handler, board, dpo):
        assert not can_open_recording(user, recording)
        assert not can_open_recording(user, recording, other_case)
    # To decide the restricting case: the board that decides it, nobody else.
    assert can_open_recording(board, recording, objection)
    assert not can_open_recording(handler, recording, objection)
    # The restriction also keeps the recording from the purge, with the reason.
    held = holds.holds_for([recording])[recording.id]
    assert any(h.kind == "restriction" and h.reference == objection.reference for h in held)
    # Assigning or a message does not lift it; the decision does.
    cases.assign(objection, board, actor=board)
    cases.post_message(objection, author=board, body="We are looking at your objection.")
    commit()
    assert not can_open_recording(handler, recording)
    examboard.decide_for_board(
        objection,
        actor=board,
        outcome=Outcome.REJECTED,
        reasons="The exam cannot be taken otherwise.",
        compelling_grounds="Accreditation requires a supervised exam for this course.",
    )
    commit()
    lifted = db.session.scalars(select(RecordingRestriction)).one()
    assert lifted.lifted_at is not None
    assert can_open_recording(handler, recording)
    assert "recording.restriction_lifted" in actions()
    assert objection.status is CaseStatus.DECIDED


# --- redacted copies go with their recording (R13, R25) --------------------------------------


def redacted_access(
    world: dict[str, Any], until: Literal["queued", "built", "released"] = "released"
) -> HandledAccess:
    """An access request answered with a redacted copy of a webcam file of ``world["exam"]``.

    Released, the access case is closed and no longer holds the recording.
    """
    return handled_access_case(
        student=world["student"],
        handler=world["handler"],
        exam=world["exam"],
        until=until,
    )


def copy_events(since: int = 0) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.id > since, AuditEvent.action == "redacted_copy.deleted")
            .order_by(AuditEvent.id)
        )
    )


def assert_copy_deleted(access: HandledAccess, copy_key: str, copy_sha256: str) -> None:
    """The copy left storage; the decision row stays with sha256 and size, without its key."""
    assert not recordings_storage().exists(copy_key)
    db.session.expire_all()
    decision = db.session.get_one(ItemDecision, access.decision.id)
    assert decision.decision is Release.REDACTED and decision.protects
    assert decision.redacted_storage_key is None
    assert decision.redacted_deleted_at is not None
    assert decision.redacted_sha256 == copy_sha256
    (event,) = copy_events()
    assert event.object_id == str(decision.id) and event.case_id == access.case.id
    assert event.after["storage_key"] == copy_key and event.after["outcome"] == "deleted"


def test_an_erasure_deletes_the_redacted_copy_made_from_the_file_and_keeps_the_decision(app, world):
    access = redacted_access(world)
    copy_key = access.decision.redacted_storage_key or ""
    copy_sha256 = access.decision.redacted_sha256 or ""
    assert recordings_storage().exists(copy_key)
    erasure_case = erasure.file_erasure_request(
        subject=world["student"],
        filed_by=world["student"],
        description="Delete my PSY-101 recording.",
        recordings=[access.file.recording],
    )
    cases.assign(erasure_case, world["handler"], actor=world["handler"])
    commit()
    handler = app.test_client()
    login(handler, "handler@uni.example")
    response = grant(handler, erasure_case, "We delete the recording of PSY-101.")
    assert response.status_code == 302
    deleted = run_queued_deletion(app, erasure_case)
    assert not recordings_storage().exists(copy_key)  # the defect: the copy stayed
    assert {"recording_file.deleted", "redacted_copy.deleted"} <= set(deleted)
    assert_copy_deleted(access, copy_key, copy_sha256)
    intent = db.session.scalars(select(DeletionRecord)).one()
    assert intent.outcome is DeletionOutcome.DELETED and intent.case_id == erasure_case.id
    assert [(c["decision_id"], c["storage_key"]) for c in intent.redacted_copies] == [
        (access.decision.id, copy_key)
    ]

    # Staff opening the copy get a clear "gone" page, not an error; the workspace has no link.
    page = handler.get(f"/staff/cases/{access.case.reference}/access/redacted/{access.decision.id}")
    assert page.status_code == 410
    assert "This redacted copy was deleted on" in page.get_data(as_text=True)
    workspace = handler.get(f"/staff/cases/{access.case.reference}/access")
    assert workspace.status_code == 200
    assert f"/access/redacted/{access.decision.id}" not in workspace.get_data(as_text=True)


@pytest.mark.parametrize(
    "kill_point", ["RETENTION_PURGE_PAUSE_AFTER_INTENT", "RETENTION_PURGE_PAUSE_AFTER_DELETE"]
)
def test_a_purge_killed_halfway_deletes_the_redacted_copy_on_the_rerun(
    app, world, database_url, instance_dir, kill_point
):
    access = redacted_access(world)
    access.file.recording.retention_until = EXPIRED
    commit()
    copy_key = access.decision.redacted_storage_key or ""
    copy_sha256 = access.decision.redacted_sha256 or ""

    kill_purge_halfway(database_url, instance_dir, kill_point, access.file)
    intent = db.session.scalars(select(DeletionRecord)).one()
    assert intent.outcome is None
    assert [c["storage_key"] for c in intent.redacted_copies] == [copy_key]
    # Killed after the intent: all still there. Killed after the delete: copy and file gone
    # from storage, and the decision still names its key until the rerun marks it.
    assert recordings_storage().exists(copy_key) is kill_point.endswith("INTENT")
    assert db.session.get_one(ItemDecision, access.decision.id).redacted_storage_key == copy_key

    rerun = purge_process(database_url, instance_dir)
    output, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, output.decode()
    assert f"complete  file {access.file.id} " in output.decode()
    assert not stored(access.file)
    assert_copy_deleted(access, copy_key, copy_sha256)
    db.session.expire_all()
    assert db.session.get_one(DeletionRecord, intent.id).outcome is DeletionOutcome.DELETED


def test_a_copy_left_behind_by_an_earlier_deletion_is_deleted_by_the_next_purge(app, world):
    access = redacted_access(world)
    copy_key = access.decision.redacted_storage_key or ""
    copy_sha256 = access.decision.redacted_sha256 or ""
    # As a deletion made before copies went with their file left it: file gone, copy stored.
    file = access.file
    recordings_storage().delete(file.storage_key or "")
    db.session.add(
        DeletionRecord(
            file_id=file.id,
            recording_id=file.recording_id,
            sha256=file.sha256,
            size_bytes=file.size_bytes,
            storage_key=file.storage_key,
            rule=DeletionRule.RETENTION,
            found_at_intent=True,
            redacted_copies=[],
            deleted_at=datetime.now(UTC),
            outcome=DeletionOutcome.DELETED,
        )
    )
    file.deleted_at = datetime.now(UTC)
    commit()

    lines = run_task(app)

    assert_copy_deleted(access, copy_key, copy_sha256)
    assert any("1 left-over redacted copies deleted" in line for line in lines)
    record = db.session.scalars(select(DeletionRecord)).one()
    assert [c["storage_key"] for c in record.redacted_copies] == [copy_key]


def test_a_package_built_after_the_redacted_copy_was_deleted_leaves_the_item_out(app, world):
    # The interrupted run deleted the copy; then an access request came in and holds the rest.
    access = redacted_access(world, until="queued")
    store = recordings_storage()
    copy_key = access.decision.redacted_storage_key or ""
    intent = intents.write_intent(access.file, rule=DeletionRule.RETENTION, store=store)
    commit()
    store.delete(copy_key)

    assert intents.carry_out(intent, store=store) is DeletionOutcome.PARTLY_DELETED
    commit()
    assert stored(access.file)  # held by the open access request: the original stays
    db.session.expire_all()
    assert db.session.get_one(ItemDecision, access.decision.id).redacted_deleted_at is not None

    assert build(access.package.id) is PackageStatus.READY
    commit()
    package = db.session.get_one(AccessPackage, access.package.id)
    with packages_storage().open(package.storage_key or "", package.sha256 or "") as reader:
        content = reader.read()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = archive.namelist()
        document = json.loads(archive.read("data.json"))
    # Never the unredacted original in place of the deleted copy (R13).
    assert not any(name.startswith("recordings/") for name in names)
    (entry,) = [f for e in document["exams"] for r in e["recordings"] for f in r["files"]]
    assert entry["release"] == "deleted" and entry["deleted_at"]

    handler = app.test_client()
    login(handler, "handler@uni.example")
    page = handler.get(f"/staff/cases/{access.case.reference}/access/redacted/{access.decision.id}")
    assert page.status_code == 410


# --- a hold placed between intent and rerun (R25) ----------------------------------------------


@pytest.mark.parametrize(
    "kill_point", ["RETENTION_PURGE_PAUSE_AFTER_INTENT", "RETENTION_PURGE_PAUSE_AFTER_DELETE"]
)
def test_a_hold_placed_between_the_intent_and_the_rerun_stops_the_deletion_and_is_recorded(
    app, world, database_url, instance_dir, kill_point
):
    held = make_recording(world["student"], world["exam"], EXPIRED)
    free = make_recording(world["other_student"], world["exam"], EXPIRED)
    first, second = held.files

    kill_purge_halfway(database_url, instance_dir, kill_point, first)
    holds.place_hold(held, reason="Complaint at the College van Beroep.", actor=world["dpo"])
    commit()
    before = last_event_id()

    rerun = purge_process(database_url, instance_dir)
    output, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, output.decode()
    assert f"cancel    file {first.id} " in output.decode()

    db.session.expire_all()
    partly = kill_point.endswith("DELETE")
    assert stored(first) is not partly  # what the killed run deleted stays deleted
    assert stored(second) and second.deleted_at is None
    assert (first.deleted_at is not None) is partly
    assert all(not stored(f) for f in free.files)
    intent = db.session.scalars(
        select(DeletionRecord).where(DeletionRecord.file_id == first.id)
    ).one()
    assert intent.outcome is (
        DeletionOutcome.PARTLY_DELETED if partly else DeletionOutcome.CANCELLED
    )
    assert intent.deleted_at is None and intent.cancelled_at is not None
    assert "legal hold: Complaint at the College van Beroep." in (intent.cancel_reason or "")
    (event,) = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.id > before, AuditEvent.action == "recording_file.deletion_cancelled"
        )
    )
    assert event.object_id == str(first.id)
    assert event.after["partial"] is partly
    assert event.after["file_deleted_before_interruption"] is partly
    assert [h["kind"] for h in event.after["holds"]] == ["legal_hold"]
    deleted_now = db.session.scalars(
        select(AuditEvent.object_id).where(
            AuditEvent.id > before, AuditEvent.action == "recording_file.deleted"
        )
    ).all()
    assert sorted(int(i) for i in deleted_now) == sorted(f.id for f in free.files)

    # Once the hold is released, the next purge deletes the recording after all.
    hold = holds.active_hold(held)
    assert hold is not None
    holds.release_hold(hold, reason="The appeal was decided.", actor=world["dpo"])
    commit()
    run_task(app)
    db.session.expire_all()
    assert not stored(first) and not stored(second)
    assert first.deleted_at is not None and second.deleted_at is not None


def test_an_erasure_carried_out_after_a_legal_hold_was_placed_deletes_nothing(app, world):
    recording = make_recording(world["student"], world["exam"], FRESH)
    case = erasure.file_erasure_request(
        subject=world["student"], filed_by=world["student"], description="", recordings=[recording]
    )
    cases.assign(case, world["handler"], actor=world["handler"])
    erasure.decide_erasure(
        case, actor=world["handler"], outcome=Outcome.GRANTED, reasons="Erased as asked."
    )
    commit()  # the intents are durable; the request died before carrying them out
    holds.place_hold(recording, reason="Police investigation.", actor=world["dpo"])
    commit()

    assert runner.delete_decided_files(case.id) == 2  # as the queued task runs it

    assert all(stored(f) and f.deleted_at is None for f in recording.files)
    records = db.session.scalars(select(DeletionRecord)).all()
    assert {r.outcome for r in records} == {DeletionOutcome.CANCELLED}
    assert all("Police investigation." in (r.cancel_reason or "") for r in records)
    assert actions().count("recording_file.deletion_cancelled") == 2
    assert "recording_file.deleted" not in actions()
    assert intents.pending_intents() == []

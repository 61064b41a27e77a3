"""An access request from filing to download, with a real Celery worker on Redis (R11-R14, R24).

A student asks for all their data; a handler imports the vendor's export through the staff page,
redacts the webcam video (a housemate is visible) and withholds the session log, has the package
built by a real worker process, previews the letter and releases. The student downloads the ZIP:
media byte-identical, data.json valid, the PDF letter naming the vendor, the retention period,
the complaint right at the Autoriteit Persoonsgegevens and both partial refusals. Another student
and a guardian who did not file get 404; after the link's 30 days it stops working.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
import time_machine
from pypdf import PdfReader
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from rights_portal.access import lifecycle as access_lifecycle
from rights_portal.access.models import AccessPackage, PackageStatus
from rights_portal.access.storage import packages_storage
from rights_portal.audit.models import AuditEvent
from rights_portal.audit.verify import verify_chain
from rights_portal.cases.models import Case, CaseStatus, Outcome
from rights_portal.clock import now_utc
from rights_portal.exams.models import FileKind, RecordingFile
from rights_portal.extensions import db
from rights_portal.transactions import commit
from tests import conftest
from tests.access_support import (
    AFTER_EXAM,
    make_world,
    standard_files,
    standard_rows,
    write_export,
    zip_folder,
)
from tests.conftest import csrf_token, login, post_form, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]


@pytest.fixture
def worker(start_worker, smtp_sink):
    """A real Celery worker on Redis, delivering to the test's SMTP sink."""
    return start_worker(smtp_sink.port)


@pytest.fixture
def web(app, database_url, smtp_sink, redis_url):
    """The portal as in production: tasks go to Redis, where the real worker takes them."""
    from rights_portal import create_app

    config = conftest.test_config(database_url, smtp_sink)
    config["CELERY"] = {"task_always_eager": False, "broker_url": redis_url}
    web_app = create_app(config)
    web_app.test_client_class = conftest.IsolatedClient
    yield web_app
    app.extensions["celery"].set_default()  # shared tasks called directly use the suite's app
    with web_app.app_context():
        db.engine.dispose()


def multipart_post(client, path, token_page, fields, files):
    payload = {"csrf_token": csrf_token(client, token_page), **fields}
    for name, (content, filename) in files.items():
        payload[name] = FileStorage(io.BytesIO(content), filename=filename)
    boundary, body = encode_multipart(payload)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def pdf_text(data: bytes) -> str:
    return " ".join(
        " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split()
    )


@time_machine.travel(AFTER_EXAM, tick=True)
def test_an_access_request_from_filing_to_download(
    app_ctx,
    web,
    worker,
    smtp_sink,
    tmp_path,
):
    world = make_world()
    files = standard_files()

    # 1. The student asks for everything held about them.
    student = web.test_client()
    login(student, "sanne@uni.example")
    filed = post_form(student, "/my/cases/new/access", {"scope": "all", "description": ""})
    assert filed.status_code == 302
    case = db.session.scalars(select(Case)).one()
    reference = case.reference
    workspace = f"/staff/cases/{reference}/access"

    # 2. The handler imports the vendor's export through the staff page and takes the case.
    handler = web.test_client()
    login(handler, "handler@uni.example")
    archive = zip_folder(
        write_export(tmp_path / "export", files, standard_rows()), tmp_path / "export.zip"
    )
    imported = multipart_post(
        handler,
        "/staff/recordings/import",
        "/staff/recordings/import",
        {},
        {"export": (archive.read_bytes(), "proctoreye-export.zip")},
    )
    assert imported.status_code == 302, imported.get_data(as_text=True)[:2000]
    assigned = post_form(
        handler,
        f"/staff/cases/{reference}/assign",
        {"assignee_id": world["handler"].id},
        token_from=f"/staff/cases/{reference}",
    )
    assert assigned.status_code == 302
    page = handler.get(workspace).get_data(as_text=True)
    assert "webcam.mp4" in page and "events.log" in page

    # 3. Redact the video (a housemate is visible), withhold the log (R13).
    stored = {f.kind: f for f in db.session.scalars(select(RecordingFile))}
    video, log_file = stored[FileKind.VIDEO], stored[FileKind.LOG]
    blurred = b"webcam video with the housemate blurred " * 5000
    video_key, log_key = f"file-{video.id}", f"file-{log_file.id}"
    redacted = multipart_post(
        handler,
        f"{workspace}/items/file/{video.id}",
        workspace,
        {
            f"{video_key}-csrf_token": csrf_token(handler, workspace),
            f"{video_key}-decision": "redacted",
            f"{video_key}-protects": "the student's housemate, who walks through the picture",
        },
        {f"{video_key}-redacted_file": (blurred, "webcam-blurred.mp4")},
    )
    assert redacted.status_code == 302, redacted.get_data(as_text=True)[:2000]
    withheld = post_form(
        handler,
        f"{workspace}/items/file/{log_file.id}",
        {
            f"{log_key}-csrf_token": csrf_token(handler, workspace),
            f"{log_key}-decision": "withheld",
            f"{log_key}-reason": "The log holds the invigilator's notes about other students.",
        },
        token_from=workspace,
    )
    assert withheld.status_code == 302

    # 4. The package is built by the real worker; the handler watches the progress page.
    built = post_form(handler, f"{workspace}/packages", {}, token_from=workspace)
    assert built.status_code == 302
    progress_url = built.headers["Location"]
    first_look = handler.get(progress_url).get_data(as_text=True)
    assert '<progress id="build-progress"' in first_look

    def package():
        db.session.expire_all()
        return db.session.scalars(select(AccessPackage)).one()

    assert wait_for(lambda: package().status not in (PackageStatus.QUEUED, PackageStatus.BUILDING))
    built_package = package()
    assert built_package.status is PackageStatus.READY, built_package.error
    assert worker.poll() is None, "the worker died"
    ready_page = handler.get(progress_url).get_data(as_text=True)
    assert "Ready for release" in ready_page
    assert 'http-equiv="refresh"' not in ready_page

    # 5. Preview the letter, then release.
    letter = handler.get(f"{progress_url}/letter").get_data(as_text=True)
    assert "ProctorEye B.V." in letter and "Autoriteit Persoonsgegevens" in letter
    smtp_sink.clear()
    released = post_form(handler, f"{progress_url}/release", {}, token_from=progress_url)
    assert released.status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.status is CaseStatus.CLOSED
    assert case.outcome is Outcome.PARTLY_GRANTED
    assert "housemate" in case.decision_reasons and "invigilator" in case.decision_reasons

    # 6. The e-mail (delivered by the worker) carries a link only.
    def ready_mail():
        return [m for m in smtp_sink.to("sanne@uni.example") if "ready to download" in m["Subject"]]

    assert wait_for(lambda: len(ready_mail()) == 1)
    body = ready_mail()[0].get_payload(decode=True).decode()
    link = re.search(r"http://portal\.test(/my/cases/\S+/package/\d+)", body).group(1)
    assert "housemate" not in body and "ProctorEye" not in body

    # 7. The student finds the package on the case page, downloads the ZIP and checks it.
    case_page = student.get(f"/my/cases/{reference}").get_data(as_text=True)
    assert "Download your data (ZIP" in case_page
    assert link in case_page
    download = student.get(link)
    assert download.status_code == 200
    assert download.headers["Referrer-Policy"] == "no-referrer"
    assert download.headers["Accept-Ranges"] == "bytes"
    assert "attachment" in download.headers["Content-Disposition"]
    zipped = download.data
    assert hashlib.sha256(zipped).hexdigest() == built_package.sha256
    archive_in = zipfile.ZipFile(io.BytesIO(zipped))
    names = archive_in.namelist()
    by_kind = {
        kind: [n for n in names if f"-{kind}-" in n] for kind in ("video", "screenshot", "log")
    }
    assert (
        hashlib.sha256(archive_in.read(by_kind["screenshot"][0])).hexdigest()
        == hashlib.sha256(files["media/session-1/screen-01.png"]).hexdigest()
    )
    assert archive_in.read(by_kind["video"][0]) == blurred  # the redacted copy, byte for byte
    assert by_kind["log"] == []
    data = json.loads(archive_in.read("data.json"))
    assert data["case"]["reference"] == reference
    refusals = {r["release"]: r for r in data["partial_refusals"]}
    assert set(refusals) == {"redacted", "withheld"}
    pdf = pdf_text(archive_in.read("cover-letter.pdf"))
    assert "ProctorEye B.V." in pdf  # the vendor, as recipient
    assert "90 days" in pdf  # the retention period
    assert "Autoriteit Persoonsgegevens" in pdf  # the complaint right
    assert "the student's housemate, who walks through the picture" in pdf  # the redaction
    assert "invigilator's notes about other students" in pdf  # the withholding

    # A broken-off download resumes with a Range request (R14: streamed with resume support).
    resumed = student.get(link, headers={"Range": "bytes=1000-1999"})
    assert resumed.status_code == 206
    assert resumed.data == zipped[1000:2000]
    downloads = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "package.downloaded")
    ).all()
    assert [(e.actor_id, e.case_id) for e in downloads] == [(world["student"].id, case.id)] * 2
    assert all(e.occurred_at for e in downloads)

    # 8. Nobody else gets it: another student, a guardian who did not file it.
    for email in ("daan@uni.example", "parent@home.example"):
        other = web.test_client()
        login(other, email)
        assert other.get(link).status_code == 404
        assert other.get(f"/my/cases/{reference}").status_code == 404

    # 9. After the link's 30 days it stops working; housekeeping deletes the file (R14).
    key = built_package.storage_key
    with time_machine.travel(now_utc() + timedelta(days=30, minutes=5), tick=False):
        student = web.test_client()  # a month later: a new session
        login(student, "sanne@uni.example")
        assert student.get(link).status_code == 410
        access_lifecycle.expire_packages()
        commit()
        db.session.expire_all()
        expired = db.session.get(AccessPackage, built_package.id)
        assert expired.status is PackageStatus.EXPIRED
        assert (expired.sha256, expired.size_bytes) == (
            built_package.sha256,
            built_package.size_bytes,
        )
        assert not packages_storage().exists(key)
        gone = student.get(link)
        assert gone.status_code == 410
        assert "This download link has expired" in gone.get_data(as_text=True)
        case_page = student.get(f"/my/cases/{reference}").get_data(as_text=True)
        assert "The download period ended on" in case_page
    assert verify_chain().ok

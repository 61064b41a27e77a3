"""Building, previewing, releasing and expiring an access package (R11-R14, docs/rules.md#targets).

Builds here run in-process (eager Celery); the end-to-end test builds in a real worker, and the
memory test builds in a separate process under an address-space limit smaller than the recording.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from pypdf import PdfReader
from sqlalchemy import select

from rights_portal.access import decisions as access_decisions
from rights_portal.access import filing as access_filing
from rights_portal.access import importer
from rights_portal.access import lifecycle as access_lifecycle
from rights_portal.access.models import AccessPackage, ItemType, PackageStatus, Release
from rights_portal.access.storage import packages_storage, recordings_storage
from rights_portal.audit.models import AuditEvent
from rights_portal.cases import services as case_services
from rights_portal.cases.models import Case, CaseStatus, Outcome
from rights_portal.clock import now_utc
from rights_portal.exams.models import FileKind, Recording, RecordingFile
from rights_portal.extensions import db
from rights_portal.transactions import commit
from tests.access_support import make_world, standard_files, standard_rows, write_export
from tests.conftest import login, post_form

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parent.parent
VIDEO = "media/session-1/webcam.mp4"
SCREENSHOT = "media/session-1/screen-01.png"


@pytest.fixture
def world(app_ctx, tmp_path):
    world = make_world()
    importer.import_export(
        write_export(tmp_path / "export", standard_files(), standard_rows()), actor=None
    )
    case = access_filing.file_access_request(
        subject=world["student"], filed_by=world["student"], description="", all_data=True
    )
    case_services.assign(case, world["handler"], actor=world["handler"])
    commit()
    files = {f.kind: f for f in db.session.scalars(select(RecordingFile))}
    return {**world, "case": case, "files": files}


def redact_and_withhold(world):
    blurred = b"blurred webcam video " * 2000
    access_decisions.decide_item(
        world["case"],
        actor=world["handler"],
        item_type=ItemType.FILE,
        item_id=world["files"][FileKind.VIDEO].id,
        decision=Release.REDACTED,
        protects="a housemate who walks into view",
        reason="Their face is recognisable.",
        redacted=access_decisions.RedactedUpload(io.BytesIO(blurred), "blurred.mp4", "video/mp4"),
    )
    access_decisions.decide_item(
        world["case"],
        actor=world["handler"],
        item_type=ItemType.FILE,
        item_id=world["files"][FileKind.LOG].id,
        decision=Release.WITHHELD,
        reason="It holds the invigilator's internal notes about other students.",
    )
    commit()
    return blurred


def build_over_http(client, case):
    response = post_form(
        client,
        f"/staff/cases/{case.reference}/access/packages",
        {},
        token_from=f"/staff/cases/{case.reference}/access",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    db.session.expire_all()
    return db.session.scalars(select(AccessPackage).order_by(AccessPackage.id.desc())).first()


def zip_of(package):
    with packages_storage().open(package.storage_key, package.sha256, package.size_bytes) as f:
        return zipfile.ZipFile(io.BytesIO(f.read()))


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_a_built_package_holds_the_media_the_data_and_the_letter(app, world):
    blurred = redact_and_withhold(world)
    client = app.test_client()
    login(client, "handler@uni.example")

    package = build_over_http(client, world["case"])

    assert package.status is PackageStatus.READY, package.error
    assert package.progress == 100
    assert package.file_count == 2  # the redacted video and the screenshot; the log is withheld
    assert package.partial_refusals == 2
    archive = zip_of(package)
    names = archive.namelist()
    [video_name] = [n for n in names if "-video-" in n]
    [shot_name] = [n for n in names if "-screenshot-" in n]
    assert video_name.startswith("recordings/PSY-101_2026-12-14/")
    assert video_name.endswith("-redacted.mp4")
    assert archive.read(video_name) == blurred
    assert archive.read(shot_name) == standard_files()[SCREENSHOT]
    assert not any("-log-" in n for n in names)
    assert {"data.json", "data.csv", "cover-letter.html", "cover-letter.pdf"} <= set(names)
    assert all(archive.getinfo(n).compress_type == zipfile.ZIP_STORED for n in (video_name,))
    actions = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "access_package", AuditEvent.object_id == str(package.id))
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["package.build_requested", "package.built"]

    data = json.loads(archive.read("data.json"))
    assert data["format"] == "rights-portal/access-package/1"
    assert data["data_subject"]["student_number"] == "s1234567"
    files = data["exams"][0]["recordings"][0]["files"]
    by_kind = {f["kind"]: f for f in files}
    assert by_kind["screenshot"]["sha256"] == hashlib.sha256(archive.read(shot_name)).hexdigest()
    assert by_kind["video"]["release"] == "redacted"
    assert by_kind["video"]["redaction_protects"] == "a housemate who walks into view"
    assert by_kind["log"] == {
        "id": world["files"][FileKind.LOG].id,
        "kind": "log",
        "media_type": "text/plain",
        "size_bytes": world["files"][FileKind.LOG].size_bytes,
        "release": "withheld",
        "reason": "It holds the invigilator's internal notes about other students.",
    }
    flags = data["exams"][0]["recordings"][0]["automated_flags"]
    assert {f["code"] for f in flags} == {"second_voice", "gaze_away"}
    assert len(data["partial_refusals"]) == 2
    facts = data["information_article_15"]["tools"][0]
    assert facts["vendor"] == "ProctorEye B.V."
    # The letter cites the register of tools and the version it used (issue 12).
    assert facts["source"] == {"table": "register_versions", "id": world["tool"].id, "version": 1}
    assert package.facts_used["tools"][0]["retention_days"] == 90

    csv_lines = archive.read("data.csv").decode().splitlines()
    assert csv_lines[0].startswith("item,type,exam,recorded_at")
    assert len(csv_lines) == 1 + 3 + 2  # three files and two flags

    text = pdf_text(archive.read("cover-letter.pdf"))
    for expected in (
        "ProctorEye B.V.",
        "90 days",
        "Autoriteit Persoonsgegevens",
        "a housemate who walks into view",
        "invigilator's internal notes",
        "Standard Contractual Clauses",
        "exam board",
    ):
        assert expected in " ".join(text.split()), expected


def test_the_handler_previews_the_letter_and_each_look_is_audited(app, world):
    client = app.test_client()
    login(client, "handler@uni.example")
    package = build_over_http(client, world["case"])
    base = f"/staff/cases/{world['case'].reference}/access/packages/{package.id}"

    page = client.get(base).get_data(as_text=True)
    letter = client.get(f"{base}/letter")
    zipped = client.get(f"{base}/zip")

    assert "Preview the cover letter" in page
    assert 'http-equiv="refresh"' not in page  # built: no more refreshing
    assert letter.status_code == 200
    assert "sandbox" in letter.headers["Content-Security-Policy"]
    assert "Autoriteit Persoonsgegevens" in letter.get_data(as_text=True)
    assert zipped.status_code == 200
    assert hashlib.sha256(zipped.data).hexdigest() == package.sha256
    actions = [
        e.action
        for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.actor_id == world["handler"].id)
        )
    ]
    assert "package_letter.opened" in actions
    assert "package.opened" in actions


def test_the_progress_page_follows_the_build_without_a_meta_refresh_while_queued(app, world):
    package = access_lifecycle.request_build(world["case"], actor=world["handler"])
    commit()  # queued, but no task sent: as if the broker were down
    client = app.test_client()
    login(client, "handler@uni.example")

    page = client.get(
        f"/staff/cases/{world['case'].reference}/access/packages/{package.id}"
    ).get_data(as_text=True)

    # A script from static/ polls the progress (the CSP allows no inline script, axe forbids a
    # meta refresh); without script the page offers a link to refresh it by hand.
    assert 'http-equiv="refresh"' not in page
    assert "/static/package-status.js" in page
    assert f'data-progress-url="/staff/cases/{world["case"].reference}/access/packages/' in page
    assert 'id="build-refresh"' in page
    assert '<progress id="build-progress" max="100" value="0"' in page
    assert "Waiting to be built" in page


def test_a_second_build_is_refused_while_one_is_queued(app, world):
    access_lifecycle.request_build(world["case"], actor=world["handler"])
    commit()
    client = app.test_client()
    login(client, "handler@uni.example")
    response = post_form(
        client,
        f"/staff/cases/{world['case'].reference}/access/packages",
        {},
        token_from=f"/staff/cases/{world['case'].reference}/access",
    )
    assert response.status_code == 409
    assert db.session.scalars(select(AccessPackage)).one().status is PackageStatus.QUEUED


def test_a_new_build_supersedes_the_previous_one_and_deletes_its_file(app, world):
    client = app.test_client()
    login(client, "handler@uni.example")
    first = build_over_http(client, world["case"])
    first_key = first.storage_key
    assert packages_storage().exists(first_key)

    second = build_over_http(client, world["case"])

    db.session.refresh(first)
    assert first.status is PackageStatus.SUPERSEDED
    assert first.storage_key is None and first.sha256  # the record of what it was stays
    assert not packages_storage().exists(first_key)
    assert second.status is PackageStatus.READY


def test_release_refuses_a_build_made_stale_by_a_later_decision(app, world):
    client = app.test_client()
    login(client, "handler@uni.example")
    package = build_over_http(client, world["case"])
    access_decisions.decide_item(
        world["case"],
        actor=world["handler"],
        item_type=ItemType.FILE,
        item_id=world["files"][FileKind.LOG].id,
        decision=Release.WITHHELD,
        reason="Decided after the build.",
    )
    commit()

    response = post_form(
        client,
        f"/staff/cases/{world['case'].reference}/access/packages/{package.id}/release",
        {},
        token_from=f"/staff/cases/{world['case'].reference}/access/packages/{package.id}",
    )

    assert response.status_code == 409
    assert "Build it again" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, world["case"].id).status is CaseStatus.IN_REVIEW
    assert db.session.get(AccessPackage, package.id).status is PackageStatus.READY


def test_releasing_decides_partly_granted_with_the_refusals_and_closes_the_case(
    app, world, smtp_sink
):
    redact_and_withhold(world)
    client = app.test_client()
    login(client, "handler@uni.example")
    package = build_over_http(client, world["case"])
    smtp_sink.clear()

    response = post_form(
        client,
        f"/staff/cases/{world['case'].reference}/access/packages/{package.id}/release",
        {},
        token_from=f"/staff/cases/{world['case'].reference}/access/packages/{package.id}",
    )

    assert response.status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, world["case"].id)
    assert case.status is CaseStatus.CLOSED
    assert case.outcome is Outcome.PARTLY_GRANTED
    assert case.decided_by_id == world["handler"].id
    assert "released redacted, to protect a housemate who walks into view" in case.decision_reasons
    assert "withheld. Reason: It holds the invigilator's" in case.decision_reasons
    assert "Autoriteit Persoonsgegevens" in case.decision_reasons
    package = db.session.get(AccessPackage, package.id)
    assert package.status is PackageStatus.RELEASED
    assert package.expires_at - package.released_at == timedelta(days=30)
    actions = [
        e.action
        for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id)
        )
    ]
    assert actions[-3:] == ["case.decided", "package.released", "case.fulfilled"]
    mails = smtp_sink.to("sanne@uni.example")
    ready = [m for m in mails if "ready to download" in m["Subject"]]
    assert len(ready) == 1
    body = ready[0].get_payload(decode=True).decode()
    assert f"/my/cases/{case.reference}/package/{package.id}" in body
    assert "housemate" not in body  # a link only, never the content


def test_a_release_without_refusals_is_granted(app, world):
    client = app.test_client()
    login(client, "handler@uni.example")
    package = build_over_http(client, world["case"])
    access_lifecycle.release(package, actor=world["handler"])
    commit()
    db.session.expire_all()
    assert db.session.get(Case, world["case"].id).outcome is Outcome.GRANTED


def test_a_damaged_recording_fails_the_build_with_a_clear_error(app, world):
    video = world["files"][FileKind.VIDEO]
    recordings_storage().local_path(video.storage_key).write_bytes(b"\0" * video.size_bytes)
    packages_dir = Path(app.config["PACKAGES_DIR"])
    before = {p for p in packages_dir.rglob("*") if p.is_file()} if packages_dir.exists() else set()
    client = app.test_client()
    login(client, "handler@uni.example")

    package = build_over_http(client, world["case"])

    assert package.status is PackageStatus.FAILED
    assert "a stored recording is damaged" in package.error
    assert package.storage_key is None
    assert {p for p in packages_dir.rglob("*") if p.is_file()} == before
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "package.build_failed")
    ).one()


def test_housekeeping_deletes_an_expired_package_and_keeps_its_sha256_and_size(app, world):
    task = app.extensions["celery"].tasks["rights_portal.access_package_housekeeping"]

    def access_package_housekeeping():
        return task.apply().get()

    client = app.test_client()
    login(client, "handler@uni.example")
    package = build_over_http(client, world["case"])
    access_lifecycle.release(package, actor=world["handler"])
    commit()
    key, sha256, size = package.storage_key, package.sha256, package.size_bytes

    with time_machine.travel(now_utc() + timedelta(days=29)):
        assert access_package_housekeeping()["expired"] == []
    with time_machine.travel(now_utc() + timedelta(days=30, minutes=1)):
        assert access_package_housekeeping()["expired"] == [package.id]

    db.session.expire_all()
    package = db.session.get(AccessPackage, package.id)
    assert package.status is PackageStatus.EXPIRED
    assert (package.sha256, package.size_bytes) == (sha256, size)
    assert package.storage_key is None and package.file_deleted_at is not None
    assert not packages_storage().exists(key)


# --- memory: streaming, not loading ---------------------------------------------------------

ADDRESS_SPACE_LIMIT = 448 * 1024 * 1024
LARGE_RECORDING = 512 * 1024 * 1024 + 12_345  # larger than the builder may use at all

LIMITED_PROCESS = """
import json, resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from rights_portal import create_app
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[2], "CELERY": {"broker_url": "memory://"}})
with app.app_context():
    if sys.argv[3] == "read-whole-file":  # the control: what a non-streaming builder would do
        try:
            open(sys.argv[4], "rb").read()
        except MemoryError:
            print(json.dumps({"memory_error": True}))
        sys.exit(0)
    from rights_portal.access.package import build
    from rights_portal.transactions import commit
    status = build(int(sys.argv[3]))
    commit()
    peak = [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
    print(json.dumps({"status": status.value if status else None, "peak_rss_kb": int(peak)}))
"""


class Zeros(io.RawIOBase):
    """A stream of ``size`` zero bytes that never exists in memory as a whole."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def run_limited(database_url, instance_dir, *args):
    env = {**os.environ, "RIGHTS_PORTAL_INSTANCE": instance_dir, "RIGHTS_PORTAL_ENV": "test"}
    # The app imports numpy (the redaction pipeline); OpenBLAS reserves a buffer per thread at
    # import and segfaults when the address-space limit refuses it: one thread, as a builder needs.
    env["OPENBLAS_NUM_THREADS"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", LIMITED_PROCESS, str(ADDRESS_SPACE_LIMIT), database_url, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_recording_larger_than_the_builders_memory_limit_still_builds(
    app, world, database_url, instance_dir
):
    recordings = recordings_storage()
    stored = recordings.put(Zeros(LARGE_RECORDING))
    recording = Recording(
        student_id=world["student"].id,
        exam_id=world["exam"].id,
        recorded_at=world["exam"].starts_at + timedelta(hours=1),
        retention_until=world["exam"].starts_at.date() + timedelta(days=90),
    )
    recording.files.append(
        RecordingFile(
            kind=FileKind.VIDEO,
            filename="long-session.mp4",
            media_type="video/mp4",
            size_bytes=stored.size,
            sha256=stored.sha256,
            storage_key=stored.key,
        )
    )
    db.session.add(recording)
    package = access_lifecycle.request_build(world["case"], actor=world["handler"])
    commit()
    package_id = package.id
    try:
        # The limit is real: reading the recording whole fails in such a process.
        control = run_limited(
            database_url, instance_dir, "read-whole-file", str(recordings.local_path(stored.key))
        )
        assert control == {"memory_error": True}

        result = run_limited(database_url, instance_dir, str(package_id))

        assert result["status"] == "ready"
        # Peak memory stays far below the recording's size (docs/rules.md#targets: independent of
        # it).
        assert result["peak_rss_kb"] * 1024 < LARGE_RECORDING // 2
        db.session.expire_all()
        package = db.session.get(AccessPackage, package_id)
        assert package.size_bytes > LARGE_RECORDING
        path = packages_storage().local_path(package.storage_key)
        with zipfile.ZipFile(path) as archive:
            suffix = f"-video-{recording.files[0].id}.mp4"
            [name] = [n for n in archive.namelist() if n.endswith(suffix)]
            digest = hashlib.sha256()
            with archive.open(name) as member:
                while chunk := member.read(1024 * 1024):
                    digest.update(chunk)
        assert digest.hexdigest() == stored.sha256
    finally:
        db.session.expire_all()
        built = db.session.get(AccessPackage, package_id)
        if built is not None and built.storage_key:
            packages_storage().delete(built.storage_key)
        recordings.delete(stored.key)


def test_housekeeping_resends_a_build_whose_task_was_lost(app, world):
    # The broker was down when the handler asked for the build: the package stays queued.
    package = access_lifecycle.request_build(world["case"], actor=world["handler"])
    commit()
    task = app.extensions["celery"].tasks["rights_portal.access_package_housekeeping"]

    with time_machine.travel(now_utc() + timedelta(minutes=1)):
        assert task.apply().get()["requeued"] == []
    with time_machine.travel(now_utc() + timedelta(minutes=3)):
        assert task.apply().get()["requeued"] == [package.id]

    db.session.expire_all()
    assert db.session.get(AccessPackage, package.id).status is PackageStatus.READY

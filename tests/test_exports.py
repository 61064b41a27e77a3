"""Background exports (issue 23): asked for on a page, built by the task, downloaded when ready.

The audit trail's CSV and the DPO's report are no longer built while a browser waits: asking
stores an export and queues its build (eager here), the exports page lists it, and only who
asked may download it, audited each time (R24). After the retention the file is deleted and the
download says so (410). With ``SENDFILE_VIA_ACCEL`` the app answers a download with
``X-Accel-Redirect`` and no body; a test with a real nginx (skipped when nginx is absent) checks
that nginx then sends exactly the stored bytes, Range included, and refuses the internal
location to a client.
"""

from __future__ import annotations

import hashlib
import io
import os
import pwd
import re
import shutil
import socket
import subprocess
import threading
import time
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from rights_portal.access import blobs
from rights_portal.access.storage import LocalStorage, exports_storage, packages_storage
from rights_portal.accounts.models import Role, User
from rights_portal.audit.models import AuditEvent
from rights_portal.clock import now_utc
from rights_portal.exports import services as export_services
from rights_portal.exports.models import Export, ExportStatus
from rights_portal.extensions import db
from rights_portal.transactions import commit
from tests.access_support import handled_access_case
from tests.conftest import login
from tests.export_support import (
    ask_for_export,
    export_and_download,
    newest_export,
    run_queued_builds,
)
from tests.factories import ExamFactory, ProgrammeFactory, UserFactory

pytestmark = pytest.mark.postgres


@pytest.fixture
def people(app_ctx):
    made = {
        "dpo": UserFactory(email="dpo@uni.example", role=Role.DPO),
        "other_dpo": UserFactory(email="dpo2@uni.example", role=Role.DPO),
        "handler": UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER),
    }
    db.session.commit()
    return made


def client_for(app: Any, email: str) -> Any:
    client = app.test_client()
    login(client, email)
    return client


def actions_since(event_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.id > event_id).order_by(AuditEvent.id)
        )
    )


def last_event_id() -> int:
    return db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0


def test_the_dpo_asks_for_the_trail_as_csv_and_downloads_it_when_ready(app, people):
    dpo = client_for(app, "dpo@uni.example")
    # The old download address (a bookmark) shows the button; asking takes a POST.
    bookmark = dpo.get("/staff/audit/export.csv?actor=handler@uni.example")
    assert bookmark.status_code == 200
    assert 'method="post"' in bookmark.get_data(as_text=True)
    assert db.session.scalars(select(Export)).first() is None
    before = last_event_id()
    _asked, download = export_and_download(
        dpo, "/staff/audit/export.csv", {"actor": "dpo@uni.example"}
    )
    export = newest_export()
    assert export.status is ExportStatus.READY and export.requested_by_id == people["dpo"].id
    assert export.params == {"actor": "dpo@uni.example"}
    assert export.expires_at - export.finished_at == timedelta(
        hours=app.config["EXPORT_RETENTION_HOURS"]
    )
    page = dpo.get("/staff/exports").get_data(as_text=True)
    assert f"/staff/exports/{export.id}/download" in page and export.filename in page
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.headers["Cache-Control"] == "private, no-store"
    body = download.get_data()
    assert body.startswith("\ufeff".encode()) and b"user.login" in body
    assert hashlib.sha256(body).hexdigest() == export.sha256 and len(body) == export.size_bytes
    actions = actions_since(before)
    assert {"audit.trail_exported", "export.built", "export.downloaded"} <= set(actions)
    asked_event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "audit.trail_exported")
    ).one()
    assert asked_event.actor_id == people["dpo"].id
    assert asked_event.after == {"filters": {"actor": "dpo@uni.example"}, "export_id": export.id}
    # A resumed download (a later range) is served, and not logged again.
    before = last_event_id()
    part = dpo.get(f"/staff/exports/{export.id}/download", headers={"Range": "bytes=3-9"})
    assert part.status_code == 206 and part.get_data() == body[3:10]
    assert actions_since(before) == []


def test_the_report_is_built_as_pdf_in_the_background(app, people):
    dpo = client_for(app, "dpo@uni.example")
    before = last_event_id()
    _asked, download = export_and_download(
        dpo, "/staff/dpo/report.pdf", {"from": "2026-01-01", "to": "2026-12-31"}
    )
    assert download.status_code == 200 and download.get_data().startswith(b"%PDF")
    export = newest_export()
    assert export.params == {"from": "2026-01-01", "to": "2026-12-31", "programme_id": None}
    assert export.filename == "accountability_2026-01-01_2026-12-31.pdf"
    assert {"dpo.report_exported", "export.built", "export.downloaded"} <= set(
        actions_since(before)
    )


def test_only_who_asked_downloads_and_only_the_dpo_may_ask(app, people):
    dpo = client_for(app, "dpo@uni.example")
    ask_for_export(dpo, "/staff/audit/export.csv")
    export = newest_export()
    url = f"/staff/exports/{export.id}/download"
    assert dpo.get(url).status_code == 200
    # Another DPO does not see it (404), nor the other's list; a handler may not ask at all.
    other = client_for(app, "dpo2@uni.example")
    assert other.get(url).status_code == 404
    assert url not in other.get("/staff/exports").get_data(as_text=True)
    handler = client_for(app, "handler@uni.example")
    assert ask_for_export(handler, "/staff/audit/export.csv").status_code == 403
    assert ask_for_export(handler, "/staff/dpo/report.pdf").status_code == 403
    assert handler.get(url).status_code == 403
    # Who asked but lost the role since: the file is no longer theirs either.
    people["dpo"].role = Role.CASE_HANDLER
    commit()
    assert dpo.get(url).status_code in (403, 404)
    assert db.session.scalar(select(Export.id).where(Export.id == export.id)) == export.id


def test_expired_exports_are_deleted_and_their_download_says_so(app, people):
    dpo = client_for(app, "dpo@uni.example")
    ask_for_export(dpo, "/staff/audit/export.csv")
    export = newest_export()
    key = export.storage_key
    assert key and exports_storage().exists(key)
    assert export_services.purge_expired() == 0  # not yet due
    export.expires_at = now_utc() - timedelta(seconds=1)
    commit()
    assert export_services.purge_expired() == 1
    commit()
    db.session.expire_all()
    assert export.status is ExportStatus.EXPIRED and export.storage_key is None
    assert not exports_storage().exists(key)
    assert dpo.get(f"/staff/exports/{export.id}/download").status_code == 410
    assert "export.deleted" in actions_since(0)


def test_a_failed_build_is_recorded_and_shown(app, people):
    export = export_services.request_export(
        export_services.ExportKind.AUDIT_TRAIL,
        {"date_from": "not a date"},  # only a broken row can get here; the form refuses it
        actor=people["dpo"],
        filename="x.csv",
        media_type="text/csv",
        locale="en",
    )
    commit()
    run_queued_builds()
    db.session.expire_all()
    assert export.status is ExportStatus.FAILED and "ValueError" in (export.error or "")
    assert "export.build_failed" in actions_since(0)
    page = client_for(app, "dpo@uni.example").get("/staff/exports").get_data(as_text=True)
    assert "could not be made" in page
    # A second delivery of the task finds nothing to do.
    assert export_services.build(export.id) is None


def test_the_hashing_writer_hashes_what_it_writes_and_cannot_seek(tmp_path):
    path = tmp_path / "out.bin"
    data = [bytes([n]) * (1024 * 1024 + n) for n in range(9)]
    with blobs.HashingWriter(path, depth=2) as writer:
        for chunk in data:
            writer.write(chunk)
        assert writer.tell() == sum(map(len, data))
        with pytest.raises(io.UnsupportedOperation):
            writer.seek(0)
    joined = b"".join(data)
    assert path.read_bytes() == joined
    assert writer.sha256 == hashlib.sha256(joined).hexdigest() and writer.size == len(joined)
    with pytest.raises(FileExistsError):  # never overwrites a file
        blobs.HashingWriter(path)


def test_a_built_package_is_hashed_while_written_and_is_a_valid_zip(app, app_ctx):
    programme = ProgrammeFactory()
    student = UserFactory(programme_id=programme.id)
    handler = UserFactory(role=Role.CASE_HANDLER)
    exam = ExamFactory(programme=programme)
    commit()
    built = handled_access_case(student=student, handler=handler, exam=exam, until="built")
    package = built.package
    store = packages_storage()
    assert isinstance(store, LocalStorage)
    path = store.local_path(package.storage_key or "")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == package.sha256
    assert path.stat().st_size == package.size_bytes
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        media = [i for i in archive.infolist() if i.filename.startswith("recordings/")]
        assert media and all(i.compress_type == zipfile.ZIP_STORED for i in media)


def test_with_sendfile_via_accel_the_app_hands_the_bytes_to_nginx(app, people):
    dpo = client_for(app, "dpo@uni.example")
    ask_for_export(dpo, "/staff/audit/export.csv")
    export = newest_export()
    app.config["SENDFILE_VIA_ACCEL"] = True
    try:
        before = last_event_id()
        response = dpo.get(f"/staff/exports/{export.id}/download")
    finally:
        app.config["SENDFILE_VIA_ACCEL"] = False
    key = export.storage_key or ""
    assert response.status_code == 200 and response.get_data() == b""
    assert response.headers["X-Accel-Redirect"] == f"/_stored/exports/{key[:2]}/{key[2:4]}/{key}"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.mimetype == "text/csv"
    assert actions_since(before) == ["export.downloaded"]  # still checked and audited by the app
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_with_sendfile_via_accel_a_package_goes_to_nginx_after_the_audit(app, app_ctx):
    programme = ProgrammeFactory()
    student = UserFactory(programme_id=programme.id)
    UserFactory(email="worker@uni.example", role=Role.CASE_HANDLER)
    commit()
    handler = db.session.scalars(select(User).where(User.email == "worker@uni.example")).one()
    built = handled_access_case(
        student=student, handler=handler, exam=ExamFactory(programme=programme), until="built"
    )
    client = client_for(app, "worker@uni.example")
    package = built.package
    url = f"/staff/cases/{built.case.reference}/access/packages/{package.id}/zip"
    app.config["SENDFILE_VIA_ACCEL"] = True
    try:
        before = last_event_id()
        response = client.get(url)
        packages_storage().delete(package.storage_key or "")
        missing = client.get(url)
    finally:
        app.config["SENDFILE_VIA_ACCEL"] = False
    key = package.storage_key or ""
    assert response.status_code == 200 and response.get_data() == b""
    assert response.headers["X-Accel-Redirect"] == f"/_stored/packages/{key[:2]}/{key[2:4]}/{key}"
    assert response.mimetype == "application/zip"
    assert actions_since(before)[:1] == ["package.opened"]
    # A file gone from the store is a 404 from the app, not a redirect nginx cannot serve.
    assert missing.status_code == 404 and "X-Accel-Redirect" not in missing.headers


# --- a real nginx in front (skipped without one) -------------------------------------------------

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _nginx_conf(template: str, folder: Path, nginx_port: int, app_port: int, instance: Path) -> str:
    """deploy/nginx.conf, pointed at this test's ports, folders and no user switch."""
    text = template.replace("/tmp/", f"{folder}/")  # noqa: S108 - the config's own folder
    # Every web container of the compose file becomes this test's one app server.
    text = re.sub(r"(\s*server web(-\d+)?:8000;)+", f"\n        server 127.0.0.1:{app_port};", text)
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{nginx_port};")
    text = text.replace("alias /srv/instance/;", f"alias {instance}/;")
    text = text.replace("error_log /dev/stderr warn;", f"error_log {folder}/error.log warn;")
    text = text.replace("access_log /dev/stdout;", "access_log off;")
    text = text.replace("include /etc/nginx/mime.types;", "")
    if os.geteuid() == 0:
        # Started by root, nginx's workers would run as "nobody", who cannot read the 0600
        # files; in production it runs as the app's uid (docker-compose.yml).
        text = f"user {pwd.getpwuid(os.getuid()).pw_name};\n" + text
    return text


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light)")
def test_nginx_sends_the_file_the_app_authorised_range_included(app, people, tmp_path):
    dpo = client_for(app, "dpo@uni.example")
    ask_for_export(dpo, "/staff/audit/export.csv")
    export = newest_export()
    stored = exports_storage()
    assert isinstance(stored, LocalStorage)
    body = stored.local_path(export.storage_key or "").read_bytes()
    instance = Path(app.config["EXPORTS_DIR"]).parent
    assert Path(app.config["EXPORTS_DIR"]) == instance / "exports"

    app.config["SENDFILE_VIA_ACCEL"] = True
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    folder = tmp_path / "nginx"
    folder.mkdir()
    port = _free_port()
    template = (Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf").read_text()
    conf = folder / "nginx.conf"
    conf.write_text(_nginx_conf(template, folder, port, server.server_port, instance))
    log = folder / "nginx.log"
    with log.open("wb") as output:
        nginx = subprocess.Popen(
            [str(NGINX), "-p", str(folder), "-c", str(conf), "-g", "daemon off;"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=2).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline or nginx.poll() is not None:
                    pytest.fail(f"nginx did not start: {log.read_text()}")
                time.sleep(0.1)
        browser = requests.Session()
        # Log in through nginx as the browser would, with the login page's CSRF token.
        page = browser.get(f"{base}/login", timeout=10).text
        token = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert token
        form = {
            "email": "dpo@uni.example",
            "password": "correct-horse-battery",
            "csrf_token": token.group(1),
        }
        assert browser.post(f"{base}/login", data=form, timeout=10).ok
        url = f"{base}/staff/exports/{export.id}/download"
        before = last_event_id()
        whole = browser.get(url, timeout=10)
        assert whole.status_code == 200 and whole.content == body
        assert "X-Accel-Redirect" not in whole.headers  # nginx does not pass it on
        assert "attachment" in whole.headers["Content-Disposition"]
        assert whole.headers["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in whole.headers["Cache-Control"]
        assert whole.headers["Content-Type"].startswith("text/csv")
        ranged = browser.get(url, headers={"Range": "bytes=5-14"}, timeout=10)
        assert ranged.status_code == 206 and ranged.content == body[5:15]
        db.session.expire_all()
        assert actions_since(before) == ["export.downloaded"]  # the whole file, not the range
        key = export.storage_key or ""
        internal = browser.get(f"{base}/_stored/exports/{key[:2]}/{key[2:4]}/{key}", timeout=10)
        assert internal.status_code == 404  # internal: no client reaches it
        # Without a session the app sends to the login page and nginx sends nothing.
        stranger = requests.get(url, allow_redirects=False, timeout=10)
        assert stranger.status_code == 302 and "/login" in stranger.headers["Location"]
    finally:
        app.config["SENDFILE_VIA_ACCEL"] = False
        nginx.terminate()
        nginx.wait(timeout=10)
        server.shutdown()
        thread.join(timeout=10)


def test_beat_deletes_expired_exports_every_hour(app):
    from workers.schedule import beat_schedule

    entry = beat_schedule(app.config)["exports-purge"]
    assert entry["task"] == "rights_portal.purge_exports"
    assert entry["schedule"] == timedelta(hours=1)
    assert "rights_portal.purge_exports" in app.extensions["celery"].tasks


def test_production_serves_with_threads_and_nginx_sends_the_files():
    """The Dockerfile runs gunicorn.conf.py (gthread); compose puts nginx in front (issue 23)."""
    import runpy

    import yaml

    root = Path(__file__).resolve().parent.parent
    settings = runpy.run_path(str(root / "gunicorn.conf.py"))
    assert settings["worker_class"] == "gthread" and settings["threads"] > 1
    assert settings["workers"] >= 2
    dockerfile = (root / "Dockerfile").read_text()
    assert 'CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]' in dockerfile
    assert "gunicorn.conf.py" in dockerfile.split("COPY wsgi.py", 1)[1].splitlines()[0]
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["web"]["environment"]["SENDFILE_VIA_ACCEL"] == "true"
    assert "ports" not in services["web"]  # reachable only through the proxy
    proxy = services["proxy"]
    assert proxy["ports"] == ["8000:8080"]
    assert "recordings:/srv/instance:ro" in proxy["volumes"]
    nginx = (root / "deploy" / "nginx.conf").read_text()
    assert "location /_stored/ {\n            internal;" in nginx

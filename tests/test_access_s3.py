"""Recordings and packages in S3-compatible object storage, end to end (issue 5, R12).

The portal is pointed at a bucket on each of two independent S3 implementations in turn, moto's
server and s3rver (real HTTP endpoints in subprocesses):
a vendor export is imported into it, a handler plays a recording with HTTP Range requests, and
the access package built from it holds media byte-identical to the export, with nothing written
to the local stores.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from rights_portal.access import filing as access_filing
from rights_portal.access import importer
from rights_portal.access.models import PackageStatus
from rights_portal.access.s3 import S3Storage
from rights_portal.access.storage import packages_storage, recordings_storage
from rights_portal.cases import services as case_services
from rights_portal.exams.models import FileKind, RecordingFile
from rights_portal.extensions import db
from rights_portal.transactions import commit
from tests.access_support import make_world, standard_files, standard_rows, write_export
from tests.conftest import login
from tests.test_access_package import build_over_http, zip_of

pytestmark = [pytest.mark.postgres, pytest.mark.s3]
VIDEO = "media/session-1/webcam.mp4"


@pytest.fixture
def s3_app(app, s3_server, monkeypatch):
    bucket = s3_server.new_bucket()
    for name, value in s3_server.config(bucket).items():
        monkeypatch.setitem(app.config, name, value)
    return app


def bucket_keys(s3_server, app) -> set[str]:
    listing = s3_server.client().list_objects_v2(Bucket=app.config["RECORDINGS_S3_BUCKET"])
    return {item["Key"] for item in listing.get("Contents", [])}


def local_files(app) -> set[Path]:
    found: set[Path] = set()
    for folder in (app.config["RECORDINGS_DIR"], app.config["PACKAGES_DIR"]):
        root = Path(folder)
        if root.exists():
            found |= {p for p in root.rglob("*") if p.is_file()}
    return found


def test_an_export_imported_into_s3_builds_a_package_with_byte_identical_media(
    s3_app, s3_server, app_ctx, tmp_path
):
    local_before = local_files(s3_app)
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
    assert isinstance(recordings_storage(), S3Storage)
    assert {f"recordings/{f.storage_key}" for f in files.values()} <= bucket_keys(s3_server, s3_app)

    client = s3_app.test_client()
    login(client, "handler@uni.example")
    video = files[FileKind.VIDEO]
    url = f"/staff/cases/{case.reference}/access/files/{video.id}"
    whole = client.get(url)
    assert whole.status_code == 200
    assert whole.data == standard_files()[VIDEO]
    part = client.get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.data == standard_files()[VIDEO][1000:2000]

    package = build_over_http(client, case)

    assert package.status is PackageStatus.READY, package.error
    assert isinstance(packages_storage(), S3Storage)
    assert f"packages/{package.storage_key}" in bucket_keys(s3_server, s3_app)
    archive: zipfile.ZipFile = zip_of(package)  # a full, sha256-verified read from the bucket
    media = {n: archive.read(n) for n in archive.namelist() if n.startswith("recordings/")}
    exported = {hashlib.sha256(data).hexdigest() for data in standard_files().values()}
    assert len(media) == 3
    assert {hashlib.sha256(data).hexdigest() for data in media.values()} == exported
    # Nothing went to the local stores (work files are removed once uploaded).
    assert local_files(s3_app) == local_before


def test_with_presigned_downloads_the_bucket_sends_the_recording_the_portal_audited(
    s3_app, s3_server, app_ctx, tmp_path, monkeypatch
):
    """RECORDINGS_S3_PRESIGNED_SECONDS: the portal checks and audits, then redirects (issue 23)."""
    import requests

    from rights_portal.audit.models import AuditEvent

    monkeypatch.setitem(s3_app.config, "RECORDINGS_S3_PRESIGNED_SECONDS", 60)
    world = make_world()
    importer.import_export(
        write_export(tmp_path / "export", standard_files(), standard_rows()), actor=None
    )
    case = access_filing.file_access_request(
        subject=world["student"], filed_by=world["student"], description="", all_data=True
    )
    case_services.assign(case, world["handler"], actor=world["handler"])
    commit()
    video = next(f for f in db.session.scalars(select(RecordingFile)) if f.kind is FileKind.VIDEO)
    client = s3_app.test_client()
    login(client, "handler@uni.example")
    response = client.get(f"/staff/cases/{case.reference}/access/files/{video.id}")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(s3_server.endpoint_url)
    assert "no-store" in response.headers["Cache-Control"]
    opened = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "recording.opened")
    ).all()
    assert [event.object_id for event in opened] == [str(video.id)]
    fetched = requests.get(response.headers["Location"], timeout=10)
    assert fetched.status_code == 200 and fetched.content == standard_files()[VIDEO]
    assert fetched.headers["Content-Disposition"].startswith("inline")
    assert fetched.headers["Content-Type"] == video.media_type
    ranged = requests.get(
        response.headers["Location"], headers={"Range": "bytes=10-19"}, timeout=10
    )
    assert ranged.status_code == 206 and ranged.content == standard_files()[VIDEO][10:20]
    # The address expires: a forged one (another key, the same signature) is refused.
    forged = response.headers["Location"].replace(video.storage_key or "", "0" * 32)
    assert requests.get(forged, timeout=10).status_code == 403

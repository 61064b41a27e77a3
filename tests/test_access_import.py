"""Importing a vendor export: validated line by line, all or nothing, by CLI and by upload (R25)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from rights_portal.access.storage import recordings_storage
from rights_portal.audit.models import AuditEvent
from rights_portal.exams.models import AutomatedFlag, FileKind, Recording, RecordingFile
from rights_portal.extensions import db
from tests.access_support import (
    COLUMNS,
    make_world,
    media,
    standard_files,
    standard_rows,
    stored_files,
    write_export,
    zip_folder,
)
from tests.conftest import csrf_token, login

pytestmark = pytest.mark.postgres


@pytest.fixture
def world(app_ctx):
    return make_world()


def run_import(app, path, *extra):
    return app.test_cli_runner().invoke(args=["recordings", "import", str(path), *extra])


def count(model):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_cli_imports_a_vendor_folder_with_a_csv_manifest(app, world, tmp_path):
    files = standard_files()
    folder = write_export(tmp_path / "export", files, standard_rows())

    result = run_import(app, folder, "--actor", "handler@uni.example")

    assert result.exit_code == 0, result.output
    assert "Imported 3 file(s)" in result.output
    recording = db.session.scalars(select(Recording)).one()
    assert recording.student_id == world["student"].id
    assert recording.exam_id == world["exam"].id
    # R25: retention from the exam's date plus the tool's retention days.
    assert recording.retention_until == date(2026, 12, 14) + timedelta(days=90)
    by_kind = {f.kind: f for f in recording.files}
    assert set(by_kind) == {FileKind.VIDEO, FileKind.SCREENSHOT, FileKind.LOG}
    video = by_kind[FileKind.VIDEO]
    assert video.media_type == "video/mp4"
    assert video.filename == "webcam.mp4"
    assert video.size_bytes == len(files["media/session-1/webcam.mp4"])
    assert video.sha256 == hashlib.sha256(files["media/session-1/webcam.mp4"]).hexdigest()
    with recordings_storage().open(video.storage_key, video.sha256, video.size_bytes) as stored:
        assert stored.read() == files["media/session-1/webcam.mp4"]
    flags = sorted(recording.flags, key=lambda f: f.offset_seconds)
    assert [(f.code, f.offset_seconds) for f in flags] == [
        ("second_voice", 312),
        ("gaze_away", 1400),
    ]
    assert flags[0].description == "A second voice is heard"
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "recordings.imported")
    ).one()
    assert event.actor_id == world["handler"].id
    assert event.after["files"] == 3


def test_a_zip_with_a_json_manifest_inside_a_top_folder_is_imported(app, world, tmp_path):
    rows = standard_rows()
    rows[0]["flags"] = [
        {"code": "face_missing", "description": "No face for 40 s", "offset_seconds": 60}
    ]
    rows[1]["flags"] = []
    rows[2]["flags"] = []
    folder = write_export(tmp_path / "export", standard_files(), rows, fmt="json")
    archive = zip_folder(folder, tmp_path / "export.zip", top="proctoreye-export-2026-12")

    result = run_import(app, archive)

    assert result.exit_code == 0, result.output
    assert count(RecordingFile) == 3
    flag = db.session.scalars(select(AutomatedFlag)).one()
    assert (flag.code, flag.offset_seconds) == ("face_missing", 60)


def test_a_bad_manifest_is_reported_line_by_line_and_nothing_is_imported(app, world, tmp_path):
    files = {**standard_files(), "notes.pdf": b"%PDF-1.4", "secret.mp4": b"x"}
    good = standard_rows()[0]
    rows = [
        good,  # line 2 is fine
        {**good, "student_number": "s0000000", "file": "media/session-1/events.log"},  # 3
        {**good, "kind": "hologram", "file": "media/session-1/screen-01.png"},  # 4
        {**good, "recorded_at": "yesterday", "file": "secret.mp4"},  # 5
        {**good, "file": "media/session-1/missing.mp4"},  # 6
        {**good, "file": "../export/secret.mp4"},  # 7: path traversal
        {**good, "kind": "log", "file": "notes.pdf"},  # 8: not a log type
        {**good, "exam_code": "NOPE-1", "file": "secret.mp4"},  # 9
        {**good, "flags": "this is: not; a @valid flag!"},  # 10 (and file listed twice)
    ]
    folder = write_export(tmp_path / "export", files, rows)
    before = stored_files(app)

    result = run_import(app, folder)

    assert result.exit_code == 1
    output = result.output
    assert "Nothing imported" in output
    assert "line 3 [student_number]: No student with this number." in output
    assert "line 4 [kind]" in output
    assert "line 5 [recorded_at]" in output
    assert "line 6 [file]: Not found in the export" in output
    assert "line 7 [file]: Not found in the export, or not a safe relative path." in output
    assert "line 8 [file]: This file type is not accepted for log" in output
    assert "line 9 [exam_code]: No exam with this code." in output
    assert "line 10 [flags]" in output
    assert "line 10 [file]: Listed twice (also on line 2)." in output
    assert "line 2 " not in output
    assert count(Recording) == 0
    assert count(RecordingFile) == 0
    assert stored_files(app) == before


def test_a_file_that_does_not_match_its_sha256_leaves_nothing_in_the_store(app, world, tmp_path):
    rows = standard_rows()
    for row in rows:
        row["sha256"] = hashlib.sha256(standard_files()[row["file"]]).hexdigest()
    rows[2]["sha256"] = "0" * 64  # the last file is found damaged only while it is stored
    folder = write_export(tmp_path / "export", standard_files(), rows, columns=[*COLUMNS, "sha256"])
    before = stored_files(app)

    result = run_import(app, folder)

    assert result.exit_code == 1
    assert "line 4 [sha256]: The file's content does not match its sha256." in result.output
    assert count(RecordingFile) == 0
    assert stored_files(app) == before  # the two files stored before it were removed again


def test_importing_the_same_export_twice_is_refused_the_second_time(app, world, tmp_path):
    folder = write_export(tmp_path / "export", standard_files(), standard_rows())
    assert run_import(app, folder).exit_code == 0
    before = stored_files(app)

    again = run_import(app, folder)

    assert again.exit_code == 1
    assert "This file has been imported before." in again.output
    assert count(RecordingFile) == 3
    assert stored_files(app) == before


def test_a_header_without_required_columns_is_rejected(app, world, tmp_path):
    folder = write_export(
        tmp_path / "export", standard_files(), standard_rows(), columns=["student_number", "file"]
    )
    result = run_import(app, folder)
    assert result.exit_code == 1
    assert "line 1: Columns missing in the header: exam_code, kind, recorded_at" in result.output


def test_an_export_without_a_manifest_is_rejected(app, world, tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "video.mp4").write_bytes(b"x")
    result = run_import(app, folder)
    assert result.exit_code == 1
    assert "no manifest.csv or manifest.json" in result.output


def upload(client, archive_bytes, name="export.zip"):
    # The body is encoded in memory: the test client would otherwise spool a large body to a
    # temporary file it never closes (a ResourceWarning, which this suite treats as an error).
    token = csrf_token(client, "/staff/recordings/import")
    boundary, body = encode_multipart(
        {"csrf_token": token, "export": FileStorage(io.BytesIO(archive_bytes), filename=name)}
    )
    return client.post(
        "/staff/recordings/import",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_a_handler_uploads_a_zip_larger_than_the_default_request_limit(app, world, tmp_path):
    # 17 MB: above the portal's default 16 MB request limit, which this page raises (R12 media).
    files = {**standard_files(), "media/session-1/webcam.mp4": media(7, 17 * 1024 * 1024)}
    folder = write_export(tmp_path / "export", files, standard_rows())
    archive = zip_folder(folder, tmp_path / "export.zip").read_bytes()
    client = app.test_client()
    login(client, "handler@uni.example")

    response = upload(client, archive)

    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert count(RecordingFile) == 3
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported 3 files of 1 new recordings" in page
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "recordings.imported")
    ).one()
    assert (event.actor_id, event.after["source"]) == (world["handler"].id, "upload")
    assert event.request_id == response.headers["X-Request-ID"]


def test_a_bad_upload_shows_the_errors_per_line_and_imports_nothing(app, world, tmp_path):
    rows = standard_rows(student_number="s0000000")
    folder = write_export(tmp_path / "export", standard_files(), rows)
    archive = zip_folder(folder, tmp_path / "export.zip").read_bytes()
    client = app.test_client()
    login(client, "handler@uni.example")
    before = stored_files(app)

    response = upload(client, archive)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page
    for line in ("<td>2</td>", "<td>3</td>", "<td>4</td>"):
        assert line in page
    assert "No student with this number." in page
    assert count(Recording) == 0
    assert stored_files(app) == before


def test_something_that_is_not_a_zip_is_refused_with_a_message(app, world):
    client = app.test_client()
    login(client, "handler@uni.example")
    response = upload(client, b"not a zip at all")
    assert response.status_code == 400
    assert "The export must be a folder or a ZIP file." in response.get_data(as_text=True)


def test_an_upload_without_the_form_token_is_refused(app, world, tmp_path):
    client = app.test_client()
    login(client, "handler@uni.example")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w"):
        pass
    response = client.post(
        "/staff/recordings/import",
        data={"export": (io.BytesIO(archive.getvalue()), "export.zip")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert count(Recording) == 0


@pytest.mark.parametrize("email", ["sanne@uni.example", "dpo@uni.example", "board@uni.example"])
def test_only_case_handlers_may_import(app, world, email):
    client = app.test_client()
    login(client, email)
    assert client.get("/staff/recordings/import").status_code == 403


def test_a_damaged_zip_member_is_reported_and_nothing_is_kept(app, world, tmp_path):
    folder = write_export(tmp_path / "export", standard_files(), standard_rows())
    archive = zip_folder(folder, tmp_path / "export.zip")
    data = bytearray(archive.read_bytes())
    # Flip bytes inside the stored screenshot: its CRC no longer matches.
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("media/session-1/screen-01.png")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 100
    data[start : start + 8] = b"\xff" * 8
    archive.write_bytes(bytes(data))
    before = stored_files(app)

    result = run_import(app, archive)

    assert result.exit_code == 1
    assert "line 3 [file]: The file cannot be read completely." in result.output
    assert count(RecordingFile) == 0
    assert stored_files(app) == before


def test_a_truncated_zip_upload_is_a_clear_400(app, world, tmp_path):
    folder = write_export(tmp_path / "export", standard_files(), standard_rows())
    whole = zip_folder(folder, tmp_path / "export.zip").read_bytes()
    client = app.test_client()
    login(client, "handler@uni.example")
    response = upload(client, whole[: len(whole) // 2] + whole[-22:])
    assert response.status_code == 400
    assert count(Recording) == 0


# --- Hostile archives (issue 20, finding 5) --------------------------------------------------


def standard_zip(tmp_path, extra=None):
    """The standard export as a ZIP, plus ``extra(archive)`` writing hostile members."""
    folder = write_export(tmp_path / "export", standard_files(), standard_rows())
    target = zip_folder(folder, tmp_path / "export.zip")
    if extra is not None:
        with zipfile.ZipFile(target, "a") as archive:
            extra(archive)
    return target


def test_a_zip_bomb_member_is_refused_before_anything_is_unpacked(app, world, tmp_path):
    def bomb(archive):
        # 256 MiB of zeros, deflated to about 256 KiB: a ratio of about 1000.
        info = zipfile.ZipInfo("media/session-1/bomb.log")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w") as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(256):
                member.write(chunk)

    archive = standard_zip(tmp_path, bomb)
    assert archive.stat().st_size < 2 * 1024 * 1024
    before = stored_files(app)

    result = run_import(app, archive)

    assert result.exit_code == 1
    assert "media/session-1/bomb.log would unpack to 10" in result.output  # ~1030 times
    assert "(at most 100 accepted)" in result.output
    assert count(RecordingFile) == 0
    assert stored_files(app) == before


def test_an_export_that_unpacks_to_more_than_the_total_limit_is_refused(
    app, world, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "IMPORT_MAX_UNPACKED_BYTES", 1000)
    result = run_import(app, standard_zip(tmp_path))
    assert result.exit_code == 1
    assert "at most 1000 are accepted" in result.output
    assert count(RecordingFile) == 0


def test_a_symbolic_link_in_a_zip_is_refused_not_stored_as_a_file(app, world, tmp_path):
    def link(archive):
        info = zipfile.ZipInfo("media/session-1/passwd.log")
        info.create_system = 3  # Unix
        info.external_attr = (0o120777) << 16  # a symbolic link
        archive.writestr(info, "/etc/passwd")

    result = run_import(app, standard_zip(tmp_path, link))
    assert result.exit_code == 1
    assert "media/session-1/passwd.log is a symbolic link" in result.output
    assert count(RecordingFile) == 0


def test_a_special_file_in_a_zip_is_refused(app, world, tmp_path):
    def fifo(archive):
        info = zipfile.ZipInfo("media/session-1/pipe.log")
        info.create_system = 3
        info.external_attr = (0o010644) << 16  # a FIFO
        archive.writestr(info, "")

    result = run_import(app, standard_zip(tmp_path, fifo))
    assert result.exit_code == 1
    assert "pipe.log is a special file" in result.output


@pytest.mark.parametrize(
    "name", ["media/evil\u202egpj.exe", "media/a\x1b[8mb.log", "media/x\u2066.png"]
)
def test_a_name_with_control_or_text_direction_characters_is_refused(app, world, tmp_path, name):
    result = run_import(app, standard_zip(tmp_path, lambda archive: archive.writestr(name, b"x")))
    assert result.exit_code == 1
    assert "contains a control or text-direction character" in result.output
    assert "\u202e" not in result.output and "\u2066" not in result.output  # shown escaped
    assert count(RecordingFile) == 0


def test_a_folder_export_with_a_right_to_left_override_in_a_name_is_refused(app, world, tmp_path):
    files = {**standard_files(), "media/report\u202efdp.exe": b"MZ"}
    result = run_import(app, write_export(tmp_path / "export", files, standard_rows()))
    assert result.exit_code == 1
    assert "media/report\\u202efdp.exe contains a control" in result.output


def test_an_ordinary_deflated_log_is_still_imported(app, world, tmp_path):
    folder = write_export(tmp_path / "export", standard_files(), standard_rows())
    target = tmp_path / "deflated.zip"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    assert run_import(app, target).exit_code == 0
    assert count(RecordingFile) == 3

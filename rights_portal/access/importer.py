"""Importing a proctoring vendor's export: media files plus a manifest, all or nothing.

An export is a folder or a ZIP holding ``manifest.csv`` or ``manifest.json`` (at the top, or in
the one folder at the top) and the media files it names. Each manifest line is one file::

    student_number, exam_code, kind, recorded_at, file, flags[, sha256]

``exam_code`` is the exam's course code (with several exam moments of one course, the one on the
day of ``recorded_at``); ``kind`` is video, audio, screenshot or log; ``recorded_at`` is ISO 8601
(without an offset it is taken as Amsterdam time); ``file`` is the path inside the export;
``flags`` (CSV) is ``code[@seconds][: description]`` separated by ``;`` — in JSON a list of
``{"code", "description", "offset_seconds"}``. Lines of the same student, exam and
``recorded_at`` form one recording.

Every line is validated before anything is stored. One bad line rejects the whole export with a
line-by-line report and nothing is kept: no rows, no files in the store. Files are streamed into
the store by their content; the names in the manifest are only looked up in the export, never
used as storage paths. The caller (CLI command or staff page) commits.

The export itself is opened and checked by :mod:`.export`, its manifest read and validated
line by line by :mod:`.manifest`; this module stores what passed.
"""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import User
from ..audit.services import record
from ..clock import to_local
from ..exams.models import AutomatedFlag, Exam, Recording, RecordingFile
from ..extensions import db
from . import blobs
from . import storage as access_storage
from .cleanup import delete_after_rollback
from .export import Export, ImportRejected, LineError
from .manifest import ParsedLine, validate

DEFAULT_RETENTION_DAYS = 90  # R25, for an exam without a proctoring tool


@dataclass
class ImportResult:
    """What an import stored."""

    recordings: int = 0
    files: int = 0
    flags: int = 0
    bytes: int = 0
    recording_ids: list[int] = field(default_factory=list)


def retention_until(exam: Exam) -> date:
    """R25: the exam's date (Amsterdam) plus the tool's retention days (default 90)."""
    tool = exam.proctoring_tool
    days = tool.retention_days if tool is not None else DEFAULT_RETENTION_DAYS
    return to_local(exam.starts_at).date() + timedelta(days=days)


def import_export(path: Path, *, actor: User | None, source: str = "cli") -> ImportResult:
    """Validate and import an export; raise :class:`ImportRejected` and keep nothing on errors.

    Stored files are deleted again if anything fails before the caller's commit (and if the
    transaction rolls back later).
    """
    store = access_storage.recordings_storage()
    stored_keys: list[str] = []
    try:
        with Export(path) as export:
            lines = validate(export)
            result = _store(export, lines, store, stored_keys)
    except BaseException:
        for key in stored_keys:
            store.delete(key)
        raise
    for key in stored_keys:
        delete_after_rollback(store, key)
    record(
        "recordings.imported",
        actor=actor,
        object_type="recording_import",
        object_id=None,
        after={
            "source": source,
            "export": Path(path).name[:200],
            "recordings": result.recordings,
            "files": result.files,
            "flags": result.flags,
            "bytes": result.bytes,
            "recording_ids": result.recording_ids[:1000],
        },
    )
    return result


def _store(
    export: Export, lines: list[ParsedLine], store: blobs.Storage, stored_keys: list[str]
) -> ImportResult:
    result = ImportResult()
    errors: list[LineError] = []
    recordings: dict[tuple[int, int, datetime], Recording] = {}
    for line in lines:
        try:
            with export.open(line.path) as stream:
                stored = store.put(stream)
        except (zipfile.BadZipFile, EOFError, zlib.error):
            # A damaged member (bad CRC, truncated ZIP): report the line, keep nothing.
            errors.append(LineError(line.line, "file", _l("The file cannot be read completely.")))
            continue
        stored_keys.append(stored.key)
        if line.sha256 is not None and stored.sha256 != line.sha256:
            errors.append(
                LineError(line.line, "sha256", _l("The file's content does not match its sha256."))
            )
            continue
        duplicate = db.session.scalars(
            select(RecordingFile.id)
            .join(Recording)
            .where(
                Recording.student_id == line.student.id,
                RecordingFile.sha256 == stored.sha256,
                RecordingFile.deleted_at.is_(None),
            )
        ).first()
        if duplicate is not None:
            errors.append(LineError(line.line, "file", _l("This file has been imported before.")))
            continue
        group = (line.student.id, line.exam.id, line.recorded_at)
        recording = recordings.get(group)
        if recording is None:
            recording = db.session.scalars(
                select(Recording).where(
                    Recording.student_id == line.student.id,
                    Recording.exam_id == line.exam.id,
                    Recording.recorded_at == line.recorded_at,
                )
            ).one_or_none()
            if recording is None:
                recording = Recording(
                    student_id=line.student.id,
                    exam_id=line.exam.id,
                    recorded_at=line.recorded_at,
                    retention_until=retention_until(line.exam),
                )
                db.session.add(recording)
                result.recordings += 1
            recordings[group] = recording
        recording.files.append(
            RecordingFile(
                kind=line.kind,
                filename=posixpath.basename(line.path)[:255],
                media_type=line.media_type,
                size_bytes=stored.size,
                sha256=stored.sha256,
                storage_key=stored.key,
            )
        )
        result.files += 1
        result.bytes += stored.size
        known = {(flag.code, flag.offset_seconds) for flag in recording.flags}
        for flag in line.flags:
            if (flag.code, flag.offset_seconds) in known:
                continue
            known.add((flag.code, flag.offset_seconds))
            recording.flags.append(
                AutomatedFlag(
                    code=flag.code,
                    description=flag.description or flag.code,
                    offset_seconds=flag.offset_seconds,
                    raised_at=line.recorded_at + timedelta(seconds=flag.offset_seconds or 0),
                )
            )
            result.flags += 1
        db.session.flush()
    if errors:
        raise ImportRejected(errors)
    result.recording_ids = sorted({r.id for r in recordings.values()})
    return result

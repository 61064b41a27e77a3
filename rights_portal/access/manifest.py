"""Reading a vendor export's manifest and checking every line before anything is stored.

Each manifest line (CSV, or an entry of a JSON list) is checked field by field by
:class:`_LineChecks`; every problem is collected, so one :class:`~.export.ImportRejected` lists
them all, line by line. Students, exams and paths are looked up, never trusted.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import Role, User
from ..clock import AMSTERDAM, as_utc, to_local
from ..exams.models import Exam, FileKind
from ..extensions import db
from .export import Export, ImportRejected, LineError

REQUIRED_COLUMNS = ("student_number", "exam_code", "kind", "recorded_at", "file")
MAX_LINES = 100_000
_CODE_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_FLAG_RE = re.compile(r"^([A-Za-z0-9_.-]{1,64})(?:@(\d{1,7}))?(?:\s*:\s*(.*))?$", re.DOTALL)
_SHA256_RE = re.compile(r"[0-9a-f]{64}")

# Accepted file types per kind, by extension (the name says what the vendor claims; the kind and
# the extension must agree).
MEDIA_TYPES: dict[FileKind, dict[str, str]] = {
    FileKind.VIDEO: {
        ".mp4": "video/mp4",
        ".m4v": "video/mp4",
        ".webm": "video/webm",
        ".mkv": "video/x-matroska",
        ".mov": "video/quicktime",
    },
    FileKind.AUDIO: {
        ".mp3": "audio/mpeg",
        ".m4a": "audio/mp4",
        ".wav": "audio/wav",
        ".ogg": "audio/ogg",
        ".oga": "audio/ogg",
        ".opus": "audio/ogg",
        ".webm": "audio/webm",
    },
    FileKind.SCREENSHOT: {
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".webp": "image/webp",
    },
    FileKind.LOG: {
        ".txt": "text/plain",
        ".log": "text/plain",
        ".json": "application/json",
        ".csv": "text/csv",
        ".jsonl": "application/x-ndjson",
    },
}


@dataclass
class ParsedFlag:
    """An automated flag as given in the manifest."""

    code: str
    description: str
    offset_seconds: int | None


@dataclass
class ParsedLine:
    """A manifest line that passed validation."""

    line: int
    student: User
    exam: Exam
    kind: FileKind
    recorded_at: datetime
    path: str
    media_type: str
    flags: list[ParsedFlag]
    sha256: str | None


def _rows(export: Export, manifest: str) -> list[tuple[int, dict[str, Any]]]:
    text = export.read_text(manifest)
    if manifest.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportRejected(
                [LineError(exc.lineno, None, _l("The manifest is not valid JSON."))]
            ) from exc
        entries = data.get("recordings", data.get("files")) if isinstance(data, dict) else data
        if not isinstance(entries, list):
            raise ImportRejected(
                [LineError(0, None, _l("The JSON manifest must be a list of entries."))]
            )
        # JSON entries are numbered from 1, like the lines of a CSV manifest after its header.
        return [(number, entry) for number, entry in enumerate(entries, start=1)]
    try:
        return _csv_rows(text)
    except csv.Error as exc:
        raise ImportRejected(
            [LineError(0, None, _l("The CSV manifest cannot be read: %(error)s", error=str(exc)))]
        ) from exc


def _csv_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ImportRejected(
            [
                LineError(
                    1,
                    None,
                    _l("Columns missing in the header: %(columns)s", columns=", ".join(missing)),
                )
            ]
        )
    rows = []
    for row in reader:
        normalised = {
            (key or "").strip().lower(): value for key, value in row.items() if key is not None
        }
        if None in row:
            normalised["__extra__"] = row[None]
        rows.append((reader.line_num, normalised))
    return rows


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


def _parse_moment(raw: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=AMSTERDAM)
    return as_utc(moment)


def _parse_flags(raw: Any) -> list[ParsedFlag] | None:
    if raw in (None, ""):
        return []
    flags: list[ParsedFlag] = []
    if isinstance(raw, list):
        for entry in raw:
            if not isinstance(entry, dict) or not _CODE_RE.fullmatch(_text(entry.get("code"))):
                return None
            offset = entry.get("offset_seconds")
            if offset is not None and (not isinstance(offset, int) or offset < 0):
                return None
            flags.append(
                ParsedFlag(_text(entry["code"]), _text(entry.get("description"))[:2000], offset)
            )
        return flags
    if not isinstance(raw, str):
        return None
    for part in raw.split(";"):
        if not part.strip():
            continue
        match = _FLAG_RE.match(part.strip())
        if match is None:
            return None
        code, offset, description = match.groups()
        flags.append(
            ParsedFlag(code, (description or "").strip()[:2000], int(offset) if offset else None)
        )
    return flags


def _find_exam(code: str, recorded_at: datetime, errors: list[LineError], line: int) -> Exam | None:
    exams = db.session.scalars(select(Exam).where(Exam.course_code == code)).all()
    if not exams:
        errors.append(LineError(line, "exam_code", _l("No exam with this code.")))
        return None
    if len(exams) == 1:
        return exams[0]
    day = to_local(recorded_at).date()
    same_day = [exam for exam in exams if to_local(exam.starts_at).date() == day]
    if len(same_day) != 1:
        errors.append(
            LineError(
                line,
                "exam_code",
                _l("Several exams have this code; none (or more than one) on the recording's day."),
            )
        )
        return None
    return same_day[0]


def validate(export: Export) -> list[ParsedLine]:
    """Check every line; raise :class:`ImportRejected` with all problems found, or return lines."""
    manifest = export.find_manifest()
    rows = _rows(export, manifest)
    if len(rows) > MAX_LINES:
        raise ImportRejected([LineError(0, None, _l("The manifest has too many lines."))])
    checks = _LineChecks(export)
    if not rows:
        checks.errors.append(LineError(0, None, _l("The manifest lists no files.")))
    parsed = [line for line in (checks.line(number, row) for number, row in rows) if line]
    if checks.errors:
        raise ImportRejected(checks.errors)
    return parsed


class _LineChecks:
    """The checks of one manifest line after another; problems collect in :attr:`errors`.

    Each check reports its own field's problem and returns the value, or None when the field is
    unusable; a line becomes a :class:`ParsedLine` only if no check found anything.
    """

    def __init__(self, export: Export) -> None:
        self.export = export
        self.errors: list[LineError] = []
        self._students: dict[str, User | None] = {}
        self._seen_paths: dict[str, int] = {}  # export member → the line that listed it first

    def _error(self, line: int, column: str | None, message: Any) -> None:
        self.errors.append(LineError(line, column, message))

    def line(self, line: int, row: Any) -> ParsedLine | None:
        """Check one manifest line; the parsed line if everything in it is right."""
        if not isinstance(row, dict):
            self._error(line, None, _l("This entry is not an object."))
            return None
        if row.get("__extra__"):
            self._error(line, None, _l("This line has more values than the header."))
        before = len(self.errors)
        student = self.student(line, _text(row.get("student_number")))
        kind = self.kind(line, _text(row.get("kind")))
        recorded_at = self.recorded_at(line, _text(row.get("recorded_at")))
        exam = self.exam(line, _text(row.get("exam_code")), recorded_at)
        member, media_type = self.file(line, _text(row.get("file")), kind)
        flags = self.flags(line, row.get("flags"))
        sha256 = self.sha256(line, _text(row.get("sha256")).lower() or None)
        if len(self.errors) != before:
            return None
        if not (student and exam and kind and recorded_at and member and media_type):
            return None
        return ParsedLine(
            line=line,
            student=student,
            exam=exam,
            kind=kind,
            recorded_at=recorded_at,
            path=member,
            media_type=media_type,
            flags=flags or [],
            sha256=sha256,
        )

    def student(self, line: int, number: str) -> User | None:
        """The student with this student number (looked up once per number)."""
        if not number:
            self._error(line, "student_number", _l("Missing."))
            return None
        if number not in self._students:
            self._students[number] = db.session.scalars(
                select(User).where(User.student_number == number, User.role == Role.STUDENT)
            ).one_or_none()
        student = self._students[number]
        if student is None:
            self._error(line, "student_number", _l("No student with this number."))
        return student

    def kind(self, line: int, raw: str) -> FileKind | None:
        """The file's kind: video, audio, screenshot or log."""
        try:
            return FileKind(raw.lower())
        except ValueError:
            self._error(line, "kind", _l("Must be one of: video, audio, screenshot, log."))
            return None

    def recorded_at(self, line: int, raw: str) -> datetime | None:
        """When the recording was made (ISO 8601; Amsterdam time without an offset)."""
        moment = _parse_moment(raw)
        if moment is None:
            self._error(
                line,
                "recorded_at",
                _l("Not a date and time (ISO 8601, e.g. 2026-12-14T09:00:00+01:00)."),
            )
        return moment

    def exam(self, line: int, code: str, recorded_at: datetime | None) -> Exam | None:
        """The exam of this course code on the recording's day (not looked up without a day)."""
        if not code:
            self._error(line, "exam_code", _l("Missing."))
            return None
        if recorded_at is None:
            return None
        return _find_exam(code, recorded_at, self.errors, line)

    def file(
        self, line: int, relative: str, kind: FileKind | None
    ) -> tuple[str | None, str | None]:
        """The export member the line names and its media type, listed once, of its kind."""
        if not relative:
            self._error(line, "file", _l("Missing."))
            return None, None
        member = self.export.resolve(relative)
        if member is None:
            self._error(line, "file", _l("Not found in the export, or not a safe relative path."))
            return None, None
        if member in self._seen_paths:
            self._error(
                line,
                "file",
                _l("Listed twice (also on line %(line)s).", line=self._seen_paths[member]),
            )
        self._seen_paths.setdefault(member, line)
        if kind is None:
            return member, None
        media_type = MEDIA_TYPES[kind].get(Path(member).suffix.lower())
        if media_type is None:
            self._error(
                line,
                "file",
                _l(
                    "This file type is not accepted for %(kind)s (allowed: %(types)s).",
                    kind=kind.value,
                    types=", ".join(sorted(MEDIA_TYPES[kind])),
                ),
            )
        return member, media_type

    def flags(self, line: int, raw: Any) -> list[ParsedFlag] | None:
        """The automated flags the vendor raised on this file, if any."""
        flags = _parse_flags(raw)
        if flags is None:
            self._error(line, "flags", _l("Not understood; write code@seconds: description; …"))
        return flags

    def sha256(self, line: int, digest: str | None) -> str | None:
        """The file's sha256 as the vendor states it (optional; checked when stored)."""
        if digest is not None and not _SHA256_RE.fullmatch(digest):
            self._error(line, "sha256", _l("Not a sha256 in hexadecimal."))
        return digest

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

Before anything is read, the export as a whole is refused when a ZIP member would unpack to more
than ``IMPORT_MAX_COMPRESSION_RATIO`` times its packed size (a "ZIP bomb": 256 MiB of zeros pack
into 256 KiB), when all members together would unpack to more than ``IMPORT_MAX_UNPACKED_BYTES``,
when a member is a symbolic link or another special file (device, FIFO, socket), and when a name
holds a control character or a bidirectional-text control (U+202E makes ``gpj.exe`` read as
``exe.jpg``). The sizes are those the ZIP declares; :mod:`zipfile` never unpacks more than the
declared size of a member, and checks its CRC.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
import re
import stat
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import Role, User
from ..audit.services import record
from ..clock import AMSTERDAM, as_utc, to_local
from ..exams.models import AutomatedFlag, Exam, FileKind, Recording, RecordingFile
from ..extensions import db
from . import storage as storage_module
from .services import delete_after_rollback

MANIFEST_NAMES = ("manifest.csv", "manifest.json")
REQUIRED_COLUMNS = ("student_number", "exam_code", "kind", "recorded_at", "file")
DEFAULT_RETENTION_DAYS = 90  # R25, for an exam without a proctoring tool
MAX_LINES = 100_000
# A member smaller than this is not judged by its ratio: tiny files pack oddly either way.
RATIO_MIN_BYTES = 1024 * 1024
DEFAULT_MAX_RATIO = 100
DEFAULT_MAX_UNPACKED = 8 * 1024**3
# Bidirectional-text controls (embeddings, overrides, isolates and marks): they make a name read
# differently from what it is.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_CODE_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_FLAG_RE = re.compile(r"^([A-Za-z0-9_.-]{1,64})(?:@(\d{1,7}))?(?:\s*:\s*(.*))?$", re.DOTALL)

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


@dataclass(frozen=True)
class LineError:
    """One problem with one manifest line (line 0: the export as a whole)."""

    line: int
    column: str | None
    message: Any  # a lazy string, translated when shown

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "export"
        column = f" [{self.column}]" if self.column else ""
        return f"{where}{column}: {self.message}"


class ImportRejected(Exception):
    """The export was rejected; ``errors`` says why, line by line. Nothing was imported."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__(f"{len(errors)} error(s) in the export")
        self.errors = errors


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


@dataclass
class ImportResult:
    """What an import stored."""

    recordings: int = 0
    files: int = 0
    flags: int = 0
    bytes: int = 0
    recording_ids: list[int] = field(default_factory=list)


class Export:
    """A vendor export: a folder or a ZIP, with the manifest's folder as its root."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        self._names: dict[str, str] = {}  # normalised path inside the export → member / file
        self.root = ""

    def __enter__(self) -> Export:
        if self.path.is_dir():
            base = self.path.resolve()
            for item in base.rglob("*"):
                # Symbolic links could point anywhere on the server: only regular files count.
                if item.is_file() and not item.is_symlink():
                    relative = item.relative_to(base).as_posix()
                    if unsafe_name(relative):
                        raise ImportRejected([_bad_name(relative)])
                    self._names[relative] = str(item)
        elif zipfile.is_zipfile(self.path):
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise ImportRejected(
                    [LineError(0, None, _l("The ZIP file is damaged or incomplete."))]
                ) from exc
            _check_members(self._zip.infolist())
            for info in self._zip.infolist():
                if not info.is_dir():
                    self._names[info.filename.replace("\\", "/")] = info.filename
        else:
            raise ImportRejected(
                [LineError(0, None, _l("The export must be a folder or a ZIP file."))]
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._zip is not None:
            self._zip.close()

    def find_manifest(self) -> str:
        """The manifest's path; its folder becomes the root for the files it names."""
        candidates = [
            name for name in self._names if posixpath.basename(name).lower() in MANIFEST_NAMES
        ]
        top = [name for name in candidates if name.count("/") <= 1]
        if len(top) != 1:
            message = (
                _l("The export contains no manifest.csv or manifest.json.")
                if not top
                else _l("The export contains more than one manifest.")
            )
            raise ImportRejected([LineError(0, None, message)])
        manifest = top[0]
        self.root = posixpath.dirname(manifest)
        return manifest

    def resolve(self, relative: str) -> str | None:
        """The export's member for a manifest ``file`` value, or None if unsafe or absent."""
        value = relative.strip().replace("\\", "/")
        if not value or value.startswith("/") or re.match(r"^[A-Za-z]:", value):
            return None
        parts = value.split("/")
        if any(part in ("", ".", "..") for part in parts):
            return None
        name = posixpath.join(self.root, value) if self.root else value
        return name if name in self._names else None

    @contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        """Open a member for streaming."""
        if self._zip is not None:
            with self._zip.open(self._names[name]) as member:
                yield member  # type: ignore[misc]
        else:
            with open(self._names[name], "rb") as handle:
                yield handle

    def read_text(self, name: str, limit: int = 50 * 1024 * 1024) -> str:
        """Read a (manifest) text file, refusing absurd sizes."""
        with self.open(name) as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise ImportRejected([LineError(0, None, _l("The manifest is too large."))])
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportRejected(
                [LineError(0, None, _l("The manifest is not UTF-8 text."))]
            ) from exc


def unsafe_name(name: str) -> bool:
    """Whether a member name holds a control character or a bidirectional-text control."""
    return any(
        ch in BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name
    )


def shown_name(name: str) -> str:
    """The name as it can be shown safely, its invisible and control characters spelled out."""
    shown = "".join(f"\\u{ord(ch):04x}" if unsafe_name(ch) else ch for ch in name[:200])
    return shown + ("…" if len(name) > 200 else "")


def _bad_name(name: str) -> LineError:
    return LineError(
        0,
        None,
        _l(
            "The name %(name)s contains a control or text-direction character; rename it.",
            name=shown_name(name),
        ),
    )


def _limits() -> tuple[float, int]:
    config: Any = current_app.config if has_app_context() else {}
    ratio = float(config.get("IMPORT_MAX_COMPRESSION_RATIO", DEFAULT_MAX_RATIO))
    total = int(config.get("IMPORT_MAX_UNPACKED_BYTES", DEFAULT_MAX_UNPACKED))
    return ratio, total


def _check_members(members: list[zipfile.ZipInfo]) -> None:
    """Refuse a ZIP bomb, links and special files, and names that do not read as they are."""
    max_ratio, max_total = _limits()
    errors: list[LineError] = []
    total = 0
    for info in members:
        name = info.filename
        if unsafe_name(name):
            errors.append(_bad_name(name))
            continue
        mode = info.external_attr >> 16
        file_type = stat.S_IFMT(mode)
        if file_type and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            message = (
                _l("%(name)s is a symbolic link; only regular files are accepted.", name=name)
                if stat.S_ISLNK(mode)
                else _l("%(name)s is a special file; only regular files are accepted.", name=name)
            )
            errors.append(LineError(0, None, message))
            continue
        if info.is_dir():
            continue
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= RATIO_MIN_BYTES and ratio > max_ratio:
            errors.append(
                LineError(
                    0,
                    None,
                    _l(
                        "%(name)s would unpack to %(ratio)d times its packed size (at most"
                        " %(limit)d accepted).",
                        name=name,
                        ratio=int(ratio),
                        limit=int(max_ratio),
                    ),
                )
            )
    if total > max_total:
        errors.append(
            LineError(
                0,
                None,
                _l(
                    "The export would unpack to %(size)s bytes; at most %(limit)s are accepted.",
                    size=total,
                    limit=max_total,
                ),
            )
        )
    if errors:
        raise ImportRejected(errors)


# --- reading and validating -----------------------------------------------------------------


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
    errors: list[LineError] = []
    if not rows:
        errors.append(LineError(0, None, _l("The manifest lists no files.")))
    if len(rows) > MAX_LINES:
        raise ImportRejected([LineError(0, None, _l("The manifest has too many lines."))])
    students: dict[str, User | None] = {}
    parsed: list[ParsedLine] = []
    seen_paths: dict[str, int] = {}
    for line, row in rows:
        if not isinstance(row, dict):
            errors.append(LineError(line, None, _l("This entry is not an object.")))
            continue
        if row.get("__extra__"):
            errors.append(LineError(line, None, _l("This line has more values than the header.")))
        before = len(errors)
        number = _text(row.get("student_number"))
        if not number:
            errors.append(LineError(line, "student_number", _l("Missing.")))
            student = None
        else:
            if number not in students:
                students[number] = db.session.scalars(
                    select(User).where(User.student_number == number, User.role == Role.STUDENT)
                ).one_or_none()
            student = students[number]
            if student is None:
                errors.append(LineError(line, "student_number", _l("No student with this number.")))

        kind: FileKind | None = None
        try:
            kind = FileKind(_text(row.get("kind")).lower())
        except ValueError:
            errors.append(
                LineError(line, "kind", _l("Must be one of: video, audio, screenshot, log."))
            )

        recorded_at = _parse_moment(_text(row.get("recorded_at")))
        if recorded_at is None:
            errors.append(
                LineError(
                    line,
                    "recorded_at",
                    _l("Not a date and time (ISO 8601, e.g. 2026-12-14T09:00:00+01:00)."),
                )
            )

        exam = None
        code = _text(row.get("exam_code"))
        if not code:
            errors.append(LineError(line, "exam_code", _l("Missing.")))
        elif recorded_at is not None:
            exam = _find_exam(code, recorded_at, errors, line)

        relative = _text(row.get("file"))
        member = export.resolve(relative) if relative else None
        media_type = None
        if not relative:
            errors.append(LineError(line, "file", _l("Missing.")))
        elif member is None:
            errors.append(
                LineError(line, "file", _l("Not found in the export, or not a safe relative path."))
            )
        else:
            if member in seen_paths:
                errors.append(
                    LineError(
                        line,
                        "file",
                        _l("Listed twice (also on line %(line)s).", line=seen_paths[member]),
                    )
                )
            seen_paths.setdefault(member, line)
            if kind is not None:
                media_type = MEDIA_TYPES[kind].get(Path(member).suffix.lower())
                if media_type is None:
                    errors.append(
                        LineError(
                            line,
                            "file",
                            _l(
                                "This file type is not accepted for %(kind)s (allowed: %(types)s).",
                                kind=kind.value,
                                types=", ".join(sorted(MEDIA_TYPES[kind])),
                            ),
                        )
                    )

        flags = _parse_flags(row.get("flags"))
        if flags is None:
            errors.append(
                LineError(line, "flags", _l("Not understood; write code@seconds: description; …"))
            )

        sha256 = _text(row.get("sha256")).lower() or None
        if sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", sha256):
            errors.append(LineError(line, "sha256", _l("Not a sha256 in hexadecimal.")))

        if (
            len(errors) == before
            and student
            and exam
            and kind
            and recorded_at
            and member
            and media_type
        ):
            parsed.append(
                ParsedLine(
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
            )
    if errors:
        raise ImportRejected(errors)
    return parsed


# --- storing --------------------------------------------------------------------------------


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
    store = storage_module.recordings_storage()
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
    export: Export, lines: list[ParsedLine], store: storage_module.Storage, stored_keys: list[str]
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

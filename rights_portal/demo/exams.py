"""The demo's exams and recordings, dated relative to the day the demo is seeded.

Each programme has an exam in the past, one inside the exam-bound window — fewer than
``EXAM_BOUND_WORKING_DAYS`` working days ahead, so an objection filed now is already late for its
exam-bound date and flagged urgent (R7) — and one later on. The past exams have recordings as a
vendor delivers them: files stored for real in the recordings store (so a package can be built
and a handler can open them) and the vendor's automated flags (R18). One of them shows a
housemate walking into the picture, flagged ``second_person``: the material of the demo's
bystander case (R13).

A real institution gets exams from its student-information system and recordings from the
vendors (``access/importer.py``); the demo makes these rows directly, looked up by natural keys
(course code; student and exam; file name; flag code), so seeding twice adds nothing.
"""

from __future__ import annotations

import enum
import io
import struct
import zlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from ..access.cleanup import delete_after_rollback
from ..access.importer import retention_until
from ..access.storage import recordings_storage
from ..accounts.models import User
from ..cases.deadlines import AMSTERDAM, add_working_days
from ..exams.models import (
    AutomatedFlag,
    Exam,
    FileKind,
    ProctoringTool,
    Programme,
    Recording,
    RecordingFile,
)
from ..extensions import db
from .lookup import get_or_create
from .people import CHILD, STUDENT, STUDENT2


class Window(enum.Enum):
    """Where an exam lies from today, seen from the exam-bound deadline (R7)."""

    PAST = "past"
    SOON = "soon"  # inside the exam-bound window: an objection filed today is urgent
    LATER = "later"


@dataclass(frozen=True)
class DemoExam:
    """One exam moment of a course."""

    code: str
    title: str
    programme: str
    window: Window
    at: time = time(9, 0)


DEMO_EXAMS = (
    DemoExam("PSY-1005", "Methodenleer", "PSY", Window.PAST),
    DemoExam("PSY-1010", "Inleiding Statistiek", "PSY", Window.SOON),
    DemoExam("PSY-2040", "Cognitieve Psychologie", "PSY", Window.LATER),
    DemoExam("CS-1050", "Logica en Verzamelingen", "CS", Window.PAST, time(13, 30)),
    DemoExam("CS-1100", "Programmeren 1", "CS", Window.SOON, time(13, 30)),
    DemoExam("CS-2200", "Datastructuren", "CS", Window.LATER, time(13, 30)),
)


def working_days_ahead(window: Window, exam_bound_days: int) -> int:
    """How many working days from today an exam in ``window`` starts."""
    if window is Window.PAST:
        return -10
    if window is Window.SOON:
        return max(1, exam_bound_days - 2)
    return exam_bound_days + 35


def exam_start(today: date, working_days: int, at: time) -> datetime:
    """The start of an exam ``working_days`` working days from ``today`` (Amsterdam time)."""
    return datetime.combine(add_working_days(today, working_days), at, tzinfo=AMSTERDAM)


def seed_exams(
    programmes: dict[str, Programme], tool: ProctoringTool, today: date, exam_bound_days: int
) -> dict[str, Exam]:
    """Every demo exam by course code, created if missing (an existing one keeps its date)."""
    exams = {}
    for demo in DEMO_EXAMS:
        days = working_days_ahead(demo.window, exam_bound_days)
        exams[demo.code] = get_or_create(
            Exam,
            {"course_code": demo.code},
            title=demo.title,
            programme_id=programmes[demo.programme].id,
            starts_at=exam_start(today, days, demo.at),
            proctoring_tool_id=tool.id,
        )
    return exams


# --- recordings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoFile:
    """One file of a recording, with its content."""

    kind: FileKind
    filename: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class DemoFlag:
    """An automated flag of the vendor's review, ``offset_seconds`` into the recording."""

    code: str
    description: str
    offset_seconds: int


@dataclass(frozen=True)
class DemoRecording:
    """What the vendor recorded of one student at one exam."""

    student: str
    exam: str
    files: tuple[DemoFile, ...]
    flags: tuple[DemoFlag, ...]


SECOND_PERSON = "second_person"
GAZE_AWAY = "gaze_away"


def _png(width: int, height: int, boxes: list[tuple[int, int, int, int, bytes]]) -> bytes:
    """A small RGB PNG: a grey background with coloured boxes (x0, y0, x1, y1, rgb)."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # no filter
        for x in range(width):
            row += next(
                (rgb for x0, y0, x1, y1, rgb in boxes if x0 <= x < x1 and y0 <= y < y1),
                b"\xb4\xb4\xb4",
            )
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def _webcam(who: str, exam: str) -> DemoFile:
    content = f"Demo-opname van de webcam: {who}, tentamen {exam}.\n".encode()
    return DemoFile(FileKind.VIDEO, "webcam.webm", "video/webm", content)


# The student at her desk (blue) and, behind her, the housemate who walked in (orange).
_BYSTANDER_SCREENSHOT = _png(
    160, 90, [(55, 30, 95, 90, b"\x3c\x64\xb4"), (115, 10, 140, 75, b"\xe6\x8c\x3c")]
)

DEMO_RECORDINGS = (
    DemoRecording(
        STUDENT,
        "PSY-1005",
        files=(
            _webcam("Sanne de Vries", "PSY-1005 Methodenleer"),
            DemoFile(
                FileKind.SCREENSHOT, "momentopname-30m30s.png", "image/png", _BYSTANDER_SCREENSHOT
            ),
            DemoFile(
                FileKind.LOG,
                "sessie.log",
                "text/plain",
                (
                    "00:00:00 sessie gestart, kamerscan gemaakt\n"
                    "00:21:00 blik van het scherm (14 s)\n"
                    "00:30:30 tweede persoon in beeld (11 s)\n"
                    "01:45:12 sessie beëindigd door de student\n"
                ).encode(),
            ),
        ),
        flags=(
            DemoFlag(GAZE_AWAY, "Kijkt 14 seconden weg van het scherm.", 1260),
            DemoFlag(
                SECOND_PERSON,
                "Een tweede persoon is 11 seconden in beeld, achter de student.",
                1830,
            ),
        ),
    ),
    DemoRecording(
        STUDENT2,
        "CS-1050",
        files=(_webcam("Daan Bakker", "CS-1050 Logica en Verzamelingen"),),
        flags=(DemoFlag("window_switch", "Ander venster 8 seconden op de voorgrond.", 905),),
    ),
    DemoRecording(
        CHILD,
        "CS-1050",
        files=(_webcam("Noor Jansen", "CS-1050 Logica en Verzamelingen"),),
        flags=(DemoFlag("face_not_visible", "Gezicht 20 seconden niet in beeld.", 610),),
    ),
)


def seed_recordings(users: dict[str, User], exams: dict[str, Exam]) -> dict[str, AutomatedFlag]:
    """Every demo recording with its stored files and flags; returns the flags by code."""
    flags: dict[str, AutomatedFlag] = {}
    for demo in DEMO_RECORDINGS:
        exam = exams[demo.exam]
        recording = get_or_create(
            Recording,
            {"student_id": users[demo.student].id, "exam_id": exam.id},
            recorded_at=exam.starts_at,
            retention_until=retention_until(exam),
        )
        for file in demo.files:
            _add_file(recording, file)
        for flag in demo.flags:
            flags[flag.code] = get_or_create(
                AutomatedFlag,
                {"recording_id": recording.id, "code": flag.code},
                description=flag.description,
                offset_seconds=flag.offset_seconds,
                raised_at=recording.recorded_at + timedelta(seconds=flag.offset_seconds),
            )
    return flags


def _add_file(recording: Recording, file: DemoFile) -> None:
    """Store the file for real unless the recording has it already (by name)."""
    exists = db.session.scalars(
        select(RecordingFile.id).where(
            RecordingFile.recording_id == recording.id, RecordingFile.filename == file.filename
        )
    ).first()
    if exists is not None:
        return
    store = recordings_storage()
    stored = store.put(io.BytesIO(file.content))
    delete_after_rollback(store, stored.key)  # a failed seed leaves no file nobody knows about
    db.session.add(
        RecordingFile(
            recording_id=recording.id,
            kind=file.kind,
            filename=file.filename,
            media_type=file.media_type,
            size_bytes=stored.size,
            sha256=stored.sha256,
            storage_key=stored.key,
        )
    )
    db.session.flush()

"""``flask demo seed``: one user per role, two programmes with boards, exams and recordings.

Safe to run twice: everything is looked up by its natural key first and only created if missing.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..access.storage import recordings_storage
from ..accounts.models import Role, User
from ..accounts.services import create_user, find_by_email
from ..cases.deadlines import AMSTERDAM, next_working_day
from ..clock import today_local
from ..exams.models import (
    AutomatedFlag,
    Exam,
    ExamBoard,
    ExamBoardMember,
    FileKind,
    ProctoringTool,
    Programme,
    Recording,
    RecordingFile,
)
from ..extensions import db
from ..transactions import commit

demo_cli = AppGroup("demo", help="Demo data.")
M = TypeVar("M")
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105  (printed on purpose: demo accounts only)

DEMO_USERS = [
    ("student@demo.example", "Sanne de Vries", Role.STUDENT, "s1234567", date(2004, 5, 17), "PSY"),
    ("student2@demo.example", "Daan Bakker", Role.STUDENT, "s7654321", date(2003, 11, 2), "CS"),
    ("guardian@demo.example", "Marieke Jansen", Role.GUARDIAN, None, None, None),
    ("handler@demo.example", "Pieter van Dijk", Role.CASE_HANDLER, None, None, None),
    ("board@demo.example", "Dr. Fatima El Amrani", Role.EXAM_BOARD, None, None, None),
    ("board-cs@demo.example", "Dr. Joost Visser", Role.EXAM_BOARD, None, None, None),
    ("dpo@demo.example", "Mr. Anouk Smit", Role.DPO, None, None, None),
    ("admin@demo.example", "Admin Beheer", Role.ADMIN, None, None, None),
]


def _get_or_create(model: type[M], lookup: dict[str, Any], **values: Any) -> M:
    found = db.session.scalars(select(model).filter_by(**lookup)).one_or_none()
    if found is not None:
        return found
    obj = model(**lookup, **values)
    db.session.add(obj)
    db.session.flush()
    return obj


def _exam_start(days_ahead: int) -> datetime:
    day = next_working_day(today_local() + timedelta(days=days_ahead))
    return datetime.combine(day, time(9, 0), tzinfo=AMSTERDAM)


@demo_cli.command("seed")
def seed_command() -> None:
    """Create (or complete) the demo data and print the logins."""
    psy_board = _get_or_create(ExamBoard, {"name": "Examencommissie Psychologie"})
    cs_board = _get_or_create(ExamBoard, {"name": "Examencommissie Informatica"})
    programmes = {
        "PSY": _get_or_create(
            Programme, {"code": "PSY"}, name="BSc Psychologie", exam_board_id=psy_board.id
        ),
        "CS": _get_or_create(
            Programme, {"code": "CS"}, name="BSc Informatica", exam_board_id=cs_board.id
        ),
    }
    tool = _get_or_create(
        ProctoringTool,
        {"name": "ProctorCam"},
        vendor="ProctorCam B.V.",
        vendor_email="privacy@proctorcam.example",
        purpose="Surveillance of remote exams to prevent and detect fraud.",
        data_categories=[
            "camera video",
            "screen recording",
            "audio",
            "room scan",
            "automated flags",
        ],
        retention_days=90,
        outside_eea=False,
    )
    users: dict[str, User] = {}
    for email, name, role, number, dob, programme_code in DEMO_USERS:
        user = find_by_email(email)
        if user is None:
            user = create_user(
                email=email,
                password=DEMO_PASSWORD,
                full_name=name,
                role=role,
                student_number=number,
                date_of_birth=dob,
                programme_id=programmes[programme_code].id if programme_code else None,
            )
        users[email] = user
    _get_or_create(
        ExamBoardMember, {"board_id": psy_board.id, "user_id": users["board@demo.example"].id}
    )
    _get_or_create(
        ExamBoardMember, {"board_id": cs_board.id, "user_id": users["board-cs@demo.example"].id}
    )

    exams = [
        ("PSY-1010", "Inleiding Statistiek", "PSY", 7),
        ("PSY-2040", "Cognitieve Psychologie", "PSY", 60),
        ("CS-1100", "Programmeren 1", "CS", 7),
        ("CS-2200", "Datastructuren", "CS", 60),
        ("PSY-1005", "Methodenleer", "PSY", -14),
    ]
    for code, title, programme_code, days in exams:
        _get_or_create(
            Exam,
            {"course_code": code},
            title=title,
            programme_id=programmes[programme_code].id,
            starts_at=_exam_start(days),
            proctoring_tool_id=tool.id,
        )
    past_exam = db.session.scalars(select(Exam).where(Exam.course_code == "PSY-1005")).one()
    student = users["student@demo.example"]
    if (
        db.session.scalars(select(Recording).where(Recording.student_id == student.id)).first()
        is None
    ):
        recording = Recording(
            student_id=student.id,
            exam_id=past_exam.id,
            recorded_at=past_exam.starts_at,
            retention_until=past_exam.starts_at.date() + timedelta(days=tool.retention_days),
        )
        # Stored for real, so an access package can be built from the demo data.
        stored = recordings_storage().put(io.BytesIO(b"demo webcam recording"))
        recording.files.append(
            RecordingFile(
                kind=FileKind.VIDEO,
                filename="webcam.webm",
                media_type="video/webm",
                size_bytes=stored.size,
                sha256=stored.sha256,
                storage_key=stored.key,
            )
        )
        recording.flags.append(
            AutomatedFlag(
                code="gaze_away",
                description="Looked away from the screen for 14 seconds",
                offset_seconds=1260,
            )
        )
        db.session.add(recording)
    commit()
    click.echo("Demo data ready. Log in at the portal with these accounts:")
    for email, name, role, *_rest in DEMO_USERS:
        click.echo(f"  {role.value:<13} {email:<26} {name}")
    click.echo(f"Password for every demo account: {DEMO_PASSWORD}")

"""``flask demo seed``: one user per role, two programmes with boards, exams and recordings.

The register holds two tools: ProctorCam, used by the demo exams, with a complete and ready entry,
and CampusMeet, a video-call application whose DPIA is missing, so it is not ready.

Safe to run twice: everything is looked up by its natural key first and only created if missing.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

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
    ToolKind,
)
from ..extensions import db
from ..register import services as register
from ..register.models import LegalBasis, RegisterVersion
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
    tool = _register_demo_tools(users["admin@demo.example"])
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


def _demo_tool_facts(today: date) -> dict[str, dict[str, Any]]:
    """The register facts of the two demo tools, dated relative to ``today``."""
    ago = lambda days: today - timedelta(days=days)  # noqa: E731
    common: dict[str, Any] = {
        "legal_basis": LegalBasis.PUBLIC_TASK,
        "legal_basis_explanation": (
            "Art. 7.12b WHW: the exam board guarantees the quality and organisation of exams."
        ),
        "stakeholders_consulted": (
            f"University student council on {ago(320).isoformat()}; "
            f"faculty participation councils on {ago(315).isoformat()}."
        ),
        "policy_url": "https://www.demo-university.example/privacy/online-exams",
        "incident_procedure": (
            "Staff report a (possible) data breach to the privacy office within 24 hours at "
            "privacy@example.edu. The DPO assesses within 72 hours whether the Autoriteit "
            "Persoonsgegevens and the students must be told, and records it in the breach register."
        ),
    }
    return {
        "ProctorCam": {
            **common,
            "purpose": "Surveillance of remote exams to prevent and detect fraud.",
            "necessity": (
                "Students who cannot come to campus (abroad, ill, a disability) can take the exam "
                "remotely; without supervision the value of the diploma cannot be guaranteed."
            ),
            "alternatives_considered": (
                "A take-home open-book assignment, an oral exam and a paper were considered; for "
                "the large first-year exams they do not test the learning outcomes. A student "
                "who objects takes the exam on campus instead."
            ),
            "necessity_reviewed_on": ago(100),
            "intrusion_limits": (
                "Camera and screen only; no eye tracking and no keystroke analysis; one room scan "
                "at the start. Exam moments are combined so students are proctored as rarely as "
                "possible. Every automated flag is judged by a member of the exam board."
            ),
            "in_use_since": ago(300),
            "data_categories": [
                "camera video",
                "screen recording",
                "audio",
                "room scan",
                "automated flags",
            ],
            "vendor": "ProctorCam B.V.",
            "vendor_email": "privacy@proctorcam.example",
            "sub_processors": ["EuroCloud Hosting GmbH (Germany)"],
            "outside_eea": False,
            "retention_days": 90,
            "dpia_on": ago(340),
            "dpia_outcome": (
                "High risk reduced to acceptable by the measures above; no prior consultation of "
                "the AP needed."
            ),
            "dpia_next_review_on": today + timedelta(days=200),
            "dpo_advice_on": ago(330),
            "dpo_advice_summary": (
                "Positive, on condition that no eye tracking is used, recordings are deleted "
                "after 90 days and every student may choose an exam on campus."
            ),
            "processor_agreement_on": ago(350),
            "processor_agreement_expires_on": today + timedelta(days=700),
            "privacy_notice": (
                "During a remote exam ProctorCam records your camera, your screen and sound. "
                "We use the recordings only to check that the exam was taken fairly. A member of "
                "the exam board looks at every automated warning. We delete the recordings after "
                "90 days. You may object and take the exam on campus instead."
            ),
        },
        "CampusMeet": {
            **common,
            "purpose": "Online lectures, consultations and oral exams by video call.",
            "necessity": "Teaching and supervision for students who cannot come to campus.",
            "alternatives_considered": "Recorded lectures without video of students; telephone.",
            "intrusion_limits": "Students may keep their camera off, except during an oral exam.",
            "in_use_since": ago(60),
            "data_categories": ["name", "camera video", "audio", "chat messages"],
            "vendor": "CampusMeet Inc.",
            "vendor_email": "privacy@campusmeet.example",
            "sub_processors": ["US Cloud Corp. (United States)"],
            "outside_eea": True,
            "transfer_safeguards": (
                "EU-US Data Privacy Framework certification and standard contractual clauses."
            ),
            "retention_days": 30,
            "recording_rules": (
                "Calls are not recorded. An oral exam is recorded only when the exam board has "
                "decided so for a reason and the student was told beforehand."
            ),
            "dpo_advice_on": ago(90),
            "dpo_advice_summary": "Carry out a DPIA before wider use.",
            "processor_agreement_on": ago(100),
            "processor_agreement_expires_on": today + timedelta(days=365),
            "privacy_notice": (
                "In a video call your name, image and voice are shared with the participants. "
                "Calls are not recorded unless you are told beforehand."
            ),
        },
    }


def _register_demo_tools(admin: User) -> ProctoringTool:
    """Create the demo register entries if missing; return ProctorCam, the ready tool."""
    kinds = {"ProctorCam": ToolKind.PROCTORING, "CampusMeet": ToolKind.VIDEO_CALL}
    tools = {}
    for name, facts in _demo_tool_facts(today_local()).items():
        tool = db.session.scalars(
            select(ProctoringTool).where(ProctoringTool.name == name)
        ).one_or_none()
        if tool is None:
            tool = register.create_entry(
                name=name, kind=kinds[name], facts=facts, actor=admin, change_note="Demo data."
            )
        elif not db.session.scalar(
            select(func.count(RegisterVersion.id)).where(RegisterVersion.tool_id == tool.id)
        ):
            # A demo database from before the register: complete its entry once.
            register.save_version(tool, facts, actor=admin, change_note="Demo data.")
        tools[name] = tool
    return tools["ProctorCam"]

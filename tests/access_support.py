"""Shared pieces of the access-request tests: a small world, vendor exports, stored-file counts,
and an access request handled up to a built (and released) package."""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from flask import Flask

from rights_portal.access import decisions as access_decisions
from rights_portal.access import filing as access_filing
from rights_portal.access import lifecycle as access_lifecycle
from rights_portal.access.models import AccessPackage, ItemDecision, ItemType, Release
from rights_portal.access.package import build
from rights_portal.access.storage import recordings_storage
from rights_portal.accounts.models import Role, User
from rights_portal.cases import services as case_services
from rights_portal.cases.deadlines import AMSTERDAM
from rights_portal.cases.models import Case
from rights_portal.exams.models import Exam, FileKind, Recording, RecordingFile
from rights_portal.extensions import db
from rights_portal.transactions import commit
from tests.factories import (
    ExamFactory,
    ProctoringToolFactory,
    ProgrammeFactory,
    UserFactory,
    board_member,
)

EXAM_START = datetime(2026, 12, 14, 9, 0, tzinfo=AMSTERDAM)  # a Monday
AFTER_EXAM = datetime(2026, 12, 16, 10, 0, tzinfo=AMSTERDAM)
STUDENT_NUMBER = "s1234567"
COLUMNS = ["student_number", "exam_code", "kind", "recorded_at", "file", "flags"]


def make_world() -> dict[str, Any]:
    """A programme with a proctored exam, its student, another student and the staff."""
    programme = ProgrammeFactory(code="PSY", name="Psychology")
    tool = ProctoringToolFactory(
        name="ProctorEye",
        vendor="ProctorEye B.V.",
        vendor_email="privacy@proctoreye.example",
        purpose="Supervising remote exams so that they can be taken fairly",
        data_categories=["camera video", "microphone audio", "screen recording"],
        retention_days=90,
        outside_eea=True,
        transfer_safeguards="EU Standard Contractual Clauses (2021/914) with the US sub-processor",
    )
    exam = ExamFactory(
        programme=programme,
        starts_at=EXAM_START,
        course_code="PSY-101",
        title="Statistics",
        proctoring_tool=tool,
    )
    other_exam = ExamFactory(
        programme=programme,
        starts_at=EXAM_START + timedelta(days=2),
        course_code="PSY-102",
        title="Research Methods",
        proctoring_tool=tool,
    )
    world = {
        "programme": programme,
        "tool": tool,
        "exam": exam,
        "other_exam": other_exam,
        "student": UserFactory(
            email="sanne@uni.example",
            full_name="Sanne de Vries",
            programme_id=programme.id,
            student_number=STUDENT_NUMBER,
        ),
        "other_student": UserFactory(
            email="daan@uni.example", programme_id=programme.id, student_number="s7654321"
        ),
        "handler": UserFactory(
            email="handler@uni.example", role=Role.CASE_HANDLER, full_name="Pieter Handler"
        ),
        "guardian": UserFactory(email="parent@home.example", role=Role.GUARDIAN),
        "dpo": UserFactory(email="dpo@uni.example", role=Role.DPO),
        "board": board_member(programme, email="board@uni.example"),
    }
    db.session.commit()
    return world


def media(seed: int, size: int) -> bytes:
    """Deterministic incompressible bytes standing in for a recording."""
    return random.Random(seed).randbytes(size)


def write_export(
    folder: Path,
    files: dict[str, bytes],
    rows: list[dict[str, Any]],
    fmt: str = "csv",
    columns: list[str] | None = None,
) -> Path:
    """Write a vendor export folder: the files and a manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    if fmt == "csv":
        with open(folder / "manifest.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns or COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    else:
        (folder / "manifest.json").write_text(json.dumps({"recordings": rows}), encoding="utf-8")
    return folder


def zip_folder(folder: Path, target: Path, top: str = "") -> Path:
    """ZIP ``folder`` (media stored, not deflated, like a vendor would), optionally in ``top/``."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                name = path.relative_to(folder).as_posix()
                archive.write(path, f"{top}/{name}" if top else name)
    return target


def standard_files() -> dict[str, bytes]:
    """A video, a screenshot and a log of one session."""
    return {
        "media/session-1/webcam.mp4": media(1, 300_000),
        "media/session-1/screen-01.png": media(2, 40_000),
        "media/session-1/events.log": b"09:00:01 session started\n09:05:12 second voice\n",
    }


def standard_rows(student_number: str = STUDENT_NUMBER) -> list[dict[str, Any]]:
    """Manifest lines for :func:`standard_files`: one recording with two flags."""
    common = {
        "student_number": student_number,
        "exam_code": "PSY-101",
        "recorded_at": "2026-12-14T09:00:00+01:00",
    }
    return [
        {
            **common,
            "kind": "video",
            "file": "media/session-1/webcam.mp4",
            "flags": "second_voice@312: A second voice is heard; "
            "gaze_away@1400: Looked away from the screen for 25 seconds",
        },
        {**common, "kind": "screenshot", "file": "media/session-1/screen-01.png", "flags": ""},
        {**common, "kind": "log", "file": "media/session-1/events.log", "flags": ""},
    ]


def stored_files(app: Flask) -> set[Path]:
    """Every file in the recordings store (not its work folder)."""
    root = Path(app.config["RECORDINGS_DIR"])
    if not root.exists():
        return set()
    return {p for p in root.rglob("*") if p.is_file() and ".incoming" not in p.parts}


@dataclass
class HandledAccess:
    """An access request worked on by a handler: a stored file, its redacted copy, a package."""

    case: Case
    file: RecordingFile
    decision: ItemDecision
    package: AccessPackage


def handled_access_case(
    *,
    student: User,
    handler: User,
    exam: Exam,
    filed_by: User | None = None,
    until: Literal["queued", "built", "released"] = "released",
) -> HandledAccess:
    """File an access request for ``student``, store a webcam file of ``exam`` for them, redact
    it and queue the package; build it in-process and release it to the filer, ``until`` asked.

    Real services all the way; the package is built by :func:`rights_portal.access.package.build`
    as the worker would, so a built package has a real ZIP, letter and sha256.
    """
    recording = Recording(
        student_id=student.id,
        exam_id=exam.id,
        recorded_at=exam.starts_at,
        retention_until=exam.starts_at.date() + timedelta(days=90),
    )
    db.session.add(recording)
    content = media(11, 20_000)
    stored = recordings_storage().put(io.BytesIO(content))
    file = RecordingFile(
        recording=recording,
        kind=FileKind.VIDEO,
        filename="webcam.mp4",
        media_type="video/mp4",
        size_bytes=stored.size,
        sha256=stored.sha256,
        storage_key=stored.key,
    )
    db.session.add(file)
    db.session.flush()
    case = access_filing.file_access_request(
        subject=student, filed_by=filed_by or student, description="", all_data=True
    )
    case_services.assign(case, handler, actor=handler)
    decision = access_decisions.decide_item(
        case,
        actor=handler,
        item_type=ItemType.FILE,
        item_id=file.id,
        decision=Release.REDACTED,
        protects="a housemate who walks into view",
        redacted=access_decisions.RedactedUpload(
            io.BytesIO(b"blurred " * 500), "blurred.mp4", "video/mp4"
        ),
    )
    package = access_lifecycle.request_build(case, actor=handler)
    commit()  # the build claims the package on its own connection
    if until == "queued":
        return HandledAccess(case=case, file=file, decision=decision, package=package)
    build(package.id)
    commit()
    if until == "released":
        access_lifecycle.release(package, actor=handler)
        commit()
    return HandledAccess(case=case, file=file, decision=decision, package=package)

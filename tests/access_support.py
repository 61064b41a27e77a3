"""Shared pieces of the access-request tests: a small world, vendor exports, stored-file counts."""

from __future__ import annotations

import csv
import json
import random
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from rights_portal.accounts.models import Role
from rights_portal.cases.deadlines import AMSTERDAM
from rights_portal.extensions import db
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

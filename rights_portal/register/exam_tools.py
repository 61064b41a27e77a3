"""Exams and the tool each uses: a tool that is not ready needs a recorded DPO override.

:func:`save_exam` validates, changes, writes the audit event with before/after and flushes; the
caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import Role, User
from ..audit.services import record
from ..cases.services import exam_moved
from ..clock import to_local, today_local
from ..errors import RuleViolation
from ..exams.models import Exam, ProctoringTool, Programme
from ..extensions import db
from ..notifications.services import notify_user
from .checklist import Checklist
from .entries import checklist_for
from .models import ExamToolOverride


@dataclass(frozen=True)
class OverrideRequest:
    """The DPO's decision that an exam may use a tool that is not ready."""

    dpo: User
    decided_on: date
    reason: str


def _exam_snapshot(exam: Exam) -> dict[str, Any]:
    return {
        "course_code": exam.course_code,
        "title": exam.title,
        "programme_id": exam.programme_id,
        "starts_at": exam.starts_at,
        "proctoring_tool_id": exam.proctoring_tool_id,
    }


def save_exam(
    exam: Exam | None,
    *,
    course_code: str,
    title: str,
    programme: Programme,
    starts_at: datetime,
    tool: ProctoringTool | None,
    actor: User,
    override: OverrideRequest | None = None,
) -> Exam:
    """Create or change an exam; linking a tool that is not ready needs a DPO override.

    Only the act of linking is checked: an exam already linked to a tool keeps it when other
    details change, so a title can be corrected while the tool's checklist is being completed.
    """
    course_code, title = course_code.strip(), title.strip()
    if not course_code or not title:
        raise RuleViolation(_l("An exam needs a course code and a title."))
    if starts_at.tzinfo is None:
        raise ValueError("starts_at must be timezone-aware")
    creating = exam is None
    before = None if exam is None else _exam_snapshot(exam)
    old_start = None if exam is None else exam.starts_at
    linking = tool is not None and (exam is None or exam.proctoring_tool_id != tool.id)
    checklist = None
    if linking and tool is not None:
        checklist = checklist_for(tool, extra_use=to_local(starts_at).date())
        if not checklist.ready:
            if override is None:
                missing = ", ".join(str(item.label) for item in checklist.open_items)
                raise RuleViolation(
                    _l(
                        "%(tool)s is not ready: %(missing)s. An exam can use it only with a "
                        "recorded override by the DPO (who, when and why).",
                        tool=tool.name,
                        missing=missing,
                    )
                )
            _check_override(override)
    if exam is None:
        exam = Exam(
            course_code=course_code, title=title, programme_id=programme.id, starts_at=starts_at
        )
        db.session.add(exam)
    exam.course_code = course_code
    exam.title = title
    exam.programme_id = programme.id
    exam.starts_at = starts_at
    exam.proctoring_tool_id = tool.id if tool is not None else None
    db.session.flush()
    record(
        "exam.created" if creating else "exam.updated",
        actor=actor,
        object_type="exam",
        object_id=exam.id,
        before=before,
        after=_exam_snapshot(exam),
    )
    if checklist is not None and not checklist.ready and override is not None and tool is not None:
        _record_override(exam, tool, checklist, override, actor)
    if old_start is not None and old_start != exam.starts_at:
        # R7: the exam-bound due date of its open cases follows the exam, with the reason.
        exam_moved(
            exam.id,
            moved_from=old_start,
            moved_to=exam.starts_at,
            source="the register",
            actor=actor,
        )
    return exam


def _check_override(override: OverrideRequest) -> None:
    if override.dpo.role is not Role.DPO or not override.dpo.is_active_account:
        raise RuleViolation(_l("An override must be given by a data protection officer (DPO)."))
    if not override.reason.strip():
        raise RuleViolation(_l("Write down the DPO's reason for the override."))
    if override.decided_on > today_local():
        raise RuleViolation(_l("The DPO's decision cannot be dated in the future."))


def _record_override(
    exam: Exam, tool: ProctoringTool, checklist: Checklist, override: OverrideRequest, actor: User
) -> ExamToolOverride:
    reason = override.reason.strip()
    row = ExamToolOverride(
        exam_id=exam.id,
        tool_id=tool.id,
        register_version=checklist.version,
        missing_items=checklist.open_keys,
        reason=reason,
        dpo_id=override.dpo.id,
        decided_on=override.decided_on,
        recorded_by_id=actor.id,
    )
    db.session.add(row)
    db.session.flush()
    record(
        "exam.tool_override",
        actor=actor,
        object_type="exam",
        object_id=exam.id,
        after={
            "tool_id": tool.id,
            "register_version": checklist.version,
            "missing_items": checklist.open_keys,
            "dpo_id": override.dpo.id,
            "decided_on": override.decided_on,
            "reason": reason,
        },
    )
    if override.dpo.id != actor.id:
        # Someone else recorded a decision in the DPO's name: the DPO hears of it at once.
        notify_user(
            override.dpo, "register_override", exam=exam, tool=tool, override=row, recorded_by=actor
        )
    return row


def overrides_for(tool: ProctoringTool) -> list[ExamToolOverride]:
    """The DPO overrides recorded for exams using the tool, newest first."""
    return list(
        db.session.scalars(
            select(ExamToolOverride)
            .where(ExamToolOverride.tool_id == tool.id)
            .order_by(ExamToolOverride.id.desc())
        )
    )


def exams_using(tool: ProctoringTool) -> list[Exam]:
    """The exams linked to the tool, soonest first."""
    return list(
        db.session.scalars(
            select(Exam).where(Exam.proctoring_tool_id == tool.id).order_by(Exam.starts_at)
        )
    )


def active_dpos() -> list[User]:
    """The data protection officers who can receive reminders and give overrides."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.DPO, User.is_active_account.is_(True))
            .order_by(User.full_name)
        )
    )

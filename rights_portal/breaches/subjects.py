"""Informing the people whose data a breach involved (GDPR art. 34; R26 in docs/rules.md).

The DPO lists the affected students by student number, writes the notice (Dutch, optionally
English) and sends it; each student is told once, in their own language. As in :mod:`.services`,
each operation checks the step, changes the rows, writes the audit event and queues the e-mails
in the caller's transaction; none commits.
"""

from __future__ import annotations

import re
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from ..accounts.models import Role, User
from ..clock import now_utc
from ..dbutil import insert_ignoring_conflicts
from ..errors import RuleViolation
from ..extensions import db
from ..notifications.services import notify_user
from .models import Breach, BreachAffectedStudent
from .services import breach_snapshot, record_breach_event, require_open

_NUMBER_SPLIT = re.compile(r"[\s,;]+")


def parse_student_numbers(raw: str) -> list[str]:
    """Student numbers from a pasted list (one per line, or separated by commas or spaces)."""
    seen: dict[str, None] = {}
    for part in _NUMBER_SPLIT.split(raw):
        if part.strip():
            seen[part.strip()] = None
    return list(seen)


def students_by_number(numbers: list[str]) -> tuple[list[User], list[str]]:
    """The students with these numbers, and the numbers that match no student."""
    if not numbers:
        return [], []
    found = list(
        db.session.scalars(
            select(User).where(User.role == Role.STUDENT, User.student_number.in_(numbers))
        )
    )
    known = {user.student_number for user in found}
    return found, [number for number in numbers if number not in known]


def add_affected_students(breach: Breach, *, actor: User, numbers: list[str]) -> int:
    """Add students by student number; return how many were new. Unknown numbers store nothing."""
    require_open(breach)
    students, unknown = students_by_number(numbers)
    if unknown:
        raise RuleViolation(_l("Unknown student numbers: %(numbers)s", numbers=", ".join(unknown)))
    if not students:
        raise RuleViolation(_l("Give at least one student number."))
    added = db.session.scalars(
        insert_ignoring_conflicts(BreachAffectedStudent, ["breach_id", "student_id"])
        .values(
            [
                {
                    "breach_id": breach.id,
                    "student_id": student.id,
                    "added_by_id": actor.id,
                    "added_at": now_utc(),
                }
                for student in students
            ]
        )
        .returning(BreachAffectedStudent.student_id)
    ).all()
    if added:
        record_breach_event(breach, "students_added", actor, after={"student_ids": sorted(added)})
    return len(added)


def affected_students(breach: Breach) -> list[tuple[User, BreachAffectedStudent]]:
    """The affected students with their notification state, by student number."""
    return [
        (user, link)
        for user, link in db.session.execute(
            select(User, BreachAffectedStudent)
            .join(BreachAffectedStudent, BreachAffectedStudent.student_id == User.id)
            .where(BreachAffectedStudent.breach_id == breach.id)
            .order_by(User.student_number)
        )
    ]


def write_subject_notice(breach: Breach, *, actor: User, text_nl: str, text_en: str = "") -> Breach:
    """The plain-language notice to the people concerned (art. 34(2)), in Dutch and English.

    Once it has been sent it stays as sent: the register shows what people were told.
    """
    require_open(breach)
    if breach.subjects_informed_at is not None:
        raise RuleViolation(_l("The notice has been sent already and can no longer be changed."))
    text_nl, text_en = text_nl.strip(), text_en.strip()
    if not text_nl:
        raise RuleViolation(_l("Write the notice in Dutch."))
    before = breach_snapshot(breach, "subjects_notice_nl", "subjects_notice_en")
    breach.subjects_notice_nl = text_nl
    breach.subjects_notice_en = text_en or None
    db.session.flush()
    record_breach_event(
        breach,
        "notice_written",
        actor,
        before=before,
        after=breach_snapshot(breach, "subjects_notice_nl", "subjects_notice_en"),
    )
    return breach


def notify_affected_students(breach: Breach, *, actor: User, now: datetime | None = None) -> int:
    """E-mail every affected student not yet told, in their language; return how many were told.

    The UPDATE ... WHERE notified_at IS NULL claims each student's row; a second submission (even
    a concurrent one, which waits for the first's row locks and then sees them claimed) claims
    nothing, so each student gets the notice exactly once.
    """
    require_open(breach)
    now = now or now_utc()
    if not (breach.subjects_notice_nl or "").strip():
        raise RuleViolation(_l("Write the notice to the students first."))
    pending_locales = set(
        db.session.scalars(
            select(User.locale)
            .join(BreachAffectedStudent, BreachAffectedStudent.student_id == User.id)
            .where(
                BreachAffectedStudent.breach_id == breach.id,
                BreachAffectedStudent.notified_at.is_(None),
            )
        )
    )
    if "en" in pending_locales and not breach.subjects_notice_en:
        raise RuleViolation(
            _l("Some of these students read the portal in English: write the English text too.")
        )
    claimed = list(
        db.session.scalars(
            update(BreachAffectedStudent)
            .where(
                BreachAffectedStudent.breach_id == breach.id,
                BreachAffectedStudent.notified_at.is_(None),
            )
            .values(notified_at=now)
            .returning(BreachAffectedStudent.student_id)
        )
    )
    for student_id in claimed:
        student = db.session.get(User, student_id)
        if student is None:  # the row's foreign key makes this impossible; keep mypy honest
            continue
        text = breach.subjects_notice_en if student.locale == "en" else breach.subjects_notice_nl
        message = notify_user(student, "breach_notice", breach=breach, text=text)
        db.session.execute(
            update(BreachAffectedStudent)
            .where(
                BreachAffectedStudent.breach_id == breach.id,
                BreachAffectedStudent.student_id == student_id,
            )
            .values(outbox_message_id=message.id)
        )
    if claimed:
        if breach.subjects_informed_at is None:
            breach.subjects_informed_at = now
        db.session.flush()
        record_breach_event(
            breach,
            "subjects_informed",
            actor,
            after={"student_ids": sorted(claimed), "informed_at": breach.subjects_informed_at},
        )
    return len(claimed)

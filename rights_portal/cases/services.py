"""The named operations on a case: file, assign, decide, fulfil, withdraw.

Each operation checks the move is allowed, changes the case, writes the audit event and queues
the e-mails in the caller's transaction. None of them commits: the request, task or CLI command
that called it does (see :mod:`rights_portal.transactions`). Permission checks (who may do it)
live in :mod:`rights_portal.permissions`; these functions assume the caller asked it first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from ..accounts.models import User
from ..audit.services import record
from ..clock import now_utc
from ..dbutil import insert_ignoring_conflicts
from ..errors import RuleViolation
from ..exams.models import Exam
from ..extensions import db
from ..notifications.services import notify_user
from . import deadlines
from .models import OPEN_STATUSES, Case, CaseStatus, CaseType, Channel, Outcome, ReferenceCounter


def _snapshot(case: Case, *fields: str) -> dict[str, Any]:
    return {name: getattr(case, name) for name in fields}


def next_reference(year: int) -> str:
    """Hand out the next reference of ``year`` (RP-2026-000123), safely under concurrency."""
    db.session.execute(
        insert_ignoring_conflicts(ReferenceCounter, ["year"]).values(year=year, last_number=0)
    )
    # The UPDATE takes the row lock, so concurrent filers get consecutive numbers.
    number = db.session.execute(
        update(ReferenceCounter)
        .where(ReferenceCounter.year == year)
        .values(last_number=ReferenceCounter.last_number + 1)
        .returning(ReferenceCounter.last_number)
    ).scalar_one()
    return f"RP-{year}-{number:06d}"


def file_case(
    *,
    case_type: CaseType,
    subject: User,
    filed_by: User,
    description: str,
    exam: Exam | None = None,
    received_at: datetime | None = None,
    channel: Channel = Channel.PORTAL,
) -> Case:
    """Register a request (R1) with its statutory, exam-bound and effective due dates (R2, R3, R7).

    A request filed too late for the exam-bound date is accepted and marked urgent, never refused.
    """
    description = description.strip()
    if case_type.needs_exam and exam is None:
        raise RuleViolation(_l("Choose the exam this request is about."))
    if case_type is CaseType.OBJECTION and not description:
        raise RuleViolation(_l("Describe the grounds of your objection."))
    received_at = received_at or now_utc()
    received_on = deadlines.local_date(received_at)
    statutory = deadlines.statutory_due(received_on)
    exam_bound = None
    if exam is not None and case_type.needs_exam:
        exam_bound = deadlines.exam_bound_due(
            exam.starts_at, current_app.config["EXAM_BOUND_WORKING_DAYS"]
        )
    effective = deadlines.effective_due(statutory, exam_bound)
    case = Case(
        reference=next_reference(received_on.year),
        case_type=case_type,
        status=CaseStatus.RECEIVED,
        channel=channel,
        subject_id=subject.id,
        filed_by_id=filed_by.id,
        exam_id=exam.id if exam else None,
        programme_id=exam.programme_id if exam else subject.programme_id,
        description=description,
        received_at=received_at,
        received_on=received_on,
        statutory_due=statutory,
        exam_bound_due=exam_bound,
        # A due date before the receipt cannot be met; it stays the target and the case is urgent.
        effective_due=effective,
        urgent=deadlines.is_urgent(received_on, exam_bound),
    )
    db.session.add(case)
    db.session.flush()
    record(
        "case.received",
        actor=filed_by,
        object_type="case",
        object_id=case.id,
        case_id=case.id,
        after=_snapshot(
            case,
            "reference",
            "case_type",
            "channel",
            "received_on",
            "statutory_due",
            "exam_bound_due",
            "effective_due",
            "urgent",
            "exam_id",
        ),
    )
    notify_user(filed_by, "case_received", case=case)
    return case


def assign(case: Case, assignee: User, *, actor: User) -> Case:
    """Assign (or reassign) an open case; a received case moves to in review."""
    if case.status not in (CaseStatus.RECEIVED, CaseStatus.IN_REVIEW):
        raise RuleViolation(_l("Only a received case or a case in review can be assigned."))
    before = _snapshot(case, "status", "assignee_id")
    case.assignee_id = assignee.id
    case.status = CaseStatus.IN_REVIEW
    db.session.flush()
    record(
        "case.assigned",
        actor=actor,
        object_type="case",
        object_id=case.id,
        case_id=case.id,
        before=before,
        after=_snapshot(case, "status", "assignee_id"),
    )
    return case


def decide(case: Case, *, actor: User, outcome: Outcome, reasons: str) -> Case:
    """Decide a case in review with written reasons and its legal basis (R5, R15, R23)."""
    reasons = reasons.strip()
    if case.status is not CaseStatus.IN_REVIEW:
        raise RuleViolation(_l("Only a case in review can be decided. Assign it first."))
    if not reasons:
        raise RuleViolation(_l("A decision needs written reasons."))
    before = _snapshot(case, "status", "outcome")
    # Read the actor's id before changing the case: loading an expired actor autoflushes, and a
    # half-decided case would violate the decision_complete CHECK.
    decided_by_id = actor.id
    case.status = CaseStatus.DECIDED
    case.outcome = outcome
    case.decision_reasons = reasons
    case.legal_basis = case.case_type.legal_basis
    case.decided_by_id = decided_by_id
    case.decided_at = now_utc()
    db.session.flush()
    record(
        "case.decided",
        actor=actor,
        object_type="case",
        object_id=case.id,
        case_id=case.id,
        before=before,
        after=_snapshot(case, "status", "outcome", "decision_reasons", "legal_basis", "decided_at"),
    )
    notify_user(case.filed_by, "case_decided", case=case)
    return case


def fulfil(case: Case, *, actor: User, fulfilment: str) -> Case:
    """Close a decided case once what was decided has been done (DESIGN §2b: fulfil).

    ``fulfilment`` says what was done, e.g. "access package delivered" (untranslated, for the
    audit trail).
    """
    if case.status is not CaseStatus.DECIDED:
        raise RuleViolation(_l("Only a decided case can be closed as fulfilled."))
    before = _snapshot(case, "status")
    case.status = CaseStatus.CLOSED
    db.session.flush()
    record(
        "case.fulfilled",
        actor=actor,
        object_type="case",
        object_id=case.id,
        case_id=case.id,
        before=before,
        after={**_snapshot(case, "status"), "fulfilment": fulfilment},
    )
    return case


def withdraw(case: Case, *, actor: User) -> Case:
    """The requester withdraws an open case; it closes without a decision."""
    if case.status not in OPEN_STATUSES:
        raise RuleViolation(_l("This case is no longer open."))
    before = _snapshot(case, "status")
    case.status = CaseStatus.CLOSED
    db.session.flush()
    record(
        "case.withdrawn",
        actor=actor,
        object_type="case",
        object_id=case.id,
        case_id=case.id,
        before=before,
        after=_snapshot(case, "status"),
    )
    return case


def case_by_reference(reference: str) -> Case | None:
    """Look a case up by its public reference."""
    return db.session.scalars(select(Case).where(Case.reference == reference)).one_or_none()

"""The named operations on a case: file, assign, decide, fulfil, withdraw.

Each operation checks the move is allowed, changes the case, writes the audit event and queues
the e-mails in the caller's transaction. None of them commits: the request, task or CLI command
that called it does (see :mod:`rights_portal.transactions`). Permission checks (who may do it)
live in :mod:`rights_portal.permissions`; these functions assume the caller asked it first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from ..accounts.models import User
from ..audit.services import record, record_case_event
from ..clock import now_utc, today_local
from ..dbutil import insert_ignoring_conflicts
from ..errors import RuleViolation
from ..exams.models import Exam
from ..extensions import db
from ..notifications.services import notify_user
from . import deadlines
from .models import (
    OPEN_STATUSES,
    Case,
    CaseMessage,
    CasePause,
    CaseStatus,
    CaseType,
    Channel,
    DueDateChange,
    ExtensionReason,
    MessageKind,
    Outcome,
    ReferenceCounter,
)


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
    flag_id: int | None = None,
    restrict_processing: bool = False,
    actor: User | None = None,
    acknowledge: bool = True,
) -> Case:
    """Register a request (R1) with its statutory, exam-bound and effective due dates (R2, R3, R7).

    A request filed too late for the exam-bound date is accepted and marked urgent, never refused.
    ``actor`` is who entered it when that is not the requester (staff registering a letter);
    without ``acknowledge`` no acknowledgement e-mail is queued (it goes out by post instead).
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
    if exam is not None and case_type.exam_bound:
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
        flag_id=flag_id,
        restrict_processing=restrict_processing,
    )
    db.session.add(case)
    db.session.flush()
    db.session.add(
        DueDateChange(
            case_id=case.id,
            cause="received",
            new_statutory_due=statutory,
            new_effective_due=effective,
            reason="",
            actor_id=(actor or filed_by).id,
        )
    )
    record_case_event(
        "case.received",
        case,
        actor=actor or filed_by,
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
    if acknowledge:
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
    record_case_event(
        "case.assigned",
        case,
        actor=actor,
        before=before,
        after=_snapshot(case, "status", "assignee_id"),
    )
    return case


def decide(
    case: Case,
    *,
    actor: User,
    outcome: Outcome,
    reasons: str,
    manifestly_unfounded_justification: str | None = None,
) -> Case:
    """Decide a case in review with written reasons and its legal basis (R5, R8, R15, R23).

    A refusal as manifestly unfounded or excessive carries its own recorded justification (R8).
    """
    reasons = reasons.strip()
    justification = (manifestly_unfounded_justification or "").strip() or None
    if case.status is not CaseStatus.IN_REVIEW:
        raise RuleViolation(_l("Only a case in review can be decided. Assign it first."))
    if not reasons:
        raise RuleViolation(_l("A decision needs written reasons."))
    if justification and outcome is not Outcome.REJECTED:
        raise RuleViolation(_l("Only a rejection can rest on a manifestly unfounded request."))
    before = _snapshot(case, "status", "outcome")
    # Read the actor's id before changing the case: loading an expired actor autoflushes, and a
    # half-decided case would violate the decision_complete CHECK.
    decided_by_id = actor.id
    case.manifestly_unfounded_justification = justification
    case.status = CaseStatus.DECIDED
    case.outcome = outcome
    case.decision_reasons = reasons
    case.legal_basis = case.case_type.legal_basis
    case.decided_by_id = decided_by_id
    case.decided_at = now_utc()
    db.session.flush()
    record_case_event(
        "case.decided",
        case,
        actor=actor,
        before=before,
        after=_snapshot(
            case,
            "status",
            "outcome",
            "decision_reasons",
            "legal_basis",
            "decided_at",
            "manifestly_unfounded_justification",
        ),
    )
    notify_user(case.filed_by, "case_decided", case=case)
    return case


def fulfil(case: Case, *, actor: User, fulfilment: str) -> Case:
    """Close a decided case once what was decided has been done (docs/rules.md#case-life: fulfil).

    ``fulfilment`` says what was done, e.g. "access package delivered" (untranslated, for the
    audit trail).
    """
    if case.status is not CaseStatus.DECIDED:
        raise RuleViolation(_l("Only a decided case can be closed as fulfilled."))
    before = _snapshot(case, "status")
    case.status = CaseStatus.CLOSED
    db.session.flush()
    record_case_event(
        "case.fulfilled",
        case,
        actor=actor,
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
    _end_pause_on_close(case)
    db.session.flush()
    record_case_event(
        "case.withdrawn",
        case,
        actor=actor,
        before=before,
        after=_snapshot(case, "status"),
    )
    return case


def case_by_reference(reference: str) -> Case | None:
    """Look a case up by its public reference."""
    return db.session.scalars(select(Case).where(Case.reference == reference)).one_or_none()


# --- Deadlines: extension (R4) and pause (R6) -------------------------------------------------


def _completed_pause_days(case: Case) -> int:
    pauses = db.session.scalars(
        select(CasePause).where(CasePause.case_id == case.id, CasePause.ended_on.is_not(None))
    )
    return sum(pause.days or 0 for pause in pauses)


def _end_pause_on_close(case: Case) -> None:
    """A case that closes while waiting for the requester stops waiting (no due-date change)."""
    pause = open_pause(case)
    if pause is not None:
        pause.ended_at = now_utc()
        pause.ended_on = today_local()


def open_pause(case: Case) -> CasePause | None:
    """The pause that is running now, if the case waits for the requester."""
    return db.session.scalars(
        select(CasePause).where(CasePause.case_id == case.id, CasePause.ended_at.is_(None))
    ).one_or_none()


def first_due_date(case: Case) -> date:
    """The statutory due date without extension (but moved by completed pauses), R4's limit."""
    return deadlines.current_statutory_due(case.received_on, 0, _completed_pause_days(case))


def extension_still_allowed(case: Case, today: date | None = None) -> bool:
    """Whether R4 still allows an extension today (shown to the handler before trying)."""
    return deadlines.extension_allowed(first_due_date(case), today or today_local())


def _recompute_due_dates(
    case: Case, *, cause: str, reason: str, actor: User | None, exam_bound: bool = False
) -> bool:
    """Derive the due dates from receipt, extension and pauses; log a change with its reason.

    With ``exam_bound`` the exam-bound date is derived again from the exam's start as well (R7).
    Returns whether anything changed. ``actor`` is None for a system change (a CLI command).
    """
    old_statutory, old_effective = case.statutory_due, case.effective_due
    old_exam_bound = case.exam_bound_due
    case.statutory_due = deadlines.current_statutory_due(
        case.received_on, case.extension_months, _completed_pause_days(case)
    )
    if exam_bound and case.exam is not None and case.case_type.exam_bound:
        case.exam_bound_due = deadlines.exam_bound_due(
            case.exam.starts_at, current_app.config["EXAM_BOUND_WORKING_DAYS"]
        )
    case.effective_due = deadlines.effective_due(case.statutory_due, case.exam_bound_due)
    before = {
        "statutory_due": old_statutory,
        "exam_bound_due": old_exam_bound,
        "effective_due": old_effective,
    }
    after = {
        "statutory_due": case.statutory_due,
        "exam_bound_due": case.exam_bound_due,
        "effective_due": case.effective_due,
    }
    if before == after:
        return False
    if old_exam_bound == case.exam_bound_due:  # the usual case: keep the event as it was
        del before["exam_bound_due"], after["exam_bound_due"]
    db.session.add(
        DueDateChange(
            case_id=case.id,
            cause=cause,
            reason=reason,
            actor_id=actor.id if actor is not None else None,
            old_statutory_due=old_statutory,
            new_statutory_due=case.statutory_due,
            old_effective_due=old_effective,
            new_effective_due=case.effective_due,
        )
    )
    db.session.flush()
    record_case_event(
        "case.due_date_changed",
        case,
        actor=actor,
        before=before,
        after={**after, "cause": cause, "reason": reason},
    )
    return True


#: Why ``flask deadlines recompute`` changed a due date (untranslated, for the audit trail).
RECOMPUTE_REASON = (
    "Recomputed under the corrected rules: the Dutch calendar of the Algemene termijnenwet "
    "art. 3 (5 May every year, plus configured days, R3) and paused days added before the "
    "weekend/holiday roll (R6)"
)


@dataclass(frozen=True)
class RecomputedCase:
    """One open case whose due dates the new rules give differently."""

    reference: str
    old_statutory_due: date
    new_statutory_due: date
    old_effective_due: date
    new_effective_due: date


def recompute_open_due_dates(*, dry_run: bool = False) -> list[RecomputedCase]:
    """Derive the due dates of every open case again under the current rules (R3, R6, R7).

    Each change is recorded on the case's due-date history and on the audit trail with
    :data:`RECOMPUTE_REASON`; a case whose dates stay the same gets no entry. With ``dry_run``
    nothing is written (the caller rolls back). The caller commits.
    """
    changed: list[RecomputedCase] = []
    cases = db.session.scalars(
        select(Case).where(Case.status.in_(OPEN_STATUSES)).order_by(Case.id)
    ).all()
    for case in cases:
        old_statutory, old_effective = case.statutory_due, case.effective_due
        if dry_run:
            with db.session.no_autoflush:
                pause_days = _completed_pause_days(case)
            statutory = deadlines.current_statutory_due(
                case.received_on, case.extension_months, pause_days
            )
            exam_bound = case.exam_bound_due
            if case.exam is not None and case.case_type.exam_bound:
                exam_bound = deadlines.exam_bound_due(
                    case.exam.starts_at, current_app.config["EXAM_BOUND_WORKING_DAYS"]
                )
            effective = deadlines.effective_due(statutory, exam_bound)
            if (statutory, effective, exam_bound) == (
                old_statutory,
                old_effective,
                case.exam_bound_due,
            ):
                continue
        elif _recompute_due_dates(
            case, cause="recomputed", reason=RECOMPUTE_REASON, actor=None, exam_bound=True
        ):
            statutory, effective = case.statutory_due, case.effective_due
        else:
            continue
        changed.append(
            RecomputedCase(case.reference, old_statutory, statutory, old_effective, effective)
        )
    return changed


def extend(
    case: Case,
    *,
    actor: User,
    months: int,
    reason: ExtensionReason,
    explanation: str,
    today: date | None = None,
) -> Case:
    """Extend the term by one or two months in total (R4).

    Allowed only with a reason of complexity or number of requests, and only while the notice can
    still reach the requester by the first due date; the notice with the reason goes out by e-mail
    and is stored on the case thread.
    """
    explanation = explanation.strip()
    today = today or today_local()
    if not case.is_open:
        raise RuleViolation(_l("This case is no longer open."))
    if months not in (1, 2) or months <= case.extension_months:
        raise RuleViolation(
            _l("An extension is one or two months in total, and longer than an earlier extension.")
        )
    if not explanation:
        raise RuleViolation(_l("Explain why the extension is needed."))
    if not extension_still_allowed(case, today):
        raise RuleViolation(
            _l("The first due date has passed: the term can no longer be extended.")
        )
    before = _snapshot(case, "extension_months", "extension_reason", "statutory_due")
    case.extension_months = months
    case.extension_reason = reason
    case.extension_explanation = explanation
    db.session.flush()
    _recompute_due_dates(case, cause="extended", reason=explanation, actor=actor)
    record_case_event(
        "case.extended",
        case,
        actor=actor,
        before=before,
        after=_snapshot(case, "extension_months", "extension_reason", "statutory_due"),
    )
    notice = _add_message(case, author=actor, kind=MessageKind.EXTENSION_NOTICE, body=explanation)
    notify_user(case.filed_by, "case_extended", case=case, notice=notice)
    return case


def _add_message(case: Case, *, author: User, kind: MessageKind, body: str) -> CaseMessage:
    message = CaseMessage(
        case_id=case.id, author_id=author.id, from_staff=author.is_staff, kind=kind, body=body
    )
    db.session.add(message)
    db.session.flush()
    record(
        "case.message_posted",
        actor=author,
        object_type="case_message",
        object_id=message.id,
        case_id=case.id,
        after={"kind": kind.value, "from_staff": message.from_staff},
    )
    return message


def post_message(case: Case, *, author: User, body: str) -> CaseMessage:
    """Add a message to the thread and announce it to the other side (a link, never the content)."""
    body = body.strip()
    if not body:
        raise RuleViolation(_l("Write a message first."))
    if case.status is CaseStatus.AWAITING_REQUESTER and not author.is_staff:
        return answer_question(case, author=author, body=body)
    message = _add_message(case, author=author, kind=MessageKind.MESSAGE, body=body)
    if author.is_staff:
        notify_user(case.filed_by, "case_message", case=case)
    elif case.assignee is not None:
        notify_user(case.assignee, "case_message_staff", case=case)
    return message


def question_would_pause(case: Case, today: date | None = None) -> bool:
    """Whether a question asked now would pause the clock (shown to the handler before sending)."""
    limit = current_app.config["PAUSE_QUESTION_WORKING_DAYS"]
    return deadlines.question_pauses_clock(case.received_on, today or today_local(), limit)


def ask_requester(
    case: Case,
    *,
    actor: User,
    kind: MessageKind,
    question: str,
    now: datetime | None = None,
    notify: bool = True,
) -> tuple[CaseMessage, CasePause | None]:
    """Ask for identity information or a clarification (R6, R22).

    A question asked within the configured number of working days after receipt pauses the
    clock until the requester answers; a later one is sent but the clock keeps running.
    """
    question = question.strip()
    now = now or now_utc()
    if not kind.is_question:
        raise ValueError(f"{kind} is not a question")
    if case.status is not CaseStatus.IN_REVIEW:
        raise RuleViolation(_l("Questions can only be asked while the case is in review."))
    if not question:
        raise RuleViolation(_l("Write the question first."))
    message = _add_message(case, author=actor, kind=kind, body=question)
    pause = None
    if question_would_pause(case, deadlines.local_date(now)):
        pause = CasePause(
            case_id=case.id,
            reason=kind,
            question_id=message.id,
            started_at=now,
            started_on=deadlines.local_date(now),
        )
        db.session.add(pause)
        case.status = CaseStatus.AWAITING_REQUESTER
        db.session.flush()
        record_case_event(
            "case.paused",
            case,
            actor=actor,
            before={"status": CaseStatus.IN_REVIEW},
            after={"status": case.status, "reason": kind, "pause_id": pause.id},
        )
    if notify:
        notify_user(case.filed_by, "case_question", case=case)
    return message, pause


def answer_question(
    case: Case, *, author: User, body: str, now: datetime | None = None
) -> CaseMessage:
    """The requester answers; a running pause ends and the due date moves by its days (R6)."""
    body = body.strip()
    now = now or now_utc()
    if not body:
        raise RuleViolation(_l("Write your answer first."))
    message = _add_message(case, author=author, kind=MessageKind.ANSWER, body=body)
    resume_clock(case, actor=author, answer=message, now=now)
    if case.assignee is not None:
        notify_user(case.assignee, "case_message_staff", case=case)
    return message


def resume_clock(
    case: Case, *, actor: User, answer: CaseMessage | None = None, now: datetime | None = None
) -> CasePause | None:
    """End a running pause: back in review, and the due date moves by the paused days (R6).

    The requester's answer ends it, or a handler who got what was asked by another way (an
    identity document shown at the desk, R22).
    """
    pause = open_pause(case)
    if pause is None:
        return None
    now = now or now_utc()
    pause.ended_at = now
    pause.ended_on = deadlines.local_date(now)
    pause.answer_id = answer.id if answer is not None else None
    case.status = CaseStatus.IN_REVIEW
    db.session.flush()
    record_case_event(
        "case.resumed",
        case,
        actor=actor,
        before={"status": CaseStatus.AWAITING_REQUESTER},
        after={"status": case.status, "paused_days": pause.days, "pause_id": pause.id},
    )
    _recompute_due_dates(case, cause="resumed", reason=f"paused {pause.days} day(s)", actor=actor)
    return pause


def mark_duplicate(case: Case, *, of: Case, actor: User, note: str = "") -> Case:
    """Close a case as a duplicate of another request about the same student, with a notice."""
    if not case.is_open:
        raise RuleViolation(_l("This case is no longer open."))
    if of.id == case.id or of.subject_id != case.subject_id:
        raise RuleViolation(_l("A duplicate must be another request about the same student."))
    before = _snapshot(case, "status", "duplicate_of_id")
    case.status = CaseStatus.CLOSED
    case.duplicate_of_id = of.id
    _end_pause_on_close(case)
    db.session.flush()
    record_case_event(
        "case.marked_duplicate",
        case,
        actor=actor,
        before=before,
        after={**_snapshot(case, "status", "duplicate_of_id"), "duplicate_of": of.reference},
    )
    body = note.strip() or f"{of.reference}"
    _add_message(case, author=actor, kind=MessageKind.DUPLICATE_NOTICE, body=body)
    notify_user(case.filed_by, "case_duplicate", case=case, original=of)
    return case

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
from ..audit.services import record_case_event
from ..clock import now_utc
from ..dbutil import insert_ignoring_conflicts
from ..errors import RuleViolation
from ..exams.models import Exam
from ..extensions import db
from ..notifications.services import notify_user
from . import deadlines, workflow
from .models import (
    Case,
    CaseMessage,
    CaseType,
    Channel,
    DueDateChange,
    ExtensionReason,
    MessageKind,
    Outcome,
    ReferenceCounter,
    case_type_name,
)
from .registry import Decision
from .terms import (
    RECOMPUTE_REASON,
    RecomputedCase,
    answer_question,
    ask_requester,
    end_pause_on_close,
    exam_moved,
    extend,
    extension_still_allowed,
    first_due_date,
    open_pause,
    question_would_pause,
    recompute_open_due_dates,
    resume_clock,
)
from .thread import add_message, snapshot
from .workflow import Step

# The terms' operations are named here too: callers know one module of case operations.
__all__ = [
    "RECOMPUTE_REASON",
    "ExtensionReason",
    "RecomputedCase",
    "answer_question",
    "ask_requester",
    "assign",
    "case_by_reference",
    "check_decision",
    "decide",
    "decide_as_its_type",
    "exam_moved",
    "extend",
    "extension_still_allowed",
    "file_case",
    "first_due_date",
    "fulfil",
    "fulfil_by_staff",
    "mark_duplicate",
    "next_reference",
    "open_pause",
    "post_message",
    "question_would_pause",
    "recompute_open_due_dates",
    "resume_clock",
    "run_after_decision",
    "withdraw",
]


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
    case_type: CaseType | str,
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
    case_type = case_type_name(str(case_type))
    kind = case_type.kind
    if kind.needs_exam and exam is None:
        raise RuleViolation(_l("Choose the exam this request is about."))
    if kind.description_required is not None and not description:
        raise RuleViolation(kind.description_required)
    received_at = received_at or now_utc()
    received_on = deadlines.local_date(received_at)
    statutory = deadlines.statutory_due(received_on)
    exam_bound = None
    if exam is not None and kind.exam_bound:
        exam_bound = deadlines.exam_bound_due(
            exam.starts_at, current_app.config["EXAM_BOUND_WORKING_DAYS"]
        )
    effective = deadlines.effective_due(statutory, exam_bound)
    case = Case(
        reference=next_reference(received_on.year),
        case_type=case_type,
        status=workflow.INITIAL,
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
        after=snapshot(
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
    workflow.require(case, Step.ASSIGN)
    before = snapshot(case, "status", "assignee_id")
    case.assignee_id = assignee.id
    workflow.move(case, Step.ASSIGN)
    db.session.flush()
    record_case_event(
        "case.assigned",
        case,
        actor=actor,
        before=before,
        after=snapshot(case, "status", "assignee_id"),
    )
    return case


def check_decision(
    case: Case, *, outcome: Outcome, reasons: str, justification: str | None = None
) -> None:
    """Refuse a decision the rules do not allow now (R5, R8); also before a board's proposal."""
    workflow.require(case, Step.DECIDE)
    if not reasons.strip():
        raise RuleViolation(_l("A decision needs written reasons."))
    if justification and outcome is not Outcome.REJECTED:
        raise RuleViolation(_l("Only a rejection can rest on a manifestly unfounded request."))


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
    check_decision(case, outcome=outcome, reasons=reasons, justification=justification)
    before = snapshot(case, "status", "outcome")
    # Read the actor's id before changing the case: loading an expired actor autoflushes, and a
    # half-decided case would violate the decision_complete CHECK.
    decided_by_id = actor.id
    case.manifestly_unfounded_justification = justification
    workflow.move(case, Step.DECIDE)
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
        after=snapshot(
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
    before = snapshot(case, "status")
    workflow.move(case, Step.FULFIL)
    db.session.flush()
    record_case_event(
        "case.fulfilled",
        case,
        actor=actor,
        before=before,
        after={**snapshot(case, "status"), "fulfilment": fulfilment},
    )
    return case


def withdraw(case: Case, *, actor: User) -> Case:
    """The requester withdraws an open case; it closes without a decision."""
    before = snapshot(case, "status")
    workflow.move(case, Step.WITHDRAW)
    end_pause_on_close(case)
    db.session.flush()
    record_case_event(
        "case.withdrawn",
        case,
        actor=actor,
        before=before,
        after=snapshot(case, "status"),
    )
    return case


def case_by_reference(reference: str) -> Case | None:
    """Look a case up by its public reference."""
    return db.session.scalars(select(Case).where(Case.reference == reference)).one_or_none()


def post_message(case: Case, *, author: User, body: str) -> CaseMessage:
    """Add a message to the thread and announce it to the other side (a link, never the content)."""
    body = body.strip()
    if not body:
        raise RuleViolation(_l("Write a message first."))
    if not author.is_staff and workflow.can_move(case, Step.ANSWER):
        return answer_question(case, author=author, body=body)
    message = add_message(case, author=author, kind=MessageKind.MESSAGE, body=body)
    if author.is_staff:
        notify_user(case.filed_by, "case_message", case=case)
    elif case.assignee is not None:
        notify_user(case.assignee, "case_message_staff", case=case)
    return message


def mark_duplicate(case: Case, *, of: Case, actor: User, note: str = "") -> Case:
    """Close a case as a duplicate of another request about the same student, with a notice."""
    workflow.require(case, Step.MARK_DUPLICATE)
    if of.id == case.id or of.subject_id != case.subject_id:
        raise RuleViolation(_l("A duplicate must be another request about the same student."))
    before = snapshot(case, "status", "duplicate_of_id")
    workflow.move(case, Step.MARK_DUPLICATE)
    case.duplicate_of_id = of.id
    end_pause_on_close(case)
    db.session.flush()
    record_case_event(
        "case.marked_duplicate",
        case,
        actor=actor,
        before=before,
        after={**snapshot(case, "status", "duplicate_of_id"), "duplicate_of": of.reference},
    )
    body = note.strip() or f"{of.reference}"
    add_message(case, author=actor, kind=MessageKind.DUPLICATE_NOTICE, body=body)
    notify_user(case.filed_by, "case_duplicate", case=case, original=of)
    return case


# --- Deciding and fulfilling as the case's type declares (rights_portal.cases.registry) ---------


def decide_as_its_type(case: Case, *, actor: User, form: Any) -> Decision:
    """Decide ``case`` with its type's decision form; the type's hooks run once it took effect."""
    kind = case.case_type.kind
    if kind.decide is None:
        raise RuleViolation(_l("This case is not decided with the decision form."))
    decision = kind.decide(case, actor, form)
    if not decision.awaiting_sign_off:
        run_after_decision(case, actor)
    return decision


def run_after_decision(case: Case, actor: User) -> None:
    """Run the hooks the case's type declares for after a decision (file deletion, notices)."""
    for hook in case.case_type.kind.after_decision:
        hook(case, actor)


def decide_with_reasons(case: Case, actor: User, form: Any) -> Decision:
    """The common decision (:class:`~rights_portal.cases.forms.DecideForm`): outcome and reasons."""
    decide(
        case,
        actor=actor,
        outcome=Outcome(form.outcome.data),
        reasons=form.reasons.data or "",
        manifestly_unfounded_justification=(
            form.unfounded_justification.data if form.manifestly_unfounded.data else None
        ),
    )
    return Decision(case)


def fulfil_by_staff(case: Case, *, actor: User) -> Case:
    """A handler confirms what was decided has been done, for a type fulfilled that way."""
    kind = case.case_type.kind
    if not kind.fulfilled_by_staff:
        raise RuleViolation(_l("This case is closed by what fulfils it, not by hand."))
    return fulfil(case, actor=actor, fulfilment=kind.fulfilment)

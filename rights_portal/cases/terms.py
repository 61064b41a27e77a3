"""The case's terms: extension (R4), pauses while waiting for the requester (R6), recomputing.

Questions that pause the clock and the answers that restart it live here too, since they move
the due dates; the moves of :mod:`rights_portal.cases.workflow` decide when each is allowed.
Like every service, nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import User
from ..audit.services import record_case_event
from ..clock import now_utc, to_local, today_local
from ..errors import RuleViolation
from ..extensions import db
from ..notifications.services import notify_user
from . import deadlines, workflow
from .models import (
    OPEN_STATUSES,
    Case,
    CaseMessage,
    CasePause,
    DueDateChange,
    ExtensionReason,
    MessageKind,
)
from .thread import add_message, snapshot
from .workflow import Step


def _completed_pause_days(case: Case) -> int:
    pauses = db.session.scalars(
        select(CasePause).where(CasePause.case_id == case.id, CasePause.ended_on.is_not(None))
    )
    return sum(pause.days or 0 for pause in pauses)


def end_pause_on_close(case: Case) -> None:
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


def exam_moved(
    exam_id: int,
    *,
    moved_from: datetime,
    moved_to: datetime,
    source: str,
    actor: User | None = None,
) -> list[RecomputedCase]:
    """R7: an exam moved; its open exam-bound cases get the exam-bound date of the new start.

    Every change lands on the case's due-date history (cause ``exam_moved``) and on the audit
    trail with the reason "Exam moved in ``source``: from … to …" (local times); ``actor`` is
    the person who moved it (None: the student-information system). A case whose dates stay
    the same gets no entry. The caller commits.
    """
    reason = (
        f"Exam moved in {source}: from {to_local(moved_from):%Y-%m-%d %H:%M}"
        f" to {to_local(moved_to):%Y-%m-%d %H:%M}"
    )
    changed: list[RecomputedCase] = []
    cases = db.session.scalars(
        select(Case)
        .where(Case.exam_id == exam_id, Case.status.in_(OPEN_STATUSES))
        .order_by(Case.id)
    ).all()
    for case in cases:
        if not case.case_type.exam_bound:
            continue
        old_statutory, old_effective = case.statutory_due, case.effective_due
        if _recompute_due_dates(
            case, cause="exam_moved", reason=reason, actor=actor, exam_bound=True
        ):
            changed.append(
                RecomputedCase(
                    case.reference,
                    old_statutory,
                    case.statutory_due,
                    old_effective,
                    case.effective_due,
                )
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
    workflow.require(case, Step.EXTEND)
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
    before = snapshot(case, "extension_months", "extension_reason", "statutory_due")
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
        after=snapshot(case, "extension_months", "extension_reason", "statutory_due"),
    )
    notice = add_message(case, author=actor, kind=MessageKind.EXTENSION_NOTICE, body=explanation)
    notify_user(case.filed_by, "case_extended", case=case, notice=notice)
    return case


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
    workflow.require(case, Step.ASK)
    if not question:
        raise RuleViolation(_l("Write the question first."))
    message = add_message(case, author=actor, kind=kind, body=question)
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
        before = workflow.move(case, Step.PAUSE)
        db.session.flush()
        record_case_event(
            "case.paused",
            case,
            actor=actor,
            before={"status": before},
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
    message = add_message(case, author=author, kind=MessageKind.ANSWER, body=body)
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
    before = workflow.move(case, Step.RESUME)
    db.session.flush()
    record_case_event(
        "case.resumed",
        case,
        actor=actor,
        before={"status": before},
        after={"status": case.status, "paused_days": pause.days, "pause_id": pause.id},
    )
    _recompute_due_dates(case, cause="resumed", reason=f"paused {pause.days} day(s)", actor=actor)
    return pause

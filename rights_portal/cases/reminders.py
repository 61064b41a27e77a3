"""The deadline sweep: reminders before and after the effective due date, and escalation (R9, R10).

Each milestone of a case is a row in ``reminders`` with a unique (case, key); the sweep inserts
with ON CONFLICT DO NOTHING and queues an e-mail only for rows it actually inserted, in the same
transaction. Two schedulers, a retried task or an overlapping run therefore mail each milestone
once. The sweep reads only open cases whose due date is near or past (an index on the effective
due date of open cases), so its cost grows with the cases due, not with all cases.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import joinedload

from ..accounts.models import Role, User
from ..audit.services import record
from ..clock import today_local
from ..dbutil import insert_ignoring_conflicts
from ..exams.models import ExamBoardMember, Programme
from ..extensions import db
from ..notifications.services import notify_addresses
from . import deadlines
from .models import Case, CaseStatus, EscalationDigest, Reminder

ESCALATION_KEY = "escalation"


@dataclass
class SweepReport:
    """What one sweep did, for the CLI and the task log."""

    today: date
    cases_examined: int = 0
    reminders_sent: list[tuple[str, str]] = field(default_factory=list)
    reminders_superseded: int = 0
    escalations: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        out = [
            f"sweep for {self.today.isoformat()}:"
            f" {self.cases_examined} open case(s) near or past due"
        ]
        out += [f"  reminder {key} for {reference}" for reference, key in self.reminders_sent]
        if self.reminders_superseded:
            out.append(
                f"  {self.reminders_superseded} missed milestone(s) recorded"
                " without a mail (catch-up)"
            )
        out += [f"  escalated {reference} to the DPO" for reference in self.escalations]
        return out


def clock_running() -> ColumnElement[bool]:
    """Open cases whose clock runs: a pause stops the statutory clock, not the exam's (R6, R7)."""
    return or_(
        Case.status.in_((CaseStatus.RECEIVED, CaseStatus.IN_REVIEW)),
        and_(
            Case.status == CaseStatus.AWAITING_REQUESTER,
            Case.exam_bound_due.is_not(None),
            Case.effective_due == Case.exam_bound_due,
        ),
    )


def _recipients(case: Case) -> list[User]:
    """The assignee, or the pool: the exam board for exam cases, the case handlers otherwise."""
    if case.assignee is not None:
        return [case.assignee]
    if case.case_type.decided_by_exam_board and case.programme_id is not None:
        board_members = (
            select(ExamBoardMember.user_id)
            .join(Programme, Programme.exam_board_id == ExamBoardMember.board_id)
            .where(Programme.id == case.programme_id)
        )
        return list(db.session.scalars(select(User).where(User.id.in_(board_members))))
    return list(
        db.session.scalars(
            select(User).where(User.role == Role.CASE_HANDLER, User.is_active_account.is_(True))
        )
    )


def _insert_milestone(case: Case, key: str, milestone_on: date) -> int | None:
    """Insert the milestone row; return its id, or None when another run already did."""
    result = db.session.execute(
        insert_ignoring_conflicts(Reminder, ["case_id", "key"])
        .values(case_id=case.id, key=key, milestone_on=milestone_on, superseded=False)
        .returning(Reminder.id)
    )
    return result.scalar_one_or_none()


def sweep(today: date | None = None) -> SweepReport:
    """Run one sweep as of ``today`` (Amsterdam); the caller commits."""
    today = today or today_local()
    offsets = sorted(current_app.config["REMINDER_OFFSETS"], reverse=True)
    horizon = today + timedelta(days=max(offsets, default=0))
    report = SweepReport(today=today)
    cases = db.session.scalars(
        select(Case)
        .options(joinedload(Case.assignee))
        .where(clock_running(), Case.effective_due <= horizon)
        .order_by(Case.effective_due, Case.id)
    ).all()
    report.cases_examined = len(cases)
    existing: dict[int, set[str]] = defaultdict(set)
    for case_id, key in db.session.execute(
        select(Reminder.case_id, Reminder.key).where(Reminder.case_id.in_([c.id for c in cases]))
    ):
        existing[case_id].add(key)

    newly_overdue: list[str] = []
    for case in cases:
        due_keys = deadlines.reminder_keys_due(case.effective_due, today, offsets)
        inserted: list[tuple[int, str]] = []
        for key, milestone_on in due_keys:
            if key in existing[case.id]:
                continue
            reminder_id = _insert_milestone(case, key, milestone_on)
            if reminder_id is not None:
                inserted.append((reminder_id, key))
        if inserted:
            # R10: every missed milestone is recorded; only the latest one is mailed.
            latest_id, latest_key = inserted[-1]
            for reminder_id, _key in inserted[:-1]:
                db.session.get(Reminder, reminder_id).superseded = True  # type: ignore[union-attr]
                report.reminders_superseded += 1
            _send_reminder(case, latest_id, latest_key, today)
            report.reminders_sent.append((case.reference, latest_key))
        if (
            case.effective_due < today
            and ESCALATION_KEY not in existing[case.id]
            and _insert_milestone(case, ESCALATION_KEY, today) is not None
        ):
            newly_overdue.append(case.reference)
            report.escalations.append(case.reference)
    if newly_overdue:
        # Each case is escalated once; the digest that announces it lists every overdue case.
        overdue = [case for case in cases if case.effective_due < today]
        _send_digest(overdue, set(newly_overdue), today)
    db.session.flush()
    return report


def _send_reminder(case: Case, reminder_id: int, key: str, today: date) -> None:
    recipients = _recipients(case)
    reminder = db.session.get(Reminder, reminder_id)
    if not recipients or reminder is None:
        return
    calendar_days, working_days = deadlines.days_left(case.effective_due, today)
    locale = recipients[0].locale if len(recipients) == 1 else "nl"
    message = notify_addresses(
        [user.email for user in recipients],
        locale,
        "deadline_reminder",
        case=case,
        key=key,
        calendar_days=calendar_days,
        working_days=working_days,
    )
    reminder.outbox_message_id = message.id
    record(
        "case.reminder_sent",
        actor=None,
        object_type="case",
        object_id=case.id,
        case_id=case.id,
        after={"milestone": key, "to": sorted(user.email for user in recipients)},
    )


def _send_digest(overdue: list[Case], new: set[str], today: date) -> None:
    """One digest to the DPO(s) listing every overdue case, the newly escalated marked (R9).

    Exactly once comes from each case's unique ``escalation`` row: only the sweep that inserted
    it escalates the case, so a second sweep sends no second digest for it.
    """
    dpos = list(
        db.session.scalars(
            select(User).where(User.role == Role.DPO, User.is_active_account.is_(True))
        )
    )
    for case in (c for c in overdue if c.reference in new):
        record(
            "case.escalated",
            actor=None,
            object_type="case",
            object_id=case.id,
            case_id=case.id,
            after={"effective_due": case.effective_due, "to": sorted(u.email for u in dpos)},
        )
    if not dpos:
        return
    message = notify_addresses(
        [user.email for user in dpos],
        dpos[0].locale,
        "overdue_escalation",
        cases=overdue,
        new=new,
        today=today,
    )
    db.session.add(
        EscalationDigest(day=today, case_count=len(overdue), outbox_message_id=message.id)
    )

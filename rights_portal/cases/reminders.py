"""The deadline sweep: reminders before and after the effective due date, and escalation (R9, R10).

Each milestone of a case is a row in ``reminders`` with a unique (case, key); the sweep inserts
with ON CONFLICT DO NOTHING and queues an e-mail only for rows it actually inserted, in the same
transaction. Two schedulers, a retried task or an overlapping run therefore mail each milestone
once. The sweep reads only open cases whose due date is near or past (an index on the effective
due date of open cases), so its cost grows with the cases due, not with all cases.

Each reminder and escalation appends an audit event, and the audit chain stays locked from the
first append until the transaction ends. So the sweep commits after each batch of cases: other
audited actions (logins, staff actions) wait for one batch at most, not for the whole sweep, and
each batch's reminders are mailed as soon as it is committed. The DPO digest comes last, in a
transaction of its own, and announces every escalation that no digest has announced yet: also
those committed by a sweep that died before its digest, so each is announced exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, and_, or_, select, text
from sqlalchemy.orm import joinedload

from .. import transactions
from ..accounts.models import Role, User
from ..audit.services import record_case_event
from ..clock import today_local
from ..dbutil import insert_ignoring_conflicts
from ..exams.models import ExamBoardMember, Programme
from ..extensions import db
from ..notifications.services import notify_addresses
from . import deadlines, workflow
from .models import Case, EscalationDigest, Reminder

ESCALATION_KEY = "escalation"
_SWEEP_LOCK_KEY = 727_002  # any constant; names the advisory lock that serialises sweep batches


@dataclass
class SweepReport:
    """What one sweep did, for the CLI and the task log."""

    today: date
    cases_examined: int = 0
    reminders_sent: list[tuple[str, str]] = field(default_factory=list)
    reminders_superseded: int = 0
    escalations: list[str] = field(default_factory=list)
    # The digest of this sweep: how many overdue cases it listed and which of them it announced
    # as newly escalated (by this sweep, or by an earlier one that died before its digest).
    digest_cases: int = 0
    announced: list[str] = field(default_factory=list)

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
        if self.announced:
            out.append(
                f"  digest to the DPO: {self.digest_cases} overdue case(s),"
                f" newly escalated {', '.join(self.announced)}"
            )
        return out


def clock_running() -> ColumnElement[bool]:
    """Open cases whose clock runs: a pause stops the statutory clock, not the exam's (R6, R7)."""
    return or_(
        Case.status.in_(workflow.CLOCK_RUNS),
        and_(
            Case.status == workflow.WAITING,
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


def _lock_sweep() -> None:
    """Serialise the transactions of overlapping sweeps (two schedulers, a retried task).

    Without it one sweep could wait for a reminder row another sweep inserted, while holding the
    audit chain lock that the other sweep waits for. Taken first in each batch, it is held only
    until that batch commits.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SWEEP_LOCK_KEY})


def sweep(
    today: date | None = None, *, commit_each: bool = True, batch_size: int | None = None
) -> SweepReport:
    """Run one sweep as of ``today`` (Amsterdam), committing after each batch of cases.

    Each batch of ``batch_size`` cases (default ``DEADLINE_SWEEP_BATCH_SIZE``), and then the DPO
    digest, is committed on its own through :func:`rights_portal.transactions.commit`, which
    dispatches the batch's mails. Call it with no changes pending. ``commit_each=False`` only
    flushes, leaving the whole sweep in the caller's transaction to commit or roll back
    (bench/sweep.py); the audit chain then stays locked until the caller ends that transaction.
    """
    if batch_size is None:
        batch_size = current_app.config["DEADLINE_SWEEP_BATCH_SIZE"]
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    today = today or today_local()
    offsets = sorted(current_app.config["REMINDER_OFFSETS"], reverse=True)
    horizon = today + timedelta(days=max(offsets, default=0))
    near_or_past_due = and_(clock_running(), Case.effective_due <= horizon)
    end_batch = transactions.commit if commit_each else db.session.flush
    report = SweepReport(today=today)
    case_ids = db.session.scalars(
        select(Case.id).where(near_or_past_due).order_by(Case.effective_due, Case.id)
    ).all()
    report.cases_examined = len(case_ids)
    dpo_emails = sorted(u.email for u in _dpos())
    for start in range(0, len(case_ids), batch_size):
        _lock_sweep()
        # Loaded again per batch: a case decided meanwhile, or no longer due soon, is left alone.
        cases = db.session.scalars(
            select(Case)
            .options(joinedload(Case.assignee))
            .where(Case.id.in_(case_ids[start : start + batch_size]), near_or_past_due)
            .order_by(Case.effective_due, Case.id)
        ).all()
        _sweep_cases(cases, today, offsets, dpo_emails, report)
        end_batch()
    _lock_sweep()
    _send_digest(today, report)
    end_batch()
    return report


def _sweep_cases(
    cases: Sequence[Case],
    today: date,
    offsets: list[int],
    dpo_emails: list[str],
    report: SweepReport,
) -> None:
    """Record the milestones of ``cases`` due by ``today``, mail the latest, escalate once."""
    existing: dict[int, set[str]] = defaultdict(set)
    for case_id, key in db.session.execute(
        select(Reminder.case_id, Reminder.key).where(Reminder.case_id.in_([c.id for c in cases]))
    ):
        existing[case_id].add(key)
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
            # Each case is escalated once: only the sweep that inserted the row gets here.
            # The digest that announces it follows at the end of the sweep (_send_digest).
            record_case_event(
                "case.escalated",
                case,
                actor=None,
                after={"effective_due": case.effective_due, "to": dpo_emails},
            )
            report.escalations.append(case.reference)


def _dpos() -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.role == Role.DPO, User.is_active_account.is_(True))
        )
    )


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
    record_case_event(
        "case.reminder_sent",
        case,
        actor=None,
        after={"milestone": key, "to": sorted(user.email for user in recipients)},
    )


def _send_digest(today: date, report: SweepReport) -> None:
    """One digest to the DPO(s) listing every overdue case, the newly escalated marked (R9).

    "Newly escalated" means every escalation row no digest has announced yet: this sweep's, and
    those of an earlier sweep that committed them but died before its digest. The digest claims
    them under a row lock (a concurrent digest waits, then finds them claimed), so each
    escalation is announced exactly once. No new escalation, no digest.
    """
    unannounced = db.session.scalars(
        select(Reminder)
        .where(Reminder.key == ESCALATION_KEY, Reminder.escalation_digest_id.is_(None))
        .order_by(Reminder.id)
        .with_for_update()
    ).all()
    if not unannounced:
        return
    overdue = db.session.scalars(
        select(Case)
        .options(joinedload(Case.assignee))
        .where(clock_running(), Case.effective_due < today)
        .order_by(Case.effective_due, Case.id)
    ).all()
    escalated_ids = {reminder.case_id for reminder in unannounced}
    # A case decided since its escalation is no longer overdue: claimed, but not listed.
    new = [case.reference for case in overdue if case.id in escalated_ids]
    digest = EscalationDigest(day=today, case_count=len(overdue))
    db.session.add(digest)
    db.session.flush()
    for reminder in unannounced:
        reminder.escalation_digest_id = digest.id
    dpos = _dpos()
    if not dpos or not new:
        return
    message = notify_addresses(
        [user.email for user in dpos],
        dpos[0].locale,
        "overdue_escalation",
        cases=overdue,
        new=set(new),
        today=today,
    )
    digest.outbox_message_id = message.id
    report.digest_cases, report.announced = len(overdue), new

"""The named operations on the data-breach register (GDPR art. 33, 34; R26 in docs/rules.md).

Each operation checks that the step is allowed, changes the breach, writes the audit event and
queues the e-mails in the caller's transaction; none commits (see
:mod:`rights_portal.transactions`). Who may call which operation is decided in
:mod:`rights_portal.permissions` (anyone on staff reports; the DPO does the rest).

The 72-hour clock is plain arithmetic on aware UTC datetimes: discovery + 72 real hours, so a
change to or from summer time moves the wall-clock hour of the deadline, never its length.
Reminders to the DPO at 24, 48 and 66 hours are unique rows inserted with ON CONFLICT DO NOTHING;
only the run that inserted a row mails it and records ``breach.reminder_sent``, as in
:mod:`rights_portal.cases.reminders`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select, update

from ..accounts.directory import active_users_with_role
from ..accounts.models import Role, User
from ..audit.services import record
from ..cases.models import Case
from ..clock import AMSTERDAM, as_utc, now_utc
from ..dbutil import insert_ignoring_conflicts
from ..errors import RuleViolation
from ..exams.models import ProctoringTool
from ..extensions import db
from ..notifications.services import notify_addresses, notify_user
from .models import (
    AP_DEADLINE,
    REMINDER_HOURS,
    Breach,
    BreachAffectedStudent,
    BreachCase,
    BreachReminder,
    BreachStatus,
    RiskLevel,
)

log = logging.getLogger(__name__)

#: A discovery moment this far in the future is accepted (clocks differ); later ones are refused.
CLOCK_SKEW = timedelta(minutes=5)


def ap_deadline_for(discovered_at: datetime) -> datetime:
    """Discovery + 72 calendar hours, computed on UTC so DST cannot add or remove an hour."""
    return as_utc(discovered_at) + AP_DEADLINE


def local_to_utc(day: date, clock: time) -> datetime:
    """An Amsterdam wall-clock moment as entered by staff, in UTC.

    A time that does not exist (the hour skipped when summer time starts) is refused. A time that
    happens twice (when summer time ends) is read as the first one, the earlier instant, so the
    deadline errs on the early side.
    """
    local = datetime.combine(day, clock.replace(tzinfo=None, fold=0), tzinfo=AMSTERDAM)
    moment = local.astimezone(UTC)
    if moment.astimezone(AMSTERDAM).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise RuleViolation(
            _l("This time does not exist in Amsterdam: the clocks moved forward an hour.")
        )
    return moment


def period_bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """Amsterdam dates (both inclusive) as UTC bounds [start, end) for timestamp columns."""
    lower = local_to_utc(start, time(0)) if start else None
    upper = local_to_utc(end + timedelta(days=1), time(0)) if end else None
    return lower, upper


def _snapshot(breach: Breach, *fields: str) -> dict[str, Any]:
    return {name: getattr(breach, name) for name in fields}


def _audit(breach: Breach, action: str, actor: User | None, **kw: Any) -> None:
    record(f"breach.{action}", actor=actor, object_type="breach", object_id=breach.id, **kw)


def _active_dpos() -> list[User]:
    return active_users_with_role(Role.DPO)


def _require_open(breach: Breach) -> None:
    if breach.status is BreachStatus.CLOSED:
        raise RuleViolation(_l("This breach is closed; its record can no longer be changed."))


def _not_in_future(moment: datetime, now: datetime) -> None:
    if moment > now + CLOCK_SKEW:
        raise RuleViolation(_l("A moment in the future cannot be recorded."))


# --- Reporting and assessing --------------------------------------------------------------------


def report_breach(
    *,
    reporter: User,
    description: str,
    discovered_at: datetime,
    data_categories: str = "",
    data_subjects: str = "",
    tool: ProctoringTool | None = None,
    now: datetime | None = None,
) -> Breach:
    """Register a suspected breach; the 72-hour clock runs from its discovery (art. 33(1)).

    Every active DPO is told at once by e-mail.
    """
    now = now or now_utc()
    description = description.strip()
    if not description:
        raise RuleViolation(_l("Describe what happened."))
    discovered_at = as_utc(discovered_at)
    _not_in_future(discovered_at, now)
    breach = Breach(
        status=BreachStatus.REPORTED,
        description=description,
        discovered_at=discovered_at,
        ap_deadline=ap_deadline_for(discovered_at),
        data_categories=data_categories.strip(),
        data_subjects=data_subjects.strip(),
        tool_id=tool.id if tool else None,
        reported_by_id=reporter.id,
        reported_at=now,
    )
    db.session.add(breach)
    db.session.flush()
    _audit(
        breach,
        "reported",
        reporter,
        after=_snapshot(
            breach,
            "description",
            "discovered_at",
            "ap_deadline",
            "data_categories",
            "data_subjects",
            "tool_id",
        ),
    )
    for dpo in _active_dpos():
        notify_user(dpo, "breach_reported", breach=breach)
    return breach


def assess(breach: Breach, *, actor: User, risk: RiskLevel, assessment: str) -> Breach:
    """The DPO's risk assessment, with reasons; it may be revised until the breach is closed."""
    _require_open(breach)
    assessment = assessment.strip()
    if not assessment:
        raise RuleViolation(_l("Write down how you assessed the risk."))
    before = _snapshot(breach, "status", "risk", "risk_assessment")
    # Read everything before the first assignment: a lazy load in between would autoflush a
    # half-assessed row, which the CHECK constraint rightly refuses.
    actor_id, moment = actor.id, now_utc()
    breach.risk = risk
    breach.risk_assessment = assessment
    breach.assessed_by_id = actor_id
    breach.assessed_at = moment
    breach.status = BreachStatus.ASSESSED
    db.session.flush()
    _audit(
        breach,
        "assessed",
        actor,
        before=before,
        after=_snapshot(breach, "status", "risk", "risk_assessment"),
    )
    return breach


def record_ap_notification(
    breach: Breach,
    *,
    actor: User,
    notified_at: datetime,
    reference: str,
    lateness_reason: str = "",
    now: datetime | None = None,
) -> Breach:
    """Record that (and when) the AP was notified, with the AP's reference (art. 33(1), (4)).

    A notification after the 72-hour deadline needs the reasons for the delay.
    """
    _require_open(breach)
    now = now or now_utc()
    notified_at = as_utc(notified_at)
    reference = reference.strip()
    lateness_reason = lateness_reason.strip()
    if breach.ap_notified_at is not None:
        raise RuleViolation(_l("The notification to the AP has already been recorded."))
    if not reference:
        raise RuleViolation(_l("Give the reference of the notification to the AP."))
    _not_in_future(notified_at, now)
    if notified_at < breach.discovered_at:
        raise RuleViolation(_l("The AP cannot have been notified before the breach was found."))
    if notified_at > breach.ap_deadline and not lateness_reason:
        raise RuleViolation(
            _l("The AP was notified after the 72-hour deadline: give the reasons for the delay.")
        )
    breach.ap_reference = reference
    breach.ap_notified_at = notified_at
    breach.lateness_reason = lateness_reason if notified_at > breach.ap_deadline else None
    db.session.flush()
    _audit(
        breach,
        "ap_notified",
        actor,
        after=_snapshot(breach, "ap_notified_at", "ap_reference", "lateness_reason"),
    )
    return breach


def record_remedial_actions(breach: Breach, *, actor: User, text: str) -> Breach:
    """What was done to end the breach and limit its consequences (art. 33(3)(d))."""
    _require_open(breach)
    before = _snapshot(breach, "remedial_actions")
    breach.remedial_actions = text.strip()
    db.session.flush()
    _audit(breach, "remedial_actions", actor, before=before, after={"remedial_actions": text})
    return breach


def set_tool(breach: Breach, *, actor: User, tool: ProctoringTool | None) -> Breach:
    """Link the breach to the tool or vendor involved (or remove the link)."""
    _require_open(breach)
    before = _snapshot(breach, "tool_id")
    breach.tool_id = tool.id if tool else None
    db.session.flush()
    _audit(breach, "tool_set", actor, before=before, after=_snapshot(breach, "tool_id"))
    return breach


def link_case(breach: Breach, *, actor: User, case: Case) -> bool:
    """Link a case to the breach; return False when it was linked already."""
    inserted = db.session.execute(
        insert_ignoring_conflicts(BreachCase, ["breach_id", "case_id"])
        .values(breach_id=breach.id, case_id=case.id, linked_by_id=actor.id, linked_at=now_utc())
        .returning(BreachCase.case_id)
    ).scalar_one_or_none()
    if inserted is None:
        return False
    _audit(breach, "case_linked", actor, case_id=case.id, after={"case_reference": case.reference})
    return True


def linked_cases(breach: Breach) -> list[Case]:
    """The cases linked to the breach, by reference."""
    return list(
        db.session.scalars(
            select(Case)
            .join(BreachCase, BreachCase.case_id == Case.id)
            .where(BreachCase.breach_id == breach.id)
            .order_by(Case.reference)
        )
    )


# --- Affected students and informing them (art. 34) ---------------------------------------------

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
    _require_open(breach)
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
        _audit(breach, "students_added", actor, after={"student_ids": sorted(added)})
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
    _require_open(breach)
    if breach.subjects_informed_at is not None:
        raise RuleViolation(_l("The notice has been sent already and can no longer be changed."))
    text_nl, text_en = text_nl.strip(), text_en.strip()
    if not text_nl:
        raise RuleViolation(_l("Write the notice in Dutch."))
    before = _snapshot(breach, "subjects_notice_nl", "subjects_notice_en")
    breach.subjects_notice_nl = text_nl
    breach.subjects_notice_en = text_en or None
    db.session.flush()
    _audit(
        breach,
        "notice_written",
        actor,
        before=before,
        after=_snapshot(breach, "subjects_notice_nl", "subjects_notice_en"),
    )
    return breach


def notify_affected_students(breach: Breach, *, actor: User, now: datetime | None = None) -> int:
    """E-mail every affected student not yet told, in their language; return how many were told.

    The UPDATE ... WHERE notified_at IS NULL claims each student's row; a second submission (even
    a concurrent one, which waits for the first's row locks and then sees them claimed) claims
    nothing, so each student gets the notice exactly once.
    """
    _require_open(breach)
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
        _audit(
            breach,
            "subjects_informed",
            actor,
            after={"student_ids": sorted(claimed), "informed_at": breach.subjects_informed_at},
        )
    return len(claimed)


# --- Closing (art. 33(5)) ------------------------------------------------------------------------


def close(
    breach: Breach,
    *,
    actor: User,
    not_notified_reason: str = "",
    subjects_not_informed_reason: str = "",
) -> Breach:
    """Close the record. It stays in the register; without an AP notification the reason is kept.

    A high-risk breach needs the people concerned informed, or the reason why not (art. 34(3)).
    """
    _require_open(breach)
    not_notified_reason = not_notified_reason.strip()
    subjects_not_informed_reason = subjects_not_informed_reason.strip()
    if breach.risk is None:
        raise RuleViolation(_l("Assess the risk before closing the breach."))
    if breach.ap_notified_at is None and not not_notified_reason:
        raise RuleViolation(
            _l("The AP was not notified: record the reason before closing (GDPR art. 33(5)).")
        )
    if (
        breach.risk is RiskLevel.HIGH_RISK
        and breach.subjects_informed_at is None
        and not subjects_not_informed_reason
    ):
        raise RuleViolation(
            _l(
                "A high risk means informing the people concerned: inform them, or record why "
                "that is not needed (GDPR art. 34(3))."
            )
        )
    before = _snapshot(breach, "status")
    actor_id, moment, notified = actor.id, now_utc(), breach.ap_notified_at is not None
    if not notified:
        breach.not_notified_reason = not_notified_reason
    breach.closed_at = moment
    breach.closed_by_id = actor_id
    breach.status = BreachStatus.CLOSED
    if subjects_not_informed_reason:
        breach.subjects_not_informed_reason = subjects_not_informed_reason
    db.session.flush()
    _audit(
        breach,
        "closed",
        actor,
        before=before,
        after=_snapshot(breach, "status", "not_notified_reason", "subjects_not_informed_reason"),
    )
    return breach


# --- The register ---------------------------------------------------------------------------------


def register(
    clause: Any, *, start: datetime | None = None, end: datetime | None = None
) -> list[Breach]:
    """Breaches visible under ``clause``, discovered in [start, end), newest first."""
    query = select(Breach).where(clause)
    if start is not None:
        query = query.where(Breach.discovered_at >= start)
    if end is not None:
        query = query.where(Breach.discovered_at < end)
    return list(db.session.scalars(query.order_by(Breach.discovered_at.desc(), Breach.id.desc())))


# --- Reminders to the DPO at 24, 48 and 66 hours ------------------------------------------------


@dataclass
class ReminderReport:
    """What one reminder run did, for the task log and the tests."""

    now: datetime
    sent: list[tuple[int, int]] = field(default_factory=list)  # (breach id, hours)
    superseded: int = 0

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        out = [f"breach reminders at {self.now.isoformat()}: {len(self.sent)} sent"]
        out += [f"  DL-{breach_id:05d}: {hours} hours" for breach_id, hours in self.sent]
        return out


def send_reminders(now: datetime | None = None) -> ReminderReport:
    """Remind the DPO of breaches awaiting the AP notification; each milestone exactly once.

    Reads only open, unnotified breaches (not assessed as "no risk") that passed 24 hours and do
    not have their last reminder yet. A run after a gap records every missed milestone and mails
    only the latest (as R10). The caller commits.
    """
    now = as_utc(now or now_utc())
    report = ReminderReport(now=now)
    last = REMINDER_HOURS[-1]
    breaches = db.session.scalars(
        select(Breach)
        .where(
            Breach.ap_notified_at.is_(None),
            Breach.status != BreachStatus.CLOSED,
            or_(Breach.risk.is_(None), Breach.risk != RiskLevel.NO_RISK),
            Breach.discovered_at <= now - timedelta(hours=REMINDER_HOURS[0]),
            ~exists().where(BreachReminder.breach_id == Breach.id, BreachReminder.hours == last),
        )
        .order_by(Breach.discovered_at, Breach.id)
    ).all()
    dpos = _active_dpos() if breaches else []
    for breach in breaches:
        inserted: list[tuple[int, int]] = []
        for hours in REMINDER_HOURS:
            if breach.discovered_at + timedelta(hours=hours) > now:
                break
            reminder_id = db.session.execute(
                insert_ignoring_conflicts(BreachReminder, ["breach_id", "hours"])
                .values(breach_id=breach.id, hours=hours, superseded=False, created_at=now)
                .returning(BreachReminder.id)
            ).scalar_one_or_none()
            if reminder_id is not None:
                inserted.append((reminder_id, hours))
        if not inserted:
            continue
        for reminder_id, _hours in inserted[:-1]:
            db.session.execute(
                update(BreachReminder)
                .where(BreachReminder.id == reminder_id)
                .values(superseded=True)
            )
            report.superseded += 1
        latest_id, latest_hours = inserted[-1]
        report.sent.append((breach.id, latest_hours))
        if not dpos:
            log.warning("no active DPO to remind of breach %s", breach.id)
            continue
        message = notify_addresses(
            [dpo.email for dpo in dpos],
            dpos[0].locale,
            "breach_reminder",
            breach=breach,
            hours=latest_hours,
            hours_left=int(breach.hours_left(now)),
        )
        db.session.execute(
            update(BreachReminder)
            .where(BreachReminder.id == latest_id)
            .values(outbox_message_id=message.id)
        )
        # R24: the reminder is on the trail with the milestones a late run passed over.
        _audit(
            breach,
            "reminder_sent",
            None,
            after={
                "hours": latest_hours,
                "missed": [hours for _id, hours in inserted[:-1]],
                "to": [dpo.email for dpo in dpos],
            },
        )
    db.session.flush()
    return report

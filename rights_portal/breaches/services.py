"""The named operations on the data-breach register (GDPR art. 33, 34; R26 in docs/rules.md).

Each operation checks that the step is allowed, changes the breach, writes the audit event and
queues the e-mails in the caller's transaction; none commits (see
:mod:`rights_portal.transactions`). Who may call which operation is decided in
:mod:`rights_portal.permissions` (anyone on staff reports; the DPO does the rest).

The 72-hour clock is plain arithmetic on aware UTC datetimes: discovery + 72 real hours, so a
change to or from summer time moves the wall-clock hour of the deadline, never its length.
Informing the affected students (art. 34) is :mod:`.subjects`; the reminders to the DPO at 24,
48 and 66 hours are :mod:`.reminders`.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.directory import active_users_with_role
from ..accounts.models import Role, User
from ..audit.services import record
from ..cases.models import Case
from ..clock import AMSTERDAM, as_utc, now_utc
from ..dbutil import insert_ignoring_conflicts
from ..errors import RuleViolation
from ..exams.models import ProctoringTool
from ..extensions import db
from ..notifications.services import notify_user
from .models import (
    AP_DEADLINE,
    Breach,
    BreachCase,
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


def breach_snapshot(breach: Breach, *fields: str) -> dict[str, Any]:
    """The named fields of ``breach``, for an audit event's before/after."""
    return {name: getattr(breach, name) for name in fields}


def record_breach_event(breach: Breach, action: str, actor: User | None, **kw: Any) -> None:
    """Append ``breach.<action>`` to the audit trail (R24)."""
    record(f"breach.{action}", actor=actor, object_type="breach", object_id=breach.id, **kw)


def require_open(breach: Breach) -> None:
    """Refuse any change to a closed breach: its record stays as it was closed."""
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
    record_breach_event(
        breach,
        "reported",
        reporter,
        after=breach_snapshot(
            breach,
            "description",
            "discovered_at",
            "ap_deadline",
            "data_categories",
            "data_subjects",
            "tool_id",
        ),
    )
    for dpo in active_users_with_role(Role.DPO):
        notify_user(dpo, "breach_reported", breach=breach)
    return breach


def assess(breach: Breach, *, actor: User, risk: RiskLevel, assessment: str) -> Breach:
    """The DPO's risk assessment, with reasons; it may be revised until the breach is closed."""
    require_open(breach)
    assessment = assessment.strip()
    if not assessment:
        raise RuleViolation(_l("Write down how you assessed the risk."))
    before = breach_snapshot(breach, "status", "risk", "risk_assessment")
    # Read everything before the first assignment: a lazy load in between would autoflush a
    # half-assessed row, which the CHECK constraint rightly refuses.
    actor_id, moment = actor.id, now_utc()
    breach.risk = risk
    breach.risk_assessment = assessment
    breach.assessed_by_id = actor_id
    breach.assessed_at = moment
    breach.status = BreachStatus.ASSESSED
    db.session.flush()
    record_breach_event(
        breach,
        "assessed",
        actor,
        before=before,
        after=breach_snapshot(breach, "status", "risk", "risk_assessment"),
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
    require_open(breach)
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
    record_breach_event(
        breach,
        "ap_notified",
        actor,
        after=breach_snapshot(breach, "ap_notified_at", "ap_reference", "lateness_reason"),
    )
    return breach


def record_remedial_actions(breach: Breach, *, actor: User, text: str) -> Breach:
    """What was done to end the breach and limit its consequences (art. 33(3)(d))."""
    require_open(breach)
    before = breach_snapshot(breach, "remedial_actions")
    breach.remedial_actions = text.strip()
    db.session.flush()
    record_breach_event(
        breach, "remedial_actions", actor, before=before, after={"remedial_actions": text}
    )
    return breach


def set_tool(breach: Breach, *, actor: User, tool: ProctoringTool | None) -> Breach:
    """Link the breach to the tool or vendor involved (or remove the link)."""
    require_open(breach)
    before = breach_snapshot(breach, "tool_id")
    breach.tool_id = tool.id if tool else None
    db.session.flush()
    record_breach_event(
        breach, "tool_set", actor, before=before, after=breach_snapshot(breach, "tool_id")
    )
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
    record_breach_event(
        breach, "case_linked", actor, case_id=case.id, after={"case_reference": case.reference}
    )
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
    require_open(breach)
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
    before = breach_snapshot(breach, "status")
    actor_id, moment, notified = actor.id, now_utc(), breach.ap_notified_at is not None
    if not notified:
        breach.not_notified_reason = not_notified_reason
    breach.closed_at = moment
    breach.closed_by_id = actor_id
    breach.status = BreachStatus.CLOSED
    if subjects_not_informed_reason:
        breach.subjects_not_informed_reason = subjects_not_informed_reason
    db.session.flush()
    record_breach_event(
        breach,
        "closed",
        actor,
        before=before,
        after=breach_snapshot(
            breach, "status", "not_notified_reason", "subjects_not_informed_reason"
        ),
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

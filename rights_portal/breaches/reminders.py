"""Reminders to the DPO of breaches awaiting the AP notification, at 24, 48 and 66 hours (R26).

Reminders are unique rows inserted with ON CONFLICT DO NOTHING; only the run that inserted a row
mails it and records ``breach.reminder_sent``, as in :mod:`rights_portal.cases.reminders`. The
beat task calls :func:`send_reminders`; the task commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select, update

from ..accounts.directory import active_users_with_role
from ..accounts.models import Role
from ..clock import as_utc, now_utc
from ..dbutil import insert_ignoring_conflicts
from ..extensions import db
from ..notifications.services import notify_addresses
from .models import REMINDER_HOURS, Breach, BreachReminder, BreachStatus, RiskLevel
from .services import record_breach_event

log = logging.getLogger(__name__)


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
    dpos = active_users_with_role(Role.DPO) if breaches else []
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
        record_breach_event(
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

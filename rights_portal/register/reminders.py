"""The register's daily reminders to the DPO.

Three things come due: a DPIA review (reminded 30 days before its date), the expiry of a processor
agreement (60 days before) and a year of use without a new evaluation of the tool's necessity (on
the anniversary). Each is a row in ``register_reminders`` with a unique (tool, kind, due date);
the sweep inserts with ON CONFLICT DO NOTHING and queues the e-mail only for the rows it actually
inserted, in the same transaction, so two schedulers or a retried task mail each reminder once.
A sweep that did not run for days still finds everything whose notice period has begun.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from ..audit.services import record
from ..clock import today_local
from ..dbutil import insert_ignoring_conflicts
from ..exams.models import ProctoringTool
from ..extensions import db
from ..notifications.services import notify_addresses
from . import entries, exam_tools
from .checklist import NECESSITY_REVIEW_INTERVAL, necessity_due_on
from .models import RegisterReminder, RegisterVersion, ReminderKind

log = logging.getLogger(__name__)

DPIA_REVIEW_NOTICE = timedelta(days=30)
AGREEMENT_EXPIRY_NOTICE = timedelta(days=60)


@dataclass
class RegisterSweepReport:
    """What one run did, for the CLI and the task log."""

    today: date
    sent: list[tuple[str, ReminderKind, date]] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        out = [f"register reminders for {self.today.isoformat()}: {len(self.sent)} sent"]
        out += [
            f"  {kind.value} for {tool} (due {due_on.isoformat()})"
            for tool, kind, due_on in self.sent
        ]
        return out


def due_reminders(
    tool: ProctoringTool, version: RegisterVersion, today: date
) -> list[tuple[ReminderKind, date]]:
    """The reminders whose notice period has begun for ``version`` as of ``today``."""
    due: list[tuple[ReminderKind, date]] = []
    review_on = version.dpia_next_review_on
    if review_on is not None and today >= review_on - DPIA_REVIEW_NOTICE:
        due.append((ReminderKind.DPIA_REVIEW, review_on))
    expires_on = version.processor_agreement_expires_on
    if expires_on is not None and today >= expires_on - AGREEMENT_EXPIRY_NOTICE:
        due.append((ReminderKind.AGREEMENT_EXPIRY, expires_on))
    used_since = entries.first_use(tool, version)
    anniversary = necessity_due_on(version, used_since)
    if used_since is not None and used_since <= today and anniversary and anniversary <= today:
        due.append((ReminderKind.NECESSITY_REVIEW, anniversary))
    return due


def sweep(today: date | None = None) -> RegisterSweepReport:
    """Queue the register reminders that are due as of ``today``; the caller commits."""
    today = today or today_local()
    report = RegisterSweepReport(today=today)
    dpos = exam_tools.active_dpos()
    if not dpos:
        # Nothing is marked as sent, so the reminders go out once a DPO account exists.
        log.warning("register reminders: no active DPO account to remind")
        return report
    tools = db.session.scalars(select(ProctoringTool).order_by(ProctoringTool.id)).all()
    for tool in tools:
        version = entries.current_version(tool)
        for kind, due_on in due_reminders(tool, version, today):
            reminder_id = db.session.execute(
                insert_ignoring_conflicts(RegisterReminder, ["tool_id", "kind", "due_on"])
                .values(tool_id=tool.id, kind=kind, due_on=due_on)
                .returning(RegisterReminder.id)
            ).scalar_one_or_none()
            if reminder_id is None:
                continue  # sent before, by this or another run
            message = notify_addresses(
                [user.email for user in dpos],
                dpos[0].locale,
                "register_reminder",
                tool=tool,
                kind=kind.value,
                due_on=due_on,
                since=due_on - NECESSITY_REVIEW_INTERVAL,
                today=today,
            )
            reminder = db.session.get(RegisterReminder, reminder_id)
            if reminder is not None:
                reminder.outbox_message_id = message.id
            record(
                "register.reminder_sent",
                actor=None,
                object_type="proctoring_tool",
                object_id=tool.id,
                after={"kind": kind.value, "due_on": due_on, "to": [u.email for u in dpos]},
            )
            report.sent.append((tool.name, kind, due_on))
    db.session.flush()
    return report

"""Celery tasks. Each is thin: it loads what it needs by id and calls a domain service.

Tasks are idempotent (acks late, so a killed worker's task runs again): delivering an outbox
message checks ``sent_at`` under a row lock, and the sweep's reminders are unique per milestone.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from flask import current_app

from rights_portal.breaches.services import send_reminders
from rights_portal.cases.reminders import sweep
from rights_portal.notifications.services import deliver, undelivered_ids
from rights_portal.transactions import commit, dispatch

log = logging.getLogger(__name__)


@shared_task(
    name="rights_portal.deliver_email",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=12,
)
def deliver_email(message_id: int) -> bool:
    """Send one outbox message (no-op if it was sent already)."""
    return deliver(message_id)


@shared_task(name="rights_portal.relay_outbox")
def relay_outbox() -> int:
    """Re-dispatch committed messages whose dispatch was lost (e.g. the broker was down)."""
    ids = undelivered_ids(timedelta(seconds=current_app.config["OUTBOX_RELAY_AGE_SECONDS"]))
    dispatch(ids)
    return len(ids)


@shared_task(name="rights_portal.sweep_deadlines")
def sweep_deadlines() -> list[str]:
    """Run the deadline sweep (R9, R10) and dispatch the reminders it queued."""
    report = sweep()
    commit()
    for line in report.lines():
        log.info(line)
    return report.lines()


@shared_task(name="rights_portal.breach_reminders")
def breach_reminders() -> list[str]:
    """Remind the DPO of breaches awaiting the AP notification (R26), each reminder once."""
    report = send_reminders()
    commit()
    for line in report.lines():
        log.info(line)
    return report.lines()

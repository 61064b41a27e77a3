"""The one commit at the edge of a request, task or CLI command, and what follows it.

Services flush but never commit. :func:`commit` commits the unit of work and only then hands the
e-mails it queued to the task queue; if the broker is down the messages stay in the outbox and
the relay (beat) sends them later, so nothing is lost (docs/rules.md#architecture: transactional
outbox).
"""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db
from .notifications.services import PENDING_KEY

log = logging.getLogger(__name__)
DELIVER_TASK = "rights_portal.deliver_email"


def commit() -> None:
    """Commit the session, then dispatch the outbox messages this transaction created."""
    pending = list(db.session.info.get(PENDING_KEY, []))
    db.session.commit()
    db.session.info.pop(PENDING_KEY, None)
    dispatch(pending)


def dispatch(message_ids: list[int]) -> None:
    """Enqueue delivery of committed outbox messages; a broker failure is logged, not raised."""
    if not message_ids:
        return
    celery = current_app.extensions["celery"]
    task = celery.tasks[DELIVER_TASK]
    for message_id in message_ids:
        try:
            task.delay(message_id)
        except Exception:  # the relay picks it up; the request must not fail for it
            log.warning("could not enqueue outbox message %s; relay will retry", message_id)


@event.listens_for(Session, "after_rollback")
def _forget_pending_on_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)

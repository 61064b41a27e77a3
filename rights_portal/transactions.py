"""The one unit of work at each edge — a request, a task, a CLI command — and what follows it.

Services flush but never commit. Exactly one place commits:

* a **request**: :func:`init_app` installs an ``after_request`` hook that commits once when the
  view returned a response, and rolls back when the view raised (an ``abort``, a rule
  violation, a database error: the error handlers call :func:`discard`). No view commits.
* a **Celery task** or a **CLI command**: decorate it with :func:`unit_of_work`; it commits when
  the function returns and rolls back when it raises.

Only after the commit do side effects leave the process: the e-mails the transaction queued
(``notifications``), the tasks it queued with :func:`queue_task` (durable: a row in the task
outbox, so a broker that is down at commit time loses nothing — the relay sends it later) and
the callbacks registered with :func:`after_commit` (for things that may be lost with the
process, such as nudging a worker that a row it polls for exists). See docs/architecture.md,
"One unit of work".
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db
from .notifications.services import PENDING_KEY

log = logging.getLogger(__name__)
DELIVER_TASK = "rights_portal.deliver_email"
#: Session-info key of the callbacks to run once the current transaction has committed.
AFTER_COMMIT_KEY = "after_commit_callbacks"
#: Session-info key of the task-outbox rows this transaction created.
PENDING_TASKS_KEY = "outbox_tasks_pending"
_DISCARD_FLAG = "unit_of_work_discarded"

P = ParamSpec("P")
R = TypeVar("R")


def commit() -> None:
    """Commit the session, then dispatch what this transaction queued.

    Kept for the few places that commit in steps on purpose (the deadline sweep batch by batch,
    the retention runner intent by intent); everything else commits through the unit of work.
    """
    pending = list(db.session.info.get(PENDING_KEY, []))
    pending_tasks = list(db.session.info.get(PENDING_TASKS_KEY, []))
    callbacks: list[Callable[[], Any]] = list(db.session.info.get(AFTER_COMMIT_KEY, []))
    db.session.commit()
    for key in (PENDING_KEY, PENDING_TASKS_KEY, AFTER_COMMIT_KEY):
        db.session.info.pop(key, None)
    dispatch(pending)
    dispatch_tasks(pending_tasks)
    for callback in callbacks:
        try:
            callback()
        except Exception:  # the commit stands; a lost nudge is caught up by the relay or a retry
            log.exception("an after-commit callback failed")


def after_commit(callback: Callable[[], Any]) -> None:
    """Run ``callback`` once the current transaction has committed (never if it rolls back)."""
    db.session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


def queue_task(name: str, *args: Any, queue: str | None = None) -> int:
    """Queue the Celery task ``name(*args)`` through the task outbox; it is sent after the commit.

    The row commits with the change that asked for the task, so the task is never sent for a
    change that rolled back and never lost for one that committed: the relay re-sends a row
    whose dispatch failed. Tasks queued this way must be idempotent (they may run twice).
    """
    from .delivery.models import OutboxTask

    row = OutboxTask(task_name=name, args=list(args), queue=queue)
    db.session.add(row)
    db.session.flush()
    db.session.info.setdefault(PENDING_TASKS_KEY, []).append(row.id)
    return row.id


def discard() -> None:
    """Roll back the request's unit of work: an error is being answered, nothing may be kept."""
    db.session.rollback()
    with contextlib.suppress(RuntimeError):  # outside a request there is no ``g`` to mark
        g.setdefault(_DISCARD_FLAG, True)


def unit_of_work(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` as one unit of work: commit when it returns, roll back when it raises."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = function(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise
        commit()
        return result

    return wrapper


def init_app(app: Flask) -> None:
    """Install the request's unit of work: one commit after the view, or a rollback."""

    @app.after_request
    def commit_unit_of_work(response: Any) -> Any:
        if g.pop(_DISCARD_FLAG, False):
            db.session.rollback()
        else:
            commit()
        return response


def dispatch(message_ids: Sequence[int | str], task_name: str = DELIVER_TASK) -> None:
    """Enqueue ``task_name`` for each committed outbox row: e-mails by default, webhooks too.

    A broker failure is logged, not raised: the relay sends the row later.
    """
    if not message_ids:
        return
    task = current_app.extensions["celery"].tasks[task_name]
    for message_id in message_ids:
        try:
            task.delay(message_id)
        except Exception:  # the relay picks it up; the request must not fail for it
            log.warning("could not enqueue %s for %s; relay will retry", task_name, message_id)


def dispatch_tasks(task_ids: list[int]) -> None:
    """Send committed task-outbox rows to the broker and mark them sent; the relay retries."""
    if not task_ids:
        return
    from .clock import now_utc
    from .delivery.models import OutboxTask

    celery = current_app.extensions["celery"]
    sent: list[int] = []
    for row in db.session.scalars(
        db.select(OutboxTask).where(OutboxTask.id.in_(task_ids), OutboxTask.sent_at.is_(None))
    ):
        try:
            celery.send_task(row.task_name, args=row.args, queue=row.queue)
        except Exception:
            log.warning("could not send queued task %s (%s); relay retries", row.id, row.task_name)
        else:
            sent.append(row.id)
    if sent:
        db.session.execute(
            db.update(OutboxTask).where(OutboxTask.id.in_(sent)).values(sent_at=now_utc())
        )
    db.session.commit()


def unsent_task_ids(older_than: timedelta, limit: int = 500) -> list[int]:
    """Ids of committed task-outbox rows still unsent after ``older_than`` (sending failed)."""
    from .clock import now_utc
    from .delivery.models import OutboxTask

    cutoff = now_utc() - older_than
    return list(
        db.session.scalars(
            db.select(OutboxTask.id)
            .where(OutboxTask.sent_at.is_(None), OutboxTask.created_at <= cutoff)
            .order_by(OutboxTask.id)
            .limit(limit)
        )
    )


@event.listens_for(Session, "after_rollback")
def _forget_pending_on_rollback(session: Session) -> None:
    for key in (PENDING_KEY, PENDING_TASKS_KEY, AFTER_COMMIT_KEY):
        session.info.pop(key, None)

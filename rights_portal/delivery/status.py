"""The verdict on delivery: is anything stopping e-mail and reminders, and since when.

Plain rules on three facts read from the database: the newest worker heartbeat, the newest
scheduler heartbeat and the oldest unsent outbox message. Delivery has stalled when no worker
(or no scheduler) was seen for ``WORKER_STALE_SECONDS``, or a committed message has waited
longer than ``OUTBOX_STUCK_SECONDS``. Where tasks run in-process (``task_always_eager``) there
is no worker to wait for and the verdict is always "flowing".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from ..clock import as_utc, now_utc
from ..extensions import db
from ..notifications.models import OutboxMessage
from .models import Heartbeat, ProcessKind


@dataclass(frozen=True)
class DeliveryStatus:
    """What was last seen of the worker, the scheduler and the outbox, judged at ``now``."""

    now: datetime
    worker_seen_at: datetime | None
    scheduler_seen_at: datetime | None
    oldest_unsent_at: datetime | None
    stale_after: timedelta
    stuck_after: timedelta
    required: bool = True

    @property
    def worker_ok(self) -> bool:
        """A worker was seen recently enough."""
        return not self.required or self._recent(self.worker_seen_at)

    @property
    def scheduler_ok(self) -> bool:
        """The scheduler was seen recently enough (without it no reminder is sent, R9)."""
        return not self.required or self._recent(self.scheduler_seen_at)

    @property
    def outbox_ok(self) -> bool:
        """No committed message has waited too long."""
        return (
            not self.required
            or self.oldest_unsent_at is None
            or self.now - self.oldest_unsent_at <= self.stuck_after
        )

    @property
    def flowing(self) -> bool:
        """E-mail and reminders are going out."""
        return self.worker_ok and self.scheduler_ok and self.outbox_ok

    @property
    def stalled_since(self) -> datetime | None:
        """Since when nothing has gone out: the earliest moment a failing check points to.

        None when delivery flows, and also when a failing process was never seen at all
        (then there is no moment to name; see :attr:`never_seen`).
        """
        moments = []
        if not self.worker_ok:
            moments.append(self.worker_seen_at)
        if not self.scheduler_ok:
            moments.append(self.scheduler_seen_at)
        if not self.outbox_ok:
            moments.append(self.oldest_unsent_at)
        known = [moment for moment in moments if moment is not None]
        return min(known) if known and len(known) == len(moments) else None

    @property
    def never_seen(self) -> bool:
        """A worker or scheduler that delivery needs has never written a heartbeat."""
        return (not self.worker_ok and self.worker_seen_at is None) or (
            not self.scheduler_ok and self.scheduler_seen_at is None
        )

    def _recent(self, seen_at: datetime | None) -> bool:
        return seen_at is not None and self.now - seen_at <= self.stale_after

    def report(self) -> dict[str, Any]:
        """The figures for the readiness probe (ISO 8601 times, ages in whole seconds)."""

        def age(moment: datetime | None) -> int | None:
            return None if moment is None else max(0, int((self.now - moment).total_seconds()))

        def state(ok: bool) -> str:
            if not self.required:
                return "in-process"  # tasks run inside the web process: no worker to wait for
            return "up" if ok else "down"

        return {
            "worker": state(self.worker_ok),
            "worker_last_seen": _iso(self.worker_seen_at),
            "scheduler": state(self.scheduler_ok),
            "scheduler_last_seen": _iso(self.scheduler_seen_at),
            "outbox": "ok" if self.outbox_ok else "stuck",
            "outbox_oldest_unsent_age_seconds": age(self.oldest_unsent_at),
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def delivery_status(config: Any, now: datetime | None = None) -> DeliveryStatus:
    """Read the three facts and judge them with the configured limits."""
    newest = dict(
        db.session.execute(
            select(Heartbeat.kind, func.max(Heartbeat.seen_at)).group_by(Heartbeat.kind)
        ).all()
    )
    # The outbox's ids grow with time: the lowest unsent id is the oldest, via the partial index.
    oldest_unsent = db.session.scalar(
        select(OutboxMessage.created_at)
        .where(OutboxMessage.sent_at.is_(None))
        .order_by(OutboxMessage.id)
        .limit(1)
    )
    return DeliveryStatus(
        now=now or now_utc(),
        worker_seen_at=_aware(newest.get(ProcessKind.WORKER)),
        scheduler_seen_at=_aware(newest.get(ProcessKind.SCHEDULER)),
        oldest_unsent_at=oldest_unsent,
        stale_after=timedelta(seconds=int(config["WORKER_STALE_SECONDS"])),
        stuck_after=timedelta(seconds=int(config["OUTBOX_STUCK_SECONDS"])),
        required=not config["CELERY"].get("task_always_eager", False),
    )


def _aware(moment: datetime | None) -> datetime | None:
    # An aggregate may come back without the column type's processing on some drivers.
    return None if moment is None else as_utc(moment)

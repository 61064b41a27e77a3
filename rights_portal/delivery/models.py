"""What gets work out of the portal reliably.

The task outbox, and the heartbeats of the worker and the scheduler that carry the work out.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..db_types import UTCDateTime, str_enum
from ..extensions import Base


class ProcessKind(enum.Enum):
    """What kind of process beats: a worker runs tasks, the scheduler (beat) sends them."""

    WORKER = "worker"
    SCHEDULER = "scheduler"


class Heartbeat(Base):
    """One running (or once running) worker or scheduler, and when it was last seen alive."""

    __tablename__ = "heartbeats"

    # Celery's node name (``celery@host``) for a worker, ``beat@host`` for the scheduler.
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[ProcessKind] = mapped_column(str_enum(ProcessKind, "process_kind"))
    pid: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)


class OutboxTask(Base):
    """A Celery task queued by a transaction, sent to the broker once that transaction committed.

    Written by ``transactions.queue_task``; the relay re-sends a row whose sending failed.
    """

    __tablename__ = "outbox_tasks"
    __table_args__ = (Index("ix_outbox_tasks_unsent", "sent_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_name: Mapped[str] = mapped_column(String(200))
    args: Mapped[list[Any]] = mapped_column(JSON, default=list)
    queue: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

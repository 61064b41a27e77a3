"""The heartbeats that the worker and the scheduler write while they run."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String
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

"""What the OOAPI sync remembers: the source's ids with a hash of what they said, and its runs.

An :class:`OoapiRecord` ties one OOAPI object (a program, course, test component, component
offering or person) to the portal row it became (a programme, an exam, a student), with a hash
of the facts the portal took from it. A sync compares hashes, so a second run over the same data
changes nothing, and an object the source stops listing is marked (``removed_at``), never
deleted. An :class:`OoapiSyncRun` is one run: when, how it was started, its counts and changes,
or the error that stopped it (with nothing stored).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..db_types import UTCDateTime
from ..extensions import Base


class OoapiRecord(Base):
    """One OOAPI object the sync has seen, and the portal row it maps to (if any)."""

    __tablename__ = "ooapi_records"
    __table_args__ = (UniqueConstraint("kind", "ooapi_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "program", "course", "component", "offering" or "person".
    kind: Mapped[str] = mapped_column(String(16))
    ooapi_id: Mapped[str] = mapped_column(String(64))
    # programmes.id for a program, exams.id for an offering, users.id for a person; none else.
    local_id: Mapped[int | None] = mapped_column()
    content_hash: Mapped[str] = mapped_column(String(64))
    # The facts the hash covers (codes, names, links to other OOAPI ids), for the next run.
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OoapiSyncRun(Base):
    """One sync: its trigger, outcome, counts and the lines of what changed."""

    __tablename__ = "ooapi_sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "schedule" (beat), "manual" (the admin page's button) or "cli" (``flask ooapi sync``).
    trigger: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "ok", "failed" or "skipped" (another sync was running).
    status: Mapped[str] = mapped_column(String(16))
    # "timeout", "connection", "http", "auth", "paging", "invalid" when failed.
    error_kind: Mapped[str | None] = mapped_column(String(32))
    error_detail: Mapped[str | None] = mapped_column(Text)
    requests: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # {"kind": …, params}, said in words by rights_portal.ooapi.labels.describe
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)

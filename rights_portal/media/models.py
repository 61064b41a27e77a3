"""One automatic redaction of a recording file for an access request (R13, R27).

:class:`Redaction` is a run of the pipeline on one file of one access case: its settings (the
detection threshold, cover-all, the requester's track when the handler chose it, the muted time
ranges with their reasons), its progress, and when done the record of the partial refusal:
model and version, frames processed, tracks found and covered. The redacted copy itself is
stored as every redacted copy is — on the case's :class:`~rights_portal.access.models.
ItemDecision` — so retention, erasure and package building treat it like an uploaded one.
The handler who confirms which track is the requester's is the reviewer (R27: a person decides).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..cases.models import Case
from ..clock import now_utc
from ..db_types import UTCDateTime, str_enum
from ..extensions import Base


class RedactionStatus(enum.StrEnum):
    """Where a redaction run is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def in_progress(self) -> bool:
        """Queued or running: the worker may still write to it."""
        return self in (RedactionStatus.QUEUED, RedactionStatus.RUNNING)


class Redaction(Base):
    """A run of the automatic redaction on one recording file for one access case."""

    __tablename__ = "media_redactions"
    __table_args__ = (
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_is_a_percentage"),
        CheckConstraint("threshold > 0 AND threshold < 1", name="threshold_between_0_and_1"),
        # Done means the copy is stored and the record of the partial refusal is complete.
        CheckConstraint(
            "status <> 'done' OR (record IS NOT NULL AND decision_id IS NOT NULL"
            " AND finished_at IS NOT NULL)",
            name="done_has_record_and_copy",
        ),
        CheckConstraint(
            "reviewed_at IS NULL OR reviewed_by_id IS NOT NULL", name="review_has_reviewer"
        ),
        # At most one run of a file for a case is under way at a time.
        Index(
            "uq_media_redactions_one_running",
            "case_id",
            "file_id",
            unique=True,
            postgresql_where=text("status IN ('queued', 'running')"),
            sqlite_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("recording_files.id"), index=True)
    status: Mapped[RedactionStatus] = mapped_column(
        str_enum(RedactionStatus, "media_redaction_status"), default=RedactionStatus.QUEUED
    )
    progress: Mapped[int] = mapped_column(default=0)
    threshold: Mapped[float] = mapped_column(Float)
    cover_all: Mapped[bool] = mapped_column(default=False)
    # The track the handler chose as the requester's; None: the proposal (largest x longest).
    requester_track: Mapped[int | None] = mapped_column()
    # [{"start_s": 1.0, "end_s": 2.5, "reason": "..."}]
    muted_ranges: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The record of the partial refusal (R13, R27): model, version, threshold, frames, tracks.
    record: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("access_item_decisions.id"))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])

"""What was deleted and why, what keeps a recording, and what an erasure request chose (R25).

* :class:`DeletionRecord` — one per recording file that is (or is about to be) deleted, with the
  redacted copies made from it for access requests (R13), which go with it. The row is written
  and committed as an *intent* before anything leaves the storage backend, then marked done; a
  file is never deleted twice (one live record per file) and a crash leaves a pending intent that
  the next run completes, unless the recording is held by then: the intent is then cancelled
  with the reason. The record keeps the file's (and copies') sha256, size and key for good.
* :class:`LegalHold` — a manual hold on a recording placed by the DPO with a reason, and its
  release with a reason.
* :class:`ErasureItem` — a recording an erasure request (art. 17) asks to delete.
* :class:`VendorNotice` — the vendor was told about an erasure (art. 19), once per case and tool.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..db_types import UTCDateTime, str_enum
from ..extensions import Base


class DeletionRule(enum.StrEnum):
    """Why a file was deleted."""

    RETENTION = "retention"  # its retention date passed (R25)
    ERASURE = "erasure"  # a granted erasure request (art. 17)
    OBJECTION = "objection"  # an upheld objection (art. 17(1)(c), R25)


class DeletionOutcome(enum.StrEnum):
    """What the storage backend said when the file was deleted."""

    DELETED = "deleted"
    ALREADY_MISSING = "already_missing"  # not in storage when the intent was written
    # Not carried out: when a resumed run came to it, the recording was held (R25) ...
    CANCELLED = "cancelled"  # ... and nothing of it had left storage yet
    PARTLY_DELETED = "partly_deleted"  # ... but the interrupted run had deleted part of it

    @property
    def cancelled(self) -> bool:
        """The intent was given up because a hold came first; the rest stays stored."""
        return self in (DeletionOutcome.CANCELLED, DeletionOutcome.PARTLY_DELETED)


class DeletionRecord(Base):
    """The proof that a recording file existed and was deleted: what, when, by which rule."""

    __tablename__ = "deletion_records"
    __table_args__ = (
        # One live record per file; a cancelled intent leaves room for a later one.
        Index(
            "uq_deletion_records_file",
            "file_id",
            unique=True,
            postgresql_where=text("cancelled_at IS NULL"),
            sqlite_where=text("cancelled_at IS NULL"),
        ),
        CheckConstraint(
            "(outcome IS NULL AND deleted_at IS NULL AND cancelled_at IS NULL)"
            " OR (outcome IN ('deleted', 'already_missing') AND deleted_at IS NOT NULL"
            " AND cancelled_at IS NULL)"
            " OR (outcome IN ('cancelled', 'partly_deleted') AND deleted_at IS NULL"
            " AND cancelled_at IS NOT NULL AND length(trim(coalesce(cancel_reason, ''))) > 0)",
            name="done_has_outcome",
        ),
        CheckConstraint("rule = 'retention' OR case_id IS NOT NULL", name="erasure_names_a_case"),
        CheckConstraint("length(sha256) = 64", name="sha256_hex"),
        Index(
            "ix_deletion_records_pending",
            "id",
            postgresql_where=text("outcome IS NULL"),
            sqlite_where=text("outcome IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("recording_files.id"))
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    storage_key: Mapped[str | None] = mapped_column(String(500))
    rule: Mapped[DeletionRule] = mapped_column(str_enum(DeletionRule, "deletion_rule"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Whether the file was in storage when the intent was written: a file that is gone when a
    # resumed run gets to it was then deleted by the interrupted run, not missing beforehand.
    found_at_intent: Mapped[bool] = mapped_column()
    intended_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[DeletionOutcome | None] = mapped_column(
        str_enum(DeletionOutcome, "deletion_outcome")
    )
    # The redacted copies made from the file (access item decisions, R13) that go with it, as
    # they were when the intent was written: decision_id, case_id, storage_key, sha256,
    # size_bytes, found_at_intent. The decision row forgets the key once its copy is deleted;
    # this record keeps it.
    redacted_copies: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # A resumed run found the recording held (R25): the intent was given up, and why.
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    file = relationship("RecordingFile")
    recording = relationship("Recording")
    case = relationship("Case")


class LegalHold(Base):
    """A manual hold by the DPO: the recording is kept, whatever its retention date says."""

    __tablename__ = "legal_holds"
    __table_args__ = (
        CheckConstraint("coalesce(length(trim(reason)), 0) > 0", name="reason_given"),
        CheckConstraint(
            "(released_at IS NULL AND released_by_id IS NULL AND release_reason IS NULL)"
            " OR (released_at IS NOT NULL AND released_by_id IS NOT NULL"
            " AND coalesce(length(trim(release_reason)), 0) > 0)",
            name="release_complete",
        ),
        Index(
            "uq_legal_holds_active",
            "recording_id",
            unique=True,
            postgresql_where=text("released_at IS NULL"),
            sqlite_where=text("released_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    placed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    release_reason: Mapped[str | None] = mapped_column(Text)

    recording = relationship("Recording")
    placed_by = relationship("User", foreign_keys=[placed_by_id])


class ErasureItem(Base):
    """One recording an erasure request asks to delete."""

    __tablename__ = "erasure_items"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), primary_key=True)

    recording = relationship("Recording")


class VendorNotice(Base):
    """Art. 19: the vendor of a tool was told about an erasure; once per case and tool."""

    __tablename__ = "vendor_notices"
    __table_args__ = (UniqueConstraint("case_id", "tool_id", name="uq_vendor_notices_case_tool"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    tool_id: Mapped[int] = mapped_column(ForeignKey("proctoring_tools.id"))
    address: Mapped[str | None] = mapped_column(String(254))
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

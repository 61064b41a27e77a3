"""What an access request (GDPR art. 15) asked for, what the handler decided per item, the package.

* :class:`AccessScope` — what the requester asked for when filing: all data, or chosen exams
  and/or the automated flags with their review. One row per access case; the case table itself
  is unchanged.
* :class:`ItemDecision` — the handler's decision on one item held about the student: released as
  is, released redacted (with the redacted copy and whom it protects) or withheld with a reason.
  A redacted copy is deleted with the recording file it was made from (R25); the row stays.
  A redaction or a withholding is a partial refusal and appears in the letter (R13).
* :class:`AccessPackage` — one build of the answer (ZIP with media, data.json/CSV and the cover
  letter), its progress, its release to the requester and its expiry (R11, R12, R14). After expiry
  the file is deleted and the row keeps its sha256 and size.

The rules about these rows live in :mod:`rights_portal.access.services`; the CHECK constraints
below make an incomplete decision or a released package without its file impossible.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..db_types import UTCDateTime, str_enum
from ..extensions import Base

access_scope_exams = Table(
    "access_scope_exams",
    Base.metadata,
    Column("case_id", ForeignKey("access_scopes.case_id", ondelete="CASCADE"), primary_key=True),
    Column("exam_id", ForeignKey("exams.id"), primary_key=True),
)


class AccessScope(Base):
    """What the requester asked to receive."""

    __tablename__ = "access_scopes"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    all_data: Mapped[bool] = mapped_column(default=True)
    # "The automated flags and their review", for every exam.
    include_flags: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    case = relationship("Case")
    exams = relationship("Exam", secondary=access_scope_exams, order_by="Exam.starts_at")


class ItemType(enum.StrEnum):
    """The kinds of things held about a student that an access package covers (R11)."""

    FILE = "file"  # a recording file: video, audio, screenshot, log
    FLAG = "flag"  # an automated flag and its review
    BOARD_NOTE = "board_note"  # an exam board's decision with reasons about the student


class Release(enum.StrEnum):
    """The handler's decision on one item (R13)."""

    RELEASED = "released"
    REDACTED = "redacted"
    WITHHELD = "withheld"

    @property
    def is_partial_refusal(self) -> bool:
        """A redaction or a withholding is a partial refusal that the letter lists."""
        return self is not Release.RELEASED


class ItemDecision(Base):
    """The handler's decision on one held item for one access case."""

    __tablename__ = "access_item_decisions"
    __table_args__ = (
        UniqueConstraint("case_id", "item_type", "item_id", name="uq_access_item_decisions_item"),
        CheckConstraint(
            "decision <> 'withheld' OR length(trim(coalesce(reason, ''))) > 0",
            name="withholding_has_reason",
        ),
        # A redaction has its copy, or had it until the copy was deleted with its recording
        # (R25): then the key is gone and sha256 and size stay.
        CheckConstraint(
            "decision <> 'redacted' OR (item_type = 'file'"
            " AND (redacted_storage_key IS NOT NULL OR redacted_deleted_at IS NOT NULL)"
            " AND length(coalesce(redacted_sha256, '')) = 64"
            " AND coalesce(redacted_size_bytes, -1) >= 0"
            " AND length(trim(coalesce(protects, ''))) > 0)",
            name="redaction_complete",
        ),
        CheckConstraint(
            "decision = 'redacted' OR (redacted_storage_key IS NULL AND protects IS NULL"
            " AND redacted_deleted_at IS NULL)",
            name="redacted_copy_only_when_redacted",
        ),
        CheckConstraint(
            "redacted_deleted_at IS NULL OR redacted_storage_key IS NULL",
            name="deleted_copy_has_no_key",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    item_type: Mapped[ItemType] = mapped_column(str_enum(ItemType, "access_item_type"))
    item_id: Mapped[int] = mapped_column()
    decision: Mapped[Release] = mapped_column(str_enum(Release, "access_release"))
    reason: Mapped[str | None] = mapped_column(Text)
    # Redaction: whom it protects (R13) and the redacted copy that is released instead.
    protects: Mapped[str | None] = mapped_column(Text)
    redacted_filename: Mapped[str | None] = mapped_column(String(255))
    redacted_media_type: Mapped[str | None] = mapped_column(String(100))
    redacted_storage_key: Mapped[str | None] = mapped_column(String(500))
    redacted_sha256: Mapped[str | None] = mapped_column(String(64))
    redacted_size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    # The copy was deleted with the recording file it was made from (R25); the row stays as the
    # record of the decision, which the letter cites.
    redacted_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    decided_by = relationship("User")


class PackageStatus(enum.StrEnum):
    """A package's life: queued → building → ready → released → expired (or failed/superseded)."""

    QUEUED = "queued"
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"
    SUPERSEDED = "superseded"  # a newer build replaced it before release; its file is deleted
    RELEASED = "released"
    EXPIRED = "expired"  # the download period ended; the file is deleted, sha256 and size stay

    @property
    def in_progress(self) -> bool:
        """Still being built: the progress page refreshes itself."""
        return self in (PackageStatus.QUEUED, PackageStatus.BUILDING)


class AccessPackage(Base):
    """One build of the answer to an access request, and its delivery."""

    __tablename__ = "access_packages"
    __table_args__ = (
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_percent"),
        CheckConstraint(
            "status NOT IN ('ready', 'released', 'expired')"
            " OR (length(coalesce(sha256, '')) = 64 AND coalesce(size_bytes, -1) >= 0"
            " AND built_at IS NOT NULL AND letter_html IS NOT NULL)",
            name="built_has_file_facts",
        ),
        CheckConstraint(
            "status NOT IN ('ready', 'released') OR storage_key IS NOT NULL",
            name="deliverable_has_file",
        ),
        CheckConstraint(
            "status NOT IN ('released', 'expired') OR (released_at IS NOT NULL"
            " AND released_by_id IS NOT NULL AND expires_at IS NOT NULL)",
            name="release_complete",
        ),
        CheckConstraint(
            "status <> 'expired' OR (storage_key IS NULL AND file_deleted_at IS NOT NULL)",
            name="expired_file_deleted",
        ),
        CheckConstraint("status <> 'failed' OR error IS NOT NULL", name="failure_has_error"),
        # A case is answered once: at most one package is (or was) released.
        Index(
            "uq_access_packages_one_released",
            "case_id",
            unique=True,
            postgresql_where=text("status IN ('released', 'expired')"),
            sqlite_where=text("status IN ('released', 'expired')"),
        ),
        # The housekeeping task looks for released packages whose link has expired.
        Index(
            "ix_access_packages_released_expiry",
            "expires_at",
            postgresql_where=text("status = 'released'"),
            sqlite_where=text("status = 'released'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    status: Mapped[PackageStatus] = mapped_column(
        str_enum(PackageStatus, "access_package_status"), default=PackageStatus.QUEUED
    )
    progress: Mapped[int] = mapped_column(default=0)
    locale: Mapped[str] = mapped_column(String(5))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # Updated with the progress: a build whose heartbeat stopped (worker killed) may be retaken.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    storage_key: Mapped[str | None] = mapped_column(String(500))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    file_count: Mapped[int | None] = mapped_column()
    letter_html: Mapped[str | None] = mapped_column(Text)
    # The art. 15 facts the letter used and where they were read from (register at merge).
    facts_used: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Fingerprint of the items and decisions packaged; release refuses a stale build.
    contents_fingerprint: Mapped[str | None] = mapped_column(String(64))
    partial_refusals: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    file_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case = relationship("Case")
    requested_by = relationship("User", foreign_keys=[requested_by_id])
    released_by = relationship("User", foreign_keys=[released_by_id])

    def is_downloadable(self, now: datetime) -> bool:
        """Released, not yet expired, file still there (R14)."""
        return (
            self.status is PackageStatus.RELEASED
            and self.storage_key is not None
            and self.expires_at is not None
            and now < self.expires_at
        )

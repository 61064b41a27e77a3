"""The export row: who asked for which file with which filters, and where the file is."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..clock import now_utc
from ..db_types import UTCDateTime, str_enum
from ..extensions import Base


class ExportStatus(enum.StrEnum):
    """Queued → building → ready (→ expired when the file is deleted), or failed."""

    QUEUED = "queued"
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"
    EXPIRED = "expired"

    @property
    def in_progress(self) -> bool:
        """Still being made: the exports page keeps asking."""
        return self in (ExportStatus.QUEUED, ExportStatus.BUILDING)


class ExportKind(enum.StrEnum):
    """What can be exported (the builders are in :mod:`.builders`)."""

    AUDIT_TRAIL = "audit_trail"  # CSV of the audit trail with the DPO's filters
    DPO_REPORT = "dpo_report"  # the accountability report for a period, PDF


class Export(Base):
    """One asked-for export and its file."""

    __tablename__ = "exports"
    __table_args__ = (
        CheckConstraint(
            "status <> 'ready' OR (storage_key IS NOT NULL AND length(coalesce(sha256, '')) = 64"
            " AND size_bytes IS NOT NULL AND expires_at IS NOT NULL)",
            name="ready_has_file",
        ),
        CheckConstraint("status <> 'failed' OR error IS NOT NULL", name="failure_has_error"),
        CheckConstraint("status <> 'expired' OR storage_key IS NULL", name="expired_no_file"),
        # The housekeeping looks for ready exports past their expiry.
        Index(
            "ix_exports_ready_expiry",
            "expires_at",
            postgresql_where=text("status = 'ready'"),
            sqlite_where=text("status = 'ready'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[ExportKind] = mapped_column(str_enum(ExportKind, "export_kind"))
    #: The filters as asked (strings and numbers only), for the builder and the audit trail.
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    locale: Mapped[str] = mapped_column(String(8), default="nl")
    status: Mapped[ExportStatus] = mapped_column(
        str_enum(ExportStatus, "export_status"), default=ExportStatus.QUEUED
    )
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    storage_key: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    requested_by: Mapped[User] = relationship()

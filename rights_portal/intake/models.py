"""How a request received by letter, e-mail, phone or at a desk was registered (R1).

One :class:`CaseIntake` per registered case: who entered it and when (next to the original
receipt date on the case), how the acknowledgement goes out, and the letter or e-mail itself,
kept on the case in the recordings store. The case itself is an ordinary
:class:`~rights_portal.cases.models.Case` with its channel and receipt date.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..db_types import UTCDateTime, str_enum
from ..extensions import Base


class AcknowledgeBy(enum.StrEnum):
    """How the requester gets the acknowledgement (and later the answer)."""

    EMAIL = "email"
    POST = "post"


class CaseIntake(Base):
    """The registration of a request that reached the institution outside the portal."""

    __tablename__ = "case_intakes"
    __table_args__ = (
        CheckConstraint("document_size IS NULL OR document_size > 0", name="document_not_empty"),
        CheckConstraint(
            "(document_key IS NULL) = (document_sha256 IS NULL)"
            " AND (document_key IS NULL) = (document_size IS NULL)"
            " AND (document_key IS NULL) = (document_type IS NULL)",
            name="document_complete",
        ),
        CheckConstraint(
            "acknowledge_by <> 'post' OR coalesce(length(trim(postal_address)), 0) > 0",
            name="post_needs_address",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # R1: the clock ran from the original receipt; already overdue when it was entered.
    overdue_on_entry: Mapped[bool] = mapped_column(default=False)
    acknowledge_by: Mapped[AcknowledgeBy] = mapped_column(str_enum(AcknowledgeBy, "acknowledge_by"))
    postal_address: Mapped[str | None] = mapped_column(Text)
    # The letter, scan or e-mail as received: in the recordings store, checked by its content.
    # Required for a letter or e-mail; a phone call or desk visit may have none.
    document_key: Mapped[str | None] = mapped_column(String(200))
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    document_size: Mapped[int | None] = mapped_column()
    document_filename: Mapped[str | None] = mapped_column(String(255))
    document_type: Mapped[str | None] = mapped_column(String(64))
    # R25, as for recordings: kept until this date and while the case is open; then the purge
    # deletes the file and sets document_deleted_at (the record that it existed stays).
    retention_until: Mapped[date] = mapped_column(Date, index=True)
    document_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case = relationship("Case")
    entered_by = relationship("User")

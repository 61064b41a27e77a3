"""The outbox: every e-mail is first a row written in the transaction that caused it.

A message that was committed is delivered by a worker after the commit; one that was rolled back
never existed. ``sent_at`` makes delivery idempotent: a retried task sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..db_types import UTCDateTime
from ..extensions import Base


class OutboxMessage(Base):
    """An e-mail waiting to be, or already, delivered."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index(
            "ix_outbox_messages_unsent",
            "id",
            postgresql_where=text("sent_at IS NULL"),
            sqlite_where=text("sent_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to_addresses: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

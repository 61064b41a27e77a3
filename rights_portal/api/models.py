"""The API's own records: its clients, which case each client filed, and retried requests.

An :class:`ApiClient` is a system of the institution (its student portal, LMS, service desk)
that an admin allowed in with a set of scopes. It authenticates with a bearer token of which
only the sha256 is stored. :class:`ApiCaseOrigin` records which client filed a case (the case's
channel says "api"). :class:`IdempotentRequest` keeps the answer to a POST with an
``Idempotency-Key`` so a retried call files once.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..db_types import UTCDateTime
from ..extensions import Base


class Scope(enum.StrEnum):
    """What a client may do (each scope is one line in the API document's security section)."""

    FILE = "file"  # file requests for students it vouches for, and post messages on them
    READ_OWN = "read-own"  # read the cases it filed
    STAFF_READ = "staff-read"  # list and read every case and its events (staff tools)
    DPO_READ = "dpo-read"  # the DPO's figures


class ApiClient(Base):
    """A system allowed to call the API, with its scopes and the hash of its token."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, shown to the admin to tell tokens apart.
    token_prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def has(self, scope: Scope) -> bool:
        """Whether the client holds ``scope``."""
        return scope.value in (self.scopes or [])


class ApiCaseOrigin(Base):
    """The client that filed a case through the API (one per case)."""

    __tablename__ = "api_case_origins"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), index=True)

    client: Mapped[ApiClient] = relationship()


class IdempotentRequest(Base):
    """The first answer to a POST with an Idempotency-Key, replayed to every retry of it."""

    __tablename__ = "api_idempotent_requests"
    __table_args__ = (UniqueConstraint("client_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # sha256 of method, path and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    location: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)

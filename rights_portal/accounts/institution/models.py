"""The link between a portal account and the person's account at the institution (SURFconext).

One :class:`InstitutionIdentity` per account. A student's is made at the first institutional
login; a staff member's is made by an admin first (with the ``eduperson_principal_name`` to
expect, no subject yet) and completed at the first login, because a claim alone never makes
anyone staff (docs/rules.md, R22). ``age_confirmed_at`` is set by staff for a student whose
account the login created without a known date of birth: until then the student is not treated
as an adult (R20), so cannot file alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...clock import now_utc
from ...db_types import UTCDateTime
from ...extensions import Base
from ..models import User


class InstitutionIdentity(Base):
    """Who the institution says an account is: issuer and pairwise subject, and what it knew."""

    __tablename__ = "institution_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True, index=True
    )
    issuer: Mapped[str] = mapped_column(String(255))
    # Null for a staff link an admin made that was not used to log in yet.
    subject: Mapped[str | None] = mapped_column(String(255))
    principal_name: Mapped[str | None] = mapped_column(String(254), unique=True)
    organization: Mapped[str] = mapped_column(String(100), default="")
    affiliations: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Whether the login made the account (a student not known from the student record).
    created_account: Mapped[bool] = mapped_column(default=False)
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    age_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    age_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def awaits_age_confirmation(self) -> bool:
        """R20: a student the login created, with no date of birth and no confirmation yet."""
        return (
            self.created_account
            and self.user.date_of_birth is None
            and self.age_confirmed_at is None
        )

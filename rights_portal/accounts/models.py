"""The user account and its role.

A user has exactly one role. Students carry their student number, date of birth (for the
under-16 rule, R20) and programme; staff accounts leave those empty.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..db_types import UTCDateTime, str_enum
from ..extensions import Base


class Role(enum.StrEnum):
    """What a user is in the portal (DESIGN §2b)."""

    STUDENT = "student"
    GUARDIAN = "guardian"
    CASE_HANDLER = "case_handler"
    EXAM_BOARD = "exam_board"
    DPO = "dpo"
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        """Staff roles work in the staff area; students and guardians in the portal."""
        return self in STAFF_ROLES


STAFF_ROLES = frozenset({Role.CASE_HANDLER, Role.EXAM_BOARD, Role.DPO, Role.ADMIN})


class User(UserMixin, Base):
    """A person who logs in."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint(
            "role = 'student' OR (student_number IS NULL AND date_of_birth IS NULL)",
            name="student_fields_only_for_students",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(200))
    # Staff are looked up by role (the handler pool, the DPOs) among hundreds of thousands of
    # students: indexed, so the deadline sweep does not scan every account (bench/README.md).
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"), index=True)
    locale: Mapped[str] = mapped_column(String(5), default="nl")
    student_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"))
    is_active_account: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    programme = relationship("Programme", foreign_keys=[programme_id])

    @property
    def is_active(self) -> bool:
        """Flask-Login refuses deactivated accounts."""
        return self.is_active_account

    @property
    def is_staff(self) -> bool:
        """Whether the user works in the staff area."""
        return self.role.is_staff

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"

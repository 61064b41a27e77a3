"""The user account and its role; guardian links, invitations and identity checks.

A user has exactly one role. Students carry their student number, date of birth (for the
under-16 rule, R20) and programme; staff accounts leave those empty. A guardian acts for a
student only through a verified :class:`GuardianLink` (R21). An :class:`IdentityCheck` records a
handler's reasonable doubt about a requester's identity and how it was resolved (R22); its
operations are :mod:`rights_portal.identity.services`.

Why one module of some 430 lines: it is declarations only (tables, their constraints, enums),
and the tables refer to one another (users, sessions, links, invitations, checks); the account
forms, labels and services import them from here, and nothing in it is logic to split out.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..db_types import UTCDateTime, str_enum
from ..extensions import Base


class Role(enum.StrEnum):
    """What a user is in the portal (docs/rules.md#roles)."""

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

#: Never a valid argon2 hash: an account made by the institutional login has no password, and
#: no password can be given to it (the institution decides who logs in, and when not any more).
NO_PASSWORD = "!institution-login"  # noqa: S105 (a marker, not a secret)


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
    # Optional second factor for staff: the TOTP secret once enrolled, and the last time step
    # accepted (a code is accepted once, so an overheard code cannot be replayed).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column()
    # Sessions are signed cookies that carry the generation they were created with (get_id);
    # bumping it ends every session of the account at its next request (password reset,
    # deactivation, "log out everywhere").
    session_generation: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Only an account whose address is verified can log in. Accounts made by staff, the CLI, the
    # demo and invitations (whose link went to the address) are verified; only the public
    # registration starts unverified, until its e-mailed link is used. Rows from before the
    # column count as verified (server default).
    email_verified: Mapped[bool] = mapped_column(default=True, server_default=true())

    programme = relationship("Programme", foreign_keys=[programme_id])

    @property
    def is_active(self) -> bool:
        """Flask-Login refuses deactivated accounts."""
        return self.is_active_account

    def get_id(self) -> str:
        """The session's user id: "id:generation", so a bumped generation ends old sessions."""
        return f"{self.id}:{self.session_generation or 0}"

    def end_sessions(self) -> None:
        """Make every session created so far invalid (the caller records why)."""
        self.session_generation = (self.session_generation or 0) + 1

    @property
    def has_local_password(self) -> bool:
        """False for an account made by the institutional login: it logs in there only."""
        return self.password_hash != NO_PASSWORD

    @property
    def is_staff(self) -> bool:
        """Whether the user works in the staff area."""
        return self.role.is_staff

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"


@event.listens_for(User.is_active_account, "set", active_history=True)
def _deactivation_ends_sessions(user: User, value: bool, old: object, _initiator: object) -> None:
    """However an account is deactivated through the ORM, its open sessions end with it."""
    if old is True and value is False:
        user.end_sessions()


class RecoveryCode(Base):
    """A one-time code that stands in for a TOTP code when the staff member lost the phone.

    Only a hash is stored (see ``security.recovery_code_hash``); ``used_at`` marks a spent code.
    A new set replaces the old one (its rows are deleted); turning the second factor off deletes
    them as well.
    """

    __tablename__ = "totp_recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserSession(Base):
    """A logged-in session, kept on the server: logout deletes it, and then it is over.

    The signed session cookie carries a random token; only its sha256 is stored here, with the
    times the idle and absolute timeouts are counted from, and the browser's User-Agent so the
    person can recognise it in the list of open sessions (``/account/security``). A request
    whose token has no row here is logged out, whatever the cookie says. ``last_seen_at`` is
    written at most once a minute per session (``security.SEEN_RESOLUTION``).
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    user_agent: Mapped[str] = mapped_column(String(255), default="")

    user: Mapped[User] = relationship()


class LoginThrottle(Base):
    """Failed logins for one e-mail address: growing delays, then a temporary lock.

    Keyed by the sha256 of the normalised address, whether or not an account has it, so the
    throttle answers alike for unknown addresses (nobody probes accounts by being throttled).
    A successful login or the owner's e-mailed unlock link deletes the row. A key beginning
    with ``trusted:`` counts the attempts of a browser the owner unlocked from, apart from
    everybody else's (``security_views`` / ``throttle``).
    """

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- Guardians (R20, R21) --------------------------------------------------------------------


class GuardianBasis(enum.StrEnum):
    """On what authority a guardian acts for a child."""

    PARENTAL_AUTHORITY = "parental_authority"  # ouder met gezag
    COURT_APPOINTED = "court_appointed"  # voogd benoemd door de rechter


class LinkStatus(enum.StrEnum):
    """A guardian link's life: only a verified link gives access to anything (R21)."""

    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    REVOKED = "revoked"


class VerificationMethod(enum.StrEnum):
    """How staff checked a guardian's authority."""

    IN_PERSON = "in_person"
    VIDEO_CALL = "video_call"
    REGISTER = "register"  # staff consulted the custody register (gezagsregister) themselves


class AuthorityDocument(enum.StrEnum):
    """The document that showed the guardian's authority (seen, never stored: R21, R22)."""

    CUSTODY_REGISTER_EXTRACT = "custody_register_extract"
    BRP_EXTRACT = "brp_extract"
    COURT_DECISION = "court_decision"


class GuardianLink(Base):
    """A guardian's request to act for a student, and how staff checked it.

    The guardian states a student number and date of birth; ``student_id`` is filled only when both
    match a student, but the request is stored either way so the guardian's answer and list look
    the same whether or not the number exists (nobody can probe student numbers). Columns that
    belong to a state are tied to it by CHECK constraints: a verified link always says who checked
    which document when, a rejected or revoked one always says why.
    """

    __tablename__ = "guardian_links"
    __table_args__ = (
        CheckConstraint(
            "(status IN ('pending', 'rejected') AND verified_by_id IS NULL"
            " AND verified_at IS NULL AND verification_method IS NULL AND document_type IS NULL"
            " AND document_seen_on IS NULL)"
            " OR (status IN ('verified', 'revoked') AND student_id IS NOT NULL"
            " AND verified_by_id IS NOT NULL AND verified_at IS NOT NULL"
            " AND verification_method IS NOT NULL AND document_type IS NOT NULL"
            " AND document_seen_on IS NOT NULL)",
            name="verification_complete",
        ),
        CheckConstraint(
            "(status <> 'rejected' AND rejected_by_id IS NULL AND rejected_at IS NULL"
            " AND rejection_reason IS NULL)"
            " OR (status = 'rejected' AND rejected_by_id IS NOT NULL AND rejected_at IS NOT NULL"
            " AND coalesce(length(trim(rejection_reason)), 0) > 0)",
            name="rejection_complete",
        ),
        CheckConstraint(
            "(status <> 'revoked' AND revoked_by_id IS NULL AND revoked_at IS NULL"
            " AND revocation_reason IS NULL)"
            " OR (status = 'revoked' AND revoked_by_id IS NOT NULL AND revoked_at IS NOT NULL"
            " AND coalesce(length(trim(revocation_reason)), 0) > 0)",
            name="revocation_complete",
        ),
        CheckConstraint("guardian_id <> student_id", name="not_own_guardian"),
        # One open (pending or verified) link per guardian and student.
        Index(
            "uq_guardian_links_open_pair",
            "guardian_id",
            "student_id",
            unique=True,
            postgresql_where=text("status IN ('pending', 'verified')"),
            sqlite_where=text("status IN ('pending', 'verified')"),
        ),
        Index("ix_guardian_links_status_requested", "status", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    student_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    claimed_student_number: Mapped[str] = mapped_column(String(32))
    claimed_date_of_birth: Mapped[date] = mapped_column(Date)
    basis: Mapped[GuardianBasis] = mapped_column(str_enum(GuardianBasis, "guardian_basis"))
    status: Mapped[LinkStatus] = mapped_column(
        str_enum(LinkStatus, "link_status"), default=LinkStatus.PENDING
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verification_method: Mapped[VerificationMethod | None] = mapped_column(
        str_enum(VerificationMethod, "verification_method")
    )
    document_type: Mapped[AuthorityDocument | None] = mapped_column(
        str_enum(AuthorityDocument, "authority_document")
    )
    document_seen_on: Mapped[date | None] = mapped_column(Date)

    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(Text)

    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revocation_reason: Mapped[str | None] = mapped_column(Text)

    guardian: Mapped[User] = relationship(foreign_keys=[guardian_id])
    student: Mapped[User | None] = relationship(foreign_keys=[student_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])
    rejected_by: Mapped[User | None] = relationship(foreign_keys=[rejected_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    @property
    def is_verified(self) -> bool:
        """Only a verified link lets the guardian file or see anything (R21)."""
        return self.status is LinkStatus.VERIFIED

    def __repr__(self) -> str:
        return f"<GuardianLink {self.id} {self.status.value}>"


class GuardianInvitation(Base):
    """Staff invited a parent to create a guardian account; the e-mailed link works once."""

    __tablename__ = "guardian_invitations"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        CheckConstraint(
            "(accepted_at IS NULL AND user_id IS NULL)"
            " OR (accepted_at IS NOT NULL AND user_id IS NOT NULL)",
            name="acceptance_complete",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(5), default="nl")
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    invited_by: Mapped[User] = relationship(foreign_keys=[invited_by_id])
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])


# --- Identity on reasonable doubt (R22) ------------------------------------------------------


class IdentityCheckStatus(enum.StrEnum):
    """An identity check is asked, then recorded as checked (or as not possible)."""

    REQUESTED = "requested"
    VERIFIED = "verified"
    NOT_VERIFIED = "not_verified"


class IdentityAnswer(enum.StrEnum):
    """What the requester answered in the portal."""

    WILL_SHOW_AT_DESK = "will_show_at_desk"
    SHOWN_AT_DESK = "shown_at_desk"


class IdentityDocument(enum.StrEnum):
    """The identity document the handler saw (its type only; never a copy or number: R22)."""

    PASSPORT = "passport"
    IDENTITY_CARD = "identity_card"
    DRIVING_LICENCE = "driving_licence"
    RESIDENCE_PERMIT = "residence_permit"


class IdentityCheck(Base):
    """A handler's reasonable doubt about a requester's identity, and how it was resolved (R22).

    A logged-in account is normally identity enough; this row exists only when a handler doubted
    it, with the reason. The outcome records "checked, document type, date" and nothing more.
    """

    __tablename__ = "identity_checks"
    __table_args__ = (
        CheckConstraint("coalesce(length(trim(reason)), 0) > 0", name="reason_given"),
        CheckConstraint(
            "(answer IS NULL AND answered_at IS NULL)"
            " OR (answer IS NOT NULL AND answered_at IS NOT NULL)",
            name="answer_complete",
        ),
        CheckConstraint(
            "(status = 'requested' AND checked_by_id IS NULL AND checked_at IS NULL"
            " AND document_type IS NULL AND document_seen_on IS NULL AND note IS NULL)"
            " OR (status = 'verified' AND checked_by_id IS NOT NULL AND checked_at IS NOT NULL"
            " AND document_type IS NOT NULL AND document_seen_on IS NOT NULL)"
            " OR (status = 'not_verified' AND checked_by_id IS NOT NULL"
            " AND checked_at IS NOT NULL AND document_type IS NULL AND document_seen_on IS NULL"
            " AND coalesce(length(trim(note)), 0) > 0)",
            name="outcome_complete",
        ),
        # At most one open request for proof per case.
        Index(
            "uq_identity_checks_open_case",
            "case_id",
            unique=True,
            postgresql_where=text("status = 'requested'"),
            sqlite_where=text("status = 'requested'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    status: Mapped[IdentityCheckStatus] = mapped_column(
        str_enum(IdentityCheckStatus, "identity_check_status"),
        default=IdentityCheckStatus.REQUESTED,
    )
    answer: Mapped[IdentityAnswer | None] = mapped_column(
        str_enum(IdentityAnswer, "identity_answer")
    )
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    document_type: Mapped[IdentityDocument | None] = mapped_column(
        str_enum(IdentityDocument, "identity_document")
    )
    document_seen_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)

    case = relationship("Case")
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    checked_by: Mapped[User | None] = relationship(foreign_keys=[checked_by_id])

    @property
    def is_open(self) -> bool:
        """Whether the requester still has to show proof."""
        return self.status is IdentityCheckStatus.REQUESTED

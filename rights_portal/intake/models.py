"""How a request received by letter, e-mail, phone or at a desk was registered (R1).

One :class:`CaseIntake` per registered case: who entered it and when (next to the original
receipt date on the case), how the acknowledgement goes out, and the letter or e-mail itself,
kept on the case in the recordings store. The case itself is an ordinary
:class:`~rights_portal.cases.models.Case` with its channel and receipt date. A requester without
a portal account is an :class:`ExternalRequester`; what the portal tells them is kept as
:class:`RequesterLetter` rows, sent by e-mail or printed for post.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import AuthorityDocument, IdentityDocument
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


class RequesterRelation(enum.StrEnum):
    """Who a requester without an account is to the student the request is about (R20).

    Only the two the rules know: the student themselves (a former student, say), and the legal
    representative — a parent with authority or a court-appointed guardian — of a child under 16
    on the day of receipt. A representative of a student of 16 or older is not a requester the
    rules allow (from 16 the student acts alone), nor is anybody else.
    """

    SELF = "self"
    LEGAL_REPRESENTATIVE = "legal_representative"


class ExternalRequester(Base):
    """A requester without a portal account, answered by e-mail or by a letter for post (R1).

    The case needs a user as its filer, so the requester is represented by a *stand-in* row in
    ``users``: deactivated, never verified, with an unusable password and an address of its own
    in the reserved ``.invalid`` domain (RFC 2606). Nobody can log in as it, reset its password
    or register its address, and mail addressed to it reaches nobody: every message the portal
    sends to a case's filer is routed by :mod:`rights_portal.intake.letters` to this requester's
    own e-mail address or into a letter for post. Personal data goes out only once staff have
    recorded the requester's identity (R22: "checked, document type, date") and, for a legal
    representative, how authority was checked (R21). Once the person has a verified account of
    their own, staff link the case to it (``linked_user_id``) and it is an ordinary case.
    """

    __tablename__ = "external_requesters"
    __table_args__ = (
        CheckConstraint("email IS NULL OR email = lower(email)", name="email_lowercase"),
        CheckConstraint("coalesce(length(trim(full_name)), 0) > 0", name="has_a_name"),
        CheckConstraint(
            "(identity_checked_at IS NULL) = (identity_checked_by_id IS NULL)"
            " AND (identity_checked_at IS NULL) = (identity_document IS NULL)"
            " AND (identity_checked_at IS NULL) = (identity_seen_on IS NULL)",
            name="identity_check_complete",
        ),
        CheckConstraint(
            "relation <> 'legal_representative' OR identity_checked_at IS NULL"
            " OR authority_document IS NOT NULL",
            name="representative_authority_checked",
        ),
        CheckConstraint(
            "(linked_user_id IS NULL) = (linked_at IS NULL)"
            " AND (linked_user_id IS NULL) = (linked_by_id IS NULL)",
            name="link_complete",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_id: Mapped[int] = mapped_column(ForeignKey("case_intakes.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    stand_in_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    relation: Mapped[RequesterRelation] = mapped_column(
        str_enum(RequesterRelation, "requester_relation")
    )
    locale: Mapped[str] = mapped_column(String(5), default="nl")
    # R22 (and R21 for a representative): what staff saw, never a copy or a number.
    identity_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    identity_checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    identity_document: Mapped[IdentityDocument | None] = mapped_column(
        str_enum(IdentityDocument, "external_identity_document")
    )
    identity_seen_on: Mapped[date | None] = mapped_column(Date)
    authority_document: Mapped[AuthorityDocument | None] = mapped_column(
        str_enum(AuthorityDocument, "external_authority_document")
    )
    # The verified account the case was handed to; from then on it is an ordinary case.
    linked_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    intake = relationship("CaseIntake")
    case = relationship("Case")
    stand_in = relationship("User", foreign_keys=[stand_in_id])
    identity_checked_by = relationship("User", foreign_keys=[identity_checked_by_id])
    linked_user = relationship("User", foreign_keys=[linked_user_id])
    linked_by = relationship("User", foreign_keys=[linked_by_id])

    @property
    def identity_checked(self) -> bool:
        """Whether staff recorded the identity (and a representative's authority) check."""
        return self.identity_checked_at is not None

    @property
    def is_linked(self) -> bool:
        """Whether the case has been handed to the person's own verified account."""
        return self.linked_user_id is not None


class LetterDelivery(enum.StrEnum):
    """How one message to a requester without an account goes out."""

    EMAIL = "email"
    POST = "post"


class RequesterLetter(Base):
    """One message the portal sent (or holds) for a requester without an account.

    Rendered once, in the requester's language, with its full content (such a requester cannot
    read it in the portal): the record of what was said. By e-mail it goes out through the
    outbox (``outbox_message_id``); by post staff print it as a PDF (``printed_at``). A message
    with personal data is ``held`` while the requester's identity is unchecked (R21, R22) and
    released when the check is recorded.
    """

    __tablename__ = "requester_letters"
    __table_args__ = (
        CheckConstraint("coalesce(length(trim(body)), 0) > 0", name="body_not_empty"),
        CheckConstraint("(printed_at IS NULL) = (printed_by_id IS NULL)", name="print_complete"),
        Index("ix_requester_letters_case_id_id", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("external_requesters.id"), index=True)
    # The portal's message it stands for: "case_received", "case_decided", ...
    template: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    discloses_personal_data: Mapped[bool] = mapped_column()
    delivery: Mapped[LetterDelivery] = mapped_column(str_enum(LetterDelivery, "letter_delivery"))
    held: Mapped[bool] = mapped_column(default=False)
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    printed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    requester: Mapped[ExternalRequester] = relationship()
    printed_by = relationship("User", foreign_keys=[printed_by_id])

    @property
    def state(self) -> str:
        """held, emailed, to_print or printed (for the case page)."""
        if self.held:
            return "held"
        if self.delivery is LetterDelivery.EMAIL:
            return "emailed"
        return "printed" if self.printed_at else "to_print"

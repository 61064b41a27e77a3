"""The case (a rights request), its reference counter and its sent reminders.

States and the columns tied to them are guarded by CHECK constraints, so a decided case without
reasons or a decider cannot exist even if code forgets to check (R15, R23).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..db_types import UTCDateTime, str_enum
from ..extensions import Base
from .types import CaseType, CaseTypeColumn, PluginCaseType, case_type_name

# The case type's name and column live in .types; they are named here with the other columns.
__all__ = [
    "OPEN_STATUSES",
    "Case",
    "CaseMessage",
    "CasePause",
    "CaseStatus",
    "CaseType",
    "CaseTypeColumn",
    "Channel",
    "DueDateChange",
    "EscalationDigest",
    "ExtensionReason",
    "MessageKind",
    "Outcome",
    "PluginCaseType",
    "ReferenceCounter",
    "Reminder",
    "case_type_name",
]


class CaseStatus(enum.StrEnum):
    """The states of docs/rules.md#case-life."""

    RECEIVED = "received"
    IN_REVIEW = "in_review"
    AWAITING_REQUESTER = "awaiting_requester"
    DECIDED = "decided"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        """Open cases run against a deadline."""
        return self in OPEN_STATUSES


OPEN_STATUSES = (CaseStatus.RECEIVED, CaseStatus.IN_REVIEW, CaseStatus.AWAITING_REQUESTER)


class Outcome(enum.StrEnum):
    """How a case was decided."""

    GRANTED = "granted"
    PARTLY_GRANTED = "partly_granted"
    REJECTED = "rejected"


class ExtensionReason(enum.StrEnum):
    """R4: the only two grounds for extending the term."""

    COMPLEXITY = "complexity"
    NUMBER_OF_REQUESTS = "number_of_requests"


class MessageKind(enum.StrEnum):
    """What a message on the case thread is."""

    MESSAGE = "message"
    QUESTION_IDENTITY = "question_identity"
    QUESTION_CLARIFICATION = "question_clarification"
    ANSWER = "answer"
    EXTENSION_NOTICE = "extension_notice"
    DUPLICATE_NOTICE = "duplicate_notice"

    @property
    def is_question(self) -> bool:
        """Questions ask the requester for something; a prompt one pauses the clock (R6)."""
        return self in (MessageKind.QUESTION_IDENTITY, MessageKind.QUESTION_CLARIFICATION)


class Channel(enum.StrEnum):
    """R1: how the request reached the institution."""

    PORTAL = "portal"
    EMAIL = "email"
    LETTER = "letter"
    PHONE = "phone"
    DESK = "desk"
    API = "api"  # filed by an institution system through the REST API (it vouches for the student)


class Case(Base):
    """A rights request about one student."""

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint("effective_due <= statutory_due", name="effective_not_after_statutory"),
        CheckConstraint("statutory_due > received_on", name="due_after_receipt"),
        CheckConstraint(
            "(outcome IS NULL AND decided_at IS NULL AND decided_by_id IS NULL)"
            " OR (outcome IS NOT NULL AND decided_at IS NOT NULL AND decided_by_id IS NOT NULL"
            " AND coalesce(length(trim(decision_reasons)), 0) > 0"
            " AND coalesce(length(trim(legal_basis)), 0) > 0)",
            name="decision_complete",
        ),
        CheckConstraint("status <> 'decided' OR outcome IS NOT NULL", name="decided_has_outcome"),
        CheckConstraint(
            "case_type NOT IN ('objection', 'alternative_exam', 'human_review')"
            " OR exam_id IS NOT NULL",
            name="exam_cases_name_an_exam",
        ),
        CheckConstraint(
            "(extension_months = 0 AND extension_reason IS NULL)"
            " OR (extension_months IN (1, 2) AND extension_reason IS NOT NULL"
            " AND coalesce(length(trim(extension_explanation)), 0) > 0)",
            name="extension_has_reason",
        ),
        CheckConstraint(
            "case_type <> 'human_review' OR flag_id IS NOT NULL", name="review_names_a_flag"
        ),
        CheckConstraint(
            "case_type <> 'objection' OR outcome IS NULL OR outcome <> 'rejected'"
            " OR coalesce(length(trim(compelling_grounds)), 0) > 0",
            name="objection_rejection_has_grounds",
        ),
        CheckConstraint(
            "manifestly_unfounded_justification IS NULL OR outcome = 'rejected'",
            name="unfounded_only_on_rejection",
        ),
        CheckConstraint(
            "duplicate_of_id IS NULL OR (status = 'closed' AND duplicate_of_id <> id)",
            name="duplicate_is_closed",
        ),
        # The staff queue and the deadline sweep read open cases by effective due date only.
        Index(
            "ix_cases_open_by_due",
            "effective_due",
            "id",
            postgresql_where=text("status IN ('received', 'in_review', 'awaiting_requester')"),
            sqlite_where=text("status IN ('received', 'in_review', 'awaiting_requester')"),
        ),
        Index("ix_cases_status_due", "status", "effective_due", "id"),
        # The queue of all statuses, and the queue filtered by programme (and status), page in
        # due-date order through these with a million cases (docs/rules.md#targets,
        # bench/README.md).
        Index("ix_cases_due", "effective_due", "id"),
        Index("ix_cases_programme_status_due", "programme_id", "status", "effective_due", "id"),
        # A programme's cases of every status: without it the page walked ix_cases_due past
        # every other programme's cases (7 ms for the smallest programme of a million cases).
        Index("ix_cases_programme_due", "programme_id", "effective_due", "id"),
        # "Nobody yet", the triage view of the queue: open cases without a handler by due date.
        # Without it the count combined two bitmaps, one of 43,000 unassigned cases (5 ms).
        Index(
            "ix_cases_open_unassigned_due",
            "effective_due",
            "id",
            postgresql_where=text(
                "status IN ('received', 'in_review', 'awaiting_requester') AND assignee_id IS NULL"
            ),
            sqlite_where=text(
                "status IN ('received', 'in_review', 'awaiting_requester') AND assignee_id IS NULL"
            ),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    case_type: Mapped[CaseType] = mapped_column(CaseTypeColumn())
    status: Mapped[CaseStatus] = mapped_column(
        str_enum(CaseStatus, "case_status"), default=CaseStatus.RECEIVED
    )
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"), default=Channel.PORTAL)
    subject_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    exam_id: Mapped[int | None] = mapped_column(ForeignKey("exams.id"), index=True)
    # Indexed by ix_cases_programme_status_due, whose first column it is.
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"))
    description: Mapped[str] = mapped_column(Text, default="")

    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_on: Mapped[date] = mapped_column(Date)
    statutory_due: Mapped[date] = mapped_column(Date)
    exam_bound_due: Mapped[date | None] = mapped_column(Date)
    effective_due: Mapped[date] = mapped_column(Date)
    urgent: Mapped[bool] = mapped_column(default=False)
    # R4: at most two further months, with a recorded reason, notified before the first due date.
    extension_months: Mapped[int] = mapped_column(default=0, server_default="0")
    extension_reason: Mapped[ExtensionReason | None] = mapped_column(
        str_enum(ExtensionReason, "extension_reason")
    )
    extension_explanation: Mapped[str | None] = mapped_column(Text)
    # R8: refusing as manifestly unfounded or excessive needs its own justification.
    manifestly_unfounded_justification: Mapped[str | None] = mapped_column(Text)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # R16: the objector asked that processing is restricted while the objection is pending.
    restrict_processing: Mapped[bool] = mapped_column(default=False, server_default=false())
    # R15: rejecting an objection needs compelling legitimate grounds, in writing.
    compelling_grounds: Mapped[str | None] = mapped_column(Text)
    # R18: the automated flag a human-review request is about.
    flag_id: Mapped[int | None] = mapped_column(ForeignKey("automated_flags.id"))

    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome, "outcome"))
    decision_reasons: Mapped[str | None] = mapped_column(Text)
    legal_basis: Mapped[str | None] = mapped_column(String(200))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    subject = relationship("User", foreign_keys=[subject_id])
    filed_by = relationship("User", foreign_keys=[filed_by_id])
    assignee = relationship("User", foreign_keys=[assignee_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    exam = relationship("Exam")
    programme = relationship("Programme")
    duplicate_of: Mapped[Case | None] = relationship(remote_side=[id])
    flag = relationship("AutomatedFlag")

    @property
    def is_open(self) -> bool:
        """Whether the case still runs against its deadline."""
        return self.status.is_open

    @property
    def filed_after_exam_bound_date(self) -> bool:
        """R7: received after its exam-bound date; accepted, urgent and handled with priority.

        The requester is then shown the statutory date, never "overdue" on the day of filing.
        """
        return self.exam_bound_due is not None and self.exam_bound_due < self.received_on

    def __repr__(self) -> str:
        return f"<Case {self.reference} {self.case_type.value} {self.status.value}>"


class ReferenceCounter(Base):
    """The last number handed out per year, for references like RP-2026-000123."""

    __tablename__ = "case_reference_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class Reminder(Base):
    """A reminder milestone of a case that has been handled; unique so it is sent once (R9)."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("case_id", "key", name="uq_reminders_case_key"),
        CheckConstraint(
            "key = 'escalation' OR escalation_digest_id IS NULL", name="digest_only_escalations"
        ),
        # Escalations no DPO digest has announced yet: normally none, so this index stays tiny.
        Index(
            "ix_reminders_unannounced_escalations",
            "id",
            postgresql_where=text("key = 'escalation' AND escalation_digest_id IS NULL"),
            sqlite_where=text("key = 'escalation' AND escalation_digest_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    # "before:7", "before:2", "due", "overdue:2026-12-01" or "escalation".
    key: Mapped[str] = mapped_column(String(40))
    milestone_on: Mapped[date] = mapped_column(Date)
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))
    # A catch-up sweep (R10) records every missed milestone but mails only the latest one.
    superseded: Mapped[bool] = mapped_column(default=False)
    # An escalation names the DPO digest that announced it (R9). The sweep commits per batch of
    # cases, so an escalation can be committed by a sweep that died before its digest; the next
    # sweep's digest announces every escalation still without one, exactly once.
    escalation_digest_id: Mapped[int | None] = mapped_column(ForeignKey("escalation_digests.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    case: Mapped[Case] = relationship()


class CaseMessage(Base):
    """One message of the thread between the requester and staff.

    Questions that ask the requester for identity information or a clarification are messages
    too; a prompt one opens a :class:`CasePause` (R6). E-mails only announce a message, with a
    link; the content stays in the portal.
    """

    __tablename__ = "case_messages"
    __table_args__ = (
        CheckConstraint("coalesce(length(trim(body)), 0) > 0", name="body_not_empty"),
        Index("ix_case_messages_case_id_id", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    from_staff: Mapped[bool] = mapped_column()
    kind: Mapped[MessageKind] = mapped_column(str_enum(MessageKind, "message_kind"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    case: Mapped[Case] = relationship()
    author = relationship("User")


class CasePause(Base):
    """A period in which the clock stood still while waiting for the requester (R6)."""

    __tablename__ = "case_pauses"
    __table_args__ = (
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
        # At most one open pause per case.
        Index(
            "uq_case_pauses_one_open",
            "case_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    reason: Mapped[MessageKind] = mapped_column(str_enum(MessageKind, "pause_reason"))
    question_id: Mapped[int] = mapped_column(ForeignKey("case_messages.id"))
    answer_id: Mapped[int | None] = mapped_column(ForeignKey("case_messages.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)

    @property
    def days(self) -> int | None:
        """Calendar days the clock stood still, once the pause has ended."""
        if self.ended_on is None:
            return None
        return (self.ended_on - self.started_on).days


class DueDateChange(Base):
    """One change of a case's due dates with its reason: the case keeps its history."""

    __tablename__ = "due_date_changes"
    __table_args__ = (Index("ix_due_date_changes_case_id_id", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    # "received", "extended", "paused", "resumed", "recomputed" (``flask deadlines recompute``),
    # "exam_moved" (the exam moved in the student-information system, R7).
    cause: Mapped[str] = mapped_column(String(32))
    old_statutory_due: Mapped[date | None] = mapped_column(Date)
    new_statutory_due: Mapped[date] = mapped_column(Date)
    old_effective_due: Mapped[date | None] = mapped_column(Date)
    new_effective_due: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class EscalationDigest(Base):
    """A digest of overdue cases sent to the DPO when cases became overdue (R9).

    Exactly-once comes from the per-case ``escalation`` reminder row: it is inserted once, and the
    digest that announces it claims it (``Reminder.escalation_digest_id``) under a row lock, so no
    second digest announces it again. ``outbox_message_id`` is empty when there was nobody to mail
    (no active DPO) or no case was still overdue when the digest was written.
    """

    __tablename__ = "escalation_digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    case_count: Mapped[int] = mapped_column()
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

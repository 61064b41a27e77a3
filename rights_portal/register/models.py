"""The register of proctoring and video-call tools: versioned facts, reminders and overrides.

A tool (:class:`~rights_portal.exams.models.ProctoringTool`) is a register entry. Its facts live in
:class:`RegisterVersion` rows: every save adds a version with the next number and never changes an
older one (on PostgreSQL a trigger refuses UPDATE and DELETE), so a letter that records the version
it used can always be reproduced. The current version is the one with the highest number.

:class:`RegisterReminder` rows make each DPO reminder unique per (tool, kind, due date), so it is
sent once. :class:`ExamToolOverride` records that the DPO allowed an exam to use a tool whose
checklist was not complete.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..db_types import UTCDateTime, str_enum
from ..exams.models import Exam, ProctoringTool
from ..extensions import Base


class LegalBasis(enum.StrEnum):
    """The point of GDPR art. 6(1) the processing rests on."""

    CONSENT = "a"
    CONTRACT = "b"
    LEGAL_OBLIGATION = "c"
    VITAL_INTERESTS = "d"
    PUBLIC_TASK = "e"
    LEGITIMATE_INTERESTS = "f"


class RegisterVersion(Base):
    """One immutable version of a tool's register facts (the AP checklist's answers)."""

    __tablename__ = "register_versions"
    __table_args__ = (
        UniqueConstraint("tool_id", "number", name="uq_register_versions_tool_number"),
        CheckConstraint("number > 0", name="number_positive"),
        CheckConstraint("retention_days > 0", name="retention_positive"),
        CheckConstraint(
            "dpia_next_review_on IS NULL OR dpia_on IS NULL OR dpia_next_review_on > dpia_on",
            name="dpia_review_after_dpia",
        ),
        CheckConstraint(
            "processor_agreement_expires_on IS NULL OR processor_agreement_on IS NULL"
            " OR processor_agreement_expires_on > processor_agreement_on",
            name="agreement_expiry_after_signing",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tool_id: Mapped[int] = mapped_column(ForeignKey("proctoring_tools.id"), index=True)
    number: Mapped[int] = mapped_column()

    # Purpose and necessity (fixed purpose: a new purpose is a new entry).
    purpose: Mapped[str] = mapped_column(Text, default="")
    necessity: Mapped[str] = mapped_column(Text, default="")
    alternatives_considered: Mapped[str] = mapped_column(Text, default="")
    necessity_reviewed_on: Mapped[date | None] = mapped_column(Date)
    intrusion_limits: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[LegalBasis | None] = mapped_column(str_enum(LegalBasis, "legal_basis"))
    legal_basis_explanation: Mapped[str] = mapped_column(Text, default="")
    in_use_since: Mapped[date | None] = mapped_column(Date)

    # What is processed, by whom, where and for how long (R11).
    data_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    vendor: Mapped[str] = mapped_column(String(200))
    vendor_email: Mapped[str | None] = mapped_column(String(254))
    sub_processors: Mapped[list[str]] = mapped_column(JSON, default=list)
    outside_eea: Mapped[bool] = mapped_column(default=False)
    transfer_safeguards: Mapped[str] = mapped_column(Text, default="")
    retention_days: Mapped[int] = mapped_column(default=90)
    recording_rules: Mapped[str] = mapped_column(Text, default="")

    # Accountability: DPIA, DPO advice, stakeholders, processor agreement, policy, notices.
    dpia_on: Mapped[date | None] = mapped_column(Date)
    dpia_outcome: Mapped[str] = mapped_column(Text, default="")
    dpia_next_review_on: Mapped[date | None] = mapped_column(Date)
    dpo_advice_on: Mapped[date | None] = mapped_column(Date)
    dpo_advice_summary: Mapped[str] = mapped_column(Text, default="")
    stakeholders_consulted: Mapped[str] = mapped_column(Text, default="")
    processor_agreement_on: Mapped[date | None] = mapped_column(Date)
    processor_agreement_expires_on: Mapped[date | None] = mapped_column(Date)
    policy_url: Mapped[str] = mapped_column(String(500), default="")
    privacy_notice: Mapped[str] = mapped_column(Text, default="")
    incident_procedure: Mapped[str] = mapped_column(Text, default="")

    change_note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    tool: Mapped[ProctoringTool] = relationship()
    created_by = relationship("User")


# The columns that hold facts (everything a user edits); used for snapshots, diffs and copies.
FACT_FIELDS: tuple[str, ...] = (
    "purpose",
    "necessity",
    "alternatives_considered",
    "necessity_reviewed_on",
    "intrusion_limits",
    "legal_basis",
    "legal_basis_explanation",
    "in_use_since",
    "data_categories",
    "vendor",
    "vendor_email",
    "sub_processors",
    "outside_eea",
    "transfer_safeguards",
    "retention_days",
    "recording_rules",
    "dpia_on",
    "dpia_outcome",
    "dpia_next_review_on",
    "dpo_advice_on",
    "dpo_advice_summary",
    "stakeholders_consulted",
    "processor_agreement_on",
    "processor_agreement_expires_on",
    "policy_url",
    "privacy_notice",
    "incident_procedure",
)


class ReminderKind(enum.StrEnum):
    """What a register reminder to the DPO is about."""

    DPIA_REVIEW = "dpia_review"
    AGREEMENT_EXPIRY = "agreement_expiry"
    NECESSITY_REVIEW = "necessity_review"


class RegisterReminder(Base):
    """A reminder to the DPO that has been handled; unique so it is sent exactly once."""

    __tablename__ = "register_reminders"
    __table_args__ = (
        UniqueConstraint("tool_id", "kind", "due_on", name="uq_register_reminders_tool_kind_due"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tool_id: Mapped[int] = mapped_column(ForeignKey("proctoring_tools.id"))
    kind: Mapped[ReminderKind] = mapped_column(str_enum(ReminderKind, "register_reminder_kind"))
    # The date the reminder is about (review date, expiry date, anniversary of use).
    due_on: Mapped[date] = mapped_column(Date)
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    tool: Mapped[ProctoringTool] = relationship()


class ExamToolOverride(Base):
    """The DPO's recorded decision that an exam may use a tool whose checklist is incomplete."""

    __tablename__ = "exam_tool_overrides"
    __table_args__ = (
        CheckConstraint("coalesce(length(trim(reason)), 0) > 0", name="reason_required"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    tool_id: Mapped[int] = mapped_column(ForeignKey("proctoring_tools.id"), index=True)
    register_version: Mapped[int] = mapped_column()
    # What the checklist lacked when the DPO decided, so the decision can be judged later.
    missing_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text)
    dpo_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    exam: Mapped[Exam] = relationship()
    tool: Mapped[ProctoringTool] = relationship()
    dpo = relationship("User", foreign_keys=[dpo_id])
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])

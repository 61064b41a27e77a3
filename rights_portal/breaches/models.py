"""The data-breach register (GDPR art. 33 and 34; R26 in docs/rules.md).

A breach is reported by any staff member and assessed by the DPO. The AP deadline is the moment
of discovery plus 72 calendar hours, stored next to it so the register and the reminder sweep can
read it through an index. The register keeps breaches that were not notified to the AP, and the
table itself refuses to close one without the reason (art. 33(5)): CHECK constraints tie every
state-dependent column to its state, as in :mod:`rights_portal.cases.models`.

This module owns the breach, its links to cases, its affected students and its sent reminders;
the rules that change them live in :mod:`rights_portal.breaches.services`.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..db_types import UTCDateTime, str_enum
from ..extensions import Base

#: Art. 33(1): notify the AP without undue delay and where feasible within 72 hours.
AP_DEADLINE = timedelta(hours=72)
#: Hours after discovery at which the DPO is reminded, each exactly once.
REMINDER_HOURS = (24, 48, 66)


class RiskLevel(enum.StrEnum):
    """The DPO's assessment of the risk to the people whose data is involved."""

    NO_RISK = "no_risk"  # unlikely to result in a risk: no AP notification (art. 33(1))
    RISK = "risk"  # notify the AP
    HIGH_RISK = "high_risk"  # notify the AP and inform the data subjects (art. 34)


class BreachStatus(enum.StrEnum):
    """Where a breach is in the register."""

    REPORTED = "reported"  # suspected, not yet assessed by the DPO
    ASSESSED = "assessed"
    CLOSED = "closed"


class Breach(Base):
    """One (suspected) personal-data breach in the register."""

    __tablename__ = "breaches"
    __table_args__ = (
        # Text columns are wrapped in coalesce(): a NULL inside OR would make the CHECK pass.
        CheckConstraint("coalesce(length(trim(description)), 0) > 0", name="description_not_empty"),
        CheckConstraint("ap_deadline > discovered_at", name="deadline_after_discovery"),
        CheckConstraint(
            "(risk IS NULL AND assessed_at IS NULL AND assessed_by_id IS NULL)"
            " OR (risk IS NOT NULL AND assessed_at IS NOT NULL AND assessed_by_id IS NOT NULL"
            " AND length(trim(coalesce(risk_assessment, ''))) > 0)",
            name="assessment_complete",
        ),
        CheckConstraint("status = 'reported' OR risk IS NOT NULL", name="assessed_has_risk"),
        CheckConstraint(
            "(ap_notified_at IS NULL AND ap_reference IS NULL)"
            " OR (ap_notified_at IS NOT NULL AND length(trim(coalesce(ap_reference, ''))) > 0)",
            name="ap_notification_has_reference",
        ),
        # Notified after the deadline: the reasons for the delay go with it (art. 33(1)).
        CheckConstraint(
            "ap_notified_at IS NULL OR ap_notified_at <= ap_deadline"
            " OR length(trim(coalesce(lateness_reason, ''))) > 0",
            name="late_notification_has_reason",
        ),
        # Art. 33(5): a breach closed without notifying the AP keeps its reason in the register.
        CheckConstraint(
            "status <> 'closed' OR ap_notified_at IS NOT NULL"
            " OR length(trim(coalesce(not_notified_reason, ''))) > 0",
            name="not_notified_has_reason",
        ),
        CheckConstraint(
            "(status = 'closed') = (closed_at IS NOT NULL AND closed_by_id IS NOT NULL)",
            name="closed_has_closer",
        ),
        CheckConstraint(
            "subjects_informed_at IS NULL OR length(trim(coalesce(subjects_notice_nl, ''))) > 0",
            name="informed_subjects_have_text",
        ),
        # Art. 34: a high risk means informing the people concerned, or recording why not.
        CheckConstraint(
            "status <> 'closed' OR coalesce(risk, '') <> 'high_risk'"
            " OR subjects_informed_at IS NOT NULL"
            " OR length(trim(coalesce(subjects_not_informed_reason, ''))) > 0",
            name="high_risk_subjects_informed_or_reason",
        ),
        # The reminder sweep reads unnotified open breaches by discovery time.
        Index(
            "ix_breaches_awaiting_ap",
            "discovered_at",
            postgresql_where=text("ap_notified_at IS NULL AND status <> 'closed'"),
            sqlite_where=text("ap_notified_at IS NULL AND status <> 'closed'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[BreachStatus] = mapped_column(
        str_enum(BreachStatus, "breach_status"), default=BreachStatus.REPORTED
    )
    description: Mapped[str] = mapped_column(Text)
    discovered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ap_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    data_categories: Mapped[str] = mapped_column(Text, default="")
    data_subjects: Mapped[str] = mapped_column(Text, default="")
    tool_id: Mapped[int | None] = mapped_column(ForeignKey("proctoring_tools.id"), index=True)
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    risk: Mapped[RiskLevel | None] = mapped_column(str_enum(RiskLevel, "breach_risk"))
    risk_assessment: Mapped[str | None] = mapped_column(Text)
    assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ap_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ap_reference: Mapped[str | None] = mapped_column(String(100))
    lateness_reason: Mapped[str | None] = mapped_column(Text)
    not_notified_reason: Mapped[str | None] = mapped_column(Text)

    # The plain-language notice to the people concerned, in Dutch and (optionally) English.
    subjects_notice_nl: Mapped[str | None] = mapped_column(Text)
    subjects_notice_en: Mapped[str | None] = mapped_column(Text)
    subjects_informed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    subjects_not_informed_reason: Mapped[str | None] = mapped_column(Text)
    remedial_actions: Mapped[str] = mapped_column(Text, default="")

    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    tool = relationship("ProctoringTool")
    reported_by = relationship("User", foreign_keys=[reported_by_id])
    assessed_by = relationship("User", foreign_keys=[assessed_by_id])
    closed_by = relationship("User", foreign_keys=[closed_by_id])

    @property
    def reference(self) -> str:
        """The register number shown to people, e.g. DL-00012 (datalek)."""
        return f"DL-{self.id:05d}"

    @property
    def ap_notified(self) -> bool:
        """Whether the AP has been notified."""
        return self.ap_notified_at is not None

    @property
    def notified_late(self) -> bool:
        """Whether the AP was notified after the 72-hour deadline."""
        return self.ap_notified_at is not None and self.ap_notified_at > self.ap_deadline

    def hours_left(self, now: datetime) -> float:
        """Hours until the AP deadline (negative once it has passed)."""
        return (self.ap_deadline - now).total_seconds() / 3600

    def __repr__(self) -> str:
        return f"<Breach {self.id} {self.status.value}>"


class BreachCase(Base):
    """A case the breach is linked to (e.g. the access request that revealed it)."""

    __tablename__ = "breach_cases"

    breach_id: Mapped[int] = mapped_column(ForeignKey("breaches.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    linked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    case = relationship("Case")


class BreachAffectedStudent(Base):
    """A student whose data is involved; ``notified_at`` is set once, when they were told."""

    __tablename__ = "breach_affected_students"

    breach_id: Mapped[int] = mapped_column(ForeignKey("breaches.id"), primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))

    student = relationship("User", foreign_keys=[student_id])


class BreachReminder(Base):
    """A reminder to the DPO at 24, 48 or 66 hours; unique so each is sent once (R26)."""

    __tablename__ = "breach_reminders"
    __table_args__ = (UniqueConstraint("breach_id", "hours", name="uq_breach_reminders_hours"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    breach_id: Mapped[int] = mapped_column(ForeignKey("breaches.id"))
    hours: Mapped[int] = mapped_column()
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))
    # A late sweep records every missed reminder but mails only the latest one (as R10).
    superseded: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

"""Exam boards, alternative exams (R17) and decisions awaiting a second member's sign-off.

An alternative exam belongs to the case that led to it; a date beyond the programme's no-delay
limit exists only with a recorded justification, which the DPO sees. A proposal is an exam-board
decision written by one member that a second member must sign before it takes effect.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..cases.models import Case, Outcome
from ..clock import now_utc
from ..db_types import UTCDateTime, str_enum
from ..extensions import Base

if TYPE_CHECKING:
    from ..exams.models import ExamBoardMember, Programme


class ExamBoard(Base):
    """An examencommissie; decides objections and alternatives for its programmes.

    Its members and programmes live in :mod:`rights_portal.exams.models`.
    """

    __tablename__ = "exam_boards"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    requires_second_signoff: Mapped[bool] = mapped_column(default=False)

    # The backrefs give ExamBoardMember.board and Programme.exam_board, so the exams domain
    # (lower than the board's) does not import this one.
    members: Mapped[list[ExamBoardMember]] = relationship(
        backref="board", cascade="all, delete-orphan"
    )
    programmes: Mapped[list[Programme]] = relationship(backref="exam_board")


class AlternativeForm(enum.StrEnum):
    """The kinds of alternative the board can choose (R17)."""

    ON_CAMPUS = "on_campus"
    ORAL = "oral"
    PAPER = "paper"
    TAKE_HOME = "take_home"


class AlternativeStatus(enum.StrEnum):
    """The student's answer to the offered alternative."""

    OFFERED = "offered"
    ACCEPTED = "accepted"
    OTHER_SLOT_REQUESTED = "other_slot_requested"


class AlternativeExam(Base):
    """The alternative the exam board assigned to a student for one exam."""

    __tablename__ = "alternative_exams"
    __table_args__ = (
        CheckConstraint(
            "NOT beyond_limit OR coalesce(length(trim(late_justification)), 0) > 0",
            name="late_needs_justification",
        ),
        CheckConstraint(
            "status <> 'other_slot_requested' OR coalesce(length(trim(response_reason)), 0) > 0",
            name="other_slot_needs_reason",
        ),
        # One live offer per case; superseded offers stay as history.
        Index(
            "uq_alternative_exams_current",
            "case_id",
            unique=True,
            postgresql_where=text("superseded_at IS NULL"),
            sqlite_where=text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    form: Mapped[AlternativeForm] = mapped_column(str_enum(AlternativeForm, "alternative_form"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(300), default="")
    instructions: Mapped[str] = mapped_column(Text, default="")
    working_days_after_exam: Mapped[int] = mapped_column()
    beyond_limit: Mapped[bool] = mapped_column(default=False)
    late_justification: Mapped[str | None] = mapped_column(Text)
    status: Mapped[AlternativeStatus] = mapped_column(
        str_enum(AlternativeStatus, "alternative_status"), default=AlternativeStatus.OFFERED
    )
    response_reason: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship()
    assigned_by = relationship("User")


class DecisionProposal(Base):
    """A board decision that waits for a second member's sign-off (board setting)."""

    __tablename__ = "decision_proposals"
    __table_args__ = (
        CheckConstraint(
            "signed_off_by_id IS NULL OR signed_off_by_id <> proposed_by_id",
            name="second_member_differs",
        ),
        Index(
            "uq_decision_proposals_open",
            "case_id",
            unique=True,
            postgresql_where=text("signed_off_at IS NULL AND withdrawn_at IS NULL"),
            sqlite_where=text("signed_off_at IS NULL AND withdrawn_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome, "proposal_outcome"))
    reasons: Mapped[str] = mapped_column(Text)
    compelling_grounds: Mapped[str | None] = mapped_column(Text)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    signed_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship()
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])
    signed_off_by = relationship("User", foreign_keys=[signed_off_by_id])

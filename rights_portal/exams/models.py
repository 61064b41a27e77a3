"""Programmes, board memberships, exams, enrolments, proctoring tools, recordings and flags.

A programme belongs to one exam board (:class:`rights_portal.examboard.models.ExamBoard`); an
objection or alternative-exam request about an exam is decided by the board of the exam's
programme (docs/rules.md#roles). Recordings keep their files'
size and sha256 so a deletion can be proven later (R25) and a package can be checked (R12).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..db_types import UTCDateTime, str_enum
from ..extensions import Base


class ExamBoardMember(Base):
    """Membership of a user (role exam_board) in a board."""

    __tablename__ = "exam_board_members"

    board_id: Mapped[int] = mapped_column(ForeignKey("exam_boards.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)

    # ``board``: the ExamBoard (a backref of ExamBoard.members, rights_portal.examboard.models).
    user = relationship("User")


class Programme(Base):
    """A study programme (opleiding) with the exam board responsible for it."""

    __tablename__ = "programmes"
    __table_args__ = (
        CheckConstraint("alternative_max_working_days >= 0", name="alternative_limit_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    exam_board_id: Mapped[int] = mapped_column(ForeignKey("exam_boards.id"))
    # R17: an alternative exam no later than this many working days after the original.
    alternative_max_working_days: Mapped[int] = mapped_column(default=10)

    # ``exam_board``: the ExamBoard (a backref of ExamBoard.programmes), declared with the board
    # so this module need not import the board's package.


class ToolKind(enum.StrEnum):
    """The two kinds of tool the AP's recommendations have a checklist for."""

    PROCTORING = "proctoring"
    VIDEO_CALL = "video_call"


class ProctoringTool(Base):
    """A proctoring or video-call tool with the facts letters and notices draw on (R11).

    The facts are owned by the tool's register entry (:mod:`rights_portal.register`), which keeps
    them in versions; the fact columns here are a copy of the current version, kept in sync by the
    register's services so readers such as the recordings' retention date (R25) stay simple.
    """

    __tablename__ = "proctoring_tools"
    __table_args__ = (CheckConstraint("retention_days > 0", name="retention_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[ToolKind] = mapped_column(
        str_enum(ToolKind, "tool_kind"), default=ToolKind.PROCTORING, server_default="proctoring"
    )
    vendor: Mapped[str] = mapped_column(String(200))
    vendor_email: Mapped[str | None] = mapped_column(String(254))
    purpose: Mapped[str] = mapped_column(Text, default="")
    data_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    retention_days: Mapped[int] = mapped_column(default=90)
    outside_eea: Mapped[bool] = mapped_column(default=False)
    transfer_safeguards: Mapped[str | None] = mapped_column(Text)


class Exam(Base):
    """One exam moment of a course."""

    __tablename__ = "exams"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_code: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    proctoring_tool_id: Mapped[int | None] = mapped_column(ForeignKey("proctoring_tools.id"))
    # The student-information system no longer lists this exam (its OOAPI offering went away):
    # it is marked, never deleted, so cases and recordings about it keep their exam.
    removed_in_source_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    programme: Mapped[Programme] = relationship()
    proctoring_tool: Mapped[ProctoringTool | None] = relationship()

    @property
    def label(self) -> str:
        """Course code and title, as shown in lists."""
        return self.label_of(self.course_code, self.title)

    @staticmethod
    def label_of(course_code: str, title: str) -> str:
        """An exam's label from its columns, for pages that read rows rather than objects."""
        return f"{course_code} {title}"


class ExamEnrolment(Base):
    """A student's enrolment for an exam, as the student-information system reports it.

    ``state`` is the OOAPI association state (``associated``, ``pending``, ``queued``,
    ``canceled``, ``denied``). An enrolment the source no longer lists is marked
    (``removed_in_source_at``), never deleted.
    """

    __tablename__ = "exam_enrolments"
    __table_args__ = (UniqueConstraint("exam_id", "student_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    # The OOAPI associationId, so a later sync finds the same enrolment.
    external_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    removed_in_source_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    exam: Mapped[Exam] = relationship()
    student = relationship("User")


class Recording(Base):
    """What a proctoring session recorded of one student at one exam."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retention_until: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    exam: Mapped[Exam] = relationship()
    student = relationship("User")
    files: Mapped[list[RecordingFile]] = relationship(
        back_populates="recording", cascade="all, delete-orphan"
    )
    flags: Mapped[list[AutomatedFlag]] = relationship(
        back_populates="recording", cascade="all, delete-orphan"
    )


class FileKind(enum.StrEnum):
    """What a recording file holds."""

    VIDEO = "video"
    AUDIO = "audio"
    SCREENSHOT = "screenshot"
    LOG = "log"


class RecordingFile(Base):
    """One stored file of a recording; size and sha256 are kept even after deletion (R25)."""

    __tablename__ = "recording_files"
    __table_args__ = (
        CheckConstraint("size_bytes >= 0", name="size_not_negative"),
        CheckConstraint("length(sha256) = 64", name="sha256_hex"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    kind: Mapped[FileKind] = mapped_column(str_enum(FileKind, "file_kind"))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str | None] = mapped_column(String(500))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    recording: Mapped[Recording] = relationship(back_populates="files")


class FlagReviewStatus(enum.StrEnum):
    """R18: no flag reaches a fraud finding without a named human review."""

    UNREVIEWED = "unreviewed"
    NO_IRREGULARITY = "no_irregularity"
    IRREGULARITY_SUSPECTED = "irregularity_suspected"


class AutomatedFlag(Base):
    """A suspicion raised by the vendor's automated review of a recording.

    R18: a flag leaves "unreviewed" only with a named reviewer, a time and written reasons; the
    CHECK constraint makes a fraud suspicion without that review impossible.
    """

    __tablename__ = "automated_flags"
    __table_args__ = (
        CheckConstraint(
            "(review_status = 'unreviewed' AND reviewed_by_id IS NULL AND reviewed_at IS NULL)"
            " OR (review_status <> 'unreviewed' AND reviewed_by_id IS NOT NULL"
            " AND reviewed_at IS NOT NULL AND coalesce(length(trim(review_reasons)), 0) > 0)",
            name="review_is_named_and_reasoned",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    offset_seconds: Mapped[int | None] = mapped_column()
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    review_status: Mapped[FlagReviewStatus] = mapped_column(
        str_enum(FlagReviewStatus, "flag_review_status"), default=FlagReviewStatus.UNREVIEWED
    )
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_reasons: Mapped[str | None] = mapped_column(Text)

    recording: Mapped[Recording] = relationship(back_populates="flags")
    reviewed_by = relationship("User", foreign_keys=[reviewed_by_id])


class RecordingRestriction(Base):
    """R16/art. 18: while a case restricts a recording, staff open it only to decide that case."""

    __tablename__ = "recording_restrictions"
    __table_args__ = (
        Index(
            "uq_recording_restrictions_active",
            "recording_id",
            "case_id",
            unique=True,
            postgresql_where=text("lifted_at IS NULL"),
            sqlite_where=text("lifted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    recording: Mapped[Recording] = relationship()

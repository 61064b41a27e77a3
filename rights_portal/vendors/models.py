"""Connectors, the exams they cover, what they listed, and requests to vendors without an API.

A connector's credentials are one Fernet token (:mod:`.secrets`); nothing else in these tables is
secret. A vendor item is one file a connector listed for a student's exam: its vendor id is unique
per connector, so listing twice never lists twice, and it points at the stored
:class:`~rights_portal.exams.models.RecordingFile` once fetched (never stored twice).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..db_types import UTCDateTime, str_enum
from ..exams.models import Exam, FileKind, ProctoringTool, RecordingFile
from ..extensions import Base


class ConnectorKind(enum.StrEnum):
    """How the portal reaches a vendor's recordings."""

    ZOOM = "zoom"
    PROCTOREXAM = "proctorexam"
    ON_REQUEST = "on_request"


class ItemState(enum.StrEnum):
    """Where a listed file stands: listed, stored, or the last fetch failed."""

    LISTED = "listed"
    FETCHED = "fetched"
    FAILED = "failed"


class VendorConnector(Base):
    """One configured vendor: its kind, its tool in the register (retention), where and how."""

    __tablename__ = "vendor_connectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[ConnectorKind] = mapped_column(str_enum(ConnectorKind, "connector_kind"))
    tool_id: Mapped[int] = mapped_column(ForeignKey("proctoring_tools.id"), index=True)
    #: The API's base address (Zoom: https://api.zoom.us/v2; ProctorExam: https://<sub>.proctorexam.com/api/v3).
    base_url: Mapped[str] = mapped_column(String(500), default="")
    #: Zoom's OAuth token endpoint (https://zoom.us/oauth/token); empty for the others.
    token_url: Mapped[str] = mapped_column(String(500), default="")
    #: Fernet token of the credentials' JSON (:mod:`.secrets`); empty for on-request vendors.
    credentials: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    tool: Mapped[ProctoringTool] = relationship()
    links: Mapped[list[VendorLink]] = relationship(
        back_populates="connector", cascade="all, delete-orphan", order_by="VendorLink.id"
    )


class VendorLink(Base):
    """Which vendor object holds an exam: a Zoom meeting (of one student) or a ProctorExam exam."""

    __tablename__ = "vendor_links"
    __table_args__ = (UniqueConstraint("connector_id", "vendor_ref", "exam_id", "student_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connector_id: Mapped[int] = mapped_column(
        ForeignKey("vendor_connectors.id", ondelete="CASCADE"), index=True
    )
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    vendor_ref: Mapped[str] = mapped_column(String(200))
    #: A Zoom meeting is one student's (an oral or video-call exam); a ProctorExam exam has many.
    student_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    connector: Mapped[VendorConnector] = relationship(back_populates="links")
    exam: Mapped[Exam] = relationship()
    student = relationship("User")


class VendorItem(Base):
    """One file a connector listed for a student's exam, and whether it has been stored."""

    __tablename__ = "vendor_items"
    __table_args__ = (
        UniqueConstraint("connector_id", "vendor_file_id"),
        CheckConstraint(
            "state <> 'fetched' OR recording_file_id IS NOT NULL", name="fetched_has_file"
        ),
        Index("ix_vendor_items_student_connector", "student_id", "connector_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connector_id: Mapped[int] = mapped_column(
        ForeignKey("vendor_connectors.id", ondelete="CASCADE"), index=True
    )
    vendor_file_id: Mapped[str] = mapped_column(String(200))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[FileKind] = mapped_column(str_enum(FileKind, "file_kind"))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    #: As the vendor listed them; checked against what arrives.
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    download_url: Mapped[str] = mapped_column(Text)
    state: Mapped[ItemState] = mapped_column(
        str_enum(ItemState, "vendor_item_state"), default=ItemState.LISTED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    listed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recording_file_id: Mapped[int | None] = mapped_column(ForeignKey("recording_files.id"))

    connector: Mapped[VendorConnector] = relationship()
    exam: Mapped[Exam] = relationship()
    recording_file: Mapped[RecordingFile | None] = relationship()


class VendorRequest(Base):
    """A request to a vendor without an API for one access case's files, with its own due date."""

    __tablename__ = "vendor_requests"
    __table_args__ = (UniqueConstraint("connector_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connector_id: Mapped[int] = mapped_column(
        ForeignKey("vendor_connectors.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    files_received: Mapped[int] = mapped_column(default=0)

    connector: Mapped[VendorConnector] = relationship()


class VendorCaseCheck(Base):
    """The last time a connector was asked for an access case's files, and what came of it (R11)."""

    __tablename__ = "vendor_case_checks"
    __table_args__ = (UniqueConstraint("connector_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connector_id: Mapped[int] = mapped_column(
        ForeignKey("vendor_connectors.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    listed: Mapped[int] = mapped_column(default=0)
    fetched: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)

"""Vendors without an API (Respondus, Proctorio, …): a tracked request with its own due date.

The handler sends the vendor a request for an access case's files: an e-mail to the vendor's
address in the register, a due date ``VENDOR_REQUEST_WORKING_DAYS`` working days ahead on the
project's Dutch calendar (:mod:`rights_portal.cases.deadlines`), well inside the case's own month.
``VENDOR_REQUEST_REMINDER_WORKING_DAYS`` before that date (or at once, for a late sweep) the
vendor and the case's handler get one reminder: the sweep claims the request with an UPDATE that
only one run can win, so two schedulers or a retried task remind once. When the files arrive the
handler uploads them on the case; they are stored like a connector's (size and sha256 computed,
a file the student's recordings already hold is not stored twice, retention from the register).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import BinaryIO

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from ..access.cleanup import delete_after_rollback
from ..access.holdings import required
from ..access.storage import recordings_storage
from ..accounts.directory import active_users_with_role
from ..accounts.models import Role, User
from ..audit.services import record
from ..cases.deadlines import add_working_days
from ..cases.models import Case
from ..clock import now_utc, today_local
from ..errors import RuleViolation
from ..exams.models import Exam, FileKind, Recording, RecordingFile
from ..extensions import db
from ..notifications.services import notify_addresses, notify_user
from ..register import facts as register_facts
from .fetch import retention_until
from .models import ConnectorKind, VendorConnector, VendorRequest


def open_request(connector: VendorConnector, case: Case) -> VendorRequest | None:
    """The request sent to this vendor for this case, if any."""
    return db.session.scalars(
        select(VendorRequest).where(
            VendorRequest.connector_id == connector.id, VendorRequest.case_id == case.id
        )
    ).one_or_none()


def _vendor_email(connector: VendorConnector) -> str | None:
    try:
        return (
            register_facts.current_facts(connector.tool_id).vendor_email
            or connector.tool.vendor_email
        )
    except LookupError:
        return connector.tool.vendor_email


def request_files(
    connector: VendorConnector,
    case: Case,
    exams: list[Exam],
    *,
    actor: User,
    today: date | None = None,
) -> VendorRequest:
    """E-mail the vendor for the case's files and track the request with its due date."""
    if connector.kind is not ConnectorKind.ON_REQUEST:
        raise RuleViolation(_l("This vendor is reached through its API."))
    if open_request(connector, case) is not None:
        raise RuleViolation(_l("The vendor has been asked already."))
    address = _vendor_email(connector)
    if not address:
        raise RuleViolation(_l("The register has no e-mail address for this vendor."))
    today = today or today_local()
    due_on = add_working_days(today, int(current_app.config["VENDOR_REQUEST_WORKING_DAYS"]))
    vendor_request = VendorRequest(
        connector_id=connector.id, case_id=case.id, requested_by_id=actor.id, due_on=due_on
    )
    db.session.add(vendor_request)
    db.session.flush()
    notify_addresses(
        [address],
        "en",
        "vendor_files_request",
        case=case,
        tool=connector.tool,
        student=case.subject,
        exams=exams,
        due_on=due_on,
    )
    record(
        "vendors.request_sent",
        actor=actor,
        object_type="vendor_request",
        object_id=vendor_request.id,
        case_id=case.id,
        after={"connector": connector.name, "to": address, "due_on": due_on.isoformat()},
    )
    return vendor_request


def remind_due(today: date | None = None) -> list[int]:
    """Remind the vendor and the handler of each open request whose reminder day has come."""
    today = today or today_local()
    ahead = int(current_app.config["VENDOR_REQUEST_REMINDER_WORKING_DAYS"])
    # Due on or before the working day ``ahead`` days from today (a late sweep catches up).
    horizon = add_working_days(today, ahead)
    candidates = db.session.scalars(
        select(VendorRequest.id).where(
            VendorRequest.received_at.is_(None),
            VendorRequest.reminded_at.is_(None),
            VendorRequest.due_on <= horizon,
        )
    ).all()
    reminded: list[int] = []
    for request_id in candidates:
        claimed = db.session.execute(
            update(VendorRequest)
            .where(VendorRequest.id == request_id, VendorRequest.reminded_at.is_(None))
            .values(reminded_at=now_utc())
            .returning(VendorRequest.id)
        ).first()
        if claimed is None:  # another run reminded it
            continue
        vendor_request = required(db.session.get(VendorRequest, request_id), "vendor request")
        db.session.refresh(vendor_request)
        _send_reminder(vendor_request)
        reminded.append(request_id)
    return reminded


def _send_reminder(vendor_request: VendorRequest) -> None:
    connector = vendor_request.connector
    case = required(db.session.get(Case, vendor_request.case_id), "case")
    address = _vendor_email(connector)
    if address:
        notify_addresses(
            [address],
            "en",
            "vendor_files_reminder",
            case=case,
            tool=connector.tool,
            student=case.subject,
            due_on=vendor_request.due_on,
        )
    handlers = (
        [case.assignee] if case.assignee is not None else active_users_with_role(Role.CASE_HANDLER)
    )
    for handler in handlers:
        notify_user(
            handler,
            "vendor_request_due",
            case=case,
            tool=connector.tool,
            due_on=vendor_request.due_on,
        )
    record(
        "vendors.request_reminded",
        actor=None,
        object_type="vendor_request",
        object_id=vendor_request.id,
        case_id=case.id,
        after={"connector": connector.name, "due_on": vendor_request.due_on.isoformat()},
    )


def receive_file(
    vendor_request: VendorRequest,
    *,
    exam: Exam,
    kind: FileKind,
    stream: BinaryIO,
    filename: str,
    media_type: str,
    recorded_at: datetime,
    actor: User,
) -> RecordingFile | None:
    """Store a file the vendor sent for the case; None when the student's recordings hold it."""
    case = required(db.session.get(Case, vendor_request.case_id), "case")
    store = recordings_storage()
    stored = store.put(stream)
    if stored.size == 0:
        store.delete(stored.key)
        raise RuleViolation(_l("The file is empty."))
    held = db.session.scalars(
        select(RecordingFile)
        .join(Recording)
        .where(
            Recording.student_id == case.subject_id,
            RecordingFile.sha256 == stored.sha256,
            RecordingFile.deleted_at.is_(None),
        )
    ).first()
    vendor_request.received_at = vendor_request.received_at or now_utc()
    if held is not None:
        store.delete(stored.key)
        file = None
    else:
        delete_after_rollback(store, stored.key)
        recording = db.session.scalars(
            select(Recording).where(
                Recording.student_id == case.subject_id,
                Recording.exam_id == exam.id,
                Recording.recorded_at == recorded_at,
            )
        ).first()
        if recording is None:
            recording = Recording(
                student_id=case.subject_id,
                exam_id=exam.id,
                recorded_at=recorded_at,
                retention_until=retention_until(vendor_request.connector, exam),
            )
            db.session.add(recording)
        file = RecordingFile(
            kind=kind,
            filename=filename[:255],
            media_type=media_type[:100],
            size_bytes=stored.size,
            sha256=stored.sha256,
            storage_key=stored.key,
        )
        recording.files.append(file)
        vendor_request.files_received += 1
    db.session.flush()
    record(
        "vendors.request_file_received",
        actor=actor,
        object_type="vendor_request",
        object_id=vendor_request.id,
        case_id=case.id,
        after={
            "connector": vendor_request.connector.name,
            "exam_id": exam.id,
            "recording_file_id": file.id if file else None,
            "sha256": stored.sha256,
            "bytes": stored.size,
            "stored": file is not None,
        },
    )
    return file

"""Register a request that reached the institution by letter, e-mail, phone or at a desk (R1).

:func:`register_request` is the one operation: it finds the student by student number and date
of birth, files the case with its channel and original receipt date (so the clock runs from
then, R1-R3), flags a case that is overdue already on entry, stores the letter or e-mail on the
case, writes the audit event that shows who entered it when next to the receipt date, and sends
the acknowledgement by e-mail or leaves it as a PDF letter for post. It flushes; the caller
commits. Who may register is :func:`rights_portal.permissions.can_register_requests`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import BinaryIO

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..access import filing as access_filing
from ..access.blobs import Storage
from ..access.importer import DEFAULT_RETENTION_DAYS
from ..access.importer import retention_until as recording_retention_until
from ..access.storage import recordings_storage
from ..accounts.guardianship import is_minor_on
from ..accounts.models import Role, User
from ..audit.services import record_case_event
from ..cases import services as case_services
from ..cases.deadlines import AMSTERDAM
from ..cases.models import OPEN_STATUSES, Case, CaseType, Channel
from ..clock import now_utc, today_local
from ..errors import RuleViolation
from ..exams.models import AutomatedFlag, Exam
from ..extensions import db
from ..retention.erasure import recordings_to_choose
from ..retention.models import ErasureItem
from . import letters
from .documents import ACCEPTED, sniff
from .models import AcknowledgeBy, CaseIntake, ExternalRequester
from .requesters import ExternalDetails, checked_external, stand_in

#: The channels a request can reach the institution by outside the portal (R1).
OUTSIDE_CHANNELS = (Channel.LETTER, Channel.EMAIL, Channel.PHONE, Channel.DESK)
#: The request types staff can register from outside the portal: every type a requester can file
#: in the portal. An erasure request by letter covers the student's recordings still stored (the
#: decision may grant it in part); a human review names the automated flag it is about (R18).
INTAKE_TYPES = (
    CaseType.ACCESS,
    CaseType.OBJECTION,
    CaseType.ALTERNATIVE_EXAM,
    CaseType.ERASURE,
    CaseType.HUMAN_REVIEW,
)


@dataclass(frozen=True)
class Upload:
    """The letter or e-mail as uploaded: its stream and the name it came with."""

    stream: BinaryIO
    filename: str


def needs_flag(case_type: CaseType) -> bool:
    """Whether a request of this type is about one automated flag (human review, R18)."""
    return case_type is CaseType.HUMAN_REVIEW


def find_student(student_number: str, date_of_birth: date | None) -> User | None:
    """The student with this student number and date of birth (both must match)."""
    if not student_number.strip() or date_of_birth is None:
        return None
    return db.session.scalars(
        select(User).where(
            User.role == Role.STUDENT,
            User.student_number == student_number.strip(),
            User.date_of_birth == date_of_birth,
        )
    ).one_or_none()


def _received_at(received_on: date) -> datetime:
    # Only the date is known; midday in Amsterdam is that date whatever the time zone rules.
    return datetime.combine(received_on, time(12, 0), tzinfo=AMSTERDAM)


def _checked_upload(upload: Upload) -> tuple[str, int]:
    """The content type and size of an acceptable upload; refuse anything else."""
    limit = current_app.config["INTAKE_DOCUMENT_MAX_BYTES"]
    stream = upload.stream
    start = stream.tell()
    stream.seek(0, 2)
    size = stream.tell() - start
    stream.seek(start)
    if size == 0:
        raise RuleViolation(_l("The uploaded file is empty."))
    if size > limit:
        raise RuleViolation(
            _l("The file is larger than %(mb)s MB.", mb=max(limit // (1024 * 1024), 1))
        )
    content_type = sniff(stream)
    if content_type is None:
        raise RuleViolation(
            _l("Upload the letter as PDF or image (PNG, JPEG, TIFF), or the e-mail as .eml file.")
        )
    return content_type, size


def register_request(
    *,
    actor: User,
    channel: Channel,
    received_on: date,
    case_type: CaseType,
    description: str,
    student: User,
    document: Upload | None,
    acknowledge_by: AcknowledgeBy,
    postal_address: str = "",
    exam: Exam | None = None,
    flag: AutomatedFlag | None = None,
    external: ExternalDetails | None = None,
    today: date | None = None,
) -> CaseIntake:
    """Register a request received outside the portal, with its original receipt date (R1).

    The receipt date may lie in the past but not in the future; a case whose due date has passed
    already is accepted, flagged ``overdue_on_entry`` and marked urgent. ``student`` is whom the
    request is about; with ``external`` it comes from someone without an account (the student
    themselves, e.g. a former student, or the legal representative of a child under 16, R20),
    who files through a stand-in and is answered by e-mail or by letter
    (:mod:`rights_portal.intake.letters`).
    """
    today = today or today_local()
    postal_address = postal_address.strip()
    if channel not in OUTSIDE_CHANNELS:
        raise RuleViolation(_l("Choose how the request reached us."))
    if case_type not in INTAKE_TYPES:
        raise RuleViolation(_l("This kind of request cannot be registered here."))
    if received_on > today:
        raise RuleViolation(_l("The date of receipt cannot be in the future."))
    minor = is_minor_on(student.date_of_birth, received_on)
    if external is None and minor:
        # R20: under 16 the legal representative acts: as a requester without an account here,
        # or through a verified guardian link in the portal.
        raise RuleViolation(
            _l(
                "This student was under 16 on the day of receipt: the parent or guardian files "
                "the request. Register it as a request from someone without an account."
            )
        )
    if external is not None:
        external = checked_external(external, minor=minor, acknowledge_by=acknowledge_by)
    if case_type is CaseType.HUMAN_REVIEW and (
        flag is None or flag.recording.student_id != student.id
    ):
        raise RuleViolation(_l("Choose the automated flag of this student the review is about."))
    erasable = recordings_to_choose(student) if case_type is CaseType.ERASURE else []
    if case_type is CaseType.ERASURE and not erasable:
        raise RuleViolation(_l("This student has no stored recordings that could be erased."))
    if acknowledge_by is AcknowledgeBy.POST and not postal_address:
        raise RuleViolation(_l("Give the postal address the letter goes to."))
    if document is None and channel in (Channel.LETTER, Channel.EMAIL):
        raise RuleViolation(_l("Upload the letter or e-mail."))
    content_type, size = _checked_upload(document) if document is not None else (None, None)

    received_at = _received_at(received_on)
    filer = student if external is None else stand_in(external)
    # The acknowledgement is sent below, once the intake is recorded.
    case: Case
    if case_type is CaseType.ACCESS:
        case = access_filing.file_access_request(
            subject=student,
            filed_by=filer,
            description=description,
            all_data=True,
            received_at=received_at,
            channel=channel,
            actor=actor,
            acknowledge=False,
        )
    else:
        case = case_services.file_case(
            case_type=case_type,
            subject=student,
            filed_by=filer,
            description=description,
            exam=flag.recording.exam if flag is not None else exam,
            received_at=received_at,
            channel=channel,
            flag_id=flag.id if flag is not None else None,
            actor=actor,
            acknowledge=False,
        )
    if case_type is CaseType.ERASURE:
        # As retention.services.file_erasure_request does for the portal's form (R25).
        for recording in erasable:
            db.session.add(ErasureItem(case_id=case.id, recording_id=recording.id))
        db.session.flush()
        record_case_event(
            "erasure.requested",
            case,
            actor=actor,
            after={"recording_ids": [r.id for r in erasable]},
        )
    overdue = case.effective_due < today
    if overdue:
        case.urgent = True

    stored = recordings_storage().put(document.stream) if document is not None else None
    intake = CaseIntake(
        case_id=case.id,
        entered_by_id=actor.id,
        overdue_on_entry=overdue,
        acknowledge_by=acknowledge_by,
        postal_address=postal_address or None,
        document_key=stored.key if stored else None,
        document_sha256=stored.sha256 if stored else None,
        document_size=stored.size if stored else None,
        document_filename=(document.filename or "document")[:255] if document else None,
        document_type=content_type,
        retention_until=document_retention_until(case),
    )
    db.session.add(intake)
    db.session.flush()
    record_case_event(
        "case.registered",
        case,
        actor=actor,
        after={
            "channel": channel,
            "received_on": case.received_on,
            "entered_at": intake.entered_at,
            "entered_by_id": actor.id,
            "overdue_on_entry": overdue,
            "acknowledge_by": acknowledge_by,
            "document": (
                {"sha256": stored.sha256, "size": size, "type": content_type} if stored else None
            ),
        },
    )
    if external is not None:
        requester = ExternalRequester(
            intake_id=intake.id,
            case_id=case.id,
            stand_in_id=filer.id,
            full_name=external.full_name,
            email=external.email or None,
            relation=external.relation,
            locale=external.locale,
        )
        db.session.add(requester)
        db.session.flush()
        record_case_event(
            "intake.external_requester",
            case,
            actor=actor,
            after={
                "requester_id": requester.id,
                "full_name": requester.full_name,
                "relation": requester.relation,
                "answered_by": acknowledge_by,
                "has_email": requester.email is not None,
            },
        )
        # By e-mail at once; by post a letter to print from the case page (the handler who
        # entered it is there, so nobody needs telling).
        letters.send_letter(
            requester,
            "case_received",
            {"case": case, "overdue_on_entry": overdue},
            tell_staff=False,
        )
    elif acknowledge_by is AcknowledgeBy.EMAIL:
        from ..notifications.services import notify_user

        notify_user(student, "case_received", case=case, overdue_on_entry=overdue)
    return intake


def document_retention_until(case: Case) -> date:
    """R25: the document is kept like the recordings: those of the case's exam, or 90 days."""
    if case.exam is not None:
        return max(recording_retention_until(case.exam), case.received_on)
    return case.received_on + timedelta(days=DEFAULT_RETENTION_DAYS)


def documents_to_purge(today: date) -> list[CaseIntake]:
    """Documents past their retention date whose case is closed (an open case holds them)."""
    return list(
        db.session.scalars(
            select(CaseIntake)
            .join(Case, Case.id == CaseIntake.case_id)
            .where(
                CaseIntake.retention_until < today,
                CaseIntake.document_key.is_not(None),
                CaseIntake.document_deleted_at.is_(None),
                Case.status.not_in(OPEN_STATUSES),
            )
            .order_by(CaseIntake.id)
        )
    )


def purge_due_documents(today: date, store: Storage) -> list[int]:
    """The retention purge's part for intake (R1, R25): delete due documents, one commit each."""
    from ..transactions import commit

    purged = []
    for intake in documents_to_purge(today):
        purge_document(intake, store=store)
        commit()
        purged.append(intake.id)
    return purged


def purge_document(intake: CaseIntake, *, store: Storage) -> None:
    """Delete the document from storage, then record that it existed and was deleted (R25).

    Deleting first is safe to repeat: a run that dies in between finds the document again,
    its file already gone (``delete`` is then a no-op), and only records it. The caller commits.
    """
    assert intake.document_key is not None  # noqa: S101 (documents_to_purge selects these)
    store.delete(intake.document_key)
    intake.document_deleted_at = now_utc()
    db.session.flush()
    record_case_event(
        "intake.document_deleted",
        intake.case,
        actor=None,
        after={
            "intake_id": intake.id,
            "sha256": intake.document_sha256,
            "size": intake.document_size,
            "type": intake.document_type,
            "retention_until": intake.retention_until,
            "rule": "retention",
        },
    )


def intake_for(case: Case) -> CaseIntake | None:
    """The registration of ``case`` if it was received outside the portal."""
    return db.session.scalars(select(CaseIntake).where(CaseIntake.case_id == case.id)).one_or_none()


def acknowledgement_html(intake: CaseIntake) -> str:
    """The acknowledgement letter for post, as HTML, in the requester's language."""
    case = intake.case
    recipient = case.filed_by
    with force_locale(recipient.locale):
        return render_template(
            "intake/acknowledgement.html",
            case=case,
            intake=intake,
            recipient=recipient,
            today=today_local(),
            institution=current_app.config["INSTITUTION_NAME"],
            portal_url=current_app.config["PORTAL_BASE_URL"],
            locale=recipient.locale,
        )


def acknowledgement_pdf(intake: CaseIntake) -> bytes:
    """The acknowledgement letter as PDF, for post."""
    from ..access.letter import render_pdf

    return render_pdf(acknowledgement_html(intake))


def document_extension(intake: CaseIntake) -> str:
    """The file extension that matches the stored document's checked type."""
    return ACCEPTED.get(intake.document_type or "", "bin")


__all__ = [
    "INTAKE_TYPES",
    "OUTSIDE_CHANNELS",
    "Upload",
    "acknowledgement_html",
    "acknowledgement_pdf",
    "document_extension",
    "find_student",
    "intake_for",
    "register_request",
]

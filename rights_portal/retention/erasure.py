"""Erasure (art. 17) and the vendors' notice (art. 19): a decision that deletes recordings (R25).

Filing chooses the recordings; a granted erasure request or an upheld objection writes the
deletion intents with the decision (:func:`erase_after_decision`) and tells each vendor once.
The decision's caller queues :data:`DELETE_DECIDED_FILES_TASK` through the task outbox
(``transactions.queue_task(DELETE_DECIDED_FILES_TASK, case.id)``); after the commit the task
carries the intents out (:func:`rights_portal.retention.runner.delete_decided_files`), and the
daily purge completes any it missed. These functions flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..access.blobs import Storage
from ..accounts.models import User
from ..audit.services import record, record_case_event
from ..cases.models import Case, CaseType, Outcome
from ..clock import now_utc
from ..dbutil import insert_ignoring_conflicts
from ..errors import RuleViolation
from ..exams.models import ProctoringTool, Recording, RecordingFile
from ..extensions import db
from ..notifications.services import notify_addresses
from .holds import Hold, holds_for
from .intents import undeleted_files, write_intent
from .models import DeletionRecord, DeletionRule, ErasureItem, VendorNotice

VENDOR_LOCALE = "en"  # suppliers are addressed in English; students read Dutch by default
#: The task that carries out a decision's deletion intents once the decision has committed.
DELETE_DECIDED_FILES_TASK = "rights_portal.delete_decided_files"


def erasure_items(case: Case) -> list[Recording]:
    """The recordings an erasure request asks to delete."""
    return list(
        db.session.scalars(
            select(Recording)
            .join(ErasureItem, ErasureItem.recording_id == Recording.id)
            .where(ErasureItem.case_id == case.id)
            .order_by(Recording.recorded_at, Recording.id)
        )
    )


def recordings_to_choose(student: User) -> list[Recording]:
    """The student's recordings that still have a stored file, for the erasure form."""
    alive = select(RecordingFile.recording_id).where(RecordingFile.deleted_at.is_(None))
    return list(
        db.session.scalars(
            select(Recording)
            .where(Recording.student_id == student.id, Recording.id.in_(alive))
            .order_by(Recording.recorded_at.desc(), Recording.id)
        )
    )


def file_erasure_request(
    *, subject: User, filed_by: User, description: str, recordings: list[Recording]
) -> Case:
    """File an erasure request (art. 17) for chosen recordings of the student."""
    from ..cases import services as case_services

    if not recordings:
        raise RuleViolation(_l("Choose at least one recording."))
    if any(r.student_id != subject.id for r in recordings):
        raise RuleViolation(_l("Choose recordings of your own exams."))
    case = case_services.file_case(
        case_type=CaseType.ERASURE, subject=subject, filed_by=filed_by, description=description
    )
    for recording in recordings:
        db.session.add(ErasureItem(case_id=case.id, recording_id=recording.id))
    db.session.flush()
    record_case_event(
        "erasure.requested",
        case,
        actor=filed_by,
        after={"recording_ids": [r.id for r in recordings]},
    )
    return case


@dataclass
class ErasureResult:
    """What a decision's erasure scheduled and what stayed held."""

    intents: list[DeletionRecord] = field(default_factory=list)
    held: dict[int, list[Hold]] = field(default_factory=dict)


def decide_erasure(
    case: Case,
    *,
    actor: User,
    outcome: Outcome,
    reasons: str,
    manifestly_unfounded_justification: str | None = None,
    store: Storage | None = None,
) -> Case:
    """Decide an erasure request; granting it schedules the deletion and tells the vendors."""
    from ..access.storage import recordings_storage
    from ..cases import services as case_services

    case_services.decide(
        case,
        actor=actor,
        outcome=outcome,
        reasons=reasons,
        manifestly_unfounded_justification=manifestly_unfounded_justification,
    )
    erase_after_decision(case, actor=actor, store=store or recordings_storage())
    return case


def erase_after_decision(case: Case, *, actor: User, store: Storage) -> ErasureResult | None:
    """After a granted erasure request or upheld objection: schedule deleting the files (R25).

    Writes the deletion intents (carried out after the decision commits), tells each vendor once
    (art. 19) and records both. A recording another hold keeps (an open case, a fraud procedure,
    a legal hold) is not deleted; it is listed on the trail with the reason. None if the decision
    erases nothing (a rejection, or a case type that does not erase).
    """
    if case.outcome not in (Outcome.GRANTED, Outcome.PARTLY_GRANTED):
        return None
    if case.case_type is CaseType.ERASURE:
        rule = DeletionRule.ERASURE
        recordings = erasure_items(case)
    elif case.case_type is CaseType.OBJECTION and case.exam_id is not None:
        rule = DeletionRule.OBJECTION
        recordings = list(
            db.session.scalars(
                select(Recording)
                .where(Recording.student_id == case.subject_id, Recording.exam_id == case.exam_id)
                .order_by(Recording.id)
            )
        )
    else:
        return None
    holds = holds_for(recordings, ignore_case_id=case.id)
    result = ErasureResult(held={rid: h for rid, h in holds.items() if h})
    files = undeleted_files([r.id for r in recordings if not holds[r.id]])
    for recording in recordings:
        for file in files.get(recording.id, []):
            result.intents.append(
                write_intent(file, rule=rule, store=store, case_id=case.id, actor=actor)
            )
    record_case_event(
        "erasure.scheduled",
        case,
        actor=actor,
        after={
            "rule": rule,
            "file_ids": [intent.file_id for intent in result.intents],
            "held": {
                str(rid): [hold.describe() for hold in hold_list]
                for rid, hold_list in result.held.items()
            },
        },
    )
    erased = [r for r in recordings if not holds[r.id]]
    notify_vendors(case, erased, actor=actor)
    return result


def _vendor_address(tool: ProctoringTool) -> str | None:
    """The vendor's address from the tool's current register version (or its copy on the tool)."""
    from ..register import entries as register_entries
    from ..register import facts as register_facts

    try:
        if register_entries.current_version(tool) is not None:
            return register_facts.current_facts(tool.id).vendor_email or tool.vendor_email
    except LookupError:
        pass
    return tool.vendor_email


def notify_vendors(case: Case, recordings: list[Recording], *, actor: User | None) -> list[int]:
    """Art. 19: tell each tool's vendor to erase these recordings too; once per case and tool.

    The notice row is unique per case and tool, so a repeated decision or rerun sends nothing
    again. Returns the ids of the notices written by this call.
    """
    by_tool: dict[int, list[Recording]] = {}
    tools: dict[int, ProctoringTool] = {}
    for recording in recordings:
        tool = recording.exam.proctoring_tool
        if tool is not None:
            tools[tool.id] = tool
            by_tool.setdefault(tool.id, []).append(recording)
    written: list[int] = []
    for tool_id, tool_recordings in sorted(by_tool.items()):
        tool = tools[tool_id]
        address = _vendor_address(tool)
        notice_id = db.session.execute(
            insert_ignoring_conflicts(VendorNotice, ["case_id", "tool_id"])
            .values(case_id=case.id, tool_id=tool_id, address=address, created_at=now_utc())
            .returning(VendorNotice.id)
        ).scalar_one_or_none()
        if notice_id is None:
            continue  # told before
        notice = db.session.get_one(VendorNotice, notice_id)
        if address:
            message = notify_addresses(
                [address],
                VENDOR_LOCALE,
                "vendor_erasure",
                case=case,
                tool=tool,
                student=case.subject,
                recordings=tool_recordings,
            )
            notice.outbox_message_id = message.id
        db.session.flush()
        record(
            "erasure.vendor_notified" if address else "erasure.vendor_without_address",
            actor=actor,
            object_type="vendor_notice",
            object_id=notice.id,
            case_id=case.id,
            after={
                "tool_id": tool_id,
                "vendor": tool.vendor,
                "address": address,
                "recording_ids": [r.id for r in tool_recordings],
                "outbox_message_id": notice.outbox_message_id,
            },
        )
        written.append(notice.id)
    return written

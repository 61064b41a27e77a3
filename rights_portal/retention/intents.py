"""The two steps of a deletion (R25): the intent, then carrying it out — nothing lost by mistake.

A recording file leaves the storage backend in two steps, so nothing is lost by mistake and
nothing is deleted twice:

1. :func:`write_intent` adds a :class:`~.models.DeletionRecord` without ``deleted_at`` (the
   caller commits it *before* anything is deleted);
2. :func:`carry_out` deletes the file from storage and marks the record done (the caller commits).

The redacted copies made from the file for access requests (R13: personal data of the same
student) go with it: the intent lists them, :func:`carry_out` deletes them before the file, and
each access item decision keeps its row (the letter cites it) with ``redacted_deleted_at`` set.

A run that dies between the two leaves a pending intent; the next run completes it. Whether the
file was in storage when the intent was written is kept, so a resumed run tells "we deleted it
before the crash" (outcome ``deleted``) from "it was already gone" (``already_missing``) and ends
in the same state as an uninterrupted run. Before it deletes anything, :func:`carry_out` asks
again what holds the recording: a hold placed since the intent (a legal hold, an open case, a
restriction) wins, and the intent is cancelled with the reason (``cancelled``, or
``partly_deleted`` when the interrupted run had already deleted part of it, which stays
deleted). The loops that commit between the steps are the edges in
:mod:`rights_portal.retention.runner`; these functions flush, never commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask_babel import force_locale
from sqlalchemy import select

from ..access.blobs import Storage
from ..access.models import ItemDecision, ItemType
from ..accounts.models import User
from ..audit.services import record
from ..clock import now_utc
from ..exams.models import Recording, RecordingFile
from ..extensions import db
from .holds import Hold, holds_for
from .models import DeletionOutcome, DeletionRecord, DeletionRule


def pending_intents(case_id: int | None = None) -> list[DeletionRecord]:
    """Intents written but not yet carried out (a crashed run's, or a decision's)."""
    query = select(DeletionRecord).where(DeletionRecord.outcome.is_(None))
    if case_id is not None:
        query = query.where(DeletionRecord.case_id == case_id)
    return list(db.session.scalars(query.order_by(DeletionRecord.id)))


def undeleted_files(recording_ids: list[int]) -> dict[int, list[RecordingFile]]:
    """Files still stored and not yet meant for deletion, by recording."""
    files: dict[int, list[RecordingFile]] = {}
    if not recording_ids:
        return files
    intended = select(DeletionRecord.file_id).where(DeletionRecord.cancelled_at.is_(None))
    for file in db.session.scalars(
        select(RecordingFile)
        .where(
            RecordingFile.recording_id.in_(recording_ids),
            RecordingFile.deleted_at.is_(None),
            RecordingFile.id.not_in(intended),
        )
        .order_by(RecordingFile.id)
    ):
        files.setdefault(file.recording_id, []).append(file)
    return files


def write_intent(
    file: RecordingFile,
    *,
    rule: DeletionRule,
    store: Storage,
    case_id: int | None = None,
    actor: User | None = None,
) -> DeletionRecord:
    """Record that ``file`` and its redacted copies are about to be deleted (flushed only).

    The caller commits the intent first. When neither the file nor any of its copies is in
    storage there is nothing to delete: the record is ``already_missing`` at once, reported,
    not raised.
    """
    found = bool(file.storage_key) and store.exists(file.storage_key or "")
    copies = [
        copy_entry(decision, found_at_intent=store.exists(decision.redacted_storage_key or ""))
        for decision in live_copies(file.id)
    ]
    intent = DeletionRecord(
        file_id=file.id,
        recording_id=file.recording_id,
        sha256=file.sha256,
        size_bytes=file.size_bytes,
        storage_key=file.storage_key,
        rule=rule,
        case_id=case_id,
        actor_id=actor.id if actor is not None else None,
        found_at_intent=found,
        redacted_copies=copies,
        intended_at=now_utc(),
    )
    db.session.add(intent)
    db.session.flush()
    if not found and not any(copy["found_at_intent"] for copy in copies):
        _mark_done(intent, DeletionOutcome.ALREADY_MISSING, actor)
    return intent


def copy_entry(
    decision: ItemDecision, *, found_at_intent: bool | None, **extra: Any
) -> dict[str, Any]:
    """How a deletion record lists one redacted copy: enough to delete and account for it."""
    return {
        "decision_id": decision.id,
        "case_id": decision.case_id,
        "storage_key": decision.redacted_storage_key,
        "sha256": decision.redacted_sha256,
        "size_bytes": decision.redacted_size_bytes,
        "found_at_intent": found_at_intent,
        **extra,
    }


def live_copies(file_id: int) -> list[ItemDecision]:
    """The access item decisions whose redacted copy of this file is still stored (R13)."""
    return list(
        db.session.scalars(
            select(ItemDecision)
            .where(
                ItemDecision.item_type == ItemType.FILE,
                ItemDecision.item_id == file_id,
                ItemDecision.redacted_storage_key.is_not(None),
            )
            .order_by(ItemDecision.id)
        )
    )


def _copies(intent: DeletionRecord) -> list[dict[str, Any]]:
    """The copies the intent listed, and any made from the file since (none are left behind)."""
    copies = list(intent.redacted_copies or [])
    listed = {copy["decision_id"] for copy in copies}
    for decision in live_copies(intent.file_id):
        if decision.id not in listed:
            # Made after the intent was written: whether it was stored then is unknown.
            copies.append(copy_entry(decision, found_at_intent=None))
    return copies


def holds_now(intent: DeletionRecord) -> list[Hold]:
    """What keeps the intent's recording today, leaving out the decision that is erasing it."""
    recording = db.session.get_one(Recording, intent.recording_id)
    return holds_for([recording], ignore_case_id=intent.case_id)[recording.id]


def remove_from_storage(intent: DeletionRecord, store: Storage) -> bool:
    """Delete the redacted copies, then the file itself; return whether the file was there.

    Deleting what is gone is a no-op. The copies go first, so an interrupted run never leaves a
    copy behind whose original is gone.
    """
    for copy in _copies(intent):
        if copy["storage_key"]:
            store.delete(copy["storage_key"])
    return store.delete(intent.storage_key) if intent.storage_key else False


def carry_out(
    intent: DeletionRecord,
    *,
    store: Storage,
    actor: User | None = None,
    after_removal: Callable[[], object] | None = None,
) -> DeletionOutcome:
    """Delete the intent's copies and file from storage and mark it done (flushed, not committed).

    A file gone by now was deleted by an interrupted run if it was there at the intent. If the
    recording is held now (a hold placed after the intent, R25), nothing more is deleted: the
    intent is cancelled with the reason. ``after_removal`` runs once the copies and the file
    have left storage, before the intent is marked done (the runner's step hook).
    """
    if intent.outcome is not None:
        return intent.outcome  # done already: nothing is deleted twice
    holds = holds_now(intent)
    if holds:
        return _cancel(intent, holds, store, actor)
    removed = remove_from_storage(intent, store)
    if after_removal is not None:
        after_removal()
    outcome = (
        DeletionOutcome.DELETED
        if removed or intent.found_at_intent
        else DeletionOutcome.ALREADY_MISSING
    )
    _mark_done(intent, outcome, actor)
    return outcome


def _mark_done(intent: DeletionRecord, outcome: DeletionOutcome, actor: User | None) -> None:
    now = now_utc()
    copies = _copies(intent)
    intent.redacted_copies = copies  # with any made since the intent, so the record keeps them
    for copy in copies:
        mark_copy_deleted(copy, intent, actor, now)
    intent.deleted_at = now
    intent.outcome = outcome
    file = db.session.get(RecordingFile, intent.file_id)
    if file is not None and file.deleted_at is None:
        file.deleted_at = now
    db.session.flush()
    record(
        "recording_file.deleted",
        actor=actor,
        object_type="recording_file",
        object_id=intent.file_id,
        case_id=intent.case_id,
        after={
            "recording_id": intent.recording_id,
            "sha256": intent.sha256,
            "size_bytes": intent.size_bytes,
            "storage_key": intent.storage_key,
            "rule": intent.rule,
            "outcome": outcome,
            "intended_at": intent.intended_at,
            "deleted_at": now,
            "redacted_copy_decision_ids": [copy["decision_id"] for copy in copies],
        },
    )


def mark_copy_deleted(
    copy: dict[str, Any], intent: DeletionRecord, actor: User | None, now: datetime
) -> None:
    """The decision keeps its row, sha256 and size; its copy is recorded as deleted."""
    decision = db.session.get(ItemDecision, copy["decision_id"])
    if decision is None or decision.redacted_deleted_at is not None:
        return
    decision.redacted_storage_key = None
    decision.redacted_deleted_at = now
    db.session.flush()
    outcome = (
        DeletionOutcome.ALREADY_MISSING
        if copy["found_at_intent"] is False
        else DeletionOutcome.DELETED
    )
    record(
        "redacted_copy.deleted",
        actor=actor,
        object_type="redacted_copy",
        object_id=decision.id,
        case_id=decision.case_id,  # on the access request's own history
        after={
            "file_id": intent.file_id,
            "recording_id": intent.recording_id,
            "sha256": copy["sha256"],
            "size_bytes": copy["size_bytes"],
            "storage_key": copy["storage_key"],
            "rule": intent.rule,
            "deletion_case_id": intent.case_id,
            "outcome": outcome,
            # A copy left behind by an older deletion was listed on its record later.
            "intended_at": copy.get("listed_at") or intent.intended_at,
            "deleted_at": now,
        },
    )


def _cancel(
    intent: DeletionRecord, holds: list[Hold], store: Storage, actor: User | None
) -> DeletionOutcome:
    """Give up the intent because the recording is held now; what is gone stays gone."""
    now = now_utc()
    file_gone = (
        intent.found_at_intent
        and bool(intent.storage_key)
        and not store.exists(intent.storage_key or "")
    )
    copies = _copies(intent)
    intent.redacted_copies = copies
    copies_gone = [
        copy
        for copy in copies
        if copy["found_at_intent"] and not store.exists(copy["storage_key"] or "")
    ]
    for copy in copies_gone:
        mark_copy_deleted(copy, intent, actor, now)
    if file_gone:
        file = db.session.get(RecordingFile, intent.file_id)
        if file is not None and file.deleted_at is None:
            file.deleted_at = now  # no longer stored: the record says so, it is not offered
    partly = file_gone or bool(copies_gone)
    with force_locale("en"):  # the record is read by the DPO and auditors, not the actor
        reason = "; ".join(hold.describe() for hold in holds)
    outcome = DeletionOutcome.PARTLY_DELETED if partly else DeletionOutcome.CANCELLED
    intent.outcome = outcome
    intent.cancelled_at = now
    intent.cancel_reason = f"held when the deletion was resumed: {reason}"
    db.session.flush()
    # Files of the same recording that earlier intents did delete stay deleted (R25).
    deleted_before = list(
        db.session.scalars(
            select(DeletionRecord.file_id)
            .where(
                DeletionRecord.recording_id == intent.recording_id,
                DeletionRecord.outcome == DeletionOutcome.DELETED,
            )
            .order_by(DeletionRecord.file_id)
        )
    )
    record(
        "recording_file.deletion_cancelled",
        actor=actor,
        object_type="recording_file",
        object_id=intent.file_id,
        case_id=intent.case_id,
        after={
            "recording_id": intent.recording_id,
            "rule": intent.rule,
            "outcome": intent.outcome,
            "reason": intent.cancel_reason,
            "holds": [
                {"kind": h.kind, "reference": h.reference, "legal_hold_id": h.hold_id}
                for h in holds
            ],
            "intended_at": intent.intended_at,
            "cancelled_at": now,
            "partial": partly or bool(deleted_before),
            "file_deleted_before_interruption": file_gone,
            "redacted_copies_deleted_before_interruption": [
                copy["decision_id"] for copy in copies_gone
            ],
            "files_of_recording_deleted_before": deleted_before,
        },
    )
    return outcome

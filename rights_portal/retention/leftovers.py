"""Redacted copies left behind by deletions made before copies went with their file (R13, R25).

The purge finds them (:func:`leftover_copies`), lists each on its file's deletion record as an
intent (:func:`list_leftover_copy`; the runner commits it) and then deletes it
(:func:`delete_listed_copy`). These functions flush, never commit.
"""

from __future__ import annotations

from sqlalchemy import select

from ..access.blobs import Storage
from ..access.models import ItemDecision, ItemType
from ..clock import now_utc
from ..exams.models import RecordingFile
from ..extensions import db
from .holds import holds_for
from .intents import copy_entry, mark_copy_deleted
from .models import DeletionRecord


def leftover_copies() -> list[ItemDecision]:
    """Redacted copies still stored although the file they were made from has been deleted."""
    return list(
        db.session.scalars(
            select(ItemDecision)
            .join(RecordingFile, RecordingFile.id == ItemDecision.item_id)
            .where(
                ItemDecision.item_type == ItemType.FILE,
                ItemDecision.redacted_storage_key.is_not(None),
                RecordingFile.deleted_at.is_not(None),
            )
            .order_by(ItemDecision.id)
        )
    )


def list_leftover_copy(decision: ItemDecision, *, store: Storage) -> DeletionRecord | None:
    """Add a leftover copy to its file's deletion record: the intent (flushed; commit it first).

    None when the recording is held now (the copy is kept until the hold ends) or no record of
    the file's deletion exists.
    """
    file = db.session.get_one(RecordingFile, decision.item_id)
    if holds_for([file.recording])[file.recording_id]:
        return None
    intent = db.session.scalars(
        select(DeletionRecord)
        .where(DeletionRecord.file_id == file.id)
        .order_by(DeletionRecord.cancelled_at.is_(None).desc(), DeletionRecord.id.desc())
    ).first()
    if intent is None:
        return None
    copies = list(intent.redacted_copies or [])
    if not any(copy["decision_id"] == decision.id for copy in copies):
        copies.append(
            copy_entry(
                decision,
                found_at_intent=store.exists(decision.redacted_storage_key or ""),
                listed_at=now_utc().isoformat(),  # after the file's own deletion
            )
        )
        intent.redacted_copies = copies  # a new list, so the change is saved
        db.session.flush()
    return intent


def delete_listed_copy(decision: ItemDecision, intent: DeletionRecord, *, store: Storage) -> None:
    """Delete a copy its file's record lists and mark it deleted (flushed, not committed)."""
    copy = next(c for c in intent.redacted_copies if c["decision_id"] == decision.id)
    if copy["storage_key"]:
        store.delete(copy["storage_key"])
    mark_copy_deleted(copy, intent, None, now_utc())

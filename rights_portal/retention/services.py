"""Retention and erasure rules (R25): what is held and why, deletion intents, erasure, legal holds.

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

A **hold** keeps a recording whatever its retention date says: an open case referring to it
(same student and exam, an access request whose scope covers it, or a restriction), a pending
fraud procedure (a flag reviewed as ``irregularity_suspected``), or a legal hold by the DPO.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..access.models import AccessScope, ItemDecision, ItemType
from ..access.storage import Storage
from ..accounts.models import User
from ..audit.services import record, record_case_event
from ..cases.models import OPEN_STATUSES, Case, CaseType, Outcome
from ..clock import now_utc, today_local
from ..dbutil import insert_ignoring_conflicts
from ..errors import RuleViolation
from ..exams.models import (
    AutomatedFlag,
    FlagReviewStatus,
    ProctoringTool,
    Recording,
    RecordingFile,
    RecordingRestriction,
)
from ..extensions import db
from ..notifications.services import notify_addresses
from .models import (
    DeletionOutcome,
    DeletionRecord,
    DeletionRule,
    ErasureItem,
    LegalHold,
    VendorNotice,
)

UPCOMING_DAYS = 30
VENDOR_LOCALE = "en"  # suppliers are addressed in English; students read Dutch by default


# --- holds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hold:
    """One reason a recording is kept."""

    kind: str  # "case", "restriction", "fraud", "legal_hold"
    reference: str | None = None  # the case reference, if a case holds it
    reason: str = ""  # the DPO's reason for a legal hold
    hold_id: int | None = None

    def describe(self) -> str:
        """The reason in words, for the DPO page and the purge report."""
        if self.kind == "case":
            return str(_l("open case %(reference)s", reference=self.reference))
        if self.kind == "restriction":
            return str(_l("restricted by case %(reference)s", reference=self.reference))
        if self.kind == "fraud":
            return str(_l("pending fraud procedure (irregularity suspected)"))
        return str(_l("legal hold: %(reason)s", reason=self.reason))


def holds_for(
    recordings: Iterable[Recording], *, ignore_case_id: int | None = None
) -> dict[int, list[Hold]]:
    """Every reason each of ``recordings`` is kept, by recording id (empty list: not held).

    ``ignore_case_id`` leaves out the case whose decision is deleting the recordings.
    """
    recordings = list(recordings)
    result: dict[int, list[Hold]] = {r.id: [] for r in recordings}
    if not recordings:
        return result
    ids = list(result)
    for hold in db.session.scalars(
        select(LegalHold).where(LegalHold.recording_id.in_(ids), LegalHold.released_at.is_(None))
    ):
        result[hold.recording_id].append(Hold("legal_hold", reason=hold.reason, hold_id=hold.id))
    for recording_id, reference in db.session.execute(
        select(RecordingRestriction.recording_id, Case.reference)
        .join(Case, Case.id == RecordingRestriction.case_id)
        .where(
            RecordingRestriction.recording_id.in_(ids),
            RecordingRestriction.lifted_at.is_(None),
        )
    ):
        result[recording_id].append(Hold("restriction", reference=reference))
    for recording_id in set(
        db.session.scalars(
            select(AutomatedFlag.recording_id).where(
                AutomatedFlag.recording_id.in_(ids),
                AutomatedFlag.review_status == FlagReviewStatus.IRREGULARITY_SUSPECTED,
            )
        )
    ):
        result[recording_id].append(Hold("fraud"))
    # Open cases about the same students; which recordings each refers to is decided below.
    students = {r.student_id for r in recordings}
    query = select(Case).where(
        Case.status.in_(OPEN_STATUSES),
        Case.subject_id.in_(students),
        # An open erasure request asks for the deletion itself: it does not hold.
        Case.case_type != CaseType.ERASURE,
    )
    if ignore_case_id is not None:
        query = query.where(Case.id != ignore_case_id)
    open_cases = list(db.session.scalars(query.order_by(Case.id)))
    scopes = {
        scope.case_id: scope
        for scope in db.session.scalars(
            select(AccessScope).where(AccessScope.case_id.in_([c.id for c in open_cases]))
        )
    }
    for recording in recordings:
        for case in open_cases:
            if case.subject_id == recording.student_id and _refers_to(
                case, scopes.get(case.id), recording
            ):
                result[recording.id].append(Hold("case", reference=case.reference))
    return result


def _refers_to(case: Case, scope: AccessScope | None, recording: Recording) -> bool:
    if case.exam_id is not None:
        return case.exam_id == recording.exam_id
    if case.case_type is CaseType.ACCESS:
        # An access request without a narrowed scope covers everything held (R11).
        if scope is None or scope.all_data:
            return True
        return recording.exam_id in {exam.id for exam in scope.exams}
    return False


# --- the purge plan ----------------------------------------------------------------------------


@dataclass
class PlannedRecording:
    """A recording whose retention date has passed (or soon will), with its holds."""

    recording: Recording
    files: list[RecordingFile]
    holds: list[Hold]

    @property
    def held(self) -> bool:
        """Whether anything keeps this recording."""
        return bool(self.holds)


@dataclass
class PurgePlan:
    """What a purge on ``today`` deletes and what it keeps, and the intents left half-done."""

    today: date
    to_delete: list[PlannedRecording] = field(default_factory=list)
    held: list[PlannedRecording] = field(default_factory=list)
    pending: list[DeletionRecord] = field(default_factory=list)
    # What holds a pending intent's recording now, by intent id: it will be cancelled (R25).
    pending_holds: dict[int, list[Hold]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """A plain report: one line per file that goes, per recording that is held."""
        out = [f"purge on {self.today.isoformat()}"]
        for intent in self.pending:
            holds = self.pending_holds.get(intent.id)
            if holds:
                reasons = "; ".join(hold.describe() for hold in holds)
                out.append(
                    f"cancel    file {intent.file_id} (recording {intent.recording_id}): "
                    f"pending {intent.rule.value} intent from {intent.intended_at.isoformat()}, "
                    f"held now: {reasons}"
                )
                continue
            out.append(
                f"complete  file {intent.file_id} (recording {intent.recording_id}): "
                f"pending {intent.rule.value} intent from {intent.intended_at.isoformat()}"
            )
        for item in self.to_delete:
            for file in item.files:
                out.append(
                    f"delete    file {file.id} (recording {item.recording.id}, {file.filename}, "
                    f"{file.size_bytes} bytes, sha256 {file.sha256}): retention ended "
                    f"{item.recording.retention_until.isoformat()}"
                )
        for item in self.held:
            reasons = "; ".join(hold.describe() for hold in item.holds)
            out.append(
                f"hold      recording {item.recording.id} ({len(item.files)} files, retention "
                f"ended {item.recording.retention_until.isoformat()}): {reasons}"
            )
        out.append(
            f"{sum(len(i.files) for i in self.to_delete)} files to delete, "
            f"{len(self.held)} recordings held, "
            f"{len(self.pending) - len(self.pending_holds)} intents to complete, "
            f"{len(self.pending_holds)} to cancel"
        )
        return out


def _undeleted_files(recording_ids: list[int]) -> dict[int, list[RecordingFile]]:
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


def _plan_recordings(recordings: list[Recording]) -> list[PlannedRecording]:
    files = _undeleted_files([r.id for r in recordings])
    recordings = [r for r in recordings if r.id in files]
    holds = holds_for(recordings)
    return [PlannedRecording(r, files[r.id], holds[r.id]) for r in recordings]


def plan_purge(today: date | None = None) -> PurgePlan:
    """What a purge on ``today`` would do; changes nothing (the dry run prints it)."""
    today = today or today_local()
    plan = PurgePlan(today=today, pending=pending_intents())
    for intent in plan.pending:
        holds = holds_now(intent)
        if holds:
            plan.pending_holds[intent.id] = holds
    expired = list(
        db.session.scalars(
            select(Recording).where(Recording.retention_until < today).order_by(Recording.id)
        )
    )
    for item in _plan_recordings(expired):
        (plan.held if item.held else plan.to_delete).append(item)
    return plan


def pending_intents(case_id: int | None = None) -> list[DeletionRecord]:
    """Intents written but not yet carried out (a crashed run's, or a decision's)."""
    query = select(DeletionRecord).where(DeletionRecord.outcome.is_(None))
    if case_id is not None:
        query = query.where(DeletionRecord.case_id == case_id)
    return list(db.session.scalars(query.order_by(DeletionRecord.id)))


# --- the two steps of a deletion -------------------------------------------------------------


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
        _copy_entry(decision, found_at_intent=store.exists(decision.redacted_storage_key or ""))
        for decision in _live_copies(file.id)
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


def _copy_entry(
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


def _live_copies(file_id: int) -> list[ItemDecision]:
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
    for decision in _live_copies(intent.file_id):
        if decision.id not in listed:
            # Made after the intent was written: whether it was stored then is unknown.
            copies.append(_copy_entry(decision, found_at_intent=None))
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
    intent: DeletionRecord, *, store: Storage, actor: User | None = None
) -> DeletionOutcome:
    """Delete the intent's copies and file from storage and mark it done (flushed, not committed).

    A file gone by now was deleted by an interrupted run if it was there at the intent. If the
    recording is held now (a hold placed after the intent, R25), nothing more is deleted: the
    intent is cancelled with the reason.
    """
    if intent.outcome is not None:
        return intent.outcome  # done already: nothing is deleted twice
    holds = holds_now(intent)
    if holds:
        return _cancel(intent, holds, store, actor)
    removed = remove_from_storage(intent, store)
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
        _mark_copy_deleted(copy, intent, actor, now)
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


def _mark_copy_deleted(
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
        _mark_copy_deleted(copy, intent, actor, now)
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


# --- copies left behind by deletions made before copies went with their file -----------------


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
            _copy_entry(
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
    _mark_copy_deleted(copy, intent, None, now_utc())


def record_purge_run(
    plan: PurgePlan,
    *,
    deleted: list[int],
    completed: list[int],
    cancelled: list[int] | None = None,
    leftover_copies: list[int] | None = None,
) -> None:
    """One event per purge run: what it deleted, completed, cancelled, held and why."""
    record(
        "retention.purged",
        actor=None,
        object_type="retention_purge",
        object_id=plan.today.isoformat(),
        after={
            "today": plan.today,
            "deleted_file_ids": deleted,
            "completed_intent_file_ids": completed,
            "cancelled_intent_file_ids": cancelled or [],
            "leftover_redacted_copy_decision_ids": leftover_copies or [],
            "held": {
                str(item.recording.id): [hold.describe() for hold in item.holds]
                for item in plan.held
            },
        },
    )


# --- erasure (art. 17) and the vendor's notice (art. 19) ---------------------------------------


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
    files = _undeleted_files([r.id for r in recordings if not holds[r.id]])
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
    from ..register import services as register_services

    try:
        if register_services.current_version(tool) is not None:
            return register_services.current_facts(tool.id).vendor_email or tool.vendor_email
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


# --- legal holds by the DPO --------------------------------------------------------------------


def place_hold(recording: Recording, *, reason: str, actor: User) -> LegalHold:
    """The DPO keeps a recording whatever its retention date, with a reason."""
    reason = reason.strip()
    if not reason:
        raise RuleViolation(_l("A legal hold needs a reason."))
    if active_hold(recording) is not None:
        raise RuleViolation(_l("This recording is already under a legal hold."))
    hold = LegalHold(recording_id=recording.id, reason=reason, placed_by_id=actor.id)
    db.session.add(hold)
    db.session.flush()
    record(
        "retention.hold_placed",
        actor=actor,
        object_type="legal_hold",
        object_id=hold.id,
        after={"recording_id": recording.id, "reason": reason},
    )
    return hold


def release_hold(hold: LegalHold, *, reason: str, actor: User) -> LegalHold:
    """The DPO releases a legal hold with a reason; the retention date applies again."""
    reason = reason.strip()
    if not reason:
        raise RuleViolation(_l("Releasing a legal hold needs a reason."))
    if hold.released_at is not None:
        raise RuleViolation(_l("This legal hold has been released already."))
    hold.released_by_id = actor.id
    hold.released_at = now_utc()
    hold.release_reason = reason
    db.session.flush()
    record(
        "retention.hold_released",
        actor=actor,
        object_type="legal_hold",
        object_id=hold.id,
        after={"recording_id": hold.recording_id, "reason": reason},
    )
    return hold


def active_hold(recording: Recording) -> LegalHold | None:
    """The recording's unreleased legal hold, if any."""
    return db.session.scalars(
        select(LegalHold).where(
            LegalHold.recording_id == recording.id, LegalHold.released_at.is_(None)
        )
    ).one_or_none()


# --- the DPO's overview ------------------------------------------------------------------------


@dataclass
class Overview:
    """Upcoming deletions (next 30 days) and everything held, with the reasons."""

    today: date
    upcoming: list[PlannedRecording]
    held: list[PlannedRecording]
    pending: list[DeletionRecord]


def overview(today: date | None = None) -> Overview:
    """What the DPO sees on the retention page."""
    today = today or today_local()
    horizon = today + timedelta(days=UPCOMING_DAYS)
    on_hold = select(LegalHold.recording_id).where(LegalHold.released_at.is_(None))
    recordings = list(
        db.session.scalars(
            select(Recording)
            .where((Recording.retention_until <= horizon) | Recording.id.in_(on_hold))
            .order_by(Recording.retention_until, Recording.id)
            .limit(500)
        )
    )
    planned = _plan_recordings(recordings)
    return Overview(
        today=today,
        upcoming=[p for p in planned if not p.held and p.recording.retention_until <= horizon],
        held=[p for p in planned if p.held],
        pending=pending_intents(),
    )

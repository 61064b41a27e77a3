"""Retention and erasure rules (R25): what is held and why, deletion intents, erasure, legal holds.

A recording file leaves the storage backend in two steps, so nothing is lost by mistake and
nothing is deleted twice:

1. :func:`write_intent` adds a :class:`~.models.DeletionRecord` without ``deleted_at`` (the
   caller commits it *before* anything is deleted);
2. :func:`carry_out` deletes the file from storage and marks the record done (the caller commits).

A run that dies between the two leaves a pending intent; the next run completes it. Whether the
file was in storage when the intent was written is kept, so a resumed run tells "we deleted it
before the crash" (outcome ``deleted``) from "it was already gone" (``already_missing``) and ends
in the same state as an uninterrupted run. The loops that commit between the steps are the edges
in :mod:`rights_portal.retention.runner`; these functions flush, never commit.

A **hold** keeps a recording whatever its retention date says: an open case referring to it
(same student and exam, an access request whose scope covers it, or a restriction), a pending
fraud procedure (a flag reviewed as ``irregularity_suspected``), or a legal hold by the DPO.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..access.models import AccessScope
from ..access.storage import Storage
from ..accounts.models import User
from ..audit.services import record
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

    def lines(self) -> list[str]:
        """A plain report: one line per file that goes, per recording that is held."""
        out = [f"purge on {self.today.isoformat()}"]
        for intent in self.pending:
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
            f"{len(self.held)} recordings held, {len(self.pending)} intents to complete"
        )
        return out


def _undeleted_files(recording_ids: list[int]) -> dict[int, list[RecordingFile]]:
    """Files still stored and not yet meant for deletion, by recording."""
    files: dict[int, list[RecordingFile]] = {}
    if not recording_ids:
        return files
    intended = select(DeletionRecord.file_id)
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
    query = select(DeletionRecord).where(DeletionRecord.deleted_at.is_(None))
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
    """Record that ``file`` is about to be deleted (flushed; the caller commits it first).

    A file already missing from storage is recorded as ``already_missing`` at once: there is
    nothing to delete, and it is reported, not raised.
    """
    found = bool(file.storage_key) and store.exists(file.storage_key or "")
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
        intended_at=now_utc(),
    )
    db.session.add(intent)
    db.session.flush()
    if not found:
        _mark_done(intent, DeletionOutcome.ALREADY_MISSING, actor)
    return intent


def carry_out(intent: DeletionRecord, *, store: Storage, actor: User | None = None) -> None:
    """Delete the intent's file from storage and mark the record done (flushed, not committed).

    A file gone by now was deleted by an interrupted run if it was there at the intent.
    """
    if intent.deleted_at is not None:
        return  # done already: nothing is deleted twice
    removed = store.delete(intent.storage_key) if intent.storage_key else False
    outcome = (
        DeletionOutcome.DELETED
        if removed or intent.found_at_intent
        else DeletionOutcome.ALREADY_MISSING
    )
    _mark_done(intent, outcome, actor)


def _mark_done(intent: DeletionRecord, outcome: DeletionOutcome, actor: User | None) -> None:
    now = now_utc()
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
        },
    )


def record_purge_run(plan: PurgePlan, *, deleted: list[int], completed: list[int]) -> None:
    """One event per purge run: what it deleted, completed, and what it held and why."""
    record(
        "retention.purged",
        actor=None,
        object_type="retention_purge",
        object_id=plan.today.isoformat(),
        after={
            "today": plan.today,
            "deleted_file_ids": deleted,
            "completed_intent_file_ids": completed,
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
    record(
        "erasure.requested",
        actor=filed_by,
        object_type="case",
        object_id=case.id,
        case_id=case.id,
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
    record(
        "erasure.scheduled",
        actor=actor,
        object_type="case",
        object_id=case.id,
        case_id=case.id,
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

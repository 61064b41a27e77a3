"""The named operations of an access request (GDPR art. 15; R11-R14 in docs/rules.md).

* :func:`file_access_request` — file the case with the scope the requester chose.
* :func:`gather` — everything held about the student (recording files, automated flags and their
  review, exam-board decisions), grouped by exam, each with the handler's decision.
* :func:`decide_item` — released as is / released redacted / withheld with a reason (R13).
* :func:`request_build` — queue a new package build (the worker runs :mod:`.package`).
* :func:`release` — decide the case (granted, or partly granted with the partial refusals as
  reasons), open the download for the requester for ``PACKAGE_LINK_DAYS`` and close the case as
  fulfilled (R14).
* :func:`record_download`, :func:`record_staff_open` — downloads and staff access on the audit
  trail (R14, R24).
* :func:`expire_packages`, :func:`stale_builds` — what the periodic housekeeping does.

Like every service here they flush and never commit; permission checks are the caller's, via
:mod:`rights_portal.permissions`. Files that must disappear only if the transaction commits (a
replaced redacted copy) or only if it rolls back (a fresh upload) are registered with
:func:`delete_after_commit` / :func:`delete_after_rollback`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, BinaryIO, TypeVar

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, event, select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..audit.services import record, record_case_event
from ..cases import services as case_services
from ..cases.models import Case, CaseStatus, CaseType, Channel, Outcome
from ..cases.redress import gdpr_redress_after_refusal
from ..clock import now_utc
from ..errors import RuleViolation
from ..exams.models import AutomatedFlag, Exam, Recording, RecordingFile
from ..extensions import db
from ..notifications.services import notify_user
from . import storage as storage_module
from .labels import FILE_KIND_LABELS
from .models import (
    AccessPackage,
    AccessScope,
    ItemDecision,
    ItemType,
    PackageStatus,
    Release,
)

OPEN_FOR_WORK = (CaseStatus.RECEIVED, CaseStatus.IN_REVIEW, CaseStatus.AWAITING_REQUESTER)
STALE_QUEUE = timedelta(minutes=2)
STALE_BUILD = timedelta(minutes=10)
MAX_TEXT = 5000
T = TypeVar("T")


def required(value: T | None, what: str) -> T:
    """``value``, which the caller knows is there; a clear error instead of a None later on."""
    if value is None:
        raise LookupError(f"{what} is missing")
    return value


# --- files that follow the transaction ------------------------------------------------------

_ON_COMMIT = "access_delete_after_commit"
_ON_ROLLBACK = "access_delete_after_rollback"


def delete_after_commit(store: storage_module.Storage, key: str) -> None:
    """Delete ``key`` from ``store`` once the current transaction has committed."""
    db.session.info.setdefault(_ON_COMMIT, []).append((store, key))


def delete_after_rollback(store: storage_module.Storage, key: str) -> None:
    """Delete ``key`` from ``store`` if the current transaction rolls back (a fresh upload)."""
    db.session.info.setdefault(_ON_ROLLBACK, []).append((store, key))


@event.listens_for(Session, "after_commit")
def _delete_committed(session: Session) -> None:
    session.info.pop(_ON_ROLLBACK, None)
    for store, key in session.info.pop(_ON_COMMIT, []):
        try:
            store.delete(key)
        except Exception:  # never fail a committed request for a cleanup; housekeeping logs it
            current_app.logger.warning("could not delete stored file %s after commit", key)


@event.listens_for(Session, "after_rollback")
def _delete_rolled_back(session: Session) -> None:
    session.info.pop(_ON_COMMIT, None)
    for store, key in session.info.pop(_ON_ROLLBACK, []):
        try:
            store.delete(key)
        except Exception:
            current_app.logger.warning("could not delete stored file %s after rollback", key)


# --- filing with a scope --------------------------------------------------------------------


def file_access_request(
    *,
    subject: User,
    filed_by: User,
    description: str,
    all_data: bool,
    exams: list[Exam] | None = None,
    include_flags: bool = False,
    received_at: datetime | None = None,
    channel: Channel = Channel.PORTAL,
    actor: User | None = None,
    acknowledge: bool = True,
) -> Case:
    """File an access request (R1, R11) together with what the requester asked to receive.

    ``actor`` and ``acknowledge`` as in :func:`rights_portal.cases.services.file_case`.
    """
    exams = list(exams or [])
    if not all_data and not exams and not include_flags:
        raise RuleViolation(_l("Choose what you would like to receive."))
    case = case_services.file_case(
        case_type=CaseType.ACCESS,
        subject=subject,
        filed_by=filed_by,
        description=description,
        received_at=received_at,
        channel=channel,
        actor=actor,
        acknowledge=acknowledge,
    )
    scope = AccessScope(
        case_id=case.id,
        all_data=all_data,
        include_flags=False if all_data else include_flags,
        exams=[] if all_data else exams,
    )
    db.session.add(scope)
    db.session.flush()
    record_case_event(
        "access.scope_recorded",
        case,
        actor=actor or filed_by,
        after=scope_summary(scope),
    )
    return case


def exams_to_choose(student: User) -> list[Exam]:
    """Exams a requester can pick: those with recordings of them, past exams of their programme."""
    now = now_utc()
    clause: ColumnElement[bool] = Exam.id.in_(
        select(Recording.exam_id).where(Recording.student_id == student.id)
    )
    if student.programme_id is not None:
        clause = clause | (
            (Exam.programme_id == student.programme_id)
            & (Exam.starts_at >= now - timedelta(days=366))
            & (Exam.starts_at <= now)
        )
    return list(db.session.scalars(select(Exam).where(clause).order_by(Exam.starts_at.desc())))


def scope_of(case: Case) -> AccessScope | None:
    """The scope chosen when filing (None for cases filed before scopes existed: all data)."""
    return db.session.get(AccessScope, case.id)


def scope_summary(scope: AccessScope | None) -> dict[str, Any]:
    """The scope as plain data (audit trail, data.json)."""
    if scope is None or scope.all_data:
        return {"all_data": True, "exams": [], "automated_flags": False}
    return {
        "all_data": False,
        "exams": [{"id": exam.id, "exam": exam.label} for exam in scope.exams],
        "automated_flags": scope.include_flags,
    }


# --- what is held ---------------------------------------------------------------------------


@dataclass
class HeldItem:
    """One thing held about the student, with the handler's decision (if any)."""

    item_type: ItemType
    item_id: int
    exam: Exam | None
    in_scope: bool
    decision: ItemDecision | None = None
    file: RecordingFile | None = None
    flag: AutomatedFlag | None = None
    note: Case | None = None

    @property
    def release(self) -> Release:
        """The decision; an item not decided on is released as is (R11: a complete copy)."""
        return self.decision.decision if self.decision else Release.RELEASED

    @property
    def deleted(self) -> bool:
        """A recording file deleted under retention: only its record is still held (R25).

        A redacted item whose copy was deleted counts as deleted too: the original is never
        released in its place (R13).
        """
        return self.deleted_at is not None

    @property
    def deleted_at(self) -> datetime | None:
        """When the file (or the redacted copy that was to be released) was deleted."""
        if self.file is None:
            return None
        if self.file.deleted_at is not None:
            return self.file.deleted_at
        if self.decision is not None and self.decision.decision is Release.REDACTED:
            return self.decision.redacted_deleted_at
        return None

    @property
    def included(self) -> bool:
        """Whether the package carries this item (requested, still held, not withheld)."""
        return self.in_scope and not self.deleted and self.release is not Release.WITHHELD

    @property
    def size_bytes(self) -> int:
        """Size of the stored file, or of the text for flags and notes."""
        if self.file is not None:
            return self.file.size_bytes
        if self.flag is not None:
            return len(self.flag.description.encode())
        if self.note is not None:
            return len((self.note.decision_reasons or "").encode())
        return 0

    @property
    def key(self) -> str:
        """A stable identifier, e.g. ``file-12`` (form ids, fingerprints)."""
        return f"{self.item_type.value}-{self.item_id}"

    def label(self) -> str:
        """A short description in the current language, for pages, the letter and reasons."""
        exam = self.exam.label if self.exam else _("no exam")
        if self.file is not None:
            recording = self.file.recording
            return _(
                "%(kind)s of %(exam)s, recorded %(when)s (%(name)s)",
                kind=FILE_KIND_LABELS[self.file.kind],
                exam=exam,
                when=_format_moment(recording.recorded_at),
                name=self.file.filename,
            )
        if self.flag is not None:
            from ..labels import flag_kind_label

            return _(
                "Automated flag “%(code)s” at %(exam)s",
                code=flag_kind_label(self.flag.code),
                exam=exam,
            )
        note = required(self.note, "the exam-board decision")
        return _(
            "Exam board decision %(reference)s about %(exam)s",
            reference=note.reference,
            exam=exam,
        )


def _format_moment(moment: datetime) -> str:
    from ..formatting import format_moment

    return format_moment(moment)


@dataclass
class HeldRecording:
    """A recording session with its files and flags."""

    recording: Recording
    files: list[HeldItem] = field(default_factory=list)
    flags: list[HeldItem] = field(default_factory=list)


@dataclass
class ExamHoldings:
    """Everything held about the student for one exam."""

    exam: Exam | None
    recordings: list[HeldRecording] = field(default_factory=list)
    notes: list[HeldItem] = field(default_factory=list)

    def items(self) -> Iterator[HeldItem]:
        """Files, flags and notes of this exam."""
        for held in self.recordings:
            yield from held.files
            yield from held.flags
        yield from self.notes

    @property
    def size_bytes(self) -> int:
        """Total size of what is held for this exam."""
        return sum(item.size_bytes for item in self.items() if not item.deleted)


@dataclass
class Holdings:
    """Everything held about the case's student, grouped by exam (R11)."""

    case: Case
    scope: AccessScope | None
    exams: list[ExamHoldings]

    def items(self) -> Iterator[HeldItem]:
        """Every item, exam by exam."""
        for group in self.exams:
            yield from group.items()

    def find(self, item_type: ItemType, item_id: int) -> HeldItem | None:
        """The item of this type and id, if it is held about this student."""
        return next(
            (i for i in self.items() if i.item_type is item_type and i.item_id == item_id), None
        )

    def partial_refusals(self) -> list[HeldItem]:
        """Requested items that are redacted or withheld (R13), in order."""
        return [
            item
            for item in self.items()
            if item.in_scope and not item.deleted and item.release.is_partial_refusal
        ]

    def included_files(self) -> list[HeldItem]:
        """The recording files the package carries (original or redacted copy)."""
        return [item for item in self.items() if item.file is not None and item.included]

    def fingerprint(self) -> str:
        """A hash of what a package would contain; a build is stale when it changes."""
        rows = []
        for item in self.items():
            decision = item.decision
            rows.append(
                [
                    item.key,
                    item.in_scope,
                    item.deleted,
                    item.release.value,
                    item.file.sha256 if item.file else None,
                    item.flag.review_status.value if item.flag else None,
                    decision.reason if decision else None,
                    decision.protects if decision else None,
                    decision.redacted_sha256 if decision else None,
                ]
            )
        return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()


def _in_scope(scope: AccessScope | None, item_type: ItemType, exam: Exam | None) -> bool:
    if scope is None or scope.all_data:
        return True
    chosen = exam is not None and any(e.id == exam.id for e in scope.exams)
    if item_type is ItemType.FLAG:
        return chosen or scope.include_flags
    return chosen


def gather(case: Case) -> Holdings:
    """Everything held about the student of ``case``, grouped by exam, with decisions (R11)."""
    scope = scope_of(case)
    decisions = {
        (d.item_type, d.item_id): d
        for d in db.session.scalars(select(ItemDecision).where(ItemDecision.case_id == case.id))
    }
    groups: dict[int | None, ExamHoldings] = {}

    def group_for(exam: Exam | None) -> ExamHoldings:
        key = exam.id if exam else None
        if key not in groups:
            groups[key] = ExamHoldings(exam=exam)
        return groups[key]

    def item(item_type: ItemType, item_id: int, exam: Exam | None, **kw: Any) -> HeldItem:
        return HeldItem(
            item_type=item_type,
            item_id=item_id,
            exam=exam,
            in_scope=_in_scope(scope, item_type, exam),
            decision=decisions.get((item_type, item_id)),
            **kw,
        )

    recordings = db.session.scalars(
        select(Recording)
        .where(Recording.student_id == case.subject_id)
        .order_by(Recording.recorded_at, Recording.id)
    )
    for recording in recordings:
        held = HeldRecording(recording=recording)
        for stored in sorted(recording.files, key=lambda f: f.id):
            held.files.append(item(ItemType.FILE, stored.id, recording.exam, file=stored))
        for flag in sorted(recording.flags, key=lambda f: f.id):
            held.flags.append(item(ItemType.FLAG, flag.id, recording.exam, flag=flag))
        group_for(recording.exam).recordings.append(held)

    # Exam-board decisions with reasons about this student are data held about them too.
    board_cases = db.session.scalars(
        select(Case)
        .where(
            Case.subject_id == case.subject_id,
            Case.case_type.in_([t for t in CaseType if t.decided_by_exam_board]),
            Case.outcome.is_not(None),
        )
        .order_by(Case.decided_at, Case.id)
    )
    for board_case in board_cases:
        group_for(board_case.exam).notes.append(
            item(ItemType.BOARD_NOTE, board_case.id, board_case.exam, note=board_case)
        )

    ordered = sorted(
        groups.values(),
        key=lambda g: (g.exam is None, g.exam.starts_at if g.exam else None, g.exam and g.exam.id),
    )
    return Holdings(case=case, scope=scope, exams=ordered)


# --- decisions per item (R13) ---------------------------------------------------------------


@dataclass(frozen=True)
class RedactedUpload:
    """A redacted copy uploaded by the handler."""

    stream: BinaryIO
    filename: str
    media_type: str


def ensure_workable(case: Case) -> None:
    """Refuse unless ``case`` is an access request still open for work on its package."""
    if case.case_type is not CaseType.ACCESS:
        raise RuleViolation(_l("This is not an access request."))
    if case.status not in OPEN_FOR_WORK:
        raise RuleViolation(_l("This case is no longer open, so its package cannot change."))


def decide_item(
    case: Case,
    *,
    actor: User,
    item_type: ItemType,
    item_id: int,
    decision: Release,
    reason: str = "",
    protects: str = "",
    redacted: RedactedUpload | None = None,
) -> ItemDecision:
    """Record how one held item is answered; a redaction or withholding is a partial refusal."""
    ensure_workable(case)
    held = gather(case).find(item_type, item_id)
    if held is None:
        raise RuleViolation(_l("This item is not held about the student of this case."))
    if held.file is not None and held.file.deleted_at is not None:
        raise RuleViolation(_l("This file has been deleted; only its record is held."))
    reason, protects = reason.strip()[:MAX_TEXT], protects.strip()[:MAX_TEXT]
    existing = held.decision
    keep_copy = (
        decision is Release.REDACTED
        and redacted is None
        and existing is not None
        and existing.decision is Release.REDACTED
        and existing.redacted_storage_key is not None  # a deleted copy cannot be kept
    )
    if decision is Release.REDACTED:
        if item_type is not ItemType.FILE:
            raise RuleViolation(_l("Only a recording file can be released redacted."))
        if redacted is None and not keep_copy:
            raise RuleViolation(_l("Upload the redacted file."))
        if not protects:
            raise RuleViolation(_l("Say whom the redaction protects."))
    if decision is Release.WITHHELD and not reason:
        raise RuleViolation(_l("Give the reason for withholding this item."))

    before = _decision_snapshot(existing)
    row = existing or ItemDecision(case_id=case.id, item_type=item_type, item_id=item_id)
    recordings = storage_module.recordings_storage()
    old_key = existing.redacted_storage_key if existing else None
    row.decision = decision
    row.reason = reason or None
    row.protects = protects if decision is Release.REDACTED else None
    if decision is Release.REDACTED and redacted is not None:
        stored = recordings.put(redacted.stream)
        delete_after_rollback(recordings, stored.key)
        row.redacted_storage_key = stored.key
        row.redacted_sha256 = stored.sha256
        row.redacted_size_bytes = stored.size
        row.redacted_filename = _safe_display_name(redacted.filename)
        row.redacted_media_type = redacted.media_type[:100]
        row.redacted_deleted_at = None
    elif decision is not Release.REDACTED:
        row.redacted_storage_key = row.redacted_sha256 = None
        row.redacted_size_bytes = None
        row.redacted_filename = row.redacted_media_type = None
        row.redacted_deleted_at = None
    if old_key and old_key != row.redacted_storage_key:
        delete_after_commit(recordings, old_key)
    row.decided_by_id = actor.id
    row.decided_at = now_utc()
    db.session.add(row)
    db.session.flush()
    record(
        "access.item_decided",
        actor=actor,
        object_type=f"access_{item_type.value}",
        object_id=item_id,
        case_id=case.id,
        before=before,
        after=_decision_snapshot(row),
    )
    return row


def _decision_snapshot(row: ItemDecision | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "decision": row.decision.value,
        "reason": row.reason,
        "protects": row.protects,
        "redacted_sha256": row.redacted_sha256,
        "redacted_size_bytes": row.redacted_size_bytes,
    }


def _safe_display_name(name: str) -> str:
    # Only for display and as a hint for the extension; never used as a path.
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    cleaned = "".join(ch for ch in base if ch.isprintable())[:200]
    return cleaned or "redacted"


# --- packages -------------------------------------------------------------------------------


def packages_of(case: Case) -> list[AccessPackage]:
    """The case's package builds, newest first."""
    return list(
        db.session.scalars(
            select(AccessPackage)
            .where(AccessPackage.case_id == case.id)
            .order_by(AccessPackage.id.desc())
        )
    )


def delivered_package(case: Case) -> AccessPackage | None:
    """The package released to the requester (possibly expired by now), if any."""
    return db.session.scalars(
        select(AccessPackage).where(
            AccessPackage.case_id == case.id,
            AccessPackage.status.in_([PackageStatus.RELEASED, PackageStatus.EXPIRED]),
        )
    ).one_or_none()


def request_build(case: Case, *, actor: User) -> AccessPackage:
    """Queue a new build; an unreleased earlier build is superseded and its file deleted."""
    ensure_workable(case)
    previous = packages_of(case)
    if any(p.status.in_progress for p in previous):
        raise RuleViolation(_l("A package for this case is being built already."))
    if any(p.status in (PackageStatus.RELEASED, PackageStatus.EXPIRED) for p in previous):
        raise RuleViolation(_l("The package of this case has been released already."))
    packages = storage_module.packages_storage()
    for old in previous:
        if old.status is PackageStatus.READY:
            old.status = PackageStatus.SUPERSEDED
            if old.storage_key:
                delete_after_commit(packages, old.storage_key)
                old.storage_key = None
                old.file_deleted_at = now_utc()
    requester = case.filed_by
    package = AccessPackage(
        case_id=case.id,
        status=PackageStatus.QUEUED,
        progress=0,
        locale=requester.locale or "nl",
        requested_by_id=actor.id,
        requested_at=now_utc(),
    )
    db.session.add(package)
    db.session.flush()
    record(
        "package.build_requested",
        actor=actor,
        object_type="access_package",
        object_id=package.id,
        case_id=case.id,
        after={"status": package.status.value, "locale": package.locale},
    )
    return package


def build_is_stuck(package: AccessPackage, *, now: datetime, stuck_after: timedelta) -> bool:
    """A build still queued, or building without a sign of life, for longer than ``stuck_after``.

    Queued counts from the request (no worker took it); building from the last heartbeat the
    builder wrote with its progress (the builder stopped).
    """
    if package.status is PackageStatus.QUEUED:
        return now - package.requested_at > stuck_after
    if package.status is PackageStatus.BUILDING:
        return now - (package.heartbeat_at or package.requested_at) > stuck_after
    return False


def retry_build(package: AccessPackage, *, actor: User, stuck_after: timedelta) -> AccessPackage:
    """Try a failed or stuck build again: the old one is given up, a new one queued.

    A stuck build is marked failed with the reason first, so no worker takes it up any more and
    the case has one build in progress at a time. Both steps are on the audit trail.
    """
    now = now_utc()
    stuck = build_is_stuck(package, now=now, stuck_after=stuck_after)
    if package.status is not PackageStatus.FAILED and not stuck:
        raise RuleViolation(_l("Only a build that failed or does not progress can be retried."))
    before = {"package_id": package.id, "status": package.status.value}
    if stuck:
        package.status = PackageStatus.FAILED
        package.error = (
            f"not started or not progressing for more than {int(stuck_after.total_seconds())} s"
        )
        db.session.flush()
    retried = request_build(package.case, actor=actor)
    record(
        "package.build_retried",
        actor=actor,
        object_type="access_package",
        object_id=retried.id,
        case_id=package.case_id,
        before=before,
        after={"package_id": retried.id, "status": retried.status.value},
    )
    return retried


def release(package: AccessPackage, *, actor: User) -> AccessPackage:
    """Release a built package: decide the case, open the download, close the case (R13, R14).

    The decision is "granted", or "partly granted" when anything requested was redacted or
    withheld; its reasons list those partial refusals (R5, R13). The requester gets an e-mail with
    a link only; the link works for ``PACKAGE_LINK_DAYS`` days.
    """
    case = package.case
    if package.status is not PackageStatus.READY:
        raise RuleViolation(_l("Only a package that has been built can be released."))
    newest = packages_of(case)[0]
    if newest.id != package.id:
        raise RuleViolation(_l("A newer build of this package exists; release that one."))
    from ..media.services import unreviewed  # media builds on access: imported late

    if unreviewed(case):  # R27: automatic redaction proposes, a person decides
        raise RuleViolation(
            _l("An automatic redaction has not been checked yet: confirm the requester's face.")
        )
    holdings = gather(case)
    if holdings.fingerprint() != package.contents_fingerprint:
        raise RuleViolation(
            _l("The data or the decisions changed after this package was built. Build it again.")
        )
    refusals = holdings.partial_refusals()
    outcome = Outcome.PARTLY_GRANTED if refusals else Outcome.GRANTED
    with force_locale(package.locale):
        reasons = decision_reasons(refusals)
    case_services.decide(case, actor=actor, outcome=outcome, reasons=reasons)

    now = now_utc()
    package.status = PackageStatus.RELEASED
    package.released_at = now
    package.released_by_id = actor.id
    package.expires_at = now + timedelta(days=current_app.config["PACKAGE_LINK_DAYS"])
    db.session.flush()
    record(
        "package.released",
        actor=actor,
        object_type="access_package",
        object_id=package.id,
        case_id=case.id,
        after={
            "status": package.status.value,
            "sha256": package.sha256,
            "size_bytes": package.size_bytes,
            "expires_at": package.expires_at,
            "partial_refusals": len(refusals),
            "outcome": outcome.value,
        },
    )
    notify_user(case.filed_by, "access_package_ready", case=case, package=package)
    case_services.fulfil(case, actor=actor, fulfilment="access package delivered")
    return package


def decision_reasons(refusals: list[HeldItem]) -> str:
    """The decision's reasons in the current language: what was given and what was not."""
    if not refusals:
        return _(
            "You receive a copy of all the data you asked for, together with the information "
            "that article 15 of the GDPR requires (see the cover letter in the package)."
        )
    lines = [
        _(
            "You receive a copy of the data you asked for, together with the information that "
            "article 15 of the GDPR requires. We did not give you everything in full:"
        )
    ]
    for item in refusals:
        lines.append("- " + refusal_text(item))
    lines.append(gdpr_redress_after_refusal())
    return "\n".join(lines)


def refusal_text(item: HeldItem) -> str:
    """One partial refusal in the current language: what, how and why (R5, R13)."""
    decision = required(item.decision, "the item's decision")
    if decision.decision is Release.REDACTED:
        text = _(
            "%(item)s: released redacted, to protect %(protects)s.",
            item=item.label(),
            protects=decision.protects,
        )
        if decision.reason:
            text += " " + decision.reason
        return text
    return _("%(item)s: withheld. Reason: %(reason)s", item=item.label(), reason=decision.reason)


# --- audit of access to files (R14, R24) ----------------------------------------------------


def record_download(package: AccessPackage, *, actor: User, byte_range: str | None) -> None:
    """A requester's download (or resumed part of one) of their package."""
    record(
        "package.downloaded",
        actor=actor,
        object_type="access_package",
        object_id=package.id,
        case_id=package.case_id,
        after={"sha256": package.sha256, "range": byte_range},
    )


def record_staff_open(
    case: Case, *, actor: User, what: str, object_id: int, details: dict[str, Any]
) -> None:
    """Staff opened or played a recording, a redacted copy, a letter or a package (R24)."""
    record(
        f"{what}.opened",
        actor=actor,
        object_type=what,
        object_id=object_id,
        case_id=case.id,
        after=details,
    )


# --- housekeeping ---------------------------------------------------------------------------


def expire_packages(now: datetime | None = None) -> list[int]:
    """Delete the files of released packages whose link expired; keep sha256 and size (R14).

    The file is deleted before the row says so: a crash in between leaves a row that the next run
    finishes (deleting a missing file is a no-op), never a file nobody knows about.
    """
    now = now or now_utc()
    store = storage_module.packages_storage()
    expired = db.session.scalars(
        select(AccessPackage)
        .where(AccessPackage.status == PackageStatus.RELEASED, AccessPackage.expires_at <= now)
        .order_by(AccessPackage.id)
        .with_for_update(skip_locked=True)
    ).all()
    for package in expired:
        key = package.storage_key
        if key:
            store.delete(key)
        package.status = PackageStatus.EXPIRED
        package.storage_key = None
        package.file_deleted_at = now
        db.session.flush()
        record(
            "package.expired",
            actor=None,
            object_type="access_package",
            object_id=package.id,
            case_id=package.case_id,
            after={
                "sha256": package.sha256,
                "size_bytes": package.size_bytes,
                "expires_at": package.expires_at,
                "file_deleted_at": now,
            },
        )
    return [package.id for package in expired]


def stale_builds(now: datetime | None = None) -> list[int]:
    """Builds whose task was lost (broker down at commit) or whose worker died mid-build."""
    now = now or now_utc()
    return list(
        db.session.scalars(
            select(AccessPackage.id).where(
                (
                    (AccessPackage.status == PackageStatus.QUEUED)
                    & (AccessPackage.requested_at <= now - STALE_QUEUE)
                )
                | (
                    (AccessPackage.status == PackageStatus.BUILDING)
                    & (AccessPackage.heartbeat_at <= now - STALE_BUILD)
                )
            )
        )
    )

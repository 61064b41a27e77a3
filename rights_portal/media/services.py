"""The named operations of automatic redaction (R13, R27).

* :func:`request_redaction` — queue a run of the pipeline on one recording file (video or
  screenshot) of an open access case, with the threshold, cover-all, the requester's track if
  the handler chose one, and muted time ranges, each with its reason.
* the worker's body, :func:`rights_portal.media.worker.run`, is in :mod:`.worker`.
* :func:`cancel`, :func:`retry` — stop a queued or running run; run a finished one again.
* :func:`confirm_requester` — the handler confirms the proposed requester's track (the run
  becomes reviewed) or picks another one (a new run, reviewed from the start). R27: automatic
  redaction proposes, a person decides.
* :func:`record_for_decision` — what the access letter states about an automatic redaction.

Services flush and never commit; permission checks are the caller's
(:mod:`rights_portal.permissions`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..access import decisions as access_decisions
from ..access import holdings as access_holdings
from ..access.models import ItemDecision, ItemType, Release
from ..accounts.models import User
from ..audit.services import record
from ..cases.models import Case
from ..clock import now_utc
from ..errors import RuleViolation
from ..exams.models import FileKind, RecordingFile
from ..extensions import db
from .detect import DEFAULT_THRESHOLD
from .models import Redaction, RedactionStatus

log = logging.getLogger(__name__)
TASK = "rights_portal.redact_recording"  # routed to the ``media`` queue (config.TASK_QUEUES)
REDACTABLE = (FileKind.VIDEO, FileKind.SCREENSHOT)
MAX_REASON = 1000
PROTECTS = _l("Other people visible in the recording: their faces are covered.")


@dataclass(frozen=True)
class MutedRange:
    """A stretch of the sound the handler silences, with the reason (R13: audible others)."""

    start_s: float
    end_s: float
    reason: str

    def as_json(self) -> dict[str, Any]:
        """The range as stored on the run and in its record."""
        return {"start_s": self.start_s, "end_s": self.end_s, "reason": self.reason}


def _checked_ranges(muted: list[MutedRange]) -> list[dict[str, Any]]:
    ranges = []
    for item in muted:
        if not (0 <= item.start_s < item.end_s):
            raise RuleViolation(_l("A muted range must end after it starts."))
        reason = item.reason.strip()[:MAX_REASON]
        if not reason:
            raise RuleViolation(_l("Give the reason for muting this part of the sound."))
        ranges.append(MutedRange(item.start_s, item.end_s, reason).as_json())
    return sorted(ranges, key=lambda r: r["start_s"])


def _redactable_file(case: Case, file_id: int) -> RecordingFile:
    access_decisions.ensure_workable(case)
    held = access_holdings.gather(case).find(ItemType.FILE, file_id)
    if held is None or held.file is None:
        raise RuleViolation(_l("This item is not held about the student of this case."))
    if held.file.deleted_at is not None or held.file.storage_key is None:
        raise RuleViolation(_l("This file has been deleted; only its record is held."))
    if held.file.kind not in REDACTABLE:
        raise RuleViolation(_l("Only a video or a screenshot can be redacted automatically."))
    return held.file


def runs_of(case: Case, file_id: int | None = None) -> list[Redaction]:
    """The case's redaction runs (of one file if given), newest first."""
    query = select(Redaction).where(Redaction.case_id == case.id)
    if file_id is not None:
        query = query.where(Redaction.file_id == file_id)
    return list(db.session.scalars(query.order_by(Redaction.id.desc())))


def request_redaction(
    case: Case,
    file_id: int,
    *,
    actor: User,
    threshold: float = DEFAULT_THRESHOLD,
    cover_all: bool = False,
    requester_track: int | None = None,
    muted: list[MutedRange] | None = None,
    reviewed: bool = False,
) -> Redaction:
    """Queue an automatic redaction of file ``file_id`` for ``case`` (dispatch after commit)."""
    file = _redactable_file(case, file_id)
    if not 0.05 <= threshold <= 0.95:
        raise RuleViolation(_l("The detection threshold must be between 0.05 and 0.95."))
    if any(run.status.in_progress for run in runs_of(case, file.id)):
        raise RuleViolation(_l("This file is being redacted already."))
    ranges = _checked_ranges(muted or [])
    now = now_utc()
    run = Redaction(
        case_id=case.id,
        file_id=file.id,
        status=RedactionStatus.QUEUED,
        progress=0,
        threshold=threshold,
        cover_all=cover_all,
        requester_track=requester_track,
        muted_ranges=ranges,
        requested_by_id=actor.id,
        requested_at=now,
        reviewed_by_id=actor.id if reviewed else None,
        reviewed_at=now if reviewed else None,
    )
    db.session.add(run)
    db.session.flush()
    record(
        "media.redaction_requested",
        actor=actor,
        object_type="media_redaction",
        object_id=run.id,
        case_id=case.id,
        after=_snapshot(run),
    )
    return run


def _snapshot(run: Redaction) -> dict[str, Any]:
    return {
        "file_id": run.file_id,
        "status": run.status.value,
        "threshold": run.threshold,
        "cover_all": run.cover_all,
        "requester_track": run.requester_track,
        "muted_ranges": run.muted_ranges,
    }


def enqueue(run_id: int) -> None:
    """Send the run to the ``media`` queue (after the commit that created it).

    A broker that is down leaves it queued; the housekeeping task sends it again
    (:func:`stale_runs`).
    """
    celery = current_app.extensions["celery"]
    try:
        celery.tasks[TASK].delay(run_id)
    except Exception:
        log.warning("could not enqueue redaction %s", run_id)


def cancel(run: Redaction, *, actor: User) -> Redaction:
    """Stop a queued or running run; the worker notices at its next progress step."""
    if not run.status.in_progress:
        raise RuleViolation(_l("Only a queued or running redaction can be cancelled."))
    before = _snapshot(run)
    run.status = RedactionStatus.CANCELLED
    run.finished_at = now_utc()
    db.session.flush()
    record(
        "media.redaction_cancelled",
        actor=actor,
        object_type="media_redaction",
        object_id=run.id,
        case_id=run.case_id,
        before=before,
        after=_snapshot(run),
    )
    return run


def retry(run: Redaction, *, actor: User, requester_track: int | None = None) -> Redaction:
    """A new run with the same settings (a failed, cancelled or finished one stays as it was)."""
    if run.status.in_progress:
        raise RuleViolation(_l("This redaction is still under way."))
    case = db.session.get(Case, run.case_id)
    assert case is not None  # noqa: S101 - the foreign key guarantees it
    return request_redaction(
        case,
        run.file_id,
        actor=actor,
        threshold=run.threshold,
        cover_all=run.cover_all,
        requester_track=requester_track if requester_track is not None else run.requester_track,
        muted=[MutedRange(r["start_s"], r["end_s"], r["reason"]) for r in run.muted_ranges],
        reviewed=requester_track is not None,
    )


def confirm_requester(run: Redaction, *, actor: User, track_id: int) -> Redaction:
    """The handler says which track is the requester's (R27).

    The track the run kept: the run is reviewed by ``actor`` now. Another track: a new run that
    keeps that one, reviewed from the start (dispatch it after commit). Returns the reviewed run.
    """
    if run.status is not RedactionStatus.DONE or run.record is None:
        raise RuleViolation(_l("Only a finished redaction can be confirmed."))
    tracks = {t["id"] for t in run.record.get("tracks", [])}
    if track_id not in tracks:
        raise RuleViolation(_l("There is no such face in this recording."))
    if track_id != run.record.get("requester_track") or run.cover_all:
        return retry(run, actor=actor, requester_track=track_id)
    before = {"reviewed_by_id": run.reviewed_by_id}
    run.reviewed_by_id, run.reviewed_at = actor.id, now_utc()
    run.record = {**run.record, **review_record(run)}
    db.session.flush()
    record(
        "media.requester_confirmed",
        actor=actor,
        object_type="media_redaction",
        object_id=run.id,
        case_id=run.case_id,
        before=before,
        after={"reviewed_by_id": actor.id, "requester_track": track_id},
    )
    return run


def review_record(run: Redaction) -> dict[str, Any]:
    """Who confirmed the requester's face and when, as the run's record keeps it (R27)."""
    reviewer = db.session.get(User, run.reviewed_by_id) if run.reviewed_by_id else None
    return {
        "reviewed_by": reviewer.full_name if reviewer else None,
        "reviewed_at": run.reviewed_at.isoformat() if run.reviewed_at else None,
    }


def _current_run(decision: ItemDecision) -> Redaction | None:
    """The finished run whose copy is still the decision's copy (not replaced by an upload)."""
    job = db.session.scalars(
        select(Redaction)
        .where(Redaction.decision_id == decision.id, Redaction.status == RedactionStatus.DONE)
        .order_by(Redaction.id.desc())
        .limit(1)
    ).first()
    if job is None or job.record is None or decision.decision is not Release.REDACTED:
        return None
    if job.record.get("copy_sha256") != decision.redacted_sha256:
        return None
    return job


def record_for_decision(decision: ItemDecision) -> dict[str, Any] | None:
    """The record of the automatic redaction that made ``decision``'s copy, if it did (R13)."""
    job = _current_run(decision)
    return dict(job.record) if job is not None and job.record is not None else None


def unreviewed(case: Case) -> list[Redaction]:
    """The case's automatic redactions in use that no person has confirmed yet (R27)."""
    decisions = db.session.scalars(
        select(ItemDecision).where(
            ItemDecision.case_id == case.id, ItemDecision.decision == Release.REDACTED
        )
    )
    runs = [_current_run(decision) for decision in decisions]
    return [job for job in runs if job is not None and job.reviewed_by_id is None]

"""The purge plan (R25): which expired files go and which recordings are held, and the DPO's view.

:func:`plan_purge` changes nothing (the dry run prints it); the runner carries it out and
:func:`record_purge_run` records what one run did. :func:`overview` is the DPO's retention page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from ..audit.services import record
from ..clock import today_local
from ..exams.models import Recording, RecordingFile
from ..extensions import db
from .holds import Hold, holds_for
from .intents import holds_now, pending_intents, undeleted_files
from .models import DeletionRecord, LegalHold

UPCOMING_DAYS = 30


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


def _plan_recordings(recordings: list[Recording]) -> list[PlannedRecording]:
    files = undeleted_files([r.id for r in recordings])
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

"""The worker's part of automatic redaction (R27), on the ``media`` queue.

:func:`run` takes the run (:func:`claim`, on its own short transaction so the handler sees it
start), streams the file through :mod:`.pipeline`, stores the result as the item's redacted copy
through :func:`rights_portal.access.decisions.decide_item` (the very path of an uploaded copy,
so retention, erasure and the package treat it alike) and keeps the record of the partial
refusal. Progress is written on its own connection as it goes; a cancelled run stops at its next
progress step. :func:`stale_runs` finds runs whose task was lost, for the housekeeping task.
The caller (the task) commits.
"""

from __future__ import annotations

import logging
import mimetypes
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from flask_babel import force_locale
from sqlalchemy import select, update

from ..access import decisions as access_decisions
from ..access import storage as access_storage
from ..access.models import ItemType, Release
from ..audit.services import record
from ..cases.models import Case
from ..clock import now_utc
from ..dbutil import claim_job
from ..exams.models import FileKind, RecordingFile
from ..extensions import db
from . import pipeline
from .models import Redaction, RedactionStatus
from .services import PROTECTS, review_record

log = logging.getLogger(__name__)
STALE_RUN = timedelta(minutes=10)
STALE_QUEUE = timedelta(minutes=2)
VIDEO_OUTPUT = {".mp4": ".mp4", ".mov": ".mov", ".mkv": ".mkv", ".m4v": ".mp4"}


class Cancelled(Exception):
    """The handler cancelled the run while it was going."""


def claim(run_id: int) -> bool:
    """Take the run on its own, immediately committed transaction; False if not ours."""
    return claim_job(
        Redaction,
        run_id,
        queued=RedactionStatus.QUEUED,
        working=RedactionStatus.RUNNING,
        alive_at=Redaction.heartbeat_at,
        stale=STALE_RUN,
        stamped=(Redaction.started_at,),
        progress=0,
    )


class ProgressWriter:
    """Writes progress on its own connection (at most twice a second); raises if cancelled."""

    def __init__(self, run_id: int, interval: float = 0.5) -> None:
        self.run_id = run_id
        self.interval = interval
        self.last_time = 0.0

    def __call__(self, fraction: float) -> None:
        """Record ``fraction`` (0-1) of the work done; :class:`Cancelled` if the run was."""
        moment = time.monotonic()
        if moment - self.last_time < self.interval:
            return
        self.last_time = moment
        percent = max(0, min(99, int(fraction * 100)))
        with db.engine.begin() as conn:
            status = conn.execute(
                update(Redaction)
                .where(Redaction.id == self.run_id)
                .values(progress=percent, heartbeat_at=now_utc())
                .returning(Redaction.status)
            ).scalar_one()
        if status == RedactionStatus.CANCELLED:
            raise Cancelled


def stale_runs(now: datetime | None = None) -> list[int]:
    """Runs whose task was lost (broker down at commit) or whose worker died mid-run.

    The housekeeping task sends them again; :func:`claim` takes a running one only once its
    heartbeat is ``STALE_RUN`` old, so a run still going is never done twice.
    """
    now = now or now_utc()
    return list(
        db.session.scalars(
            select(Redaction.id).where(
                (
                    (Redaction.status == RedactionStatus.QUEUED)
                    & (Redaction.requested_at <= now - STALE_QUEUE)
                )
                | (
                    (Redaction.status == RedactionStatus.RUNNING)
                    & (Redaction.heartbeat_at <= now - STALE_RUN)
                )
            )
        )
    )


def _output_suffix(file: RecordingFile) -> str:
    suffix = Path(file.filename).suffix.lower()
    if file.kind is FileKind.SCREENSHOT:
        return suffix if suffix in (".png", ".jpg", ".jpeg") else ".png"
    return VIDEO_OUTPUT.get(suffix, ".mp4")


def run(run_id: int, progress: pipeline.Progress | None = None) -> RedactionStatus | None:
    """Do run ``run_id``; its new status (None if it was not ours to do). The caller commits."""
    if not claim(run_id):
        return None
    progress = progress or ProgressWriter(run_id)
    job = db.session.get(Redaction, run_id)
    assert job is not None  # noqa: S101 - claimed just now
    db.session.refresh(job)
    file = db.session.get(RecordingFile, job.file_id)
    case = db.session.get(Case, job.case_id)
    assert file is not None and case is not None and file.storage_key  # noqa: S101
    work = Path(tempfile.mkdtemp(prefix="redaction-"))
    try:
        source = work / f"source{Path(file.filename).suffix.lower() or '.bin'}"
        store = access_storage.recordings_storage()
        reader = store.open(file.storage_key, file.sha256, file.size_bytes)
        with reader, source.open("wb") as target:
            shutil.copyfileobj(reader, target, 1024 * 1024)
        suffix = _output_suffix(file)
        output = work / f"redacted{suffix}"
        settings = pipeline.Settings(
            threshold=job.threshold,
            cover_all=job.cover_all,
            muted=tuple((r["start_s"], r["end_s"]) for r in job.muted_ranges),
        )
        result = pipeline.redact(
            source, output, settings, requester=job.requester_track, progress=progress
        )
        requester = case.filed_by
        with force_locale(requester.locale or "nl"):
            protects = str(PROTECTS)
        with output.open("rb") as stream:
            decision = access_decisions.decide_item(
                case,
                actor=job.requested_by,
                item_type=ItemType.FILE,
                item_id=file.id,
                decision=Release.REDACTED,
                protects=protects,
                redacted=access_decisions.RedactedUpload(
                    stream=stream,
                    filename=f"{Path(file.filename).stem}-redacted{suffix}",
                    media_type=mimetypes.guess_type(f"x{suffix}")[0] or "application/octet-stream",
                ),
            )
    except Cancelled:
        db.session.rollback()
        return RedactionStatus.CANCELLED
    except Exception as exc:
        log.exception("redaction %s failed", run_id)
        db.session.rollback()
        return _mark_failed(run_id, exc)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    db.session.refresh(job)
    if job.status is RedactionStatus.CANCELLED:  # cancelled in the last moment: keep nothing
        db.session.rollback()
        return RedactionStatus.CANCELLED
    the_record = {
        **result.record,
        "copy_sha256": decision.redacted_sha256,
        "muted_ranges": job.muted_ranges,
        "requested_by": job.requested_by.full_name,
        **review_record(job),
    }
    job.status = RedactionStatus.DONE
    job.progress = 100
    job.finished_at = job.heartbeat_at = now_utc()
    job.decision_id = decision.id
    job.error = None
    job.record = the_record
    db.session.flush()
    record(
        "media.redacted",
        actor=None,
        object_type="media_redaction",
        object_id=job.id,
        case_id=job.case_id,
        after={
            "decision_id": decision.id,
            "redacted_sha256": decision.redacted_sha256,
            **{
                key: result.record[key]
                for key in (
                    "model", "model_version", "threshold", "frames_processed", "tracks_found",
                    "requester_track", "tracks_covered",
                )
            },
        },
    )
    return job.status


def _mark_failed(run_id: int, exc: Exception) -> RedactionStatus:
    job = db.session.get(Redaction, run_id)
    assert job is not None  # noqa: S101
    if job.status is RedactionStatus.CANCELLED:
        return job.status
    job.status = RedactionStatus.FAILED
    job.error = f"{type(exc).__name__}: {exc}"[:2000]
    job.finished_at = now_utc()
    db.session.flush()
    record(
        "media.redaction_failed",
        actor=None,
        object_type="media_redaction",
        object_id=job.id,
        case_id=job.case_id,
        after={"error": job.error},
    )
    return job.status



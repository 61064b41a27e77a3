"""Asking for an export, building it in the worker, and deleting it after the retention.

Asking is one unit of work: the row, the audit event (R24) and the queued build task commit
together (:func:`rights_portal.transactions.queue_task`). The build takes the row on its own
committed transaction (so the page shows "building" and a second delivery of the task does
nothing), writes the file through a hashing writer into the ``exports`` store area and leaves
the final state in the task's unit of work.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, BinaryIO, cast

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from ..access import blobs
from ..access.storage import exports_storage
from ..accounts.models import User
from ..audit.services import record
from ..clock import now_utc
from ..dbutil import claim_job
from ..extensions import db
from ..transactions import queue_task
from .builders import write_export
from .models import Export, ExportKind, ExportStatus

log = logging.getLogger(__name__)
BUILD_TASK = "rights_portal.build_export"
#: A build whose worker died is taken again after this long.
STALE_BUILD = timedelta(minutes=30)
#: The exports page lists this many of one's exports, newest first.
LIST_SIZE = 20


def request_export(
    kind: ExportKind,
    params: dict[str, Any],
    *,
    actor: User,
    filename: str,
    media_type: str,
    locale: str,
) -> Export:
    """Store the request, log it and queue the build (sent after the commit)."""
    export = Export(
        requested_by_id=actor.id,
        kind=kind,
        params=params,
        locale=locale,
        status=ExportStatus.QUEUED,
        filename=filename,
        media_type=media_type,
    )
    db.session.add(export)
    db.session.flush()
    after = {"filters": params, "export_id": export.id}
    # The actions the synchronous downloads recorded, so the trail reads as before.
    if kind is ExportKind.AUDIT_TRAIL:
        record("audit.trail_exported", actor=actor, object_type="audit_trail", after=after)
    else:
        record("dpo.report_exported", actor=actor, object_type="dpo_report", after=after)
    queue_task(BUILD_TASK, export.id)
    return export


def exports_of(user: User) -> list[Export]:
    """The user's most recent exports, newest first."""
    return list(
        db.session.scalars(
            select(Export)
            .where(Export.requested_by_id == user.id)
            .order_by(Export.id.desc())
            .limit(LIST_SIZE)
        )
    )


def claim(export_id: int) -> bool:
    """Take the build on its own committed transaction; False if it is not (any more) ours."""
    return claim_job(
        Export,
        export_id,
        queued=ExportStatus.QUEUED,
        working=ExportStatus.BUILDING,
        alive_at=Export.started_at,
        stale=STALE_BUILD,
    )


def build(export_id: int) -> ExportStatus | None:
    """Build export ``export_id``; its new status, or None if it was not ours to build."""
    if not claim(export_id):
        return None
    export = db.session.get(Export, export_id)
    if export is None:  # pragma: no cover - claimed a moment ago
        return None
    store = exports_storage()
    work = store.new_work_file()
    try:
        with (
            current_app.test_request_context(base_url=current_app.config["PORTAL_BASE_URL"]),
            force_locale(export.locale),
            blobs.HashingWriter(work) as written,
        ):
            write_export(export, cast(BinaryIO, written))
        stored = store.put_file(work, written.sha256, written.size)
    except Exception as exc:
        log.exception("building export %s failed", export_id)
        db.session.rollback()
        work.unlink(missing_ok=True)
        return _mark_failed(export_id, exc)
    export.status = ExportStatus.READY
    export.storage_key = stored.key
    export.sha256 = stored.sha256
    export.size_bytes = stored.size
    export.finished_at = now_utc()
    export.expires_at = export.finished_at + timedelta(
        hours=current_app.config["EXPORT_RETENTION_HOURS"]
    )
    export.error = None
    db.session.flush()
    record(
        "export.built",
        actor=None,
        object_type="export",
        object_id=export.id,
        after={"kind": export.kind.value, "sha256": stored.sha256, "size_bytes": stored.size},
    )
    return export.status


def _mark_failed(export_id: int, exc: Exception) -> ExportStatus:
    export = db.session.get(Export, export_id)
    assert export is not None  # noqa: S101 - it was claimed
    export.status = ExportStatus.FAILED
    export.error = f"{type(exc).__name__}: {exc}"[:2000]
    export.finished_at = now_utc()
    db.session.flush()
    record(
        "export.build_failed",
        actor=None,
        object_type="export",
        object_id=export.id,
        after={"kind": export.kind.value, "error": export.error},
    )
    return export.status


def record_download(export: Export, *, actor: User, byte_range: str | None) -> None:
    """Somebody downloaded (a part of) an export: R24."""
    record(
        "export.downloaded",
        actor=actor,
        object_type="export",
        object_id=export.id,
        after={"kind": export.kind.value, "sha256": export.sha256, "range": byte_range},
    )


def purge_expired(batch_size: int = 100) -> int:
    """Delete the files of ready exports past their expiry; return how many were deleted.

    The file goes first, then the row says so: a file deleted whose row did not commit is
    deleted again next time (deleting is idempotent).
    """
    now = now_utc()
    due = list(
        db.session.scalars(
            select(Export)
            .where(Export.status == ExportStatus.READY, Export.expires_at <= now)
            .order_by(Export.expires_at)
            .limit(batch_size)
        )
    )
    store = exports_storage() if due else None
    for export in due:
        assert store is not None and export.storage_key is not None  # noqa: S101
        store.delete(export.storage_key)
        export.status = ExportStatus.EXPIRED
        export.storage_key = None
        record(
            "export.deleted",
            actor=None,
            object_type="export",
            object_id=export.id,
            after={"kind": export.kind.value, "expired_at": export.expires_at},
        )
    db.session.flush()
    return len(due)

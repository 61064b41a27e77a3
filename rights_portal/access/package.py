"""Building an access package: a ZIP streamed file by file (R11, R12; docs/rules.md#targets).

The worker's task calls :func:`build`. It takes the build (queued → building) on its own short
transaction so the handler sees it start, then writes the ZIP into the package store's work
folder: every media file is copied chunk by chunk from the recordings store (whose reader checks
its sha256) into a ZIP64 entry opened with ``ZipFile.open(name, "w")``, so peak memory does not
depend on the size of the recordings. The ZIP is written forward only through a hashing writer
(entries end with data descriptors), so its sha256 is known when it is done and the finished
file is not read again (issue 23). Then ``data.json`` and ``data.csv`` (everything held that
was asked for, and what was not released and why) and the cover letter as HTML and PDF. Progress
is written on its own connection as it goes, for the handler's progress page.

:func:`build` leaves the final state (ready, or failed with the error) in the caller's session;
the task commits it. Which items go in, and how, is decided by :mod:`.holdings` and
:mod:`.decisions`; what the documents in it say, by :mod:`.contents`.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
import time
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import update

from ..audit.services import record
from ..clock import now_utc, to_local
from ..dbutil import claim_job
from ..extensions import db
from . import blobs
from . import contents as package_contents
from . import storage as access_storage
from .cleanup import delete_after_rollback
from .holdings import HeldItem, gather, required
from .letter import FACTS_SOURCE, render_letter, render_pdf
from .lifecycle import STALE_BUILD
from .models import AccessPackage, PackageStatus, Release

log = logging.getLogger(__name__)
BUILD_TASK = "rights_portal.build_access_package"
_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
Progress = Callable[[int], None]
COPY_CHUNK_SIZE = 4 * 1024 * 1024


def enqueue_build(package_id: int) -> None:
    """Send the build task (after the commit that created the package).

    If the broker is down the package stays queued and the housekeeping task sends it again.
    """
    celery = current_app.extensions["celery"]
    try:
        celery.tasks[BUILD_TASK].delay(package_id)
    except Exception:
        log.warning("could not enqueue build of package %s; housekeeping will retry", package_id)


def claim(package_id: int) -> bool:
    """Take the build on a separate, immediately committed transaction; False if not ours."""
    return claim_job(
        AccessPackage,
        package_id,
        queued=PackageStatus.QUEUED,
        working=PackageStatus.BUILDING,
        alive_at=AccessPackage.heartbeat_at,
        stale=STALE_BUILD,
        progress=0,
    )


class ProgressWriter:
    """Writes the build's progress (and heartbeat) on its own connection, at most twice a second."""

    def __init__(self, package_id: int, interval: float = 0.5) -> None:
        self.package_id = package_id
        self.interval = interval
        self.last_value = -1
        self.last_time = 0.0

    def __call__(self, percent: int) -> None:
        """Record ``percent`` (0-100) unless it is unchanged or was written a moment ago."""
        percent = max(0, min(99, int(percent)))  # 100 is written with the final state
        moment = time.monotonic()
        if percent == self.last_value or moment - self.last_time < self.interval:
            return
        self.last_value, self.last_time = percent, moment
        with db.engine.begin() as conn:
            conn.execute(
                update(AccessPackage)
                .where(AccessPackage.id == self.package_id)
                .values(progress=percent, heartbeat_at=now_utc())
            )


def build(package_id: int, progress: Progress | None = None) -> PackageStatus | None:
    """Build package ``package_id``; return its new status (None if it was not ours to build)."""
    if not claim(package_id):
        return None
    progress = progress or ProgressWriter(package_id)
    package = required(db.session.get(AccessPackage, package_id), f"package {package_id}")
    store = access_storage.packages_storage()
    work = store.new_work_file()
    try:
        with blobs.HashingWriter(work) as written:
            contents = write_package(package, cast(BinaryIO, written), progress)
        stored = store.put_file(work, written.sha256, written.size)
    except Exception as exc:
        log.exception("building access package %s failed", package_id)
        db.session.rollback()
        work.unlink(missing_ok=True)
        return _mark_failed(package_id, exc)
    delete_after_rollback(store, stored.key)
    package.status = PackageStatus.READY
    package.progress = 100
    package.built_at = now_utc()
    package.heartbeat_at = package.built_at
    package.storage_key = stored.key
    package.sha256 = stored.sha256
    package.size_bytes = stored.size
    package.error = None
    for name, value in contents.items():
        setattr(package, name, value)
    db.session.flush()
    record(
        "package.built",
        actor=None,
        object_type="access_package",
        object_id=package.id,
        case_id=package.case_id,
        after={
            "sha256": stored.sha256,
            "size_bytes": stored.size,
            "file_count": package.file_count,
            "partial_refusals": package.partial_refusals,
            "facts_source": FACTS_SOURCE,
        },
    )
    return package.status


def _mark_failed(package_id: int, exc: Exception) -> PackageStatus:
    package = required(db.session.get(AccessPackage, package_id), f"package {package_id}")
    if isinstance(exc, blobs.IntegrityError):
        error = f"a stored recording is damaged: {exc}"
    elif isinstance(exc, blobs.MissingFile):
        error = f"a stored recording is missing: {exc}"
    else:
        error = f"{type(exc).__name__}: {exc}"
    package.status = PackageStatus.FAILED
    package.error = error[:2000]
    db.session.flush()
    record(
        "package.build_failed",
        actor=None,
        object_type="access_package",
        object_id=package.id,
        case_id=package.case_id,
        after={"error": package.error},
    )
    return package.status


# --- the ZIP --------------------------------------------------------------------------------


def write_package(
    package: AccessPackage, out: Path | BinaryIO, progress: Progress
) -> dict[str, Any]:
    """Write the ZIP to ``out``; return the facts the package row keeps about its contents.

    The recordings are copied in chunks of :data:`COPY_CHUNK_SIZE` (a few large reads and writes
    cost less per byte in Python than many of a megabyte) in three overlapping steps on two
    threads besides this one: reading and verifying a recording's sha256
    (:func:`.blobs.read_ahead`), the ZIP's CRC-32 here, hashing and writing the ZIP
    (:class:`.blobs.HashingWriter`, set up by :func:`build`).
    """
    case = package.case
    holdings = gather(case)
    fingerprint = holdings.fingerprint()
    recordings = access_storage.recordings_storage()
    files = holdings.included_files()
    total = sum(package_contents.source_size(item) for item in files) or 1
    copied = 0
    progress(1)
    paths: dict[str, str] = {}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for item in files:
            name = _package_path(item)
            paths[item.key] = name
            info = zipfile.ZipInfo(name, date_time=_zip_time(item.file.recording.recorded_at))  # type: ignore[union-attr]
            info.compress_type = zipfile.ZIP_STORED  # media is compressed already
            info.external_attr = 0o644 << 16
            with (
                _open_source(recordings, item) as source,
                zf.open(info, "w", force_zip64=True) as target,
            ):
                for chunk in blobs.read_ahead(source, COPY_CHUNK_SIZE):
                    target.write(chunk)
                    copied += len(chunk)
                    progress(1 + 89 * copied // total)
        progress(90)
        facts_used = package_contents.facts_used(holdings)
        with force_locale(package.locale):
            document = package_contents.data_document(holdings, package, facts_used, paths)
            zf.writestr("data.json", json.dumps(document, ensure_ascii=False, indent=2))
            zf.writestr("data.csv", package_contents.data_csv(holdings, paths))
            html = render_letter(
                package.locale,
                **package_contents.letter_context(holdings, package, facts_used, paths),
            )
        zf.writestr("cover-letter.html", html)
        progress(93)
        zf.writestr("cover-letter.pdf", render_pdf(html))
        progress(98)
    return {
        "letter_html": html,
        "facts_used": facts_used,
        "contents_fingerprint": fingerprint,
        "file_count": len(files),
        "partial_refusals": len(holdings.partial_refusals()),
    }


def _open_source(store: blobs.Storage, item: HeldItem) -> blobs.VerifyingReader:
    decision = item.decision
    if decision is not None and decision.decision is Release.REDACTED:
        return store.open(
            required(decision.redacted_storage_key, "the redacted copy"),
            required(decision.redacted_sha256, "the redacted copy's sha256"),
            decision.redacted_size_bytes,
        )
    stored = required(item.file, "the recording file")
    if stored.storage_key is None:
        raise blobs.MissingFile(f"recording file {stored.id} has no stored copy")
    return store.open(stored.storage_key, stored.sha256, stored.size_bytes)


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    local = to_local(moment)
    if local.year < 1980:  # the ZIP format cannot express earlier dates
        return (1980, 1, 1, 0, 0, 0)
    return (local.year, local.month, local.day, local.hour, local.minute, local.second)


def _suffix(filename: str | None, media_type: str | None) -> str:
    suffix = Path(filename or "").suffix.lower()
    if _SAFE_SUFFIX.fullmatch(suffix):
        return suffix
    guessed = mimetypes.guess_extension(media_type or "") or ".bin"
    return guessed if _SAFE_SUFFIX.fullmatch(guessed) else ".bin"


def _exam_folder(item: HeldItem) -> str:
    if item.exam is None:
        return "no-exam"
    code = _UNSAFE.sub("-", item.exam.course_code).strip("-") or "exam"
    return f"{code}_{to_local(item.exam.starts_at):%Y-%m-%d}"


def _package_path(item: HeldItem) -> str:
    """The file's name inside the ZIP: built from ids and dates, never from a supplied name."""
    stored = required(item.file, "the recording file")
    decision = item.decision
    redacted = decision is not None and decision.decision is Release.REDACTED
    when = to_local(stored.recording.recorded_at)
    if decision is not None and redacted:
        suffix = _suffix(decision.redacted_filename, decision.redacted_media_type)
    else:
        suffix = _suffix(stored.filename, stored.media_type)
    marker = "-redacted" if redacted else ""
    return (
        f"recordings/{_exam_folder(item)}/"
        f"{when:%Y%m%d-%H%M}-{stored.kind.value}-{stored.id}{marker}{suffix}"
    )

"""Listing a vendor's files into vendor items, and fetching one into the recordings store.

A fetch streams the file into a work file of the recordings store, counting and hashing as it
goes. A broken transfer is resumed with ``Range: bytes=N-`` (a vendor that ignores Range and
answers 200 starts it over), at most ``VENDOR_FETCH_ATTEMPTS`` times. The file is stored only
when it is complete: its size is the listed one (and Content-Range's / Content-Length's) and,
where the vendor lists one, its sha256 matches. Only then are the recording and its file row
made, in the caller's transaction (the stored file is deleted again if it rolls back). A file
whose vendor id was fetched before, or whose sha256 the student's recordings already hold, stores
nothing new. A failed fetch leaves no file and no row but the item's state and error.
The caller commits and writes the audit event (:mod:`.services`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import requests
from flask import current_app
from sqlalchemy import select

from ..access.cleanup import delete_after_rollback
from ..access.holdings import required
from ..access.storage import recordings_storage
from ..clock import now_utc, to_local
from ..exams.models import Exam, Recording, RecordingFile
from ..extensions import db
from .connectors import Connector, RemoteFile, VendorError
from .models import ItemState, VendorConnector, VendorItem

#: Read from the network in small pieces: a transfer that breaks off loses at most one piece,
#: and the resume starts right after what arrived.
NETWORK_CHUNK = 64 * 1024


@dataclass
class Fetched:
    """What fetching one item did."""

    item: VendorItem
    stored: bool  # new bytes in the store (False: already held, nothing stored)
    bytes: int = 0


def remember(connector: VendorConnector, remote: RemoteFile) -> tuple[VendorItem, bool]:
    """The vendor item for ``remote``, made when new (listing twice lists once)."""
    item = db.session.scalars(
        select(VendorItem).where(
            VendorItem.connector_id == connector.id,
            VendorItem.vendor_file_id == remote.vendor_file_id,
        )
    ).one_or_none()
    if item is not None:
        if item.state is not ItemState.FETCHED:  # a renewed download address
            item.download_url = remote.download_url
        return item, False
    item = VendorItem(
        connector_id=connector.id,
        vendor_file_id=remote.vendor_file_id,
        student_id=remote.student_id,
        exam_id=remote.exam_id,
        recorded_at=remote.recorded_at,
        kind=remote.kind,
        filename=remote.filename,
        media_type=remote.media_type,
        size_bytes=remote.size_bytes,
        sha256=remote.sha256,
        download_url=remote.download_url,
    )
    db.session.add(item)
    db.session.flush()
    return item, True


def retention_until(connector: VendorConnector, exam: Exam) -> date:
    """R25: the exam's day plus the retention days of the vendor's tool in the register."""
    return to_local(exam.starts_at).date() + timedelta(days=connector.tool.retention_days)


def _total_of(response: requests.Response, offset: int) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        return int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length", "")
    return offset + int(length) if length.isdigit() else None


def _download(client: Connector, item: VendorItem, work: Path) -> tuple[str, int]:
    """Stream ``item`` into ``work``, resuming broken transfers; return its sha256 and size."""
    attempts = max(int(current_app.config["VENDOR_FETCH_ATTEMPTS"]), 1)
    name = item.connector.name
    digest = hashlib.sha256()
    size = 0
    problem = "no attempt was made"
    with open(work, "wb") as target:
        for _attempt in range(attempts):
            item.attempts += 1
            try:
                response = client.open(item, offset=size)
            except VendorError as exc:
                problem = str(exc)
                continue
            with response:
                if response.status_code == 401:
                    raise VendorError(f"{name} refused the download's credentials (401)")
                if size and response.status_code == 200:  # Range ignored: start over
                    target.seek(0)
                    target.truncate()
                    digest, size = hashlib.sha256(), 0
                elif response.status_code not in (200, 206) or (
                    response.status_code == 206 and not size
                ):
                    problem = f"{name} answered {response.status_code} to the download"
                    continue
                total = _total_of(response, size)
                try:
                    for chunk in response.iter_content(NETWORK_CHUNK):
                        target.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                        if item.size_bytes is not None and size > item.size_bytes:
                            raise VendorError(
                                f"{name} sent more than the {item.size_bytes} bytes it listed"
                            )
                except requests.RequestException as exc:
                    kind = exc.__class__.__name__
                    problem = f"the download from {name} broke off after {size} bytes ({kind})"
                    continue
                if total is not None and size < total:
                    problem = f"the download from {name} ended after {size} of {total} bytes"
                    continue
                break
        else:
            raise VendorError(f"{problem}; gave up after {attempts} attempts")
        target.flush()
    if item.size_bytes is not None and size != item.size_bytes:
        raise VendorError(f"{name} listed {item.size_bytes} bytes but sent {size}")
    sha256 = digest.hexdigest()
    if item.sha256 is not None and sha256 != item.sha256:
        raise VendorError(f"the file from {name} does not have the sha256 it listed")
    return sha256, size


def _held(student_id: int, sha256: str) -> RecordingFile | None:
    return db.session.scalars(
        select(RecordingFile)
        .join(Recording)
        .where(
            Recording.student_id == student_id,
            RecordingFile.sha256 == sha256,
            RecordingFile.deleted_at.is_(None),
        )
    ).first()


def fetch(client: Connector, item: VendorItem) -> Fetched:
    """Fetch one item into the store (see the module's docstring); raise :class:`VendorError`."""
    if item.state is ItemState.FETCHED:
        return Fetched(item=item, stored=False)
    store = recordings_storage()
    work = store.new_work_file()
    work.parent.mkdir(parents=True, exist_ok=True)
    try:
        try:
            sha256, size = _download(client, item, work)
        except VendorError as exc:
            item.state = ItemState.FAILED
            item.last_error = str(exc)[:2000]
            raise
        existing = _held(item.student_id, sha256)
        if existing is not None:
            _mark_fetched(item, existing)
            return Fetched(item=item, stored=False)
        # The download hashed every byte it wrote: the store need not read the file again.
        stored = store.put_file(work, sha256, size)
    finally:
        work.unlink(missing_ok=True)
    delete_after_rollback(store, stored.key)
    recording = _recording_for(item)
    file = RecordingFile(
        kind=item.kind,
        filename=item.filename,
        media_type=item.media_type,
        size_bytes=stored.size,
        sha256=stored.sha256,
        storage_key=stored.key,
    )
    recording.files.append(file)
    db.session.flush()
    _mark_fetched(item, file)
    return Fetched(item=item, stored=True, bytes=stored.size)


def _mark_fetched(item: VendorItem, file: RecordingFile) -> None:
    item.state = ItemState.FETCHED
    item.recording_file_id = file.id
    item.fetched_at = now_utc()
    item.last_error = None
    db.session.flush()


def _recording_for(item: VendorItem) -> Recording:
    recording = db.session.scalars(
        select(Recording).where(
            Recording.student_id == item.student_id,
            Recording.exam_id == item.exam_id,
            Recording.recorded_at == item.recorded_at,
        )
    ).first()
    if recording is None:
        exam = required(db.session.get(Exam, item.exam_id), f"exam {item.exam_id}")
        recording = Recording(
            student_id=item.student_id,
            exam_id=item.exam_id,
            recorded_at=item.recorded_at,
            retention_until=retention_until(item.connector, exam),
        )
        db.session.add(recording)
    return recording

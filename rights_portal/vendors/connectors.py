"""The one small interface every vendor connector offers, and the HTTP plumbing they share.

A connector lists what the vendor holds for a student or an exam (:meth:`Connector.list_files`,
as :class:`RemoteFile`) and opens one listed file as a stream from a byte offset
(:meth:`Connector.open`, so a broken download resumes with an HTTP Range request). Which
vendor object holds which exam is a :class:`~.models.VendorLink`. Every failure a handler can
meet (unreachable, timed out, refused, a bad signature, endless pages) is a :class:`VendorError`
with a message that says which vendor and what happened; nothing here stores anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import requests
from flask import current_app
from sqlalchemy import select

from ..accounts.models import User
from ..exams.models import Exam, FileKind
from ..extensions import db
from .models import ConnectorKind, VendorConnector, VendorItem, VendorLink
from .secrets import unseal


class VendorError(Exception):
    """A vendor could not be reached or answered wrongly; ``str()`` is the handler's message."""


@dataclass(frozen=True)
class RemoteFile:
    """One file a vendor holds, as listed, for a student's exam."""

    vendor_file_id: str
    student_id: int
    exam_id: int
    recorded_at: datetime
    kind: FileKind
    filename: str
    media_type: str
    size_bytes: int | None
    sha256: str | None
    download_url: str


class Connector(Protocol):
    """List what exists for a student or an exam; open one listed file as a stream."""

    def list_files(
        self, *, student: User | None = None, exam: Exam | None = None
    ) -> Iterator[RemoteFile]:
        """Every file the vendor holds for the links that match ``student`` and ``exam``."""
        ...

    def open(self, item: VendorItem, offset: int = 0) -> requests.Response:
        """A streaming response with the file's bytes from ``offset`` (206 when resumed)."""
        ...

    def check(self) -> str:
        """One cheap authenticated call; what the vendor said, for the admin page."""
        ...


def links_for(
    connector: VendorConnector, *, student: User | None, exam: Exam | None
) -> list[VendorLink]:
    """The connector's links that cover ``exam`` (any when None) and ``student`` (any when None)."""
    query = select(VendorLink).where(VendorLink.connector_id == connector.id)
    if exam is not None:
        query = query.where(VendorLink.exam_id == exam.id)
    if student is not None:
        query = query.where(
            (VendorLink.student_id.is_(None)) | (VendorLink.student_id == student.id)
        )
    return list(db.session.scalars(query.order_by(VendorLink.id)))


def timeout() -> float:
    """Seconds to wait for a vendor to connect or send the next bytes."""
    return float(current_app.config["VENDOR_HTTP_TIMEOUT_SECONDS"])


def max_pages() -> int:
    """A listing that has not ended after this many pages is refused (a vendor paging forever)."""
    return int(current_app.config["VENDOR_MAX_PAGES"])


def request(
    name: str, method: str, url: str, *, stream: bool = False, **kwargs: Any
) -> requests.Response:
    """One HTTP call to vendor ``name``; connection trouble becomes a :class:`VendorError`."""
    try:
        return requests.request(method, url, timeout=timeout(), stream=stream, **kwargs)
    except requests.Timeout as exc:
        raise VendorError(f"{name} did not answer within {timeout():g} seconds ({url})") from exc
    except requests.RequestException as exc:
        raise VendorError(f"{name} could not be reached ({url}): {exc.__class__.__name__}") from exc


def json_of(name: str, response: requests.Response) -> dict[str, Any]:
    """The JSON object of a successful answer, or a :class:`VendorError` naming the status."""
    if response.status_code == 401:
        raise VendorError(f"{name} refused the credentials or the signature (401)")
    if response.status_code >= 400:
        raise VendorError(f"{name} answered {response.status_code} for {response.url}")
    try:
        body = response.json()
    except ValueError as exc:
        raise VendorError(f"{name} sent an answer that is not JSON ({response.url})") from exc
    if not isinstance(body, dict):
        raise VendorError(f"{name} sent an unexpected answer ({response.url})")
    return body


def connector_for(connector: VendorConnector) -> Connector:
    """The client of ``connector``'s kind, with its decrypted credentials."""
    from . import proctorexam, zoom

    credentials = unseal(connector.credentials)
    if connector.kind is ConnectorKind.ZOOM:
        return zoom.ZoomConnector(connector, credentials)
    if connector.kind is ConnectorKind.PROCTOREXAM:
        return proctorexam.ProctorExamConnector(connector, credentials)
    raise VendorError(f"{connector.name} has no API: its files arrive on request")

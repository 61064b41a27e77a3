"""Zoom cloud recordings: the Server-to-Server OAuth client, the listing, the signed webhook.

As Zoom's public API documentation describes it:

- **Token**: ``POST {token_url}?grant_type=account_credentials&account_id=…`` with HTTP Basic
  ``client_id:client_secret`` answers ``{"access_token", "expires_in"}``; every API call and
  download sends ``Authorization: Bearer <token>``.
- **One meeting**: ``GET {base_url}/meetings/{meetingId}/recordings`` answers the meeting
  (``id``, ``uuid``, ``start_time``, ``topic``) with ``recording_files[]``: ``id``,
  ``file_type`` (MP4, M4A, CHAT, TRANSCRIPT, CC, TIMELINE, CSV), ``file_size``,
  ``download_url``, ``recording_start``, ``status``.
- **A user's recordings**: ``GET {base_url}/users/{userId}/recordings?from=&to=&page_size=``
  answers ``meetings[]`` and ``next_page_token`` (empty on the last page).
- **Webhook** ``recording.completed``: header ``x-zm-request-timestamp`` and
  ``x-zm-signature: v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{raw body}`` with the app's
  secret token. ``endpoint.url_validation`` carries ``payload.plainToken``; the answer is
  ``{"plainToken", "encryptedToken": hex HMAC-SHA256(secret token, plainToken)}``.

A link's ``vendor_ref`` is the meeting id; a meeting is one student's (an oral or video-call
exam), so its link names the student. Zoom gives no sha256: the size is checked, and the
recordings store hashes what arrived.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from ..accounts.models import User
from ..exams.models import Exam, FileKind
from .connectors import RemoteFile, VendorError, json_of, links_for, max_pages, request
from .models import VendorConnector, VendorItem, VendorLink

#: file_type -> (kind, media type, extension)
FILE_TYPES: dict[str, tuple[FileKind, str, str]] = {
    "MP4": (FileKind.VIDEO, "video/mp4", "mp4"),
    "M4A": (FileKind.AUDIO, "audio/mp4", "m4a"),
    "CHAT": (FileKind.LOG, "text/plain", "txt"),
    "TRANSCRIPT": (FileKind.LOG, "text/vtt", "vtt"),
    "CC": (FileKind.LOG, "text/vtt", "vtt"),
    "TIMELINE": (FileKind.LOG, "application/json", "json"),
    "CSV": (FileKind.LOG, "text/csv", "csv"),
}
NAME = "Zoom"


def _moment(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as exc:
        raise VendorError(f"{NAME} sent a time that cannot be read: {value!r}") from exc


class ZoomConnector:
    """Zoom's cloud recordings through a Server-to-Server OAuth app (credentials decrypted)."""

    def __init__(self, connector: VendorConnector, credentials: dict[str, Any]) -> None:
        self.connector = connector
        self.credentials = credentials
        self._token: str | None = None
        self._token_expires = 0.0

    def _bearer(self) -> dict[str, str]:
        if self._token is None or time.monotonic() >= self._token_expires:
            response = request(
                NAME,
                "POST",
                self.connector.token_url,
                params={
                    "grant_type": "account_credentials",
                    "account_id": self.credentials.get("account_id", ""),
                },
                auth=(
                    self.credentials.get("client_id", ""),
                    self.credentials.get("client_secret", ""),
                ),
            )
            body = json_of(NAME, response)
            token = body.get("access_token")
            if not isinstance(token, str) or not token:
                raise VendorError(f"{NAME} gave no access token")
            self._token = token
            self._token_expires = time.monotonic() + max(int(body.get("expires_in", 3600)) - 60, 1)
        return {"Authorization": f"Bearer {self._token}"}

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        url = self.connector.base_url.rstrip("/") + path
        return json_of(NAME, request(NAME, "GET", url, params=params, headers=self._bearer()))

    def check(self) -> str:
        """Ask for the token and the account's own user."""
        user = self._get("/users/me")
        return f"{NAME}: connected as {user.get('email') or user.get('id') or 'the account'}"

    def meeting_files(self, link: VendorLink) -> Iterator[RemoteFile]:
        """The files of the link's meeting."""
        meeting = self._get(
            f"/meetings/{requests.utils.quote(link.vendor_ref, safe='')}/recordings"
        )
        yield from self._files(meeting, link)

    def _files(self, meeting: dict[str, Any], link: VendorLink) -> Iterator[RemoteFile]:
        if link.student_id is None:
            return  # a meeting without its student cannot be attributed (the admin links one)
        started = _moment(meeting.get("start_time"))
        for entry in meeting.get("recording_files") or []:
            if not isinstance(entry, dict) or entry.get("status", "completed") != "completed":
                continue
            file_type = str(entry.get("file_type", "")).upper()
            kind, media_type, extension = FILE_TYPES.get(
                file_type, (FileKind.LOG, "application/octet-stream", "bin")
            )
            file_id = entry.get("id") or f"{meeting.get('uuid')}:{file_type}"
            size = entry.get("file_size")
            label = str(entry.get("recording_type") or file_type.lower()).replace("/", "_")
            yield RemoteFile(
                vendor_file_id=f"{link.vendor_ref}/{file_id}"[:200],
                student_id=link.student_id,
                exam_id=link.exam_id,
                recorded_at=started,
                kind=kind,
                filename=f"zoom-{link.vendor_ref}-{label}.{extension}"[:255],
                media_type=media_type,
                size_bytes=int(size) if isinstance(size, int | float) else None,
                sha256=None,
                download_url=str(entry.get("download_url") or ""),
            )

    def user_meetings(
        self, user_id: str, start: datetime, end: datetime
    ) -> Iterator[dict[str, Any]]:
        """Every meeting with recordings of ``user_id`` in the period, following next_page_token."""
        token = ""
        seen: set[str] = set()
        for _page in range(max_pages()):
            params: dict[str, Any] = {
                "from": start.date().isoformat(),
                "to": end.date().isoformat(),
                "page_size": 300,
            }
            if token:
                params["next_page_token"] = token
            body = self._get(
                f"/users/{requests.utils.quote(user_id, safe='')}/recordings", **params
            )
            yield from (m for m in body.get("meetings") or [] if isinstance(m, dict))
            token = str(body.get("next_page_token") or "")
            if not token:
                return
            if token in seen:
                raise VendorError(f"{NAME} sent the same page token twice: the listing never ends")
            seen.add(token)
        raise VendorError(f"{NAME} kept sending pages: stopped after {max_pages()}")

    def list_files(
        self, *, student: User | None = None, exam: Exam | None = None
    ) -> Iterator[RemoteFile]:
        """With a host user configured, one paged listing of their recordings; else per meeting."""
        links = [link for link in links_for(self.connector, student=student, exam=exam)]
        host = self.credentials.get("user_id")
        if not links:
            return
        if not host:
            for link in links:
                yield from self.meeting_files(link)
            return
        by_meeting: dict[str, list[VendorLink]] = {}
        for link in links:
            by_meeting.setdefault(link.vendor_ref, []).append(link)
        moments = [link.exam.starts_at for link in links]
        start, end = min(moments) - timedelta(days=1), max(moments) + timedelta(days=30)
        for meeting in self.user_meetings(str(host), start, end):
            for link in by_meeting.get(str(meeting.get("id")), []):
                yield from self._files(meeting, link)

    def open(self, item: VendorItem, offset: int = 0) -> requests.Response:
        """Download with the bearer token; from ``offset`` with a Range request."""
        headers = self._bearer()
        if offset:
            headers["Range"] = f"bytes={offset}-"
        return request(NAME, "GET", item.download_url, stream=True, headers=headers)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}`` (the x-zm-signature header)."""
    message = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_webhook(
    secret: str, timestamp: str, given: str, body: bytes, *, now: float, tolerance: int
) -> bool:
    """Whether the signature is Zoom's for this body and the timestamp is within ``tolerance``."""
    if not secret or not timestamp.isdigit() or not given:
        return False
    # Zoom's timestamp is in milliseconds in recent events, seconds in older ones.
    sent = int(timestamp) / (1000 if len(timestamp) > 11 else 1)
    if abs(now - sent) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), given)


def url_validation(secret: str, plain_token: str) -> dict[str, str]:
    """The answer to ``endpoint.url_validation``."""
    encrypted = hmac.new(secret.encode(), plain_token.encode(), hashlib.sha256).hexdigest()
    return {"plainToken": plain_token, "encryptedToken": encrypted}

"""ProctorExam API v3: signed requests, the exams and their student sessions with recordings.

The public documentation (docs.proctorexam.com/v3) describes an API token and a secret key per
API user, and requests signed with HMAC-SHA256 over a timestamp and a nonce. The exact scheme
the portal sends (and the stand-in in ``tests/vendor_support.py`` checks) is:

- headers ``Authorization: Token token=<api_token>``, ``X-PE-Timestamp: <ms since epoch>``,
  ``X-PE-Nonce: <random integer, never reused within 24 hours>`` and
  ``X-PE-Signature: <hex HMAC-SHA256(secret_key, "{timestamp}:{nonce}")>``;
- the secret key is never sent. A request older or newer than five minutes, or whose nonce was
  seen before, is refused (401).

What the portal reads:

- ``GET {base_url}/exams?page=N`` → ``{"exams": [{"id", "name", "start_time"}], "meta":
  {"current_page", "total_pages"}}`` (the admin's connection check);
- ``GET {base_url}/exams/{id}/student_sessions?page=N`` → ``{"student_sessions": [{"id",
  "student_number", "email", "started_at", "recordings": [{"id", "type" (webcam, screen, mobile,
  log), "url", "file_size", "sha256", "content_type"}]}], "meta": {...}}``; pages are followed
  until ``current_page`` reaches ``total_pages``;
- a recording's ``url`` is downloaded with the same signed headers (and ``Range`` to resume).

A link's ``vendor_ref`` is the ProctorExam exam id; sessions are matched to students by student
number, else by e-mail address. The listed sha256 is checked against what arrives.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import requests
from sqlalchemy import func, select

from ..accounts.models import User
from ..exams.models import Exam, FileKind
from ..extensions import db
from .connectors import RemoteFile, VendorError, json_of, links_for, max_pages, request
from .models import VendorConnector, VendorItem, VendorLink

NAME = "ProctorExam"
TYPES: dict[str, tuple[FileKind, str]] = {
    "webcam": (FileKind.VIDEO, "mp4"),
    "screen": (FileKind.VIDEO, "mp4"),
    "mobile": (FileKind.VIDEO, "mp4"),
    "audio": (FileKind.AUDIO, "m4a"),
    "screenshot": (FileKind.SCREENSHOT, "png"),
    "log": (FileKind.LOG, "log"),
}


def sign(api_token: str, secret_key: str, *, timestamp: int, nonce: int) -> dict[str, str]:
    """The four headers of a signed request."""
    message = f"{timestamp}:{nonce}".encode()
    return {
        "Authorization": f"Token token={api_token}",
        "X-PE-Timestamp": str(timestamp),
        "X-PE-Nonce": str(nonce),
        "X-PE-Signature": hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest(),
    }


class ProctorExamConnector:
    """ProctorExam's API v3 with an API user's token and secret key (decrypted)."""

    def __init__(self, connector: VendorConnector, credentials: dict[str, Any]) -> None:
        self.connector = connector
        self.credentials = credentials

    def _headers(self) -> dict[str, str]:
        return sign(
            str(self.credentials.get("api_token", "")),
            str(self.credentials.get("secret_key", "")),
            timestamp=int(time.time() * 1000),
            nonce=secrets.randbelow(2**53),
        )

    def _pages(self, path: str, key: str) -> Iterator[dict[str, Any]]:
        url = self.connector.base_url.rstrip("/") + path
        for page in range(1, max_pages() + 1):
            body = json_of(
                NAME, request(NAME, "GET", url, params={"page": page}, headers=self._headers())
            )
            yield from (row for row in body.get(key) or [] if isinstance(row, dict))
            meta = body.get("meta") or {}
            total = meta.get("total_pages", page)
            if not isinstance(total, int) or page >= total:
                return
        raise VendorError(f"{NAME} kept sending pages: stopped after {max_pages()}")

    def check(self) -> str:
        """List the first page of exams."""
        url = self.connector.base_url.rstrip("/") + "/exams"
        body = json_of(NAME, request(NAME, "GET", url, params={"page": 1}, headers=self._headers()))
        return f"{NAME}: connected, {len(body.get('exams') or [])} exams on the first page"

    def _student(self, session: dict[str, Any]) -> User | None:
        number = session.get("student_number")
        if number:
            found = db.session.scalars(
                select(User).where(User.student_number == str(number))
            ).first()
            if found is not None:
                return found
        email = session.get("email")
        if email:
            return db.session.scalars(
                select(User).where(User.email == func.lower(str(email)))
            ).first()
        return None

    def _session_files(self, session: dict[str, Any], link: VendorLink) -> Iterator[RemoteFile]:
        student = self._student(session)
        if student is None or (link.student_id is not None and link.student_id != student.id):
            return
        try:
            started = datetime.fromisoformat(str(session.get("started_at")).replace("Z", "+00:00"))
        except ValueError:
            started = link.exam.starts_at
        for entry in session.get("recordings") or []:
            if not isinstance(entry, dict) or not entry.get("id") or not entry.get("url"):
                continue
            kind, extension = TYPES.get(str(entry.get("type")), (FileKind.LOG, "bin"))
            size = entry.get("file_size")
            sha256 = entry.get("sha256")
            yield RemoteFile(
                vendor_file_id=f"{link.vendor_ref}/{session.get('id')}/{entry['id']}"[:200],
                student_id=student.id,
                exam_id=link.exam_id,
                recorded_at=started.astimezone(UTC),
                kind=kind,
                filename=f"proctorexam-{session.get('id')}-{entry.get('type')}.{extension}"[:255],
                media_type=str(entry.get("content_type") or "application/octet-stream")[:100],
                size_bytes=int(size) if isinstance(size, int) else None,
                sha256=str(sha256).lower()
                if isinstance(sha256, str) and len(sha256) == 64
                else None,
                download_url=str(entry["url"]),
            )

    def list_files(
        self, *, student: User | None = None, exam: Exam | None = None
    ) -> Iterator[RemoteFile]:
        """The recordings of the linked exams' student sessions (of ``student`` when given)."""
        for link in links_for(self.connector, student=student, exam=exam):
            path = f"/exams/{requests.utils.quote(link.vendor_ref, safe='')}/student_sessions"
            for session in self._pages(path, "student_sessions"):
                for remote in self._session_files(session, link):
                    if student is None or remote.student_id == student.id:
                        yield remote

    def open(self, item: VendorItem, offset: int = 0) -> requests.Response:
        """Download a recording, signed; from ``offset`` with a Range request."""
        headers = self._headers()
        if offset:
            headers["Range"] = f"bytes={offset}-"
        return request(NAME, "GET", item.download_url, stream=True, headers=headers)

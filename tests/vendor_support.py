"""Local stand-ins for the vendors, speaking their documented protocols over real HTTP.

:class:`ZoomStandIn` issues Server-to-Server OAuth tokens (Basic client id and secret, the
account id), lists a meeting's recordings and a user's recordings page by page
(``next_page_token``), serves downloads with Range, checks the bearer token on every call, and
signs the webhooks it sends (``x-zm-signature``). :class:`ProctorExamStandIn` checks the
signature, timestamp and nonce of every request (the scheme in
``rights_portal/vendors/proctorexam.py``) and pages exams and student sessions. Both have fault
modes: a download that times out, breaks off once (a resume must work), breaks off and then
answers 500, a listing that pages forever. Each server binds 127.0.0.1 on a free port in a thread.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

RANGE_RE = re.compile(r"^bytes=(\d+)-$")


class Server:
    """A WSGI callable served on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(self, wsgi: Callable[..., Any]) -> None:
        self.server = make_server("127.0.0.1", 0, wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Faults:
    """What a stand-in does wrong, by file id (downloads) or for listings."""

    slow: set[str] = field(default_factory=set)  # download waits longer than any timeout
    break_once: set[str] = field(default_factory=set)  # first download breaks off halfway
    break_then_500: set[str] = field(default_factory=set)  # breaks off, then 500 every time
    ignore_range: set[str] = field(default_factory=set)  # answers 200 with everything
    wrong_bytes: set[str] = field(default_factory=set)  # other bytes than the listed sha256
    endless_pages: bool = False
    broken: set[str] = field(default_factory=set)  # internal: already broken once


def _download(
    content: bytes, file_id: str, request: Request, faults: Faults
) -> Response | Iterator[bytes]:
    if file_id in faults.slow:
        time.sleep(3)
    if file_id in faults.break_then_500 and file_id in faults.broken:
        return Response("internal error", status=500)
    if file_id in faults.wrong_bytes:
        content = bytes(reversed(content))
    start = 0
    match = RANGE_RE.match(request.headers.get("Range", ""))
    if match and file_id not in faults.ignore_range:
        start = int(match.group(1))
    body = content[start:]
    breaks = (file_id in faults.break_once or file_id in faults.break_then_500) and (
        file_id not in faults.broken
    )

    def stream() -> Iterator[bytes]:
        if breaks:
            faults.broken.add(file_id)
            yield body[: len(body) // 2]
            raise ConnectionAbortedError("the stand-in breaks off the download")
        yield body

    status = 206 if start else 200
    response = Response(
        stream(), status=status, mimetype="application/octet-stream", direct_passthrough=True
    )
    response.headers["Content-Length"] = str(len(body))
    response.headers["Accept-Ranges"] = "bytes"
    if start:
        response.headers["Content-Range"] = f"bytes {start}-{len(content) - 1}/{len(content)}"
    return response


def zoom_signature(secret: str, timestamp: str, body: bytes) -> str:
    """What Zoom sends in x-zm-signature."""
    return (
        "v0="
        + hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    )


@dataclass
class ZoomFile:
    id: str
    file_type: str
    content: bytes


class ZoomStandIn:
    """Zoom's OAuth, cloud recording and download endpoints, and its signed webhooks."""

    def __init__(self) -> None:
        self.account_id = "acc-" + secrets.token_hex(4)
        self.client_id = "cid-" + secrets.token_hex(4)
        self.client_secret = secrets.token_hex(16)
        self.webhook_secret = secrets.token_hex(16)
        self.tokens: set[str] = set()
        self.meetings: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.faults = Faults()
        self.calls: list[tuple[str, str, str]] = []  # (method, path, Range)
        self.server = Server(self.wsgi)
        self.url = self.server.url
        self.api = self.url + "/v2"
        self.token_url = self.url + "/oauth/token"

    def close(self) -> None:
        self.server.close()

    def add_meeting(self, meeting_id: str, start_time: str, files: list[ZoomFile]) -> None:
        self.meetings[meeting_id] = {"start_time": start_time, "files": files}
        for file in files:
            self.files[file.id] = file.content

    def _meeting_json(self, meeting_id: str) -> dict[str, Any]:
        meeting = self.meetings[meeting_id]
        return {
            "id": int(meeting_id) if meeting_id.isdigit() else meeting_id,
            "uuid": base64.b64encode(meeting_id.encode()).decode(),
            "topic": f"Oral exam {meeting_id}",
            "start_time": meeting["start_time"],
            "recording_files": [
                {
                    "id": f.id,
                    "meeting_id": meeting_id,
                    "file_type": f.file_type,
                    "file_size": len(f.content),
                    "download_url": f"{self.url}/rec/download/{f.id}",
                    "recording_start": meeting["start_time"],
                    "status": "completed",
                    "recording_type": "shared_screen_with_speaker_view"
                    if f.file_type == "MP4"
                    else f.file_type.lower(),
                }
                for f in meeting["files"]
            ],
        }

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.calls.append((request.method, request.path, request.headers.get("Range", "")))
        return self._route(request)(environ, start_response)

    def _route(self, request: Request) -> Response:
        path = request.path
        if path == "/oauth/token" and request.method == "POST":
            expected = (
                "Basic "
                + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            )
            if (
                request.headers.get("Authorization") != expected
                or request.args.get("grant_type") != "account_credentials"
                or request.args.get("account_id") != self.account_id
            ):
                return Response(json.dumps({"reason": "Invalid client_id or client_secret"}), 401)
            token = secrets.token_urlsafe(16)
            self.tokens.add(token)
            return Response(
                json.dumps({"access_token": token, "token_type": "bearer", "expires_in": 3599}),
                mimetype="application/json",
            )
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer not in self.tokens:
            return Response(json.dumps({"code": 124, "message": "Invalid access token."}), 401)
        if path == "/v2/users/me":
            return Response(
                json.dumps({"id": "host", "email": "host@uni.example"}), mimetype="application/json"
            )
        match = re.fullmatch(r"/v2/meetings/([^/]+)/recordings", path)
        if match:
            if match.group(1) not in self.meetings:
                return Response(json.dumps({"code": 3301, "message": "no recording"}), 404)
            return Response(
                json.dumps(self._meeting_json(match.group(1))), mimetype="application/json"
            )
        match = re.fullmatch(r"/v2/users/([^/]+)/recordings", path)
        if match:
            ids = sorted(self.meetings)
            token = request.args.get("next_page_token", "")
            index = int(token.split("-")[1]) if token else 0
            meetings = [self._meeting_json(ids[index])] if index < len(ids) else []
            if self.faults.endless_pages:
                following = f"page-{index + 1}-{secrets.token_hex(3)}"
                meetings = meetings or []
            else:
                following = f"page-{index + 1}" if index + 1 < len(ids) else ""
            body = {
                "page_size": 1,
                "total_records": len(ids),
                "next_page_token": following,
                "meetings": meetings,
            }
            return Response(json.dumps(body), mimetype="application/json")
        match = re.fullmatch(r"/rec/download/([^/]+)", path)
        if match and match.group(1) in self.files:
            result = _download(self.files[match.group(1)], match.group(1), request, self.faults)
            assert isinstance(result, Response)
            return result
        return Response("not found", 404)

    def webhook(
        self,
        event: str,
        payload: dict[str, Any],
        *,
        secret: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A signed webhook body and its headers, as Zoom sends them."""
        body = json.dumps(
            {"event": event, "event_ts": int(time.time() * 1000), "payload": payload}
        ).encode()
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "x-zm-request-timestamp": stamp,
            "x-zm-signature": zoom_signature(secret or self.webhook_secret, stamp, body),
        }
        return body, headers

    def send_webhook(
        self, url: str, event: str, payload: dict[str, Any], **kw: Any
    ) -> requests.Response:
        """POST a signed webhook to the portal over HTTP."""
        body, headers = self.webhook(event, payload, **kw)
        return requests.post(url, data=body, headers=headers, timeout=10)


class ProctorExamStandIn:
    """ProctorExam's API v3 as the portal reads it, checking every request's signature."""

    def __init__(self, per_page: int = 1) -> None:
        self.api_token = secrets.token_hex(12)
        self.secret_key = secrets.token_hex(16)
        self.per_page = per_page
        self.nonces: set[str] = set()
        self.exams: dict[str, list[dict[str, Any]]] = {}
        self.files: dict[str, bytes] = {}
        self.faults = Faults()
        self.refused: list[str] = []
        self.calls: list[tuple[str, str, str]] = []
        self.server = Server(self.wsgi)
        self.url = self.server.url
        self.api = self.url + "/api/v3"

    def close(self) -> None:
        self.server.close()

    def add_session(
        self,
        exam_id: str,
        session_id: str,
        *,
        student_number: str,
        email: str,
        started_at: str,
        recordings: list[tuple[str, str, bytes]],
        list_sha256: bool = True,
    ) -> None:
        rows = []
        for rec_id, rec_type, content in recordings:
            self.files[rec_id] = content
            rows.append(
                {
                    "id": rec_id,
                    "type": rec_type,
                    "url": f"{self.api}/recordings/{rec_id}/download",
                    "file_size": len(content),
                    "sha256": hashlib.sha256(content).hexdigest() if list_sha256 else None,
                    "content_type": "video/webm" if rec_type != "log" else "text/plain",
                }
            )
        self.exams.setdefault(exam_id, []).append(
            {
                "id": session_id,
                "student_number": student_number,
                "email": email,
                "started_at": started_at,
                "recordings": rows,
            }
        )

    def _verify(self, request: Request) -> str | None:
        if request.headers.get("Authorization") != f"Token token={self.api_token}":
            return "unknown api token"
        stamp, nonce, given = (
            request.headers.get(h, "") for h in ("X-PE-Timestamp", "X-PE-Nonce", "X-PE-Signature")
        )
        if not stamp.isdigit() or not nonce.isdigit() or not given:
            return "signature missing"
        if abs(time.time() * 1000 - int(stamp)) > 300_000:
            return "timestamp outside five minutes"
        expected = hmac.new(
            self.secret_key.encode(), f"{stamp}:{nonce}".encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, given):
            return "bad signature"
        if nonce in self.nonces:
            return "nonce used before"
        self.nonces.add(nonce)
        return None

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.calls.append((request.method, request.path, request.headers.get("Range", "")))
        problem = self._verify(request)
        if problem is not None:
            self.refused.append(problem)
            response = Response(json.dumps({"error": problem}), 401, mimetype="application/json")
        else:
            response = self._route(request)
        return response(environ, start_response)

    def _page(self, rows: list[dict[str, Any]], key: str, request: Request) -> Response:
        page = int(request.args.get("page", "1"))
        total = max(1, -(-len(rows) // self.per_page))
        chunk = rows[(page - 1) * self.per_page : page * self.per_page]
        if self.faults.endless_pages:
            total = page + 1
        return Response(
            json.dumps({key: chunk, "meta": {"current_page": page, "total_pages": total}}),
            mimetype="application/json",
        )

    def _route(self, request: Request) -> Response:
        path = request.path
        if path == "/api/v3/exams":
            rows = [{"id": exam_id, "name": f"Exam {exam_id}"} for exam_id in sorted(self.exams)]
            return self._page(rows, "exams", request)
        match = re.fullmatch(r"/api/v3/exams/([^/]+)/student_sessions", path)
        if match:
            return self._page(self.exams.get(match.group(1), []), "student_sessions", request)
        match = re.fullmatch(r"/api/v3/recordings/([^/]+)/download", path)
        if match and match.group(1) in self.files:
            result = _download(self.files[match.group(1)], match.group(1), request, self.faults)
            assert isinstance(result, Response)
            return result
        return Response("not found", 404)

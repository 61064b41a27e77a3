"""Errors of the API as problem details (RFC 9457), in the client's language.

Every error the API answers is ``application/problem+json``: ``type``, ``title``, ``status``,
``detail`` and, for invalid input, ``errors`` per field. The language follows the request's
``Accept-Language`` (Dutch by default), as the pages do.
"""

from __future__ import annotations

from typing import Any

from flask import Response, json
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE = "https://rights-portal.example/problems/"
MEDIA_TYPE = "application/problem+json"


def titles() -> dict[int, str]:
    """The title of each status the API answers, translated."""
    return {
        400: _("The request could not be understood."),
        401: _("A valid API token is required."),
        403: _("This API client may not do this."),
        404: _("Not found, or not visible to this API client."),
        405: _("This method is not allowed here."),
        409: _("The request conflicts with the state of the case."),
        415: _("Send the request body as JSON."),
        422: _("The request has invalid fields."),
        429: _("Too many requests. Wait and try again."),
        500: _("Something went wrong on our side."),
        503: _("The service is temporarily unavailable."),
    }


def problem(
    status: int,
    detail: str | None = None,
    *,
    kind: str | None = None,
    errors: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A problem-details response with ``status``."""
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE}{kind}" if kind else "about:blank",
        "title": titles().get(status, _("The request could not be handled.")),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_http_exception(error: HTTPException) -> Response:
    """An HTTP error raised in the API (abort, webargs validation, rate limit) as a problem."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = data.get("messages") if isinstance(data, dict) else None
    headers = {}
    if status == 429:
        headers["Retry-After"] = "60"
    detail = data.get("detail") if isinstance(data, dict) else None
    return problem(status, detail, errors=errors, headers=headers)

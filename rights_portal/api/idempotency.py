"""Idempotency keys on POST: a retried call is answered as the first one, and files once.

A client sends ``Idempotency-Key: <up to 255 characters>``; the first answer (status, body,
``Location``) is stored with a fingerprint of the request in the same transaction as what the
call stored, and a retry with the same key gets that answer again. The same key with another
request is refused (422). Two calls with the same key at once: the second waits for the first's
row (unique constraint) and then replays it or, if the first failed, runs again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, json, request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from .clients import current_client
from .models import IdempotentRequest
from .problems import problem

HEADER = "Idempotency-Key"
HEADER_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Send the same key when retrying: the call is carried out once.",
}


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0" + request.path.encode() + b"\0")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(stored: IdempotentRequest) -> Response:
    response = Response(json.dumps(stored.body), status=stored.status, mimetype="application/json")
    if stored.location:
        response.headers["Location"] = stored.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def once(operation: Callable[..., Any]) -> Callable[..., Any]:
    """Carry out ``operation`` once per client and key; replay its answer to retries.

    Put it above the flask-smorest decorators, so it sees the serialised response.
    """

    @wraps(operation)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return operation(*args, **kwargs)
        if not 1 <= len(key) <= 255 or not key.isprintable():
            return problem(400, _("The Idempotency-Key must be 1 to 255 printable characters."))
        client = current_client()
        fingerprint = _fingerprint()
        stored = db.session.scalars(
            select(IdempotentRequest).where(
                IdempotentRequest.client_id == client.id, IdempotentRequest.key == key
            )
        ).one_or_none()
        if stored is not None:
            if stored.fingerprint != fingerprint:
                return problem(422, _("This Idempotency-Key was used for another request."))
            return _replay(stored)
        answer = operation(*args, **kwargs)
        body, status, headers = _parts(answer)
        if status >= 400:
            return answer  # an error is not remembered: the retry may succeed
        row = IdempotentRequest(
            client_id=client.id,
            key=key,
            fingerprint=fingerprint,
            status=status,
            body=body,
            location=headers.get("Location"),
        )
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:
            # The same key was used by a call that committed meanwhile: ours must not count.
            db.session.rollback()
            return problem(409, _("A request with this Idempotency-Key is still in progress."))
        return answer

    return wrapped


def _parts(answer: Response) -> tuple[Any, int, dict[str, str]]:
    # Outermost decorator: the operation's answer is already the serialised response.
    return answer.get_json(silent=True), answer.status_code, dict(answer.headers)

"""API clients: made by an admin with scopes; each authenticates with a bearer token.

The token is shown once when the client is made (``rp_`` and 43 random characters); only its
sha256 is stored, so a stolen database does not give access to the API. A client can be
deactivated or given a new token; both are on the audit trail.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import User
from ..audit.services import record
from ..clock import now_utc
from ..errors import RuleViolation
from ..extensions import db
from .models import ApiClient, Scope

TOKEN_PREFIX = "rp_"  # noqa: S105 (the visible start of every token, not a secret)


def token_hash(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_client(
    name: str, scopes: Iterable[Scope], *, actor: User | None
) -> tuple[ApiClient, str]:
    """Make a client with ``scopes``; returns it and its token (shown once, never stored)."""
    name = name.strip()
    chosen = sorted({Scope(scope).value for scope in scopes})
    if not name:
        raise RuleViolation(_l("Give the client a name."))
    if not chosen:
        raise RuleViolation(_l("Choose at least one scope."))
    if db.session.scalars(select(ApiClient).where(ApiClient.name == name)).first() is not None:
        raise RuleViolation(_l("A client with this name exists already."))
    token = _new_token()
    client = ApiClient(
        name=name,
        token_hash=token_hash(token),
        token_prefix=token[:10],
        scopes=chosen,
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(client)
    db.session.flush()
    record(
        "api.client_created",
        actor=actor,
        object_type="api_client",
        object_id=client.id,
        after={"name": name, "scopes": chosen},
    )
    return client, token


def deactivate(client: ApiClient, *, actor: User) -> None:
    """Refuse every further call of ``client``."""
    client.is_active = False
    record("api.client_deactivated", actor=actor, object_type="api_client", object_id=client.id)


def authenticate(authorization: str | None) -> ApiClient | None:
    """The active client whose token the ``Authorization: Bearer …`` header carries."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX):
        return None
    client = db.session.scalars(
        select(ApiClient).where(ApiClient.token_hash == token_hash(token.strip()))
    ).one_or_none()
    if client is None or not client.is_active:
        return None
    now = now_utc()
    if client.last_used_at is None or (now - client.last_used_at).total_seconds() > 60:
        client.last_used_at = now  # at most once a minute: no write per call
    return client


def clients() -> list[ApiClient]:
    """Every client, newest first (the admin page)."""
    return list(db.session.scalars(select(ApiClient).order_by(ApiClient.created_at.desc())))


def current_client() -> ApiClient:
    """The client of this API call (set when its token was checked)."""
    from flask import g

    client: ApiClient = g.api_client
    return client

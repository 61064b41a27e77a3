"""Writing audit events: the only code path that adds to the trail.

:func:`record` adds an event to the caller's transaction, so a change and its record commit or
roll back together. Appends are serialised (a transaction-level advisory lock on PostgreSQL;
SQLite serialises writers itself) so concurrent writers never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import select, text

from ..clock import now_utc
from ..extensions import db
from .models import AuditEvent

GENESIS_HASH = "0" * 64
_CHAIN_LOCK_KEY = 727_001  # any constant; names the advisory lock that guards the chain head


def _json_safe(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Normalise dates, enums and decimals to JSON primitives so the stored value hashes alike."""
    if value is None:
        return None
    result: dict[str, Any] = json.loads(json.dumps(value, default=str, sort_keys=True))
    return result


def canonical_bytes(event: AuditEvent) -> bytes:
    """Return the canonical serialization the event's hash is computed over."""
    payload = {
        "prev_hash": event.prev_hash,
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "case_id": event.case_id,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
        "ip_address": event.ip_address,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(event: AuditEvent) -> str:
    """Return the sha256 of the event's canonical serialization."""
    return hashlib.sha256(canonical_bytes(event)).hexdigest()


def _lock_chain_head() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})


def record(
    action: str,
    *,
    actor: Any | None,
    object_type: str,
    object_id: object | None = None,
    case_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Append one event to the trail in the current transaction (flushed, not committed)."""
    _lock_chain_head()
    head = db.session.execute(
        select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none()
    request_id, ip_address = _request_facts()
    event = AuditEvent(
        occurred_at=occurred_at or now_utc(),
        actor_id=getattr(actor, "id", None),
        actor_role=getattr(getattr(actor, "role", None), "value", None),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        case_id=case_id,
        before=_json_safe(before),
        after=_json_safe(after),
        request_id=request_id,
        ip_address=ip_address,
        prev_hash=head or GENESIS_HASH,
    )
    event.hash = compute_hash(event)
    db.session.add(event)
    db.session.flush()
    return event


def _request_facts() -> tuple[str | None, str | None]:
    if not has_request_context():
        return None, None
    return getattr(g, "request_id", None), request.remote_addr

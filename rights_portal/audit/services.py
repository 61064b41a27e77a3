"""Writing audit events: the only code path that adds to the trail, and the hash it is sealed with.

:func:`record` adds an event to the caller's transaction, so a change and its record commit or
roll back together. Appends are serialised by the row lock on the chain head
(:class:`~rights_portal.audit.models.AuditChainHead`, ``SELECT … FOR UPDATE``; on SQLite the
database write lock), which also gives the hash to link to, so concurrent writers never fork the
chain; the database's own trigger refuses any event that does not name the head, so a fork is
impossible even if that lock were bypassed. No index of the trail takes random keys (each grows
at the end of its id, case, actor or action), so an append costs the same at any length.

The hash is the sha256 of :func:`canonical_bytes`. :func:`canonical_bytes_from_columns` spells
the very same bytes from raw column values without building objects; the verifier uses it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import select, text

from ..clock import now_utc
from ..extensions import db
from .models import AuditChainHead, AuditEvent, canonical_json

GENESIS_HASH = "0" * 64
_GENESIS_LOCK = 727_001  # any constant: the advisory lock the first appends of a trail take


def _json_safe(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Normalise dates, enums and decimals to JSON primitives so the stored value hashes alike."""
    if value is None:
        return None
    result: dict[str, Any] = json.loads(json.dumps(value, default=str, sort_keys=True))
    return result


def canonical_payload_bytes(
    *,
    prev_hash: str,
    occurred_at: str,
    actor_id: int | None,
    actor_role: str | None,
    action: str,
    object_type: str,
    object_id: str | None,
    case_id: int | None,
    before: Any,
    after: Any,
    request_id: str | None,
    ip_address: str | None,
) -> bytes:
    """The reference definition of what an event's hash covers (``occurred_at`` as ISO text)."""
    payload = {
        "prev_hash": prev_hash,
        "occurred_at": occurred_at,
        "actor_id": actor_id,
        "actor_role": actor_role,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "case_id": case_id,
        "before": before,
        "after": after,
        "request_id": request_id,
        "ip_address": ip_address,
    }
    return canonical_json(payload).encode()


def canonical_bytes(event: AuditEvent) -> bytes:
    """Return the canonical serialization the event's hash is computed over."""
    return canonical_payload_bytes(
        prev_hash=event.prev_hash,
        occurred_at=event.occurred_at.isoformat(timespec="microseconds"),
        actor_id=event.actor_id,
        actor_role=event.actor_role,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        case_id=event.case_id,
        before=event.before,
        after=event.after,
        request_id=event.request_id,
        ip_address=event.ip_address,
    )


def _str(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _int(value: int | None) -> str:
    return "null" if value is None else str(value)


def canonical_bytes_from_columns(
    occurred_at: str,
    actor_id: int | None,
    actor_role: str | None,
    action: str,
    object_type: str,
    object_id: str | None,
    case_id: int | None,
    before_json: str | None,
    after_json: str | None,
    request_id: str | None,
    ip_address: str | None,
    prev_hash: str,
) -> bytes:
    """The bytes of :func:`canonical_bytes`, spelled directly from stored column values.

    ``occurred_at`` is the ISO text with microseconds and ``+00:00``; ``before_json`` and
    ``after_json`` are the stored canonical JSON text (see ``CanonicalJSON``). The keys appear
    in sorted order, exactly as ``json.dumps(sort_keys=True)`` writes them.
    """
    return (
        f'{{"action":{encode_basestring(action)},"actor_id":{_int(actor_id)},'
        f'"actor_role":{_str(actor_role)},"after":{after_json or "null"},'
        f'"before":{before_json or "null"},"case_id":{_int(case_id)},'
        f'"ip_address":{_str(ip_address)},"object_id":{_str(object_id)},'
        f'"object_type":{encode_basestring(object_type)},'
        f'"occurred_at":{encode_basestring(occurred_at)},"prev_hash":{encode_basestring(prev_hash)},'
        f'"request_id":{_str(request_id)}}}'
    ).encode()


def compute_hash(event: AuditEvent) -> str:
    """Return the sha256 of the event's canonical serialization."""
    return hashlib.sha256(canonical_bytes(event)).hexdigest()


_CREATE_GENESIS_HEAD = text(
    "INSERT INTO audit_chain_head (id, event_id, hash) VALUES (1, NULL, :genesis)"
    " ON CONFLICT (id) DO NOTHING"
)


def _lock_chain_head() -> str:
    """Lock the chain head until this transaction ends and return its hash.

    The row lock on ``audit_chain_head`` is what serialises appends: a second writer waits here
    and then reads the head the first one left. On SQLite an INSERT of no rows first takes the
    database write lock (a plain SELECT would not, and two processes could read the same head).
    """
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(text("INSERT INTO audit_events (id) SELECT NULL WHERE 0"))
    query = select(AuditChainHead.hash).where(AuditChainHead.id == 1).with_for_update()
    head = db.session.execute(query).scalar_one_or_none()
    if head is None:
        # Only an empty trail has no head row yet (the database refuses one otherwise). The
        # first writers wait for each other here, then look again: one of them creates it.
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _GENESIS_LOCK})
        head = db.session.execute(query).scalar_one_or_none()
        if head is None:
            db.session.execute(_CREATE_GENESIS_HEAD, {"genesis": GENESIS_HASH})
            head = db.session.execute(query).scalar_one()
    return head


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
    """Append one event to the trail in the current transaction (flushed, not committed).

    The chain head stays locked until the transaction ends, so record as the last step of an
    operation and commit soon after: other writers wait for it.
    """
    head = _lock_chain_head()
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
        prev_hash=head,
    )
    event.hash = compute_hash(event)
    db.session.add(event)
    db.session.flush()
    return event


def record_case_event(
    action: str,
    case: Any,
    *,
    actor: Any | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event about ``case`` itself: the case is both its object and its case."""
    return record(
        action,
        actor=actor,
        object_type="case",
        object_id=case.id,
        case_id=case.id,
        before=before,
        after=after,
    )


def _request_facts() -> tuple[str | None, str | None]:
    if not has_request_context():
        return None, None
    return getattr(g, "request_id", None), request.remote_addr

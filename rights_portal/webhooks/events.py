"""Which steps on the audit trail are webhook events, and what a delivery carries.

Every step that matters already writes an audit event in the transaction that makes it; a
session hook turns those into deliveries for the endpoints that want them, in that same
transaction (so an event is announced exactly when its change commits, never for a rollback).
A delivery carries ids and states only, never personal data: the receiving system reads more
through the API, under its own scopes.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..audit.models import AuditEvent
from ..cases.models import Case
from ..clock import now_utc
from ..transactions import after_commit
from .delivery import enqueue
from .models import WebhookDelivery, WebhookEndpoint

#: Audit action → webhook event type.
EVENT_TYPES = {
    "case.received": "case.filed",
    "case.registered": "case.filed",
    "case.assigned": "case.assigned",
    "case.paused": "case.paused",
    "case.extended": "case.extended",
    "case.decided": "case.decided",
    "case.escalated": "case.overdue",
    "package.built": "package.ready",
}
ALL_EVENTS = sorted(set(EVENT_TYPES.values()))
#: What each event type means, for the admin who chooses them (the type itself is the contract).
EVENT_LABELS = {
    "case.assigned": _l("A case was assigned to a handler"),
    "case.decided": _l("A case was decided"),
    "case.extended": _l("A case's term was extended"),
    "case.filed": _l("A case was filed or registered"),
    "case.overdue": _l("A case is overdue and was escalated"),
    "case.paused": _l("A case's clock was paused"),
    "package.ready": _l("An access package is ready"),
}


def payload(event_type: str, case: Case | None, audit: AuditEvent) -> dict[str, Any]:
    """What a delivery says: the event, when, and the case's ids and states."""
    data: dict[str, Any] = {}
    if case is not None:
        data = {
            "case": case.reference,
            "case_type": case.case_type.value,
            "status": case.status.value,
            "effective_due": case.effective_due.isoformat(),
        }
    return {
        "type": event_type,
        "timestamp": (audit.occurred_at or now_utc()).isoformat(),
        "data": data,
    }


def _endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.is_active)))


@event.listens_for(Session, "before_flush")
def _deliveries_for_new_events(session: Session, _context: Any, _instances: Any) -> None:
    audits = [
        obj for obj in session.new if isinstance(obj, AuditEvent) and obj.action in EVENT_TYPES
    ]
    if not audits:
        return
    endpoints = _endpoints(session)
    if not endpoints:
        return
    for audit in audits:
        event_type = EVENT_TYPES[audit.action]
        wanted = [e for e in endpoints if event_type in (e.events or [])]
        if not wanted:
            continue
        case = session.get(Case, audit.case_id) if audit.case_id is not None else None
        body = payload(event_type, case, audit)
        for endpoint in wanted:
            delivery = WebhookDelivery(
                endpoint_id=endpoint.id,
                message_id=f"msg_{uuid.uuid4().hex}",
                event_type=event_type,
                payload=body,
            )
            session.add(delivery)
            # Sent by the worker once the change commits; the beat relay catches a lost send.
            after_commit(functools.partial(enqueue, [delivery.message_id]))

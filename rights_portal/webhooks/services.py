"""Registering webhook endpoints and reading their delivery log (admins)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import User
from ..audit.services import record
from ..errors import RuleViolation
from ..extensions import db
from .delivery import new_secret
from .events import ALL_EVENTS
from .models import WebhookDelivery, WebhookEndpoint


def register_endpoint(
    url: str, events: Iterable[str], *, description: str, actor: User
) -> WebhookEndpoint:
    """An endpoint for ``events``; its secret is shown to the admin once, on the next page."""
    url = url.strip()
    chosen = sorted(set(events))
    parts = urlsplit(url)
    # https in production; plain http only for a receiver on this machine (tests, development).
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    allowed = parts.scheme == "https" or (
        parts.scheme == "http"
        and (local or current_app.config["RIGHTS_PORTAL_ENV"] != "production")
    )
    if not parts.netloc or not allowed:
        raise RuleViolation(_l("Give the endpoint's address, starting with https://."))
    unknown = set(chosen) - set(ALL_EVENTS)
    if not chosen or unknown:
        raise RuleViolation(_l("Choose at least one of the events."))
    endpoint = WebhookEndpoint(
        url=url,
        description=description.strip()[:200],
        secret=new_secret(),
        events=chosen,
        created_by_id=actor.id,
    )
    db.session.add(endpoint)
    db.session.flush()
    record(
        "webhook.endpoint_registered",
        actor=actor,
        object_type="webhook_endpoint",
        object_id=endpoint.id,
        after={"url": url, "events": chosen},
    )
    return endpoint


def enable(endpoint: WebhookEndpoint, *, actor: User) -> None:
    """Send to a disabled endpoint again (after its owner fixed it)."""
    endpoint.is_active = True
    endpoint.disabled_at = None
    endpoint.consecutive_failures = 0
    record(
        "webhook.endpoint_enabled",
        actor=actor,
        object_type="webhook_endpoint",
        object_id=endpoint.id,
    )


def endpoints() -> list[WebhookEndpoint]:
    """Every endpoint, newest first."""
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id.desc())))


def deliveries(endpoint: WebhookEndpoint, limit: int = 200) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries, newest first (its delivery log)."""
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )

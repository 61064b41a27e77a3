"""Sending a webhook delivery: signed the Standard Webhooks way, retried, logged, given up on.

Each attempt POSTs the payload with ``webhook-id`` (the same for every attempt, so a receiver
drops repeats), ``webhook-timestamp`` and ``webhook-signature`` (``v1,`` + base64 of
HMAC-SHA256 over ``id.timestamp.body`` with the endpoint's secret), using the
``standardwebhooks`` library. A 2xx answer delivers it. Anything else waits longer each time
(30 s, 1 min, 2 min … at most 6 h) and the beat relay sends it again; after
``WEBHOOK_DISABLE_AFTER`` failures in a row the endpoint is disabled, its waiting deliveries are
abandoned, and the admins get an e-mail. The row is locked while it is sent, so two workers
never send one delivery at once; a worker killed mid-send leaves it undelivered, to be sent
again with the same id.
"""

from __future__ import annotations

import json
import secrets
from base64 import b64encode
from datetime import datetime, timedelta

import requests
from flask import current_app
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook

from ..accounts.models import Role, User
from ..audit.services import record
from ..clock import now_utc
from ..extensions import db
from ..notifications.services import queue_email
from ..transactions import commit, dispatch
from .models import WebhookDelivery, WebhookEndpoint

DELIVER_TASK = "rights_portal.deliver_webhook"
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=6)


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and base64 of 24 random bytes."""
    return "whsec_" + b64encode(secrets.token_bytes(24)).decode()


def body_of(delivery: WebhookDelivery) -> str:
    """The exact bytes that are signed and sent (compact JSON, keys sorted)."""
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True)


def headers_for(delivery: WebhookDelivery, secret: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt."""
    body = body_of(delivery)
    signature = Webhook(secret).sign(delivery.message_id, at, body)
    return {
        "Content-Type": "application/json",
        "User-Agent": "RightsPortal-Webhooks/1",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def retry_wait(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def _locked(message_id: str) -> WebhookDelivery | None:
    query = select(WebhookDelivery).where(WebhookDelivery.message_id == message_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return db.session.execute(query).scalar_one_or_none()


def deliver(message_id: str) -> bool:
    """Attempt one delivery now (unless it is delivered or abandoned); whether it got through."""
    delivery = _locked(message_id)
    if delivery is None or delivery.delivered_at is not None or delivery.abandoned_at is not None:
        db.session.rollback()
        return False
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        delivery.abandoned_at = now_utc()
        db.session.commit()
        return False
    at = now_utc()
    delivery.attempts += 1
    try:
        response = requests.post(
            endpoint.url,
            data=body_of(delivery).encode(),
            headers=headers_for(delivery, endpoint.secret, at),
            timeout=current_app.config["WEBHOOK_TIMEOUT_SECONDS"],
            allow_redirects=False,
        )
        delivery.last_status = response.status_code
        ok = 200 <= response.status_code < 300
        delivery.last_error = None if ok else f"HTTP {response.status_code}"
    except requests.RequestException as exc:
        ok = False
        delivery.last_status = None
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if ok:
        delivery.delivered_at = now_utc()
        endpoint.consecutive_failures = 0
    else:
        delivery.next_attempt_at = now_utc() + retry_wait(delivery.attempts)
        endpoint.consecutive_failures += 1
        if endpoint.consecutive_failures >= current_app.config["WEBHOOK_DISABLE_AFTER"]:
            _disable(endpoint)
    commit()  # with the admins' notice, if the endpoint was disabled
    return ok


def _disable(endpoint: WebhookEndpoint) -> None:
    """Give up on an endpoint that keeps failing; tell the admins."""
    endpoint.is_active = False
    endpoint.disabled_at = now_utc()
    db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.delivered_at.is_(None),
            WebhookDelivery.abandoned_at.is_(None),
        )
        .values(abandoned_at=now_utc())
    )
    record(
        "webhook.endpoint_disabled",
        actor=None,
        object_type="webhook_endpoint",
        object_id=endpoint.id,
        after={"consecutive_failures": endpoint.consecutive_failures},
    )
    admins = db.session.scalars(
        select(User.email).where(User.role == Role.ADMIN, User.is_active_account)
    ).all()
    if admins:
        queue_email(
            admins,
            f"Webhook endpoint disabled: {endpoint.url}"[:300],
            f"The webhook endpoint {endpoint.url} failed {endpoint.consecutive_failures} times "
            "in a row and has been disabled; its waiting deliveries will not be sent.\n"
            "Check the endpoint, then enable it again on the webhooks page of the portal.\n",
        )


def due_message_ids(limit: int = 500) -> list[str]:
    """Deliveries waiting to be (re)sent now, oldest first (for the beat relay)."""
    return list(
        db.session.scalars(
            select(WebhookDelivery.message_id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(
                WebhookDelivery.delivered_at.is_(None),
                WebhookDelivery.abandoned_at.is_(None),
                WebhookDelivery.next_attempt_at <= now_utc(),
                WebhookEndpoint.is_active,
            )
            .order_by(WebhookDelivery.id)
            .limit(limit)
        )
    )


def enqueue(message_ids: list[str]) -> None:
    """Send delivery tasks to the broker; one that cannot be sent waits for the relay."""
    dispatch(message_ids, DELIVER_TASK)

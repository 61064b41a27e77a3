"""Queueing and delivering e-mail through the outbox.

Services call :func:`queue_email` (or :func:`notify_user`, which renders a template in the
recipient's language); nothing is sent until the transaction commits. :func:`deliver` is what
the worker runs for one message; :func:`undelivered_ids` feeds the relay that catches messages
whose dispatch was lost (broker down at commit time).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select

from ..clock import now_utc
from ..extensions import db
from . import mail
from .models import OutboxMessage

log = logging.getLogger(__name__)
PENDING_KEY = "outbox_pending"


def queue_email(to: Iterable[str], subject: str, body: str) -> OutboxMessage:
    """Add an e-mail to the current transaction's outbox."""
    recipients = sorted({address for address in to if address})
    if not recipients:
        raise ValueError("an e-mail needs at least one recipient")
    message = OutboxMessage(to_addresses=recipients, subject=subject[:300], body_text=body)
    db.session.add(message)
    db.session.flush()
    db.session.info.setdefault(PENDING_KEY, []).append(message.id)
    return message


#: A route takes (user, template, context) and returns the message it queued instead of the
#: ordinary e-mail, or None to leave the message alone. Domains register them at import; the
#: intake's route answers for requesters without an account (they have no address of their own
#: in ``users``), see :mod:`rights_portal.intake.letters`.
RecipientRoute = Callable[[Any, str, dict[str, Any]], OutboxMessage | None]
_recipient_routes: list[RecipientRoute] = []


def add_recipient_route(route: RecipientRoute) -> RecipientRoute:
    """Register ``route`` (once) to be asked before every :func:`notify_user`."""
    if route not in _recipient_routes:
        _recipient_routes.append(route)
    return route


def notify_user(user: Any, template: str, **context: Any) -> OutboxMessage:
    """Queue ``mail/<template>.txt`` rendered in the user's language; first line is the subject."""
    for route in _recipient_routes:
        routed = route(user, template, context)
        if routed is not None:
            return routed
    return notify_addresses([user.email], user.locale, template, recipient=user, **context)


def notify_addresses(
    addresses: Iterable[str], locale: str, template: str, **context: Any
) -> OutboxMessage:
    """Queue a templated e-mail to several addresses in one language."""
    with force_locale(locale):
        rendered = render_template(
            f"mail/{template}.txt",
            portal_url=current_app.config["PORTAL_BASE_URL"],
            institution=current_app.config["INSTITUTION_NAME"],
            **context,
        )
    subject, _, body = rendered.strip().partition("\n")
    return queue_email(addresses, subject.strip(), body.strip() + "\n")


def deliver(message_id: int) -> bool:
    """Send one outbox message unless it was sent already; return whether this call sent it.

    The row is locked for the duration of the send so two workers never send it twice.
    """
    query = select(OutboxMessage).where(OutboxMessage.id == message_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    message = db.session.execute(query).scalar_one_or_none()
    if message is None or message.sent_at is not None:
        db.session.rollback()
        return False
    message.attempts += 1
    config = current_app.config
    try:
        mail.send(
            config,
            mail.build_message(
                config, message.to_addresses, message.subject, message.body_text, message.id
            ),
        )
    except Exception as exc:
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        db.session.commit()
        raise
    message.sent_at = now_utc()
    message.last_error = None
    db.session.commit()
    return True


def undelivered_ids(older_than: timedelta = timedelta(seconds=60), limit: int = 500) -> list[int]:
    """Ids of committed messages still unsent after ``older_than`` (their dispatch was lost)."""
    cutoff = now_utc() - older_than
    return list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.created_at <= cutoff)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )

"""Login throttling per account: growing delays, then a temporary lock the owner can lift.

Failed logins are counted per e-mail address (:class:`LoginThrottle`, keyed by a hash of the
normalised address, known or not, so the throttle itself reveals no account). From the
``LOGIN_DELAY_AFTER``-th failure on, the next attempt must wait 1, 2, 4, … seconds (at most
``LOGIN_MAX_DELAY_SECONDS``); at ``LOGIN_LOCK_AFTER`` failures the address is locked for
``LOGIN_LOCK_MINUTES`` and the account's owner (if there is one) gets an e-mail with a link
that lifts the lock at once and marks that browser as the owner's: from it, attempts are
counted apart from everybody else's, so a stranger who keeps failing cannot lock the owner out.
Failures older than ``LOGIN_FAILURE_WINDOW_MINUTES`` are forgotten; a successful login clears
the count. Attempts refused for waiting are not checked and not counted, and they are told how
long to wait.

The address-wide limit (many accounts from one address: a campus behind one public address) is
the much higher ``LOGIN_ADDRESS_RATE_LIMIT`` of the rate limiter, applied in the login view.
This module flushes; the request's unit of work commits.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..audit.services import record
from ..clock import now_utc
from ..extensions import db
from ..notifications.services import notify_user
from .models import LoginThrottle
from .services import find_by_email, normalise_email

TRUST_COOKIE = "login_trust"
TRUST_DAYS = 90
UNLOCK_SALT = "login-unlock"
TRUST_SALT = "login-trust"
TRUSTED_PREFIX = "trusted:"


@dataclass(frozen=True)
class Wait:
    """An attempt refused for now: how many seconds are left, and whether it is the lock."""

    seconds: int
    locked: bool


def key_for(email: str) -> str:
    """The throttle's key of an address (the address itself is not stored)."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def _setting(name: str) -> int:
    return int(current_app.config[name])


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def attempt_key(email: str, trust_cookie: str | None) -> str:
    """The key an attempt counts under: the owner's unlocked browser has one of its own."""
    base = key_for(email)
    if trust_cookie:
        try:
            payload: Any = _serializer(TRUST_SALT).loads(
                trust_cookie, max_age=TRUST_DAYS * 24 * 3600
            )
        except BadSignature:
            payload = None
        if isinstance(payload, dict) and payload.get("k") == base:
            return TRUSTED_PREFIX + base
    return base


def trust_cookie_value(key: str) -> str:
    """The signed cookie that marks a browser as the owner's, for this address."""
    return str(_serializer(TRUST_SALT).dumps({"k": key.removeprefix(TRUSTED_PREFIX)}))


def _left(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


def waiting(key: str) -> Wait | None:
    """Whether an attempt under ``key`` must wait (then it is neither checked nor counted)."""
    row = db.session.get(LoginThrottle, key)
    if row is None:
        return None
    now = now_utc()
    if row.locked_until is not None and row.locked_until > now:
        return Wait(_left(row.locked_until, now), locked=True)
    if row.next_attempt_at > now:
        return Wait(_left(row.next_attempt_at, now), locked=False)
    return None


def _delay(failures: int) -> timedelta:
    after = _setting("LOGIN_DELAY_AFTER")
    if failures < after:
        return timedelta(0)
    seconds = min(2 ** min(failures - after, 20), _setting("LOGIN_MAX_DELAY_SECONDS"))
    return timedelta(seconds=seconds)


def record_failure(key: str, email: str) -> None:
    """Count a failed login; from some failures on the next one waits, then the lock comes."""
    now = now_utc()
    row = db.session.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key=key, failures=0, last_failure_at=now, next_attempt_at=now)
        db.session.add(row)
    window = timedelta(minutes=_setting("LOGIN_FAILURE_WINDOW_MINUTES"))
    if now - row.last_failure_at > window and (row.locked_until is None or row.locked_until <= now):
        row.failures = 0
        row.locked_until = None
    row.failures += 1
    row.last_failure_at = now
    row.next_attempt_at = now + _delay(row.failures)
    if row.failures >= _setting("LOGIN_LOCK_AFTER") and row.locked_until is None:
        minutes = _setting("LOGIN_LOCK_MINUTES")
        row.locked_until = now + timedelta(minutes=minutes)
        row.next_attempt_at = row.locked_until
        user = find_by_email(email)
        record(
            "user.login_locked",
            actor=None,
            object_type="user",
            object_id=user.id if user is not None else None,
            after={"failures": row.failures, "minutes": minutes, "known": user is not None},
        )
        if user is not None and user.is_active:
            token = str(_serializer(UNLOCK_SALT).dumps({"k": key}))
            notify_user(user, "login_locked", token=token, minutes=minutes)
    db.session.flush()


def clear(key: str) -> None:
    """A successful login: the count starts again."""
    row = db.session.get(LoginThrottle, key)
    if row is not None:
        db.session.delete(row)
        db.session.flush()


def unlock(token: str) -> str | None:
    """The owner's e-mailed link: lift the lock; the key the browser is now trusted for."""
    max_age = (_setting("LOGIN_LOCK_MINUTES") + 24 * 60) * 60
    try:
        payload: Any = _serializer(UNLOCK_SALT).loads(token, max_age=max_age)
    except BadSignature:
        return None
    key = payload.get("k") if isinstance(payload, dict) else None
    if not isinstance(key, str):
        return None
    for each in (key, TRUSTED_PREFIX + key.removeprefix(TRUSTED_PREFIX)):
        row = db.session.get(LoginThrottle, each)
        if row is not None:
            db.session.delete(row)
    db.session.flush()
    record("user.login_unlocked", actor=None, object_type="user", after={"key": key[-8:]})
    return key

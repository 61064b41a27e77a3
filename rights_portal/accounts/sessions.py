"""Sessions on the server: login, the idle and absolute timeouts, logout, "log out everywhere".

Sessions live on the server (:class:`UserSession`): login clears the old cookie (no fixation) and
creates a row whose token the signed cookie carries; :func:`check_session` looks it up on every
request and enforces the idle (``SESSION_IDLE_MINUTES``) and absolute
(``PERMANENT_SESSION_LIFETIME``) timeouts from its times. Logout deletes the row, so a copied
cookie opens nothing afterwards; a person can end any one of their sessions from
``/account/security``. A session also carries the account's session generation
(``User.get_id``); a password reset, a deactivation and "log out everywhere"
(:func:`end_all_sessions`) bump it and delete the rows, which ends every session issued before.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import timedelta

from flask import current_app, g, request, session
from flask_login import login_user
from sqlalchemy import delete, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..audit.services import record
from ..clock import now_utc
from ..extensions import db
from .models import User, UserSession

SESSION_TOKEN = "sid"  # noqa: S105  (the session key of the token, not a secret)


# last_seen_at is written at most this often per session: the idle timeout is counted in
# minutes, and a write per request would cost every page (the staff queue is benchmarked).
SEEN_RESOLUTION = timedelta(seconds=60)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _limits() -> tuple[timedelta, timedelta]:
    config = current_app.config
    lifetime = config["PERMANENT_SESSION_LIFETIME"]
    absolute = lifetime if isinstance(lifetime, timedelta) else timedelta(seconds=lifetime)
    return absolute, timedelta(minutes=config["SESSION_IDLE_MINUTES"])


def start_session(user: User) -> UserSession:
    """Log ``user`` in with a new server-side session; nothing from before survives (fixation).

    The caller commits (the row must exist before the browser's next request).
    """
    flashes = session.get("_flashes")
    session.clear()
    if flashes:
        session["_flashes"] = flashes
    token = secrets.token_urlsafe(32)
    now = now_utc()
    absolute, idle = _limits()
    # This user's sessions that timed out are of no use to anyone: tidy them up here.
    db.session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id,
            (UserSession.created_at < now - absolute) | (UserSession.last_seen_at < now - idle),
        )
    )
    row = UserSession(
        user_id=user.id,
        token_hash=_token_hash(token),
        created_at=now,
        last_seen_at=now,
        user_agent=(request.headers.get("User-Agent") or "")[:255],
    )
    db.session.add(row)
    db.session.flush()
    session[SESSION_TOKEN] = token
    session.permanent = True
    login_user(user)
    g.user_session = row
    return row


class SessionState(enum.Enum):
    """What the server knows of the session a request carries."""

    NONE = "none"  # no login in this cookie
    ACTIVE = "active"
    ENDED = "ended"  # logged out, ended from another browser, or never issued by us
    EXPIRED = "expired"  # idle or absolute timeout


def check_session() -> SessionState:
    """Find this request's server-side session and enforce its timeouts (cached per request).

    One indexed query that loads the user with it (the user loader then finds the user in the
    identity map); ``last_seen_at`` is updated at most once per :data:`SEEN_RESOLUTION`, on a
    connection of its own so that the request's transaction stays untouched.
    """
    cached = g.get("session_state")
    if cached is not None:
        return cached
    state = _check_session()
    g.session_state = state
    return state


def _check_session() -> SessionState:
    if "_user_id" not in session:
        return SessionState.NONE
    token = session.get(SESSION_TOKEN)
    if not isinstance(token, str) or not token:
        return SessionState.ENDED
    row = db.session.scalars(
        select(UserSession)
        .options(joinedload(UserSession.user))
        .where(UserSession.token_hash == _token_hash(token))
    ).one_or_none()
    if row is None:
        return SessionState.ENDED
    now = now_utc()
    absolute, idle = _limits()
    if now - row.created_at > absolute or now - row.last_seen_at > idle:
        with db.engine.begin() as conn:
            conn.execute(delete(UserSession).where(UserSession.id == row.id))
        return SessionState.EXPIRED
    if now - row.last_seen_at >= SEEN_RESOLUTION:
        with db.engine.begin() as conn:
            conn.execute(
                update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now)
            )
        set_committed_value(row, "last_seen_at", now)
    g.user_session = row
    return SessionState.ACTIVE


def current_session() -> UserSession | None:
    """The server-side session of this request, once checked."""
    check_session()
    return g.get("user_session")


def end_session() -> None:
    """Logout: this session's row goes, so a copy of the cookie opens nothing afterwards."""
    row = current_session()
    if row is not None:
        db.session.execute(delete(UserSession).where(UserSession.id == row.id))
    g.pop("user_session", None)


def end_sessions_except(user: User, keep: UserSession | None) -> int:
    """Delete the user's session rows except ``keep``; return how many ended."""
    query = delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    return db.session.execute(query).rowcount or 0  # type: ignore[attr-defined]


def open_sessions(user: User) -> list[UserSession]:
    """The user's sessions that have not timed out, the most recently used first."""
    now = now_utc()
    absolute, idle = _limits()
    return list(
        db.session.scalars(
            select(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.created_at >= now - absolute,
                UserSession.last_seen_at >= now - idle,
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def end_one_session(user: User, row: UserSession) -> None:
    """End one of the user's own sessions from the list (another browser, or this one)."""
    device = describe_device(row.user_agent)
    db.session.execute(delete(UserSession).where(UserSession.id == row.id))
    record(
        "user.session_ended",
        actor=user,
        object_type="user",
        object_id=user.id,
        after={"session_id": row.id, "device": device},
    )


def describe_device(user_agent: str) -> str:
    """A short, untranslated name of browser and system from a User-Agent ("Firefox on Linux")."""
    ua = user_agent or ""
    browser = next(
        (name for token, name in _BROWSERS if token in ua),
        "",
    )
    system = next((name for token, name in _SYSTEMS if token in ua), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (ua[:60] if ua else "?")


# Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def end_all_sessions(user: User) -> None:
    """Log out everywhere else: every other session ends (the caller re-issues its own)."""
    user.end_sessions()
    end_sessions_except(user, current_session())
    db.session.flush()
    record(
        "user.sessions_ended",
        actor=user,
        object_type="user",
        object_id=user.id,
        after={"session_generation": user.session_generation},
    )

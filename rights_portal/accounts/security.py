"""Account security: password reset links, the TOTP second factor and its recovery codes.

Password reset: the e-mailed link carries a signed token (itsdangerous) with the user's id and a
fingerprint of the current password hash. It expires after ``PASSWORD_RESET_MINUTES`` and works
once, because setting a password changes the hash and so invalidates the fingerprint.

TOTP (optional, staff roles only): a staff member enrols by confirming a code for a new secret;
from then on login asks for a current code after the password. Each time step is accepted once.
Enrolment also gives ten one-time recovery codes (shown once, stored hashed) that stand in for a
TOTP code when the phone is lost; a new set replaces the old one.

Sessions on the server, their timeouts and "log out everywhere" are :mod:`.sessions`.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

import pyotp
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select, update

from ..audit.services import record
from ..clock import now_utc
from ..extensions import db
from ..notifications.services import notify_user
from .models import RecoveryCode, User
from .services import find_by_email, hash_password
from .sessions import end_sessions_except

RESET_SALT = "password-reset"
SESSION_TOKEN = "sid"  # noqa: S105  (the session key of the token, not a secret)
TOTP_ISSUER = "Rights Portal"
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # 32 letters: 5 bits each


# --- Password reset --------------------------------------------------------------------------


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def reset_token(user: User) -> str:
    """The signed token of a reset link for ``user``."""
    return str(_reset_serializer().dumps({"user": user.id, "pw": _fingerprint(user)}))


def request_password_reset(email: str) -> User | None:
    """Mail a reset link if an active account has this address; the caller answers the same.

    Both outcomes are recorded (R24), so repeated probing shows up on the trail.
    """
    user = find_by_email(email)
    if user is None or not user.is_active:
        record(
            "user.password_reset_requested",
            actor=None,
            object_type="user",
            after={"email": email.strip().lower()[:254], "known": False},
        )
        return None
    if not user.has_local_password:
        # An institutional account gets no password: a reset link would be a way around the
        # institution's login (and around its leaving date). The mail says where to log in.
        notify_user(user, "password_reset_institution")
    else:
        minutes = current_app.config["PASSWORD_RESET_MINUTES"]
        notify_user(user, "password_reset", token=reset_token(user), minutes=minutes)
    record(
        "user.password_reset_requested",
        actor=None,
        object_type="user",
        object_id=user.id,
        after={"known": True, "institution_login": not user.has_local_password},
    )
    return user


def user_from_reset_token(token: str) -> tuple[str, User | None]:
    """("valid", user), ("expired", None) or ("invalid", None) — used links are invalid."""
    max_age = current_app.config["PASSWORD_RESET_MINUTES"] * 60
    try:
        data: Any = _reset_serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        return "expired", None
    except BadSignature:
        return "invalid", None
    if not isinstance(data, dict) or not isinstance(data.get("user"), int):
        return "invalid", None
    user = db.session.get(User, data["user"])
    if user is None or not user.is_active or data.get("pw") != _fingerprint(user):
        return "invalid", None
    if not user.has_local_password:
        return "invalid", None
    return "valid", user


def reset_password(user: User, password: str) -> None:
    """Set a new password through a reset link (which this makes unusable).

    Every session of the account ends with it, including one left open or stolen elsewhere.
    """
    user.password_hash = hash_password(password)
    user.email_verified = True  # the reset link reached the address: it is the person's
    user.end_sessions()
    end_sessions_except(user, None)
    db.session.flush()
    record(
        "user.password_reset",
        actor=user,
        object_type="user",
        object_id=user.id,
        after={"sessions_ended": True},
    )


# --- TOTP second factor ----------------------------------------------------------------------


def new_totp_secret() -> str:
    """A fresh base32 secret for enrolment."""
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app imports."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def _matching_step(secret: str, code: str) -> int | None:
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = int(time.time())
    for drift in (0, -1, 1):  # one step of clock drift either way
        step = now // totp.interval + drift
        if totp.at(step * totp.interval) == code:
            return step
    return None


def enrol_totp(user: User, secret: str, code: str) -> bool:
    """Turn the second factor on when ``code`` matches ``secret``; staff only."""
    if not user.is_staff:
        return False
    step = _matching_step(secret, code)
    if step is None:
        return False
    user.totp_secret = secret
    user.totp_last_step = step
    db.session.flush()
    record("user.totp_enrolled", actor=user, object_type="user", object_id=user.id)
    return True


def verify_totp(user: User, code: str) -> bool:
    """Whether ``code`` is a current code of the user's secret not used before."""
    if not user.totp_secret:
        return False
    step = _matching_step(user.totp_secret, code)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    db.session.flush()
    return True


def disable_totp(user: User) -> None:
    """Turn the second factor off (the staff member's own choice, recorded)."""
    user.totp_secret = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.flush()
    record("user.totp_disabled", actor=user, object_type="user", object_id=user.id)


# --- Recovery codes --------------------------------------------------------------------------


def _normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def recovery_code_hash(code: str) -> str:
    """The stored form of a recovery code: sha256 of its normalised text.

    A fast hash is enough here, unlike for passwords: each code is 16 random characters of a
    32-letter alphabet (80 bits), so even a leaked table cannot be brute-forced, and a fast hash
    lets the code step find the code with one indexed comparison instead of ten argon2 runs.
    """
    return hashlib.sha256(_normalise_recovery_code(code).encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def new_recovery_codes(user: User) -> list[str]:
    """A new set of one-time codes for a staff member with TOTP; the old set stops working.

    The codes are returned to be shown once; only their hashes are stored.
    """
    if not (user.is_staff and user.totp_secret):
        raise ValueError("recovery codes belong to staff with a second factor")
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=recovery_code_hash(c)) for c in codes
    )
    db.session.flush()
    record(
        "user.recovery_codes_generated",
        actor=user,
        object_type="user",
        object_id=user.id,
        after={"count": len(codes)},
    )
    return codes


def recovery_codes_left(user: User) -> int:
    """How many unused recovery codes the user still has."""
    query = select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
    )
    return db.session.scalar(query) or 0


def use_recovery_code(user: User, code: str) -> int | None:
    """Spend ``code`` instead of a TOTP code: the number of codes left, or None if refused.

    The code is marked used in one conditional UPDATE, so two requests racing with the same code
    cannot both succeed.
    """
    if not user.totp_secret or len(_normalise_recovery_code(code)) != 16:
        return None
    spent = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == recovery_code_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now_utc())
        .returning(RecoveryCode.id)
    ).scalar_one_or_none()
    if spent is None:
        return None
    left = recovery_codes_left(user)
    record(
        "user.recovery_code_used",
        actor=user,
        object_type="user",
        object_id=user.id,
        after={"left": left},
    )
    return left

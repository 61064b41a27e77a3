"""Guardian accounts: registering on the public page, verifying the address, staff invitations.

A parent registers (and verifies the address through a signed, expiring link) or accepts a
staff invitation (a signed, expiring, single-use link made with itsdangerous). Each operation
changes the rows, writes the audit event and queues the e-mail; none commits (the caller does).
The links to a student that a guardian then asks for are in :mod:`.services` (R21).
"""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..audit.services import record
from ..clock import now_utc
from ..errors import RuleViolation
from ..extensions import db
from ..notifications.services import notify_addresses, notify_user
from .models import GuardianInvitation, Role, User
from .services import create_user, find_by_email, hash_password, normalise_email

INVITATION_SALT = "guardian-invitation"


class EmailTaken(RuleViolation):
    """An account with this e-mail address exists already."""


def _ensure_email_free(email: str) -> None:
    if find_by_email(email) is not None:
        raise EmailTaken(_l("An account with this e-mail address exists already. Log in instead."))


VERIFY_SALT = "email-verification"


def _password_fingerprint(user: User) -> str:
    import hashlib

    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def _verify_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=VERIFY_SALT)


def verification_token(user: User) -> str:
    """The signed token of the e-mailed verification link, bound to the password chosen then.

    A later registration of the same (unverified) address sets another password, so an older
    link stops working: whoever verifies gets the account with the password of the newest
    registration, and only the mailbox's owner receives that link.
    """
    return str(_verify_serializer().dumps({"user": user.id, "pw": _password_fingerprint(user)}))


def register_guardian(*, email: str, password: str, full_name: str, locale: str) -> None:
    """A parent registers on the public page; the answer is the same for every address.

    What differs goes only to the address, by e-mail: a new address gets an unverified guardian
    account and a verification link; an address whose account is still unverified gets a fresh
    link (name and password replaced by these); an address with a verified account of any role
    (staff included) gets a notice that it has an account already, and nothing changes. The
    password is hashed once on every path, so the answer also takes the same time.
    """
    email = normalise_email(email)
    existing = find_by_email(email)
    hours = current_app.config["EMAIL_VERIFICATION_HOURS"]
    if existing is None:
        user = create_user(
            email=email, password=password, full_name=full_name, role=Role.GUARDIAN, locale=locale
        )
        user.email_verified = False
        db.session.flush()
        record(
            "guardian.registered",
            actor=user,
            object_type="user",
            object_id=user.id,
            after={"email": user.email},
        )
        notify_user(user, "email_verification", token=verification_token(user), hours=hours)
        return
    password_hash = hash_password(password)
    if not existing.email_verified and existing.role is Role.GUARDIAN:
        existing.password_hash = password_hash
        existing.full_name = full_name.strip() or existing.full_name
        existing.locale = locale
        db.session.flush()
        notify_user(existing, "email_verification", token=verification_token(existing), hours=hours)
    else:
        notify_user(existing, "account_exists")
    record(
        "guardian.registration_repeated",
        actor=None,
        object_type="user",
        object_id=existing.id,
        after={"verified": existing.email_verified},
    )


def verify_email(token: str) -> tuple[InvitationState, User | None]:
    """Use an e-mailed verification link: VALID marks the address verified (and records it)."""
    max_age = current_app.config["EMAIL_VERIFICATION_HOURS"] * 3600
    try:
        payload: Any = _verify_serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        return InvitationState.EXPIRED, None
    except BadSignature:
        return InvitationState.INVALID, None
    user_id = payload.get("user") if isinstance(payload, dict) else None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or payload.get("pw") != _password_fingerprint(user):
        return InvitationState.INVALID, None
    if user.email_verified:
        return InvitationState.USED, user
    user.email_verified = True
    db.session.flush()
    record("user.email_verified", actor=user, object_type="user", object_id=user.id)
    return InvitationState.VALID, user


def _invitation_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=INVITATION_SALT)


def invitation_token(invitation: GuardianInvitation) -> str:
    """The signed token of the invitation's e-mailed link (its age is part of the signature)."""
    return str(_invitation_serializer().dumps({"invitation": invitation.id}))


def invite_guardian(*, email: str, full_name: str, locale: str, actor: User) -> GuardianInvitation:
    """Staff invite a parent; the parent gets an e-mail with a link to set a password."""
    email = normalise_email(email)
    full_name = full_name.strip()
    if "@" not in email or not full_name:
        raise RuleViolation(_l("Give the parent's name and e-mail address."))
    _ensure_email_free(email)
    created_at = now_utc()
    invitation = GuardianInvitation(
        email=email,
        full_name=full_name,
        locale=locale,
        invited_by_id=actor.id,
        created_at=created_at,
        expires_at=created_at + timedelta(days=current_app.config["GUARDIAN_INVITATION_DAYS"]),
    )
    db.session.add(invitation)
    db.session.flush()
    record(
        "guardian.invited",
        actor=actor,
        object_type="guardian_invitation",
        object_id=invitation.id,
        after={"email": email, "expires_at": invitation.expires_at},
    )
    notify_addresses(
        [email],
        locale,
        "guardian_invitation",
        invitation=invitation,
        token=invitation_token(invitation),
        days=current_app.config["GUARDIAN_INVITATION_DAYS"],
    )
    return invitation


class InvitationState(enum.StrEnum):
    """What an invitation link is worth when it is opened."""

    VALID = "valid"
    EXPIRED = "expired"
    USED = "used"
    INVALID = "invalid"


def invitation_from_token(token: str) -> tuple[InvitationState, GuardianInvitation | None]:
    """Check an invitation link: signed by us, not older than allowed, not used yet."""
    max_age = current_app.config["GUARDIAN_INVITATION_DAYS"] * 24 * 3600
    serializer = _invitation_serializer()
    try:
        payload: Any = serializer.loads(token, max_age=max_age)
    except SignatureExpired:
        return InvitationState.EXPIRED, None
    except BadSignature:
        return InvitationState.INVALID, None
    invitation_id = payload.get("invitation") if isinstance(payload, dict) else None
    invitation = db.session.get(GuardianInvitation, invitation_id) if invitation_id else None
    if invitation is None:
        return InvitationState.INVALID, None
    if invitation.accepted_at is not None:
        return InvitationState.USED, invitation
    if invitation.expires_at <= now_utc():
        return InvitationState.EXPIRED, invitation
    return InvitationState.VALID, invitation


def accept_invitation(invitation: GuardianInvitation, *, full_name: str, password: str) -> User:
    """Create the guardian account of an invitation; the invitation cannot be used again."""
    if invitation.accepted_at is not None:
        raise RuleViolation(_l("This invitation has been used already. Log in instead."))
    _ensure_email_free(invitation.email)
    user = create_user(
        email=invitation.email,
        password=password,
        full_name=full_name or invitation.full_name,
        role=Role.GUARDIAN,
        locale=invitation.locale,
    )
    invitation.accepted_at = now_utc()
    invitation.user_id = user.id
    db.session.flush()
    record(
        "guardian.invitation_accepted",
        actor=user,
        object_type="guardian_invitation",
        object_id=invitation.id,
        after={"user_id": user.id},
    )
    return user

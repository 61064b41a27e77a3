"""Accounts: creating them, roles, checking passwords (argon2id), and guardian links.

Guardian links (R20, R21): a guardian asks to be linked to a student, and a case handler
verifies, rejects or revokes that link. How a guardian gets an account at all (registering,
verifying the address, a staff invitation) is :mod:`.registration`. Each operation checks the
move is allowed, changes the rows, writes the audit event and queues the e-mail; none commits
(the caller does).
Who may call them is decided in :mod:`rights_portal.permissions`.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..audit.services import record
from ..clock import now_utc, today_local
from ..errors import RuleViolation
from ..extensions import db
from ..notifications.services import notify_user
from .guardianship import is_minor_on
from .models import (
    AuthorityDocument,
    GuardianBasis,
    GuardianLink,
    LinkStatus,
    Role,
    User,
    VerificationMethod,
)


@functools.cache
def _hasher_for(params: tuple[tuple[str, int], ...]) -> PasswordHasher:
    return PasswordHasher(**dict(params))  # type: ignore[arg-type]


def _hasher() -> PasswordHasher:
    """argon2id with the library's defaults, or ``ARGON2_PARAMS`` (the tests make it cheap)."""
    params = current_app.config.get("ARGON2_PARAMS") if has_app_context() else None
    return _hasher_for(tuple(sorted((params or {}).items())))


def _dummy_hash() -> str:
    """A hash to verify against when the e-mail is unknown: both answers cost the same."""
    return _dummy_hash_for(_hasher())


@functools.cache
def _dummy_hash_for(hasher: PasswordHasher) -> str:
    return hasher.hash("not-a-real-password")


MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """Invalid account data."""


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password``."""
    return _hasher().hash(password)


def normalise_email(email: str) -> str:
    """E-mail addresses are compared lower-case and without surrounding space."""
    return email.strip().lower()


def find_by_email(email: str) -> User | None:
    """Return the user with this e-mail address, if any."""
    return db.session.scalars(
        select(User).where(User.email == normalise_email(email))
    ).one_or_none()


def create_user(
    *,
    email: str,
    password: str,
    full_name: str,
    role: Role,
    locale: str = "nl",
    student_number: str | None = None,
    date_of_birth: date | None = None,
    programme_id: int | None = None,
    actor: User | None = None,
) -> User:
    """Create an account; the caller commits."""
    email = normalise_email(email)
    if "@" not in email:
        raise AccountError("invalid e-mail address")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if find_by_email(email) is not None:
        raise AccountError(f"an account with e-mail {email} exists already")
    if role is Role.STUDENT and not student_number:
        raise AccountError("a student account needs a student number")
    user = User(
        email=email,
        password_hash=hash_password(password),
        full_name=full_name.strip(),
        role=role,
        locale=locale,
        student_number=student_number if role is Role.STUDENT else None,
        date_of_birth=date_of_birth if role is Role.STUDENT else None,
        programme_id=programme_id,
    )
    db.session.add(user)
    db.session.flush()
    record(
        "user.created",
        actor=actor,
        object_type="user",
        object_id=user.id,
        after={"email": user.email, "role": user.role.value},
    )
    return user


def change_role(user: User, role: Role, *, actor: User | None, via: str) -> User:
    """Give an account another role (an admin operation); recorded on the trail (R24).

    A student account carries a student number and date of birth and cannot become staff, nor
    can a staff account become a student: such a person gets a second account instead.
    """
    if user.role is role:
        raise AccountError(f"{user.email} already has the role {role.value}")
    if Role.STUDENT in (user.role, role):
        raise AccountError(
            "the role of a student account cannot be changed, nor can an account become a"
            " student: create a separate account"
        )
    before = {"role": user.role.value}
    user.role = role
    db.session.flush()
    record(
        "user.role_changed",
        actor=actor,
        object_type="user",
        object_id=user.id,
        before=before,
        after={"role": role.value, "via": via},
    )
    return user


def change_locale(user: User, locale: str) -> bool:
    """Store the user's language choice; return whether it changed (and so was recorded)."""
    if user.locale == locale:
        return False
    before = {"locale": user.locale}
    user.locale = locale
    db.session.flush()
    record(
        "user.locale_changed",
        actor=user,
        object_type="user",
        object_id=user.id,
        before=before,
        after={"locale": locale},
    )
    return True


def authenticate(email: str, password: str) -> User | None:
    """Return the active user whose password matches, else None (same cost either way)."""
    user = find_by_email(email)
    if user is None:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(user.password_hash, password) or not user.is_active:
        return None
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def count_users() -> int:
    """Number of accounts (for the CLI)."""
    return db.session.scalar(select(func.count(User.id))) or 0


# A guardian with this many requests still waiting for a check cannot add another.
MAX_PENDING_LINKS = 5


# --- Guardian links (R21) --------------------------------------------------------------------


def _link_snapshot(link: GuardianLink) -> dict[str, Any]:
    fields = (
        "status",
        "student_id",
        "basis",
        "verification_method",
        "document_type",
        "document_seen_on",
        "rejection_reason",
        "revocation_reason",
    )
    return {name: getattr(link, name) for name in fields}


def _open_statuses() -> tuple[LinkStatus, LinkStatus]:
    return (LinkStatus.PENDING, LinkStatus.VERIFIED)


def refuse_link_to_adult(date_of_birth: date) -> None:
    """R20: no link is asked for a child who, by the date of birth typed, is 16 or older today.

    Judged from what the guardian typed alone, before any student is looked up, so the answer
    tells nothing about whether such a student exists.
    """
    from .guardianship import is_minor_on

    today = today_local()
    if date_of_birth > today:
        raise RuleViolation(_l("This date cannot be in the future."))
    if not is_minor_on(date_of_birth, today):
        raise RuleViolation(
            _l(
                "By this date of birth the student is 16 or older. From their 16th birthday "
                "students make their own requests, so a parent or guardian cannot be linked "
                "to them. Your child can log in and ask for themselves."
            )
        )


def request_link(
    guardian: User, *, student_number: str, date_of_birth: date, basis: GuardianBasis
) -> GuardianLink:
    """A guardian asks to act for a student, named by student number and date of birth.

    The request is stored whether or not the two match a student, and the guardian gets the same
    answer either way, so student numbers cannot be probed; staff see whether it matched.
    """
    number = student_number.strip()
    if not number:
        raise RuleViolation(_l("Enter the student number."))
    refuse_link_to_adult(date_of_birth)
    pending = db.session.scalar(
        select(func.count(GuardianLink.id)).where(
            GuardianLink.guardian_id == guardian.id, GuardianLink.status == LinkStatus.PENDING
        )
    )
    if (pending or 0) >= MAX_PENDING_LINKS:
        raise RuleViolation(
            _l("You have several requests waiting for a check. Wait until we have checked them.")
        )
    same_request = db.session.scalars(
        select(GuardianLink).where(
            GuardianLink.guardian_id == guardian.id,
            func.lower(GuardianLink.claimed_student_number) == number.lower(),
            GuardianLink.claimed_date_of_birth == date_of_birth,
            GuardianLink.status.in_(_open_statuses()),
        )
    ).first()
    if same_request is not None:
        return same_request
    student = db.session.scalars(
        select(User).where(
            User.role == Role.STUDENT,
            func.lower(User.student_number) == number.lower(),
            User.date_of_birth == date_of_birth,
        )
    ).one_or_none()
    if student is not None:
        same_student = db.session.scalars(
            select(GuardianLink).where(
                GuardianLink.guardian_id == guardian.id,
                GuardianLink.student_id == student.id,
                GuardianLink.status.in_(_open_statuses()),
            )
        ).first()
        if same_student is not None:
            return same_student
    link = GuardianLink(
        guardian_id=guardian.id,
        student_id=student.id if student else None,
        claimed_student_number=number,
        claimed_date_of_birth=date_of_birth,
        basis=basis,
        status=LinkStatus.PENDING,
        requested_at=now_utc(),
    )
    db.session.add(link)
    db.session.flush()
    record(
        "guardian_link.requested",
        actor=guardian,
        object_type="guardian_link",
        object_id=link.id,
        after={
            **_link_snapshot(link),
            "claimed_student_number": number,
            "claimed_date_of_birth": date_of_birth,
            "matched": student is not None,
        },
    )
    return link


def _link_changed(
    link: GuardianLink, action: str, *, before: dict[str, Any], actor: User
) -> GuardianLink:
    """Record a decided link on the audit trail and tell the guardian (R21, R24)."""
    db.session.flush()
    record(
        f"guardian_link.{action}",
        actor=actor,
        object_type="guardian_link",
        object_id=link.id,
        before=before,
        after=_link_snapshot(link),
    )
    notify_user(link.guardian, f"guardian_link_{action}", link=link)
    return link


def verify_link(
    link: GuardianLink,
    *,
    actor: User,
    method: VerificationMethod,
    document_type: AuthorityDocument,
    document_seen_on: date,
) -> GuardianLink:
    """Staff record how they checked the guardian's authority; the link now gives access (R21).

    Only the kind of document and the day it was seen are kept, never a copy of it.
    """
    if link.status is not LinkStatus.PENDING:
        raise RuleViolation(_l("Only a request that waits for a check can be verified."))
    if link.student is None:
        raise RuleViolation(
            _l(
                "No student has this student number and date of birth. "
                "Reject the request and say why."
            )
        )
    today = today_local()
    if document_seen_on > today:
        raise RuleViolation(_l("The day the document was seen cannot be in the future."))
    if not is_minor_on(link.student.date_of_birth, today):
        raise RuleViolation(
            _l("This student is 16 or older and acts alone. Reject the request and say why.")
        )
    before = _link_snapshot(link)
    link.status = LinkStatus.VERIFIED
    link.verified_by_id = actor.id
    link.verified_at = now_utc()
    link.verification_method = method
    link.document_type = document_type
    link.document_seen_on = document_seen_on
    return _link_changed(link, "verified", before=before, actor=actor)


def reject_link(link: GuardianLink, *, actor: User, reason: str) -> GuardianLink:
    """Staff refuse a pending request, with a reason the guardian reads."""
    reason = reason.strip()
    if link.status is not LinkStatus.PENDING:
        raise RuleViolation(_l("Only a request that waits for a check can be rejected."))
    if not reason:
        raise RuleViolation(_l("Write down why the request is rejected."))
    before = _link_snapshot(link)
    link.status = LinkStatus.REJECTED
    link.rejected_by_id = actor.id
    link.rejected_at = now_utc()
    link.rejection_reason = reason
    return _link_changed(link, "rejected", before=before, actor=actor)


def revoke_link(link: GuardianLink, *, actor: User, reason: str) -> GuardianLink:
    """Staff end a verified link (for example after a court decision); all access ends with it."""
    reason = reason.strip()
    if link.status is not LinkStatus.VERIFIED:
        raise RuleViolation(_l("Only a verified link can be revoked."))
    if not reason:
        raise RuleViolation(_l("Write down why the link is revoked."))
    before = _link_snapshot(link)
    link.status = LinkStatus.REVOKED
    link.revoked_by_id = actor.id
    link.revoked_at = now_utc()
    link.revocation_reason = reason
    return _link_changed(link, "revoked", before=before, actor=actor)


def links_of(guardian: User) -> list[GuardianLink]:
    """A guardian's own links and requests, newest first."""
    return list(
        db.session.scalars(
            select(GuardianLink)
            .where(GuardianLink.guardian_id == guardian.id)
            .order_by(GuardianLink.requested_at.desc(), GuardianLink.id.desc())
        )
    )


def links_for_staff(status: LinkStatus | None) -> list[GuardianLink]:
    """Links for the staff list, oldest request first (the queue of checks to do)."""
    query = select(GuardianLink).order_by(GuardianLink.requested_at, GuardianLink.id)
    if status is not None:
        query = query.where(GuardianLink.status == status)
    return list(db.session.scalars(query.limit(500)))

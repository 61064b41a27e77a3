"""Logging in with the institution's account: who the claims are, and whether they may enter.

:func:`sign_in` decides for one set of claims (plain Python, no request): it finds the portal
account — by the institution's subject, else by the ``eduperson_principal_name`` an admin linked
to a staff account, else by the student number of a known student — or creates a student's
account when the institution says this is a student of an accepted organisation. It refuses an
unknown organisation, an affiliation that ended (whose open sessions end with it), a deactivated
account, and staff without the required assurance; a claim alone never makes anyone staff. Every
login, refusal and account creation is on the audit trail (R24). It flushes; the caller commits.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ...audit.services import record
from ...clock import now_utc
from ...errors import RuleViolation
from ...extensions import db
from ..models import NO_PASSWORD, STAFF_ROLES, Role, User
from ..services import find_by_email, normalise_email
from .claims import InstitutionalClaims
from .models import InstitutionIdentity


class Refusal(enum.StrEnum):
    """Why an institutional login does not let the person in (each has its own page text)."""

    INCOMPLETE = "incomplete"  # the provider sent no subject or organisation
    UNKNOWN_ORGANIZATION = "unknown_organization"
    NO_ACCOUNT = "no_account"  # not a student, and no account an admin linked
    ACCOUNT_CONFLICT = "account_conflict"  # the e-mail address belongs to another account
    AFFILIATION_ENDED = "affiliation_ended"
    DEACTIVATED = "deactivated"
    ASSURANCE_TOO_LOW = "assurance_too_low"


@dataclass(frozen=True)
class SignIn:
    """The outcome: a user to start a session for, a refusal, or a step-up to ask for first."""

    user: User | None = None
    refusal: Refusal | None = None
    created: bool = False
    needs_step_up: bool = False


@dataclass(frozen=True)
class LoginPolicy:
    """The installation's settings for institutional login."""

    issuer: str
    accepted_organizations: frozenset[str]
    # SURFsecureID's acr for staff; empty: staff use the portal's own second factor (TOTP).
    staff_acr: str = ""


def _refuse(claims: InstitutionalClaims, refusal: Refusal, user: User | None = None) -> SignIn:
    record(
        "user.login_failed",
        actor=None,
        object_type="user",
        object_id=user.id if user is not None else None,
        after={
            "method": "institution",
            "reason": refusal.value,
            "organization": claims.organization,
        },
    )
    return SignIn(refusal=refusal)


def _identity_by_subject(issuer: str, subject: str) -> InstitutionIdentity | None:
    return db.session.scalars(
        select(InstitutionIdentity).where(
            InstitutionIdentity.issuer == issuer, InstitutionIdentity.subject == subject
        )
    ).one_or_none()


def _identity_by_principal_name(principal_name: str) -> InstitutionIdentity | None:
    if not principal_name:
        return None
    return db.session.scalars(
        select(InstitutionIdentity).where(InstitutionIdentity.principal_name == principal_name)
    ).one_or_none()


def _known_student(student_number: str) -> User | None:
    if not student_number:
        return None
    return db.session.scalars(
        select(User).where(User.role == Role.STUDENT, User.student_number == student_number)
    ).one_or_none()


def identity_of(user: User) -> InstitutionIdentity | None:
    """The institutional identity linked to ``user``, if any."""
    return db.session.scalars(
        select(InstitutionIdentity).where(InstitutionIdentity.user_id == user.id)
    ).one_or_none()


def _new_student(claims: InstitutionalClaims, policy: LoginPolicy) -> User:
    """The account of a student the institution vouches for; no date of birth is guessed."""
    user = User(
        email=normalise_email(claims.email),
        password_hash=NO_PASSWORD,
        full_name=(claims.name or claims.email)[:200],
        role=Role.STUDENT,
        student_number=claims.student_number,
        date_of_birth=None,
        email_verified=True,  # the institution vouches for its own address
    )
    db.session.add(user)
    db.session.flush()
    record(
        "user.created",
        actor=None,
        object_type="user",
        object_id=user.id,
        after={"email": user.email, "role": user.role.value, "via": "institution_login"},
    )
    return user


def _find_or_link(
    claims: InstitutionalClaims, policy: LoginPolicy
) -> tuple[InstitutionIdentity | None, Refusal | None, bool]:
    """The identity of these claims (linking or creating it), or why there is none."""
    identity = _identity_by_subject(policy.issuer, claims.subject)
    if identity is not None:
        return identity, None, False
    identity = _identity_by_principal_name(claims.principal_name)
    if identity is not None:
        if identity.subject is not None:
            # The same principal name under another subject: not the person linked before.
            return None, Refusal.ACCOUNT_CONFLICT, False
        identity.subject = claims.subject
        identity.issuer = policy.issuer
        return identity, None, False
    student = _known_student(claims.student_number)
    if student is not None:
        if identity_of(student) is not None:
            return None, Refusal.ACCOUNT_CONFLICT, False
        identity = InstitutionIdentity(user=student, issuer=policy.issuer, subject=claims.subject)
        db.session.add(identity)
        return identity, None, False
    if not (claims.is_student and claims.student_number and claims.email):
        return None, Refusal.NO_ACCOUNT, False
    if find_by_email(claims.email) is not None:
        # Never take over an account by its e-mail address alone (a parent's, say).
        return None, Refusal.ACCOUNT_CONFLICT, False
    identity = InstitutionIdentity(
        user=_new_student(claims, policy),
        issuer=policy.issuer,
        subject=claims.subject,
        created_account=True,
    )
    db.session.add(identity)
    return identity, None, True


def sign_in(claims: InstitutionalClaims, policy: LoginPolicy, *, stepped_up: bool) -> SignIn:
    """Decide an institutional login; ``stepped_up``: this login already asked for ``acr``."""
    if not claims.subject or not claims.organization:
        return _refuse(claims, Refusal.INCOMPLETE)
    if claims.organization not in policy.accepted_organizations:
        return _refuse(claims, Refusal.UNKNOWN_ORGANIZATION)
    identity, refusal, created = _find_or_link(claims, policy)
    if identity is None:
        return _refuse(claims, refusal or Refusal.NO_ACCOUNT)
    user = identity.user
    if not user.is_active:
        return _refuse(claims, Refusal.DEACTIVATED, user)
    still_affiliated = (
        claims.is_employee
        if user.is_staff
        else claims.is_student
        if user.role is Role.STUDENT
        else False  # parents log in with their own account, not the institution's
    )
    if not still_affiliated:
        if user.role is not Role.GUARDIAN:
            user.end_sessions()  # the affiliation ended: so does every open session
        return _refuse(claims, Refusal.AFFILIATION_ENDED, user)
    if user.is_staff and policy.staff_acr and claims.acr != policy.staff_acr:
        if not stepped_up:
            return SignIn(user=user, needs_step_up=True)
        return _refuse(claims, Refusal.ASSURANCE_TOO_LOW, user)
    identity.organization = claims.organization
    identity.affiliations = sorted(claims.affiliations)
    identity.principal_name = identity.principal_name or claims.principal_name or None
    identity.last_login_at = now_utc()
    record(
        "user.login",
        actor=user,
        object_type="user",
        object_id=user.id,
        after={"method": "institution", "acr": claims.acr or None},
    )
    return SignIn(user=user, created=created)


def link_staff_account(user: User, principal_name: str, *, issuer: str, actor: User | None) -> None:
    """Let a staff account log in with the institution's account of ``principal_name``.

    The role stays what an admin gave the account; the link only says which institutional
    account is this person's.
    """
    principal_name = principal_name.strip().lower()
    if not user.is_staff:
        raise RuleViolation(_l("Only staff accounts are linked here; students link at login."))
    if "@" not in principal_name:
        raise RuleViolation(_l("Give the eduPerson principal name, such as j.jansen@uni.nl."))
    other = _identity_by_principal_name(principal_name)
    if other is not None and other.user_id != user.id:
        raise RuleViolation(_l("This principal name is linked to another account."))
    identity = identity_of(user)
    if identity is None:
        identity = InstitutionIdentity(user=user, issuer=issuer)
        db.session.add(identity)
    identity.principal_name = principal_name
    identity.linked_by_id = actor.id if actor is not None else None
    db.session.flush()
    record(
        "user.institution_linked",
        actor=actor,
        object_type="user",
        object_id=user.id,
        after={"principal_name": principal_name},
    )


def confirm_age(
    identity: InstitutionIdentity, *, actor: User, date_of_birth: date | None
) -> InstitutionIdentity:
    """R20: staff give the date of birth from the student record, or confirm 16 or older."""
    if date_of_birth is not None:
        identity.user.date_of_birth = date_of_birth
    identity.age_confirmed_at = now_utc()
    identity.age_confirmed_by_id = actor.id
    db.session.flush()
    record(
        "user.age_confirmed",
        actor=actor,
        object_type="user",
        object_id=identity.user_id,
        after={"date_of_birth": date_of_birth.isoformat() if date_of_birth else None},
    )
    return identity


def awaits_age_confirmation(user: User) -> bool:
    """R20: whether ``user`` is a student the login made whose age staff have not confirmed."""
    identity = identity_of(user)
    return identity is not None and identity.awaits_age_confirmation


def awaiting_age_confirmation() -> list[InstitutionIdentity]:
    """Students the login created whose age staff have not confirmed yet (oldest first)."""
    rows = db.session.scalars(
        select(InstitutionIdentity)
        .join(User, User.id == InstitutionIdentity.user_id)
        .where(
            InstitutionIdentity.created_account.is_(True),
            InstitutionIdentity.age_confirmed_at.is_(None),
            User.date_of_birth.is_(None),
        )
        .order_by(InstitutionIdentity.created_at)
    )
    return list(rows)


def linked_identities() -> list[InstitutionIdentity]:
    """Every institutional identity, for the admin's overview of linked accounts."""
    return list(db.session.scalars(select(InstitutionIdentity)))


def staff_users() -> list[User]:
    """The staff accounts by name, which an admin may link to an institution login."""
    return list(
        db.session.scalars(select(User).where(User.role.in_(STAFF_ROLES)).order_by(User.full_name))
    )

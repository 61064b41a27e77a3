"""Creating accounts and checking passwords (argon2id via argon2-cffi)."""

from __future__ import annotations

from datetime import date

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from ..audit.services import record
from ..extensions import db
from .models import Role, User

_hasher = PasswordHasher()
# Verifying against this hash when the e-mail is unknown keeps both answers equally slow.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """Invalid account data."""


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password``."""
    return _hasher.hash(password)


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
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(user.password_hash, password) or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def count_users() -> int:
    """Number of accounts (for the CLI)."""
    return db.session.scalar(select(func.count(User.id))) or 0

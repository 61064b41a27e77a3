"""Who holds a role now: the active accounts other domains write to (the DPO, the handlers).

Read-only lookups; who may *do* something is :mod:`rights_portal.permissions`'s question.
"""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from .models import Role, User


def active_users_with_role(role: Role) -> list[User]:
    """The active accounts holding ``role``, oldest first (so the first is stable)."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == role, User.is_active_account.is_(True))
            .order_by(User.id)
        )
    )


def dpo_recipients() -> list[tuple[str, str]]:
    """The active DPOs as (address, locale): who receives the audit trail's check (R24)."""
    return [(user.email, user.locale) for user in active_users_with_role(Role.DPO)]

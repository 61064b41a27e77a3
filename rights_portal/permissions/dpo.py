"""The DPO's desk: the dashboard, the report, the breach register (R26) and the exports.

Who sees which breaches of the register, and who may ask for and download the background exports
(the trail's CSV, the report's PDF).

The role groups (``DASHBOARD_ROLES``, ``REPORT_ROLES``, ``BREACH_REPORTER_ROLES``) and why they
are who they are live in :mod:`rights_portal.permissions.gates`.
"""

from __future__ import annotations

import enum

from flask import abort
from flask_login import current_user
from sqlalchemy import ColumnElement, false, true

from ..accounts.models import Role, User
from ..breaches.models import Breach
from ..extensions import db
from .gates import AUDIT_TRAIL_ROLES, BREACH_REPORTER_ROLES, REPORT_ROLES, has_role_in


class BreachAction(enum.StrEnum):
    """Things a user can do with a breach in the register."""

    VIEW = "view"
    MANAGE = "manage"  # assess, record notifications, link, close: the DPO's work


def visible_breaches_clause(user: User) -> ColumnElement[bool]:
    """The DPO sees the whole register; other staff see the breaches they reported."""
    if user.role is Role.DPO:
        return true()
    if user.role in BREACH_REPORTER_ROLES:
        return Breach.reported_by_id == user.id
    return false()


def can_breach(user: User, action: BreachAction, breach: Breach) -> bool:
    """Whether ``user`` may ``action`` the breach."""
    if user.role is Role.DPO:
        return True
    if action is BreachAction.VIEW:
        return user.role in BREACH_REPORTER_ROLES and breach.reported_by_id == user.id
    return False


def breach_or_404(breach_id: int, action: BreachAction = BreachAction.VIEW) -> Breach:
    """Load a breach for the current user; 404 unless they may see it, 403 unless ``action``."""
    breach = db.session.get(Breach, breach_id)
    if breach is None or not can_breach(current_user, BreachAction.VIEW, breach):
        abort(404)
    if not can_breach(current_user, action, breach):
        abort(403)
    return breach


def can_read_report(user: User) -> bool:
    """Whether ``user`` may open the accountability report and export the breach register."""
    return has_role_in(user, REPORT_ROLES)


#: Who may ask for each kind of background export (``rights_portal.exports.models.ExportKind``
#: values; named here as text so this module does not import the exports domain, which builds
#: on the DPO's report and therefore on these permissions).
_EXPORT_KIND_ROLES = {"audit_trail": AUDIT_TRAIL_ROLES, "dpo_report": REPORT_ROLES}


def can_export(user: User, kind: str) -> bool:
    """Whether ``user`` may ask for an export of ``kind`` (the same gate as its page)."""
    roles = _EXPORT_KIND_ROLES.get(str(kind))
    return roles is not None and has_role_in(user, roles)


def may_download_export(user: User, requested_by_id: int, kind: str) -> bool:
    """An export is downloaded only by who asked for it, while they may still ask for its kind.

    Anyone else gets a 404 (its existence is not revealed).
    """
    return bool(user.is_authenticated) and user.id == requested_by_id and can_export(user, kind)

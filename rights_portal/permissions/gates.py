"""Who may enter an area at all: the role groups and the ``roles_required`` gate of a view.

An area the user's role may not enter (the staff queue for a student) is answered with 403. Each
group is named after what it lets its members do, so a view says *which area* it is
(``@roles_required(*BREACH_REPORTER_ROLES)``) and never which roles that means; whether the user
may then see one particular object is the predicate of its domain module (404 if not).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from ..accounts.models import STAFF_ROLES, Role, User

F = TypeVar("F", bound=Callable[..., Any])


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Allow a view only for logged-in users with one of ``roles`` (403 otherwise)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                from ..extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def has_role_in(user: User, roles: tuple[Role, ...]) -> bool:
    """Whether ``user`` is logged in and holds one of ``roles`` (for a link or a button)."""
    return bool(user.is_authenticated) and user.role in roles


# --- Everyone ------------------------------------------------------------------------------------

ANY_ROLE = tuple(Role)  # every logged-in user (the privacy notice of an exam decides itself)
# Every staff role: the staff area, its account pages, and the delivery status banner.
STAFF_AREA_ROLES = tuple(sorted(STAFF_ROLES))

# --- Requesters (R20, R21) -----------------------------------------------------------------------

REQUESTER_ROLES = (Role.STUDENT, Role.GUARDIAN)
# Filing for oneself; a guardian files for a child through their link instead.
SELF_FILER_ROLES = (Role.STUDENT,)
GUARDIAN_ROLES = (Role.GUARDIAN,)

# --- Cases in the staff area ---------------------------------------------------------------------

STAFF_CASE_ROLES = (Role.CASE_HANDLER, Role.EXAM_BOARD, Role.DPO)
# The exam board's own workspace: objections, alternatives and flags of its programmes.
EXAM_BOARD_ROLES = (Role.EXAM_BOARD,)
# The invigilation list of an exam's alternatives: its board and the case handlers.
INVIGILATION_ROLES = (Role.EXAM_BOARD, Role.CASE_HANDLER)
# Alternatives later than the no-delay limit (R17): the DPO oversees, boards see their own.
LATE_ALTERNATIVES_ROLES = (Role.DPO, Role.EXAM_BOARD)
# The access workspace (R11-R14): handlers work in it, the DPO reads along.
ACCESS_WORKSPACE_ROLES = (Role.CASE_HANDLER, Role.DPO)
# Deciding held items, redacting, building and releasing the package: the handlers' work.
ACCESS_HANDLER_ROLES = (Role.CASE_HANDLER,)
# R1: requests that arrived outside the portal are registered by handlers; the DPO reads along.
INTAKE_ROLES = (Role.CASE_HANDLER,)
INTAKE_READER_ROLES = (Role.CASE_HANDLER, Role.DPO)

# Who works with guardian links in the staff area: handlers check them, the DPO reads along.
GUARDIAN_LINK_ROLES = (Role.CASE_HANDLER, Role.DPO)
# Who invites parents and verifies, rejects or revokes links.
GUARDIAN_CHECK_ROLES = (Role.CASE_HANDLER,)

# --- Tools of the staff area ---------------------------------------------------------------------

# The full audit trail shows every user's actions: the DPO's alone (docs/rules.md#roles, R24).
AUDIT_TRAIL_ROLES = (Role.DPO,)
# The register of tools (AP checklists): every staff member reads it, the admin and the DPO keep
# it; exams and the tool they use are configuration, so the admin manages them.
REGISTER_READERS = STAFF_AREA_ROLES
REGISTER_EDITORS = (Role.ADMIN, Role.DPO)
EXAM_MANAGERS = (Role.ADMIN,)
# The list of user accounts (accounts themselves are made with `flask users` on the server).
USER_LIST_ROLES = (Role.ADMIN,)
# Only admins link staff accounts to an institution login (never a claim alone), make API
# clients and register webhook endpoints.
INTEGRATION_ADMIN_ROLES = (Role.ADMIN,)
# R20: who confirms the age of a student the institutional login made without a date of birth.
AGE_CONFIRMER_ROLES = (Role.CASE_HANDLER, Role.ADMIN)
# R25: retention is the DPO's: the overview of deletions and holds, and placing legal holds.
RETENTION_ROLES = (Role.DPO,)

# --- The DPO's desk: dashboard and data-breach register (R26) ------------------------------------

# The dashboard shows aggregate figures plus overdue references and handler names. The DPO
# oversees; the privacy office (case handlers) sees every case anyway and steers on the same
# figures. Exam boards see only their programmes' cases, so an institution-wide dashboard is not
# theirs; admins see no case contents.
DASHBOARD_ROLES = (Role.DPO, Role.CASE_HANDLER)
# The accountability report includes the breach register, which only the DPO reads in full.
REPORT_ROLES = (Role.DPO,)
# Anyone on staff must be able to report a suspected breach: the 72 hours start at discovery.
BREACH_REPORTER_ROLES = (Role.CASE_HANDLER, Role.EXAM_BOARD, Role.DPO, Role.ADMIN)

"""The one place that decides who may see and do what (DESIGN §2b).

Views and tasks ask these functions; none does its own check. A case the user may not see is
answered with 404, so its existence is not revealed; an area the user's role may not enter at all
(the staff queue for a student) is a 403.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import ColumnElement, false, select, true

from .accounts.models import Role, User
from .breaches.models import Breach
from .cases.models import Case, CaseType
from .exams.models import ExamBoardMember, Programme
from .extensions import db

F = TypeVar("F", bound=Callable[..., Any])


class Action(enum.StrEnum):
    """Things a user can do with a case."""

    VIEW = "view"
    WITHDRAW = "withdraw"
    MESSAGE = "message"
    ASSIGN = "assign"
    DECIDE = "decide"
    ASK = "ask"
    EXTEND = "extend"
    MARK_DUPLICATE = "mark_duplicate"


# What only the staff member who may decide the case may do.
DECIDER_ACTIONS = frozenset(
    {Action.ASSIGN, Action.DECIDE, Action.ASK, Action.EXTEND, Action.MARK_DUPLICATE}
)


def board_programme_ids(user: User) -> set[int]:
    """Programmes whose exam board the user sits on."""
    return set(
        db.session.scalars(
            select(Programme.id)
            .join(ExamBoardMember, ExamBoardMember.board_id == Programme.exam_board_id)
            .where(ExamBoardMember.user_id == user.id)
        )
    )


def visible_cases_clause(user: User) -> ColumnElement[bool]:
    """A WHERE clause restricting cases to those ``user`` may see."""
    if user.role is Role.STUDENT:
        return (Case.subject_id == user.id) & (Case.filed_by_id == user.id)
    if user.role is Role.GUARDIAN:
        return Case.filed_by_id == user.id
    if user.role in (Role.CASE_HANDLER, Role.DPO):
        return true()
    if user.role is Role.EXAM_BOARD:
        return Case.programme_id.in_(board_programme_ids(user))
    return false()  # admin: configuration, no case contents


def can(user: User, action: Action, case: Case) -> bool:
    """Whether ``user`` may perform ``action`` on ``case``."""
    if not _can_view(user, case):
        return False
    if action is Action.VIEW:
        return True
    if action is Action.WITHDRAW:
        return case.filed_by_id == user.id  # whether it is still open is the workflow's rule
    if action is Action.MESSAGE:
        # The requester who filed, and the staff who work on cases (not the read-only DPO).
        return case.filed_by_id == user.id or user.role in (Role.CASE_HANDLER, Role.EXAM_BOARD)
    if action in DECIDER_ACTIONS:
        return _decides(user, case)
    return False


def _can_view(user: User, case: Case) -> bool:
    if user.role is Role.STUDENT:
        return case.subject_id == user.id and case.filed_by_id == user.id
    if user.role is Role.GUARDIAN:
        return case.filed_by_id == user.id
    if user.role in (Role.CASE_HANDLER, Role.DPO):
        return True
    if user.role is Role.EXAM_BOARD:
        return case.programme_id in board_programme_ids(user)
    return False


def _decides(user: User, case: Case) -> bool:
    """Exam boards decide objections and alternatives of their programmes; handlers the rest."""
    if case.case_type.decided_by_exam_board:
        return user.role is Role.EXAM_BOARD and case.programme_id in board_programme_ids(user)
    return user.role is Role.CASE_HANDLER


def possible_assignees(case: Case) -> list[User]:
    """Who a case can be assigned to: the exam board of its programme, or the case handlers."""
    query = select(User).where(User.is_active_account.is_(True)).order_by(User.full_name)
    if case.case_type.decided_by_exam_board:
        query = (
            query.join(ExamBoardMember, ExamBoardMember.user_id == User.id)
            .join(Programme, Programme.exam_board_id == ExamBoardMember.board_id)
            .where(Programme.id == case.programme_id)
        )
    else:
        query = query.where(User.role == Role.CASE_HANDLER)
    return list(db.session.scalars(query))


def case_or_404(reference: str, action: Action = Action.VIEW) -> Case:
    """Load a case by reference for the current user; 404 unless they may ``action`` it."""
    case = db.session.scalars(select(Case).where(Case.reference == reference)).one_or_none()
    if case is None or not _can_view(current_user, case):
        abort(404)
    if not can(current_user, action, case):
        abort(403)
    return case


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Allow a view only for logged-in users with one of ``roles`` (403 otherwise)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                from .extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


STAFF_CASE_ROLES = (Role.CASE_HANDLER, Role.EXAM_BOARD, Role.DPO)
REQUESTER_ROLES = (Role.STUDENT, Role.GUARDIAN)
FILING_TYPES = tuple(CaseType)


# --- The DPO's desk: dashboard and data-breach register (R26) ----------------------------------

# The dashboard shows aggregate figures plus overdue references and handler names. The DPO
# oversees; the privacy office (case handlers) sees every case anyway and steers on the same
# figures. Exam boards see only their programmes' cases, so an institution-wide dashboard is not
# theirs; admins see no case contents.
DASHBOARD_ROLES = (Role.DPO, Role.CASE_HANDLER)
# The accountability report includes the breach register, which only the DPO reads in full.
REPORT_ROLES = (Role.DPO,)
# Anyone on staff must be able to report a suspected breach: the 72 hours start at discovery.
BREACH_REPORTER_ROLES = (Role.CASE_HANDLER, Role.EXAM_BOARD, Role.DPO, Role.ADMIN)


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

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
from .cases.models import Case, CaseType
from .exams.models import ExamBoardMember, Programme
from .extensions import db

F = TypeVar("F", bound=Callable[..., Any])


class Action(enum.StrEnum):
    """Things a user can do with a case."""

    VIEW = "view"
    WITHDRAW = "withdraw"
    ASSIGN = "assign"
    DECIDE = "decide"
    # Access requests (R11-R14, R24).
    WORK_ACCESS = "work_access"  # see what is held, open recordings and packages (audited)
    HANDLE_ACCESS = "handle_access"  # decide items, build and release the package
    DOWNLOAD_PACKAGE = "download_package"  # the requester who filed, nobody else


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
    if action in (Action.ASSIGN, Action.DECIDE):
        return _decides(user, case)
    if case.case_type is not CaseType.ACCESS:
        return False
    if action is Action.WORK_ACCESS:
        return user.role in (Role.CASE_HANDLER, Role.DPO)
    if action is Action.HANDLE_ACCESS:
        return user.role is Role.CASE_HANDLER
    if action is Action.DOWNLOAD_PACKAGE:
        # R14: only the requester — the student, or the guardian who filed it.
        return user.role in REQUESTER_ROLES and case.filed_by_id == user.id
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

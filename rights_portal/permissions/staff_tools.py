"""Who uses the tools of the staff area: the register, exams, retention, intake, sessions.

The role groups these predicates read are in :mod:`rights_portal.permissions.gates`.
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from ..accounts.models import Role, User, UserSession
from ..exams.models import Exam, ProctoringTool, Recording
from ..extensions import db
from .gates import (
    EXAM_MANAGERS,
    REGISTER_EDITORS,
    RETENTION_ROLES,
    STAFF_AREA_ROLES,
    STAFF_CASE_ROLES,
    has_role_in,
)


def works_on_cases(user: User) -> bool:
    """Whether ``user`` lands on the staff case queue (handlers, boards, the DPO; not the admin)."""
    return has_role_in(user, STAFF_CASE_ROLES)


def home_endpoint(user: User) -> str:
    """Where a user lands after login (and from an error page): the area they work in."""
    if works_on_cases(user):
        return "staff.queue"
    return "staff.admin_home" if user.is_staff else "portal.my_cases"


def asks_second_factor(user: User) -> bool:
    """Whether login asks ``user`` for a TOTP code: staff who enrolled one (staff roles only)."""
    return user.role in STAFF_AREA_ROLES and bool(user.totp_secret)


def can_register_requests(user: User) -> bool:
    """R1: case handlers register requests that reached the institution outside the portal."""
    return user.role is Role.CASE_HANDLER


def can_edit_register(user: User) -> bool:
    """Whether ``user`` may add register entries and record new versions."""
    return has_role_in(user, REGISTER_EDITORS)


def can_see_delivery_status(user: User) -> bool:
    """Whether ``user`` is told when e-mail and reminders stop going out: all staff are."""
    return has_role_in(user, STAFF_AREA_ROLES)


def can_manage_exams(user: User) -> bool:
    """Whether ``user`` may create and change exams and the tool they use."""
    return has_role_in(user, EXAM_MANAGERS)


def tool_or_404(tool_id: int) -> ProctoringTool:
    """A register entry (tool) by id, or 404."""
    tool = db.session.get(ProctoringTool, tool_id)
    if tool is None:
        abort(404)
    return tool


def recording_for_hold_or_404(recording_id: int | None) -> Recording:
    """A recording the DPO may place a legal hold on (every recording), or 404."""
    recording = db.session.get(Recording, recording_id) if recording_id else None
    if recording is None or current_user.role not in RETENTION_ROLES:
        abort(404)
    return recording


def exam_or_404(exam_id: int) -> Exam:
    """An exam by id, or 404."""
    exam = db.session.get(Exam, exam_id)
    if exam is None:
        abort(404)
    return exam


def may_end_session(user: User, user_session: UserSession) -> bool:
    """A person ends only their own sessions (anyone else's is answered as not found)."""
    return user_session.user_id == user.id

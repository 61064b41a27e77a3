"""The one place that decides who may see and do what (docs/rules.md#roles).

Views and tasks ask these functions; none does its own check. A case (or guardian link) the user
may not see is answered with 404, so its existence is not revealed; an area the user's role may
not enter at all (the staff queue for a student) is a 403.

Who sees a case:

- a student: the cases they filed about themselves;
- a guardian: the cases they filed, and only while their link to that student is verified
  (R21: a pending, rejected or revoked link gives access to nothing). After the child's 16th
  birthday the link stays, so the guardian keeps seeing what they filed, but they cannot file
  again and see nothing the student files (R20). Two guardians of one child each see only
  their own cases; a guardian sees a sibling's cases only if linked to and filing for that
  sibling too;
- a case handler and the DPO: every case (the DPO read-only);
- an exam-board member: the cases of their board's programmes;
- an admin: no case contents.

Who may file is :func:`filing_decision`: a student alone from their 16th birthday; a verified
guardian for a child under 16 on the day of filing (R20).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import ColumnElement, false, select, true

from .accounts.guardianship import is_minor_on
from .accounts.institution.services import awaits_age_confirmation
from .accounts.models import STAFF_ROLES, GuardianLink, LinkStatus, Role, User, UserSession
from .api.models import ApiCaseOrigin, ApiClient
from .api.models import Scope as ApiScope
from .breaches.models import Breach
from .cases.models import Case, CaseType
from .exams.models import (
    AutomatedFlag,
    Exam,
    ExamBoardMember,
    ProctoringTool,
    Programme,
    Recording,
    RecordingRestriction,
)
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
    ASSIGN_ALTERNATIVE = "assign_alternative"
    SIGN_OFF = "sign_off"
    RESPOND_ALTERNATIVE = "respond_alternative"

    VERIFY_IDENTITY = "verify_identity"  # R22: raise doubt and record the check (handlers)
    ANSWER_IDENTITY = "answer_identity"  # R22: the requester answers a request for proof

    # Access requests (R11-R14, R24).
    WORK_ACCESS = "work_access"  # see what is held, open recordings and packages (audited)
    HANDLE_ACCESS = "handle_access"  # decide items, build and release the package
    DOWNLOAD_PACKAGE = "download_package"  # the requester who filed, nobody else


# What only the staff member who may decide the case may do.
DECIDER_ACTIONS = frozenset(
    {
        Action.ASSIGN,
        Action.DECIDE,
        Action.ASK,
        Action.EXTEND,
        Action.MARK_DUPLICATE,
        Action.ASSIGN_ALTERNATIVE,
        Action.SIGN_OFF,
    }
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
        verified_link = (
            select(GuardianLink.id)
            .where(
                GuardianLink.guardian_id == user.id,
                GuardianLink.student_id == Case.subject_id,
                GuardianLink.status == LinkStatus.VERIFIED,
            )
            .exists()
        )
        return (Case.filed_by_id == user.id) & verified_link
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
    if action in (Action.WITHDRAW, Action.RESPOND_ALTERNATIVE):
        return case.filed_by_id == user.id  # whether it is still possible is the workflow's rule
    if action is Action.MESSAGE:
        # The requester who filed, and the staff who work on cases (not the read-only DPO).
        return case.filed_by_id == user.id or user.role in (Role.CASE_HANDLER, Role.EXAM_BOARD)
    if action in DECIDER_ACTIONS:
        return _decides(user, case)
    if action is Action.VERIFY_IDENTITY:
        return user.role is Role.CASE_HANDLER
    if action is Action.ANSWER_IDENTITY:
        return user.role in REQUESTER_ROLES and case.filed_by_id == user.id
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
        return case.filed_by_id == user.id and has_verified_link(user, case.subject_id)
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
# The full audit trail shows every user's actions: the DPO's alone (docs/rules.md#roles, R24).
AUDIT_TRAIL_ROLES = (Role.DPO,)
REQUESTER_ROLES = (Role.STUDENT, Role.GUARDIAN)
FILING_TYPES = tuple(CaseType)


def can_review_flag(user: User, flag: AutomatedFlag) -> bool:
    """R18: a member of the exam board of the exam's programme reviews an automated flag."""
    if user.role is not Role.EXAM_BOARD:
        return False
    return flag.recording.exam.programme_id in board_programme_ids(user)


def flag_or_404(flag_id: int) -> AutomatedFlag:
    """Load a flag for review by the current user; 404 unless they may review it."""
    flag = db.session.get(AutomatedFlag, flag_id)
    if flag is None or not can_review_flag(current_user, flag):
        abort(404)
    return flag


def can_open_recording(user: User, recording: Recording, case: Case | None = None) -> bool:
    """Staff open a recording only for their work, and a restricted one only to decide (R16).

    ``case`` is the case in whose context the recording is opened; a recording restricted by a
    pending objection opens only for someone who may decide that very case.
    """
    from .examboard.services import is_restricted_for

    if user.role in (Role.CASE_HANDLER, Role.DPO):
        allowed = True  # the DPO reads everything (docs/rules.md#roles)
    elif user.role is Role.EXAM_BOARD:
        allowed = recording.exam.programme_id in board_programme_ids(user)
    else:
        return False
    if not allowed:
        return False
    if is_restricted_for(recording, case):
        return False
    return case is None or not _restricting(recording, case) or _decides(user, case)


def _restricting(recording: Recording, case: Case) -> bool:
    return (
        db.session.scalar(
            select(RecordingRestriction.id).where(
                RecordingRestriction.recording_id == recording.id,
                RecordingRestriction.case_id == case.id,
                RecordingRestriction.lifted_at.is_(None),
            )
        )
        is not None
    )


# Who works with guardian links in the staff area: handlers check them, the DPO reads along.
GUARDIAN_LINK_ROLES = (Role.CASE_HANDLER, Role.DPO)
# Who invites parents and verifies, rejects or revokes links.
GUARDIAN_CHECK_ROLES = (Role.CASE_HANDLER,)


# --- Guardians and filing (R20, R21) ---------------------------------------------------------


def has_verified_link(guardian: User, student_id: int) -> bool:
    """Whether ``guardian`` holds a verified link to the student (R21)."""
    return (
        db.session.scalar(
            select(GuardianLink.id)
            .where(
                GuardianLink.guardian_id == guardian.id,
                GuardianLink.student_id == student_id,
                GuardianLink.status == LinkStatus.VERIFIED,
            )
            .limit(1)
        )
        is not None
    )


def can_see_invigilation_list(user: User, exam: Exam) -> bool:
    """The alternatives of an exam are for its exam board and the case handlers."""
    if user.role is Role.CASE_HANDLER:
        return True
    return user.role is Role.EXAM_BOARD and exam.programme_id in board_programme_ids(user)


# The register of tools (AP checklists): every staff member reads it, the admin and the DPO keep
# it; exams and the tool they use are configuration, so the admin manages them.
REGISTER_READERS = tuple(sorted(STAFF_ROLES))
REGISTER_EDITORS = (Role.ADMIN, Role.DPO)
EXAM_MANAGERS = (Role.ADMIN,)
# R25: retention is the DPO's: the overview of deletions and holds, and placing legal holds.
RETENTION_ROLES = (Role.DPO,)


def can_register_requests(user: User) -> bool:
    """R1: case handlers register requests that reached the institution outside the portal."""
    return user.role is Role.CASE_HANDLER


def can_edit_register(user: User) -> bool:
    """Whether ``user`` may add register entries and record new versions."""
    return bool(user.is_authenticated) and user.role in REGISTER_EDITORS


def can_see_delivery_status(user: User) -> bool:
    """Whether ``user`` is told when e-mail and reminders stop going out: all staff are."""
    return bool(user.is_authenticated) and user.role in STAFF_ROLES


def can_manage_exams(user: User) -> bool:
    """Whether ``user`` may create and change exams and the tool they use."""
    return bool(user.is_authenticated) and user.role in EXAM_MANAGERS


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


class Filing(enum.StrEnum):
    """Whether a user may file a request about a student on a given day, and if not, why."""

    ALLOWED = "allowed"
    NEEDS_GUARDIAN = "needs_guardian"  # a student under 16 files through a guardian (R20)
    CHILD_ACTS_ALONE = "child_acts_alone"  # the child is 16: the guardian files no more (R20)
    # The institutional login made the account and no date of birth is known: staff confirm the
    # student's age before the student is treated as an adult (R20).
    AGE_UNCONFIRMED = "age_unconfirmed"
    NOT_ALLOWED = "not_allowed"


def filing_decision(user: User, subject: User, day: date) -> Filing:
    """R20 on the day of filing: who may file a request about ``subject``."""
    if subject.role is not Role.STUDENT:
        return Filing.NOT_ALLOWED
    if user.role is Role.STUDENT:
        if subject.id != user.id:
            return Filing.NOT_ALLOWED
        if user.date_of_birth is None and awaits_age_confirmation(user):
            return Filing.AGE_UNCONFIRMED
        return Filing.NEEDS_GUARDIAN if is_minor_on(user.date_of_birth, day) else Filing.ALLOWED
    if user.role is Role.GUARDIAN and has_verified_link(user, subject.id):
        return (
            Filing.ALLOWED if is_minor_on(subject.date_of_birth, day) else Filing.CHILD_ACTS_ALONE
        )
    return Filing.NOT_ALLOWED


class LinkAction(enum.StrEnum):
    """Things a user can do with a guardian link."""

    VIEW = "view"
    CHECK = "check"  # verify, reject or revoke


def can_link(user: User, action: LinkAction, link: GuardianLink) -> bool:
    """Whether ``user`` may perform ``action`` on ``link``."""
    if action is LinkAction.VIEW:
        return user.role in GUARDIAN_LINK_ROLES
    if action is LinkAction.CHECK:
        return user.role in GUARDIAN_CHECK_ROLES
    return False


def link_or_404(link_id: int, action: LinkAction = LinkAction.VIEW) -> GuardianLink:
    """A guardian link for the staff pages; 404 unless visible, 403 unless ``action`` is allowed."""
    link = db.session.get(GuardianLink, link_id)
    if link is None or not can_link(current_user, LinkAction.VIEW, link):
        abort(404)
    if not can_link(current_user, action, link):
        abort(403)
    return link


def child_or_404(link_id: int) -> User:
    """The student the current guardian acts for through their own verified link, else 404 (R21).

    Whether the child is still under 16 today is :func:`filing_decision`'s question.
    """
    link = db.session.get(GuardianLink, link_id)
    if (
        link is None
        or current_user.role is not Role.GUARDIAN
        or link.guardian_id != current_user.id
        or not link.is_verified
        or link.student is None
    ):
        abort(404)
    return link.student


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


# --- Privacy notices of proctored exams (AP: inform "in language they understand") ----------


def can_read_privacy_notice(user: User, exam: Exam) -> bool:
    """Students of the exam's programme, their verified guardians, and every staff member."""
    if user.role in STAFF_ROLES:
        return True
    if user.role is Role.STUDENT:
        return user.programme_id is not None and user.programme_id == exam.programme_id
    if user.role is Role.GUARDIAN:
        return bool(privacy_notice_children(user, exam))
    return False


def privacy_notice_children(guardian: User, exam: Exam) -> list[GuardianLink]:
    """The guardian's verified links to students of the exam's programme (R21)."""
    return list(
        db.session.scalars(
            select(GuardianLink)
            .join(User, User.id == GuardianLink.student_id)
            .where(
                GuardianLink.guardian_id == guardian.id,
                GuardianLink.status == LinkStatus.VERIFIED,
                User.programme_id == exam.programme_id,
            )
            .order_by(GuardianLink.id)
        )
    )


def privacy_exam_or_404(exam_id: int) -> Exam:
    """A proctored exam whose privacy notice the current user may read, else 404."""
    exam = db.session.get(Exam, exam_id)
    if (
        exam is None
        or exam.proctoring_tool_id is None
        or not can_read_privacy_notice(current_user, exam)
    ):
        abort(404)
    return exam


def may_end_session(user: User, user_session: UserSession) -> bool:
    """A person ends only their own sessions (anyone else's is answered as not found)."""
    return user_session.user_id == user.id


def can_confirm_student_age(user: User) -> bool:
    """R20: case handlers confirm the age of a student the institutional login made."""
    return bool(user.is_authenticated) and user.role in (Role.CASE_HANDLER, Role.ADMIN)


def can_link_staff_accounts(user: User) -> bool:
    """Only admins link staff accounts to an institutional login (never a claim alone)."""
    return bool(user.is_authenticated) and user.role is Role.ADMIN


# --- API clients (rights_portal/api): the same layer decides for systems as for people ---------


def api_client_may(client: ApiClient, scope: ApiScope) -> bool:
    """Whether an API client may do what ``scope`` covers (it is active and holds it)."""
    return client.is_active and client.has(scope)


def api_case_clause(client: ApiClient) -> ColumnElement[bool]:
    """The cases an API client may read: all with staff-read, else those it filed (read-own)."""
    if api_client_may(client, ApiScope.STAFF_READ):
        return true()
    if api_client_may(client, ApiScope.READ_OWN) or api_client_may(client, ApiScope.FILE):
        filed = select(ApiCaseOrigin.case_id).where(ApiCaseOrigin.client_id == client.id)
        return Case.id.in_(filed)
    return false()


def can_manage_api_clients(user: User) -> bool:
    """Admins make API clients and register webhook endpoints."""
    return bool(user.is_authenticated) and user.role is Role.ADMIN

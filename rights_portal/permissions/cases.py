"""Who sees a case and what they may do with it; who reviews a flag or opens a recording.

A case the user may not see is answered with 404, so its existence is not revealed; an action on
a visible case the user may not take is a 403.

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

Lists are restricted with a clause (:func:`visible_cases_clause`, :func:`board_cases_clause`,
:func:`visible_programmes_clause`); one object is checked with a predicate (:func:`can`).
"""

from __future__ import annotations

import enum

from flask import abort
from flask_login import current_user
from sqlalchemy import ColumnElement, false, select, true

from ..accounts.models import GuardianLink, LinkStatus, Role, User
from ..cases import workflow
from ..cases.models import Case, CaseType
from ..cases.workflow import Step
from ..exams.models import (
    AutomatedFlag,
    Exam,
    ExamBoardMember,
    Programme,
    Recording,
    RecordingRestriction,
)
from ..extensions import db
from .gates import REQUESTER_ROLES
from .guardians import has_verified_link


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
FILING_TYPES = tuple(CaseType)


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
        return board_cases_clause(user)
    return false()  # admin: configuration, no case contents


def board_cases_clause(user: User) -> ColumnElement[bool]:
    """The cases of the programmes whose exam board ``user`` sits on (the board's workspace).

    Nothing for anyone who is not an exam-board member, not even for the DPO who sees every case:
    the workspace is the board's own list of work.
    """
    if user.role is not Role.EXAM_BOARD:
        return false()
    return Case.programme_id.in_(board_programme_ids(user))


def visible_programmes_clause(user: User) -> ColumnElement[bool]:
    """The programmes a staff queue can be filtered by: an exam-board member's own, or all."""
    if user.role is Role.EXAM_BOARD:
        # A subquery, not the ids read first: one statement less per queue page.
        return Programme.exam_board_id.in_(
            select(ExamBoardMember.board_id).where(ExamBoardMember.user_id == user.id)
        )
    return true()


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
    """Who decides is the case type's rule (its kind's ``decides``, one of the predicates below)."""
    return case.case_type.kind.decides(user, case)


def decides_as_case_handler(user: User, case: Case) -> bool:
    """Case handlers decide access, erasure and restriction (docs/rules.md#roles)."""
    return user.role is Role.CASE_HANDLER


def decides_as_exam_board(user: User, case: Case) -> bool:
    """The exam board of the case's programme decides objections, alternatives, flag reviews."""
    return user.role is Role.EXAM_BOARD and case.programme_id in board_programme_ids(user)


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


def access_case_or_404(reference: str, action: Action) -> Case:
    """An access request (R11-R14) for the access pages; 404 for any other case or none."""
    case = case_or_404(reference, action)
    if case.case_type is not CaseType.ACCESS:
        abort(404)
    return case


# --- Flags and recordings (R16, R18) -------------------------------------------------------------


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
    if user.role in (Role.CASE_HANDLER, Role.DPO):
        allowed = True  # the DPO reads everything (docs/rules.md#roles)
    elif user.role is Role.EXAM_BOARD:
        allowed = recording.exam.programme_id in board_programme_ids(user)
    else:
        return False
    if not allowed:
        return False
    restricting_cases = _restricting_case_ids(recording)
    if restricting_cases and (case is None or case.id not in restricting_cases):
        return False  # R16: restricted by another case's pending objection
    return case is None or case.id not in restricting_cases or _decides(user, case)


def _restricting_case_ids(recording: Recording) -> set[int]:
    """The cases whose pending objection restricts ``recording`` now (R16)."""
    return set(
        db.session.scalars(
            select(RecordingRestriction.case_id).where(
                RecordingRestriction.recording_id == recording.id,
                RecordingRestriction.lifted_at.is_(None),
            )
        )
    )


def can_see_invigilation_list(user: User, exam: Exam) -> bool:
    """The alternatives of an exam are for its exam board and the case handlers."""
    if user.role is Role.CASE_HANDLER:
        return True
    return user.role is Role.EXAM_BOARD and exam.programme_id in board_programme_ids(user)


# What each action needs of the case's state (rights_portal.cases.workflow); the others need
# nothing of it, or ask the workflow themselves.
_ACTION_STEPS = {
    Action.ASSIGN: Step.ASSIGN,
    Action.DECIDE: Step.DECIDE,
    Action.ASK: Step.ASK,
    Action.EXTEND: Step.EXTEND,
    Action.MARK_DUPLICATE: Step.MARK_DUPLICATE,
    Action.MESSAGE: Step.MESSAGE,
    Action.WITHDRAW: Step.WITHDRAW,
    Action.ASSIGN_ALTERNATIVE: Step.ARRANGE_ALTERNATIVE,
}


def may(user: User, action: Action, case: Case) -> bool:
    """Whether ``user`` may ``action`` the case now: :func:`can`, and its state allows it.

    The pages ask this before they show a button; the service refuses the move all the same.
    """
    step = _ACTION_STEPS.get(action)
    return can(user, action, case) and (step is None or workflow.can_move(case, step))

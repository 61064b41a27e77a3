"""Who may file, for whom; who works with guardian links; who reads an exam's privacy notice.

Who may file is :func:`filing_decision`: a student alone from their 16th birthday; a verified
guardian for a child under 16 on the day of filing (R20). A guardian acts only through a
verified link (R21).
"""

from __future__ import annotations

import enum
from datetime import date

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from ..accounts.guardianship import is_minor_on
from ..accounts.institution.services import awaits_age_confirmation
from ..accounts.models import STAFF_ROLES, GuardianLink, LinkStatus, Role, User
from ..exams.models import Exam
from ..extensions import db
from .gates import AGE_CONFIRMER_ROLES, GUARDIAN_CHECK_ROLES, GUARDIAN_LINK_ROLES


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


class Filing(enum.StrEnum):
    """Whether a user may file a request about a student on a given day, and if not, why."""

    ALLOWED = "allowed"
    NEEDS_GUARDIAN = "needs_guardian"  # a student under 16 files through a guardian (R20)
    CHILD_ACTS_ALONE = "child_acts_alone"  # the child is 16: the guardian files no more (R20)
    # The institutional login made the account and no date of birth is known: staff confirm the
    # student's age before the student is treated as an adult (R20).
    AGE_UNCONFIRMED = "age_unconfirmed"
    NOT_ALLOWED = "not_allowed"


def files_for_themselves(user: User) -> bool:
    """Whether ``user`` files requests about themselves (a student) rather than for a child."""
    return user.role is Role.STUDENT


def files_for_children(user: User) -> bool:
    """Whether ``user`` files requests for children through guardian links (R21)."""
    return user.role is Role.GUARDIAN


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


def can_invite_guardians(user: User) -> bool:
    """Whether ``user`` may invite a parent and check links (the handlers, R21)."""
    return user.role in GUARDIAN_CHECK_ROLES


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


def can_confirm_student_age(user: User) -> bool:
    """R20: case handlers confirm the age of a student the institutional login made."""
    return bool(user.is_authenticated) and user.role in AGE_CONFIRMER_ROLES

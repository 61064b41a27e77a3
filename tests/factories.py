"""factory_boy factories on the real session (rows are flushed, committed by the test)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factory
from argon2 import PasswordHasher
from factory.alchemy import SQLAlchemyModelFactory

from rights_portal.accounts.models import (
    AuthorityDocument,
    GuardianBasis,
    GuardianLink,
    LinkStatus,
    Role,
    User,
    VerificationMethod,
)
from rights_portal.examboard.models import ExamBoard
from rights_portal.exams.models import Exam, ExamBoardMember, ProctoringTool, Programme
from rights_portal.extensions import db

PASSWORD = "correct-horse-battery"
# Hashed with the suite's cheap argon2 parameters (ARGON2_PARAMS in conftest), so logins are fast.
_PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class ExamBoardFactory(Base):
    class Meta:
        model = ExamBoard

    name = factory.Sequence(lambda n: f"Examencommissie {n}")


class ProgrammeFactory(Base):
    class Meta:
        model = Programme

    code = factory.Sequence(lambda n: f"P{n:03d}")
    name = factory.Sequence(lambda n: f"Programme {n}")
    exam_board = factory.SubFactory(ExamBoardFactory)


class UserFactory(Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@uni.example")
    full_name = factory.Sequence(lambda n: f"User {n}")
    password_hash = _PASSWORD_HASH
    role = Role.STUDENT
    locale = "en"
    student_number = factory.LazyAttribute(
        lambda o: f"s{o.email.split('@')[0][4:]:0>7}" if o.role is Role.STUDENT else None
    )
    date_of_birth = None


class ProctoringToolFactory(Base):
    class Meta:
        model = ProctoringTool

    name = factory.Sequence(lambda n: f"Proctor {n}")
    vendor = "Vendor B.V."
    data_categories = ["camera video"]


class ExamFactory(Base):
    class Meta:
        model = Exam

    course_code = factory.Sequence(lambda n: f"C{n:04d}")
    title = "Statistics"
    programme = factory.SubFactory(ProgrammeFactory)
    starts_at = factory.LazyFunction(lambda: datetime.now(UTC) + timedelta(days=30))
    proctoring_tool = factory.SubFactory(ProctoringToolFactory)


def board_member(programme: Programme, **kwargs: object) -> User:
    user = UserFactory(role=Role.EXAM_BOARD, **kwargs)
    db.session.add(ExamBoardMember(board_id=programme.exam_board_id, user_id=user.id))
    db.session.flush()
    return user


def guardian_link(
    guardian: User,
    student: User,
    *,
    status: LinkStatus = LinkStatus.VERIFIED,
    verifier: User | None = None,
) -> GuardianLink:
    """A guardian link in the given state, with the columns its state requires (R21)."""
    now = datetime.now(UTC)
    link = GuardianLink(
        guardian_id=guardian.id,
        student_id=student.id,
        claimed_student_number=student.student_number or "",
        claimed_date_of_birth=student.date_of_birth or now.date(),
        basis=GuardianBasis.PARENTAL_AUTHORITY,
        status=status,
        requested_at=now,
    )
    if status in (LinkStatus.VERIFIED, LinkStatus.REVOKED):
        verifier = verifier or UserFactory(role=Role.CASE_HANDLER)
        link.verified_by_id = verifier.id
        link.verified_at = now
        link.verification_method = VerificationMethod.IN_PERSON
        link.document_type = AuthorityDocument.CUSTODY_REGISTER_EXTRACT
        link.document_seen_on = now.date()
    if status is LinkStatus.REVOKED:
        link.revoked_by_id = link.verified_by_id
        link.revoked_at = now
        link.revocation_reason = "Court decision"
    if status is LinkStatus.REJECTED:
        rejecter = verifier or UserFactory(role=Role.CASE_HANDLER)
        link.rejected_by_id = rejecter.id
        link.rejected_at = now
        link.rejection_reason = "No authority"
    db.session.add(link)
    db.session.flush()
    return link

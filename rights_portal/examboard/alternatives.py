"""Alternative exams (R17): offered after a granting decision, answered by the student.

No later than the programme's no-delay limit unless a justification is recorded (the DPO sees
those); an accepted alternative fulfils the case. Split from :mod:`.services`, which names these
operations too. Nothing here commits.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, select

from ..accounts.models import User
from ..audit.services import record
from ..cases import deadlines, workflow
from ..cases.models import Case, Outcome
from ..cases.workflow import Step
from ..clock import now_utc, today_local
from ..errors import RuleViolation
from ..exams.models import Exam
from ..extensions import db
from ..notifications.services import notify_user
from .models import AlternativeExam, AlternativeForm, AlternativeStatus


def current_alternative(case: Case) -> AlternativeExam | None:
    """The alternative on offer or accepted now."""
    return db.session.scalars(
        select(AlternativeExam).where(
            AlternativeExam.case_id == case.id, AlternativeExam.superseded_at.is_(None)
        )
    ).one_or_none()


def working_days_after_exam(exam: Exam, starts_at: datetime) -> int:
    """Working days from the original exam's date to the alternative's date (Amsterdam)."""
    return deadlines.working_days_between(
        deadlines.local_date(exam.starts_at), deadlines.local_date(starts_at)
    )


def assign_alternative(
    case: Case,
    *,
    actor: User,
    form: AlternativeForm,
    starts_at: datetime,
    place: str,
    instructions: str,
    late_justification: str | None = None,
) -> AlternativeExam:
    """Offer an alternative exam without disproportionate study delay (R17).

    No later than the programme's limit of working days after the original exam, unless a
    justification is recorded; such an alternative is listed for the DPO.
    """
    if not case.case_type.leads_to_alternative or case.outcome not in (
        Outcome.GRANTED,
        Outcome.PARTLY_GRANTED,
    ):
        raise RuleViolation(_l("An alternative follows an upheld objection or granted request."))
    workflow.require(case, Step.ARRANGE_ALTERNATIVE)
    if deadlines.local_date(starts_at) < today_local():
        raise RuleViolation(_l("The alternative cannot be in the past."))
    if not place.strip() and not instructions.strip():
        raise RuleViolation(_l("Give the place, or the instructions for handing in."))
    exam = case.exam
    assert exam is not None  # noqa: S101 - guaranteed by the exam_cases_name_an_exam constraint
    after = working_days_after_exam(exam, starts_at)
    limit = exam.programme.alternative_max_working_days
    justification = (late_justification or "").strip() or None
    beyond = after > limit
    if beyond and not justification:
        raise RuleViolation(
            _l(
                "This date is %(days)s working days after the exam; the limit is %(limit)s. "
                "Record why a later date is needed.",
                days=after,
                limit=limit,
            )
        )
    previous = current_alternative(case)
    if previous is not None:
        if previous.status is AlternativeStatus.ACCEPTED:
            raise RuleViolation(_l("The student has already accepted an alternative."))
        previous.superseded_at = now_utc()
        db.session.flush()
    alternative = AlternativeExam(
        case_id=case.id,
        form=form,
        starts_at=starts_at,
        place=place.strip(),
        instructions=instructions.strip(),
        working_days_after_exam=after,
        beyond_limit=beyond,
        late_justification=justification if beyond else None,
        assigned_by_id=actor.id,
    )
    db.session.add(alternative)
    db.session.flush()
    record(
        "alternative.assigned",
        actor=actor,
        object_type="alternative_exam",
        object_id=alternative.id,
        case_id=case.id,
        after={
            "form": form,
            "starts_at": starts_at,
            "place": alternative.place,
            "working_days_after_exam": after,
            "limit": limit,
            "beyond_limit": beyond,
            "late_justification": alternative.late_justification,
            "replaces": previous.id if previous else None,
        },
    )
    notify_user(case.filed_by, "alternative_offered", case=case, alternative=alternative)
    return alternative


def respond_to_alternative(
    case: Case, *, actor: User, accept: bool, reason: str = ""
) -> AlternativeExam:
    """The student accepts the alternative (the case is fulfilled) or asks for another slot."""
    alternative = current_alternative(case)
    if alternative is None or alternative.status is not AlternativeStatus.OFFERED:
        raise RuleViolation(_l("There is no alternative waiting for your answer."))
    reason = reason.strip()
    if not accept and not reason:
        raise RuleViolation(_l("Tell us why you need another time."))
    alternative.status = (
        AlternativeStatus.ACCEPTED if accept else AlternativeStatus.OTHER_SLOT_REQUESTED
    )
    alternative.response_reason = reason or None
    alternative.responded_at = now_utc()
    if accept:
        workflow.move(case, Step.ACCEPT_ALTERNATIVE)
    db.session.flush()
    record(
        "alternative.accepted" if accept else "alternative.other_slot_requested",
        actor=actor,
        object_type="alternative_exam",
        object_id=alternative.id,
        case_id=case.id,
        after={
            "status": alternative.status,
            "reason": alternative.response_reason,
            "case_status": case.status,
        },
    )
    if case.decided_by is not None:
        notify_user(case.decided_by, "alternative_answered", case=case, alternative=alternative)
    return alternative


def late_alternatives(visible: ColumnElement[bool]) -> list[AlternativeExam]:
    """Alternatives scheduled beyond the no-delay limit (R17), of the cases ``visible`` selects.

    ``visible`` is :func:`rights_portal.permissions.visible_cases_clause` of the reader: the DPO
    sees all, a board member those of the board's programmes.
    """
    return list(
        db.session.scalars(
            select(AlternativeExam)
            .join(Case, Case.id == AlternativeExam.case_id)
            .where(
                AlternativeExam.beyond_limit.is_(True),
                AlternativeExam.superseded_at.is_(None),
                visible,
            )
            .order_by(AlternativeExam.starts_at)
        )
    )


def scheduled_for_exam(exam: Exam) -> list[AlternativeExam]:
    """Students with an alternative for ``exam``, for the invigilation staff."""
    return list(
        db.session.scalars(
            select(AlternativeExam)
            .join(Case, Case.id == AlternativeExam.case_id)
            .where(Case.exam_id == exam.id, AlternativeExam.superseded_at.is_(None))
            .order_by(AlternativeExam.starts_at)
        )
    )


def alternative_limit(case: Case) -> int:
    """The programme's no-delay limit in working days (R17)."""
    if case.exam is None:
        return int(current_app.config.get("ALTERNATIVE_MAX_WORKING_DAYS", 10))
    return case.exam.programme.alternative_max_working_days

"""Filing an access request with the scope the requester chose (R1, R11).

Like every service here these flush and never commit; permission checks are the caller's, via
:mod:`rights_portal.permissions`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, select

from ..accounts.models import User
from ..audit.services import record_case_event
from ..cases import services as case_services
from ..cases.models import Case, CaseType, Channel
from ..clock import now_utc
from ..errors import RuleViolation
from ..exams.models import Exam, Recording
from ..extensions import db
from .models import AccessScope


def file_access_request(
    *,
    subject: User,
    filed_by: User,
    description: str,
    all_data: bool,
    exams: list[Exam] | None = None,
    include_flags: bool = False,
    received_at: datetime | None = None,
    channel: Channel = Channel.PORTAL,
    actor: User | None = None,
    acknowledge: bool = True,
) -> Case:
    """File an access request (R1, R11) together with what the requester asked to receive.

    ``actor`` and ``acknowledge`` as in :func:`rights_portal.cases.services.file_case`.
    """
    exams = list(exams or [])
    if not all_data and not exams and not include_flags:
        raise RuleViolation(_l("Choose what you would like to receive."))
    case = case_services.file_case(
        case_type=CaseType.ACCESS,
        subject=subject,
        filed_by=filed_by,
        description=description,
        received_at=received_at,
        channel=channel,
        actor=actor,
        acknowledge=acknowledge,
    )
    scope = AccessScope(
        case_id=case.id,
        all_data=all_data,
        include_flags=False if all_data else include_flags,
        exams=[] if all_data else exams,
    )
    db.session.add(scope)
    db.session.flush()
    record_case_event(
        "access.scope_recorded",
        case,
        actor=actor or filed_by,
        after=scope_summary(scope),
    )
    return case


def exams_to_choose(student: User) -> list[Exam]:
    """Exams a requester can pick: those with recordings of them, past exams of their programme."""
    now = now_utc()
    clause: ColumnElement[bool] = Exam.id.in_(
        select(Recording.exam_id).where(Recording.student_id == student.id)
    )
    if student.programme_id is not None:
        clause = clause | (
            (Exam.programme_id == student.programme_id)
            & (Exam.starts_at >= now - timedelta(days=366))
            & (Exam.starts_at <= now)
        )
    return list(db.session.scalars(select(Exam).where(clause).order_by(Exam.starts_at.desc())))


def scope_of(case: Case) -> AccessScope | None:
    """The scope chosen when filing (None for cases filed before scopes existed: all data)."""
    return db.session.get(AccessScope, case.id)


def scope_summary(scope: AccessScope | None) -> dict[str, Any]:
    """The scope as plain data (audit trail, data.json)."""
    if scope is None or scope.all_data:
        return {"all_data": True, "exams": [], "automated_flags": False}
    return {
        "all_data": False,
        "exams": [{"id": exam.id, "exam": exam.label} for exam in scope.exams],
        "automated_flags": scope.include_flags,
    }

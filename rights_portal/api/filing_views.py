"""Filing through the API (part of its view layer): the portal's services, with the channel "api".

The calling system vouches for the student's identity (it authenticated the student itself), so
the student is both subject and filer, as when they file in the portal; R20 applies the same
way — a student under 16 on the day of filing cannot file, the guardian does (in the portal).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..access import filing as access_filing
from ..accounts.models import User
from ..cases import services as case_services
from ..cases.models import Case, CaseMessage, CaseType, Channel
from ..clock import now_utc
from ..errors import RuleViolation
from ..exams.models import Exam


def file(kind: CaseType, *, student: User, description: str, exam: Exam | None) -> Case:
    """File ``kind`` for ``student`` as the portal would, recorded as arriving by the API."""
    if kind is CaseType.ACCESS:
        return access_filing.file_access_request(
            subject=student,
            filed_by=student,
            description=description,
            all_data=True,
            exams=[],
            channel=Channel.API,
        )
    if kind not in (CaseType.OBJECTION, CaseType.ALTERNATIVE_EXAM):
        raise RuleViolation(_l("This kind of request is made in the portal."))
    # R7: as in the portal, only an exam of the student's programme that is still to come.
    if exam is not None and (
        exam.starts_at <= now_utc()
        or (student.programme_id is not None and exam.programme_id != student.programme_id)
    ):
        raise RuleViolation(_l("Choose an exam of the student's that has not taken place yet."))
    return case_services.file_case(
        case_type=kind,
        subject=student,
        filed_by=student,
        description=description,
        exam=exam,
        channel=Channel.API,
    )


def post_message(case: Case, *, body: str) -> CaseMessage:
    """The requester's message, passed on by the system that filed the case."""
    return case_services.post_message(case, author=case.filed_by, body=body)

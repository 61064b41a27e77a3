"""The demo's cases, filed and moved on through the case services as the people in them would.

All three are Sanne's, so that one student shows every kind of journey:

* an access request (art. 15) about all her data, whose Methodenleer recording shows her
  housemate (the vendor flagged it ``second_person``, and she says so herself): the demo case
  handler has taken it (in review), and has to redact the housemate before the package can go
  out — a partial refusal (R13);
* an objection to proctoring for Inleiding Statistiek, filed inside the exam-bound window, so it
  is urgent (R7), for the psychology exam board to decide (R15);
* a request for human review of her ``gaze_away`` flag, with her view (R18), for the same board.

Filing, assigning and everything else goes through the services, so the audit trail, the due
dates and the acknowledgements are those of a real request. A case is looked up by its natural
key — type, student, who filed it and the requester's text — so seeding twice adds nothing, and a
case the demo user has taken further (decided, closed) is left as it is.
"""

from __future__ import annotations

from sqlalchemy import select

from ..access import filing as access_filing
from ..accounts.models import User
from ..cases import services as case_services
from ..cases.models import Case, CaseType
from ..examboard import services as examboard
from ..exams.models import AutomatedFlag, Exam
from ..extensions import db
from .exams import GAZE_AWAY
from .people import HANDLER, STUDENT

BYSTANDER_REQUEST = (
    "Ik wil graag een kopie van alle gegevens die jullie over mij hebben, vooral de opnames van "
    "mijn tentamen Methodenleer. Halverwege dat tentamen kwam mijn huisgenoot even de kamer in; "
    "zij staat dus waarschijnlijk ook op de opname."
)
OBJECTION_GROUNDS = (
    "Ik maak bezwaar tegen online proctoring bij Inleiding Statistiek. Ik woon op een kleine "
    "kamer met een huisgenoot en kan niet voorkomen dat zij in beeld komt; ik wil haar niet laten "
    "filmen. Ik maak het tentamen graag op de campus."
)
REVIEW_VIEW = (
    "Ik keek niet weg om te spieken: ik keek naar mijn kladpapier, dat naast mijn laptop ligt "
    "en buiten beeld van de camera valt."
)


def seed_cases(
    users: dict[str, User], exams: dict[str, Exam], flags: dict[str, AutomatedFlag]
) -> Case:
    """File the demo cases that are missing; return the access request with the bystander."""
    student, handler = users[STUDENT], users[HANDLER]
    bystander = _find(CaseType.ACCESS, student, BYSTANDER_REQUEST)
    if bystander is None:
        bystander = access_filing.file_access_request(
            subject=student, filed_by=student, description=BYSTANDER_REQUEST, all_data=True
        )
        # The handler takes it, so the queue is not empty on the first login.
        case_services.assign(bystander, handler, actor=handler)
    if _find(CaseType.OBJECTION, student, OBJECTION_GROUNDS) is None:
        examboard.file_objection(
            student=student,
            filed_by=student,
            exam=exams["PSY-1010"],
            grounds=OBJECTION_GROUNDS,
            restrict=False,
        )
    if _find(CaseType.HUMAN_REVIEW, student, REVIEW_VIEW) is None:
        examboard.file_human_review(
            student=student, filed_by=student, flag=flags[GAZE_AWAY], view=REVIEW_VIEW
        )
    return bystander


def _find(case_type: CaseType, student: User, text: str) -> Case | None:
    """The student's own case of this type with this text, in whatever state the demo left it."""
    return db.session.scalars(
        select(Case)
        .where(
            Case.case_type == case_type,
            Case.subject_id == student.id,
            Case.filed_by_id == student.id,
            Case.description == text,
        )
        .order_by(Case.id)
    ).first()

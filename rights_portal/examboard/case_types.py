"""The exam board's case types: objection (R15, R16), alternative exam (R17), human review (R18).

Each is declared once here — its filing form, how it is filed, who decides it and how — and
registered in :mod:`rights_portal.cases.registry`. The exam board of the exam's programme
decides all three; a human review is decided by reviewing the flag, not with the decision form.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from ..accounts.models import User
from ..cases import services as case_services
from ..cases.forms import MAX_TEXT, DecideForm
from ..cases.models import Case, CaseType, Outcome
from ..cases.registry import CaseKind, Decision, FilingPage, register
from ..clock import now_utc
from ..exams.models import Exam
from ..extensions import db
from ..forms import Form
from ..permissions import decides_as_exam_board
from . import panel, services
from .models import DecisionProposal


class ExamRequestForm(Form):
    """An objection or an alternative-exam request about one exam."""

    exam_id = SelectField(
        _l("Exam"), coerce=int, validators=[InputRequired(message=_l("Choose an exam."))]
    )
    description = TextAreaField(
        _l("Your reasons"),
        validators=[
            DataRequired(message=_l("Describe your reasons.")),
            Length(max=MAX_TEXT),
        ],
    )

    def validate_exam_id(self, field: SelectField) -> None:
        """The "choose an exam" placeholder is no answer: say so together with the other errors."""
        if not field.data:
            raise ValidationError(_l("Choose an exam."))


class ObjectionForm(ExamRequestForm):
    """R15: an objection needs grounds relating to the student's situation."""

    description = TextAreaField(
        _l("Grounds of your objection"),
        validators=[
            DataRequired(message=_l("Describe the grounds of your objection.")),
            Length(max=MAX_TEXT),
        ],
        description=_l(
            "Explain what in your personal situation makes online proctoring a problem."
        ),
    )
    restrict = BooleanField(
        _l("Do not use my recordings of this exam while my objection is being decided"),
        description=_l("Staff may then only look at them to decide about your objection."),
    )


class HumanReviewForm(Form):
    """R18: ask that a person, not a computer, judges an automated flag; with the student's view."""

    flag_id = SelectField(
        _l("Which flag?"), coerce=int, validators=[InputRequired(message=_l("Choose a flag."))]
    )
    description = TextAreaField(
        _l("Your view"),
        validators=[DataRequired(message=_l("Tell us your view.")), Length(max=MAX_TEXT)],
        description=_l(
            "What happened at that moment? The exam board reads this before it decides."
        ),
    )

    def validate_flag_id(self, field: SelectField) -> None:
        """The "choose a flag" placeholder is no answer."""
        if not field.data:
            raise ValidationError(_l("Choose a flag."))


def upcoming_exams(subject: User) -> list[Exam]:
    """Exams of the student's programme that have not yet taken place, soonest first (R7).

    An objection or alternative-exam request is about an exam still to come: a date it must be
    decided by (R7) only makes sense before the exam starts. An exam the student-information
    system no longer offers is not offered here either.
    """
    query = (
        select(Exam)
        .where(Exam.starts_at > now_utc(), Exam.removed_in_source_at.is_(None))
        .order_by(Exam.starts_at)
    )
    if subject.programme_id is not None:
        query = query.where(Exam.programme_id == subject.programme_id)
    return list(db.session.scalars(query))


def _prepare_exam_choice(page: FilingPage, args: Mapping[str, str]) -> None:
    exams = upcoming_exams(page.subject)
    form = page.form
    form.exam_id.choices = [SelectChoice("0", _l("— choose an exam —"))] + [
        SelectChoice(str(exam.id), exam.label) for exam in exams
    ]
    if not form.is_submitted():
        # Coming from an exam's privacy notice: that exam is already chosen.
        chosen = str(args.get("exam", ""))
        if chosen.isdigit() and any(exam.id == int(chosen) for exam in exams):
            form.exam_id.data = int(chosen)
    page.options["exams"] = exams


def _prepare_objection(page: FilingPage, args: Mapping[str, str]) -> None:
    _prepare_exam_choice(page, args)
    # R15: what the tool records at each exam, beside the form that objects to it.
    page.exam_notices = {
        exam.id: exam for exam in page.options["exams"] if exam.proctoring_tool is not None
    }


def _chosen_exam(page: FilingPage) -> Exam | None:
    form = page.form
    exam = next((e for e in page.options["exams"] if e.id == form.exam_id.data), None)
    if exam is None:
        form.exam_id.errors = [_l("Choose an exam.")]
    return exam


def _file_objection(page: FilingPage, filed_by: User) -> Case | None:
    exam = _chosen_exam(page)
    if exam is None:
        return None
    return services.file_objection(
        student=page.subject,
        filed_by=filed_by,
        exam=exam,
        grounds=page.form.description.data or "",
        restrict=bool(page.form.restrict.data),
    )


def _file_alternative(page: FilingPage, filed_by: User) -> Case | None:
    exam = _chosen_exam(page)
    if exam is None:
        return None
    return case_services.file_case(
        case_type=CaseType.ALTERNATIVE_EXAM,
        subject=page.subject,
        filed_by=filed_by,
        description=page.form.description.data or "",
        exam=exam,
    )


def _prepare_flag_choice(page: FilingPage, args: Mapping[str, str]) -> None:
    flags = services.reviewable_flags(page.subject)
    page.form.flag_id.choices = [SelectChoice("0", _l("— choose a flag —"))] + [
        SelectChoice(str(f.id), f"{f.recording.exam.label}: {f.description}") for f in flags
    ]
    page.options["flags"] = flags


def _file_human_review(page: FilingPage, filed_by: User) -> Case | None:
    form = page.form
    flag = next((f for f in page.options["flags"] if f.id == form.flag_id.data), None)
    if flag is None:
        form.flag_id.errors = [_l("Choose a flag.")]
        return None
    return services.file_human_review(
        student=page.subject, filed_by=filed_by, flag=flag, view=form.description.data or ""
    )


def _decide_for_board(case: Case, actor: User, form: DecideForm) -> Decision:
    result = services.decide_for_board(
        case,
        actor=actor,
        outcome=Outcome(form.outcome.data),
        reasons=form.reasons.data or "",
        compelling_grounds=form.compelling_grounds.data,
    )
    return Decision(case, awaiting_sign_off=isinstance(result, DecisionProposal))


def _delete_decided_files(case: Case, actor: User) -> None:
    # Imported here: the retention domain owns the deletion; it is loaded with the registry.
    from ..retention.case_type import delete_decided_files

    delete_decided_files(case, actor)


_BOARD = {
    "decides": decides_as_exam_board,
    "decided_by_exam_board": True,
    "needs_exam": True,
    "staff_panel": (panel.STAFF_TEMPLATE, panel.staff_panel),
    "requester_panel": panel.requester_panel,
}

OBJECTION = register(
    CaseKind(
        name=CaseType.OBJECTION.value,
        label=_l("Objection to online proctoring"),
        intro=_l(
            "You may object to online proctoring because of your personal situation. The exam "
            "board decides. If it agrees, you get another way to take the exam without delay in "
            "your studies."
        ),
        legal_basis="AVG art. 21",
        form=ObjectionForm,
        prepare=_prepare_objection,
        file=_file_objection,
        description_required=_l("Describe the grounds of your objection."),
        decision_form=DecideForm,
        decide=_decide_for_board,
        asks_compelling_grounds=True,
        right_in_plain_words=_l(
            "Object. You may say you do not want to be recorded. The exam board must answer."
        ),
        fulfilment="alternative accepted",
        # R25, art. 17(1)(c): an upheld objection erased the exam's recordings; the files go.
        after_decision=(_delete_decided_files,),
        exam_bound=True,
        leads_to_alternative=True,
        **_BOARD,  # type: ignore[arg-type]
    )
)

ALTERNATIVE_EXAM = register(
    CaseKind(
        name=CaseType.ALTERNATIVE_EXAM.value,
        label=_l("Request for an alternative exam"),
        intro=_l(
            "You may ask to take the exam in another way, for example on campus or orally. "
            "The exam board decides before the exam."
        ),
        legal_basis="AVG art. 21; Onderwijs- en examenregeling",
        form=ExamRequestForm,
        prepare=_prepare_exam_choice,
        file=_file_alternative,
        decision_form=DecideForm,
        decide=_decide_for_board,
        right_in_plain_words=_l(
            "Take the exam another way. For example on campus, without recordings."
        ),
        fulfilment="alternative accepted",
        exam_bound=True,
        leads_to_alternative=True,
        **_BOARD,  # type: ignore[arg-type]
    )
)

HUMAN_REVIEW = register(
    CaseKind(
        name=CaseType.HUMAN_REVIEW.value,
        label=_l("Human review of an automated flag"),
        intro=_l(
            "Did the proctoring software flag something during your exam? A member of the exam "
            "board looks at it and decides. A computer never decides alone. You can tell us your "
            "view first."
        ),
        legal_basis="AVG art. 22; Onderwijs- en examenregeling",
        form=HumanReviewForm,
        prepare=_prepare_flag_choice,
        file=_file_human_review,
        # Decided by reviewing the flag on the board's panel (R18), not with the decision form.
        right_in_plain_words=_l(
            "Ask a person to look again at a warning the software made about you."
        ),
        fulfilment="review recorded",
        **_BOARD,  # type: ignore[arg-type]
    )
)

__all__ = [
    "ALTERNATIVE_EXAM",
    "HUMAN_REVIEW",
    "OBJECTION",
    "ExamRequestForm",
    "HumanReviewForm",
    "ObjectionForm",
    "upcoming_exams",
]

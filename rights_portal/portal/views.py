"""Student pages: my cases, file a request, a case with its history, withdraw."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ..access import services as access_services
from ..accounts.models import Role
from ..cases import services
from ..cases.history import case_history
from ..cases.models import Case, CaseType
from ..clock import now_utc
from ..exams.models import Exam
from ..extensions import db
from ..permissions import Action, can, case_or_404, roles_required, visible_cases_clause
from ..transactions import commit
from .forms import AccessRequestForm, ExamRequestForm, ObjectionForm, WithdrawForm

bp = Blueprint("portal", __name__, template_folder="templates")

FORMS: dict[CaseType, type[FlaskForm]] = {
    CaseType.ACCESS: AccessRequestForm,
    CaseType.OBJECTION: ObjectionForm,
    CaseType.ALTERNATIVE_EXAM: ExamRequestForm,
}


def _exam_choices() -> list[Exam]:
    """Exams of the student's programme, from six months back on, soonest first."""
    since = now_utc() - timedelta(days=183)
    query = select(Exam).where(Exam.starts_at >= since).order_by(Exam.starts_at)
    if current_user.programme_id is not None:
        query = query.where(Exam.programme_id == current_user.programme_id)
    return list(db.session.scalars(query))


@bp.route("/cases")
@roles_required(Role.STUDENT, Role.GUARDIAN)
def my_cases() -> ResponseReturnValue:
    """The requester's own cases, newest first."""
    cases = db.session.scalars(
        select(Case).where(visible_cases_clause(current_user)).order_by(Case.id.desc())
    ).all()
    return render_template("portal/my_cases.html", cases=cases, case_types=list(CaseType))


@bp.route("/cases/new/<case_type>", methods=["GET", "POST"])
@roles_required(Role.STUDENT)
def file_request(case_type: str) -> ResponseReturnValue:
    """File one of the request types."""
    try:
        kind = CaseType(case_type)
    except ValueError:
        abort(404)
    form = FORMS[kind]()
    exams = _exam_choices() if kind.needs_exam else []
    if isinstance(form, ExamRequestForm):
        form.exam_id.choices = [SelectChoice("0", _("— choose an exam —"))] + [
            SelectChoice(str(exam.id), exam.label) for exam in exams
        ]
    if isinstance(form, AccessRequestForm):
        exams = access_services.exams_to_choose(current_user)
        form.exam_ids.choices = [SelectChoice(str(exam.id), exam.label) for exam in exams]
        if form.validate_on_submit():
            chosen = set(form.exam_ids.data or [])
            case = access_services.file_access_request(
                subject=current_user,
                filed_by=current_user,
                description=form.description.data or "",
                all_data=form.scope.data == "all",
                exams=[exam for exam in exams if exam.id in chosen],
                include_flags=bool(form.include_flags.data),
            )
            return _filed(case)
    elif form.validate_on_submit():
        exam = None
        if isinstance(form, ExamRequestForm):
            exam = next((e for e in exams if e.id == form.exam_id.data), None)
            if exam is None:
                form.exam_id.errors = [_("Choose an exam.")]
        if not kind.needs_exam or exam is not None:
            case = services.file_case(
                case_type=kind,
                subject=current_user,
                filed_by=current_user,
                description=form.description.data or "",
                exam=exam,
            )
            return _filed(case)
    status = 400 if form.is_submitted() else 200
    return render_template("portal/file_request.html", form=form, kind=kind), status


def _filed(case: Case) -> ResponseReturnValue:
    commit()
    flash(
        _(
            "Your request has been received under reference %(reference)s.",
            reference=case.reference,
        ),
        "success",
    )
    return redirect(url_for("portal.case_detail", reference=case.reference))


@bp.route("/cases/<reference>")
@roles_required(Role.STUDENT, Role.GUARDIAN)
def case_detail(reference: str) -> ResponseReturnValue:
    """One case with its status, due date, decision and history."""
    case = case_or_404(reference)
    package = None
    if case.case_type is CaseType.ACCESS and can(current_user, Action.DOWNLOAD_PACKAGE, case):
        package = access_services.delivered_package(case)
    return render_template(
        "portal/case_detail.html",
        case=case,
        package=package,
        now=now_utc(),
        history=case_history(case.id, for_staff=False),
        withdraw_form=WithdrawForm(),
    )


@bp.route("/cases/<reference>/withdraw", methods=["POST"])
@roles_required(Role.STUDENT, Role.GUARDIAN)
def withdraw(reference: str) -> ResponseReturnValue:
    """Withdraw an open request."""
    case = case_or_404(reference, Action.WITHDRAW)
    if not WithdrawForm().validate_on_submit():
        abort(400)
    services.withdraw(case, actor=current_user)
    commit()
    flash(_("Your request has been withdrawn."), "info")
    return redirect(url_for("portal.case_detail", reference=case.reference))

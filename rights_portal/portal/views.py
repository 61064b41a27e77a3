"""Requester pages: my cases, file a request, a case with its history, withdraw.

Students file for themselves from their 16th birthday; a verified guardian files for a child
under 16 through :mod:`rights_portal.portal.guardians`, with the same forms (R20). Whether a
user may file is the permission layer's :func:`~rights_portal.permissions.filing_decision`.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ..accounts import identity
from ..accounts.models import Role, User
from ..cases import services
from ..cases.history import case_history
from ..cases.models import Case, CaseType
from ..clock import now_utc, today_local
from ..exams.models import Exam
from ..extensions import db
from ..permissions import (
    Action,
    Filing,
    case_or_404,
    filing_decision,
    roles_required,
    visible_cases_clause,
)
from ..transactions import commit
from .forms import AccessRequestForm, ExamRequestForm, ObjectionForm, WithdrawForm

bp = Blueprint("portal", __name__, template_folder="templates")

FORMS: dict[CaseType, type[FlaskForm]] = {
    CaseType.ACCESS: AccessRequestForm,
    CaseType.OBJECTION: ObjectionForm,
    CaseType.ALTERNATIVE_EXAM: ExamRequestForm,
}


def _exam_choices(subject: User) -> list[Exam]:
    """Exams of the student's programme, from six months back on, soonest first."""
    since = now_utc() - timedelta(days=183)
    query = select(Exam).where(Exam.starts_at >= since).order_by(Exam.starts_at)
    if subject.programme_id is not None:
        query = query.where(Exam.programme_id == subject.programme_id)
    return list(db.session.scalars(query))


def case_type_or_404(case_type: str) -> CaseType:
    """The request type named in the URL."""
    try:
        return CaseType(case_type)
    except ValueError:
        abort(404)


@bp.route("/cases")
@roles_required(Role.STUDENT, Role.GUARDIAN)
def my_cases() -> ResponseReturnValue:
    """The requester's own cases, newest first."""
    cases = db.session.scalars(
        select(Case).where(visible_cases_clause(current_user)).order_by(Case.id.desc())
    ).all()
    filing = None
    if current_user.role is Role.STUDENT:
        filing = filing_decision(current_user, current_user, today_local()).value
    return render_template(
        "portal/my_cases.html", cases=cases, case_types=list(CaseType), filing=filing
    )


@bp.route("/cases/new/<case_type>", methods=["GET", "POST"])
@roles_required(Role.STUDENT)
def file_request(case_type: str) -> ResponseReturnValue:
    """A student files one of the request types for themselves (from 16 on: R20)."""
    return file_request_page(case_type_or_404(case_type), subject=current_user)


def file_request_page(kind: CaseType, *, subject: User) -> ResponseReturnValue:
    """The filing form for ``subject``, filed by the current user if the age rule allows it."""
    decision = filing_decision(current_user, subject, today_local())
    if decision is not Filing.ALLOWED:
        # R20: explain who files instead; nothing is stored.
        return (
            render_template("portal/filing_refused.html", decision=decision.value, subject=subject),
            403,
        )
    form = FORMS[kind]()
    exams = _exam_choices(subject) if kind.needs_exam else []
    if isinstance(form, ExamRequestForm):
        form.exam_id.choices = [SelectChoice("0", _("— choose an exam —"))] + [
            SelectChoice(str(exam.id), exam.label) for exam in exams
        ]
    if form.validate_on_submit():
        exam = None
        if isinstance(form, ExamRequestForm):
            exam = next((e for e in exams if e.id == form.exam_id.data), None)
            if exam is None:
                form.exam_id.errors = [_("Choose an exam.")]
        if not kind.needs_exam or exam is not None:
            case = services.file_case(
                case_type=kind,
                subject=subject,
                filed_by=current_user,
                description=form.description.data or "",
                exam=exam,
            )
            commit()
            flash(
                _(
                    "Your request has been received under reference %(reference)s.",
                    reference=case.reference,
                ),
                "success",
            )
            return redirect(url_for("portal.case_detail", reference=case.reference))
    status = 400 if form.is_submitted() else 200
    return (
        render_template("portal/file_request.html", form=form, kind=kind, subject=subject),
        status,
    )


@bp.route("/cases/<reference>")
@roles_required(Role.STUDENT, Role.GUARDIAN)
def case_detail(reference: str) -> ResponseReturnValue:
    """One case with its status, due date, decision and history."""
    case = case_or_404(reference)
    return render_template(
        "portal/case_detail.html",
        case=case,
        history=case_history(case.id, for_staff=False),
        withdraw_form=WithdrawForm(),
        identity_check=identity.open_check(case),
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

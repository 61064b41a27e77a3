"""Requester pages: my cases, file a request, a case with its messages and history, withdraw.

Students file for themselves from their 16th birthday; a verified guardian files for a child
under 16 through :mod:`rights_portal.portal.guardians`, with the same forms (R20). Whether a
user may file is the permission layer's :func:`~rights_portal.permissions.filing_decision`.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ..access import services as access_services
from ..accounts import identity
from ..accounts.models import Role, User
from ..cases import services
from ..cases.history import case_history
from ..cases.models import Case, CaseMessage, CaseStatus, CaseType
from ..clock import now_utc, today_local
from ..examboard import services as examboard
from ..examboard.forms import (
    ALTERNATIVE_FORM_LABELS,
    ALTERNATIVE_STATUS_LABELS,
    RespondAlternativeForm,
)
from ..examboard.models import AlternativeStatus
from ..exams.models import Exam
from ..extensions import db
from ..formatting import format_moment
from ..permissions import (
    Action,
    Filing,
    can,
    case_or_404,
    filing_decision,
    roles_required,
    visible_cases_clause,
)
from ..retention import services as retention_services
from ..transactions import commit
from .forms import (
    AccessRequestForm,
    ErasureRequestForm,
    ExamRequestForm,
    HumanReviewForm,
    MessageForm,
    ObjectionForm,
    WithdrawForm,
)

bp = Blueprint("portal", __name__, template_folder="templates")

FORMS: dict[CaseType, type[FlaskForm]] = {
    CaseType.ACCESS: AccessRequestForm,
    CaseType.OBJECTION: ObjectionForm,
    CaseType.ALTERNATIVE_EXAM: ExamRequestForm,
    CaseType.HUMAN_REVIEW: HumanReviewForm,
    CaseType.ERASURE: ErasureRequestForm,
}


def _exam_choices(subject: User) -> list[Exam]:
    """Exams of the student's programme that have not yet taken place, soonest first (R7).

    An objection or alternative-exam request is about an exam still to come: a date it must be
    decided by (R7) only makes sense before the exam starts.
    """
    query = select(Exam).where(Exam.starts_at > now_utc()).order_by(Exam.starts_at)
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
    exams = _exam_choices(subject) if kind.needs_exam and kind is not CaseType.HUMAN_REVIEW else []
    flags = examboard.reviewable_flags(subject) if kind is CaseType.HUMAN_REVIEW else []
    if isinstance(form, ExamRequestForm):
        form.exam_id.choices = [SelectChoice("0", _("— choose an exam —"))] + [
            SelectChoice(str(exam.id), exam.label) for exam in exams
        ]
    if isinstance(form, HumanReviewForm):
        form.flag_id.choices = [SelectChoice("0", _("— choose a flag —"))] + [
            SelectChoice(str(f.id), f"{f.recording.exam.label}: {f.description}") for f in flags
        ]
    if isinstance(form, AccessRequestForm):
        exams = access_services.exams_to_choose(subject)
        form.exam_ids.choices = [SelectChoice(str(exam.id), exam.label) for exam in exams]
    recordings = []
    if isinstance(form, ErasureRequestForm):
        recordings = retention_services.recordings_to_choose(subject)
        form.recording_ids.choices = [
            SelectChoice(str(r.id), f"{r.exam.label} — {format_moment(r.recorded_at)}")
            for r in recordings
        ]
    if isinstance(form, ExamRequestForm) and not form.is_submitted():
        # Coming from an exam's privacy notice: that exam is already chosen.
        chosen = request.args.get("exam", type=int)
        if any(exam.id == chosen for exam in exams):
            form.exam_id.data = chosen
    if form.validate_on_submit():
        case = _file(kind, form, subject, exams, flags, recordings)
        if case is not None:
            return _filed(case)
    status = 400 if form.is_submitted() else 200
    exam_notices = {exam.id: exam for exam in exams if exam.proctoring_tool is not None}
    return (
        render_template(
            "portal/file_request.html",
            form=form,
            kind=kind,
            subject=subject,
            exam_notices=exam_notices,
        ),
        status,
    )


def _file(
    kind: CaseType,
    form: FlaskForm,
    subject: User,
    exams: list[Exam],
    flags: list,
    recordings: list | None = None,
) -> Case | None:
    """File the request the validated form describes; None (with a field error) if it cannot."""
    description = form.description.data or ""
    if isinstance(form, ErasureRequestForm):
        chosen = set(form.recording_ids.data or [])
        return retention_services.file_erasure_request(
            subject=subject,
            filed_by=current_user,
            description=description,
            recordings=[r for r in recordings or [] if r.id in chosen],
        )
    if isinstance(form, AccessRequestForm):
        chosen = set(form.exam_ids.data or [])
        return access_services.file_access_request(
            subject=subject,
            filed_by=current_user,
            description=description,
            all_data=form.scope.data == "all",
            exams=[exam for exam in exams if exam.id in chosen],
            include_flags=bool(form.include_flags.data),
        )
    if isinstance(form, HumanReviewForm):
        flag = next((f for f in flags if f.id == form.flag_id.data), None)
        if flag is None:
            form.flag_id.errors = [_("Choose a flag.")]
            return None
        return examboard.file_human_review(
            student=subject, filed_by=current_user, flag=flag, view=description
        )
    exam = None
    if isinstance(form, ExamRequestForm):
        exam = next((e for e in exams if e.id == form.exam_id.data), None)
        if exam is None:
            form.exam_id.errors = [_("Choose an exam.")]
            return None
    if isinstance(form, ObjectionForm) and exam is not None:
        return examboard.file_objection(
            student=subject,
            filed_by=current_user,
            exam=exam,
            grounds=description,
            restrict=bool(form.restrict.data),
        )
    return services.file_case(
        case_type=kind,
        subject=subject,
        filed_by=current_user,
        description=description,
        exam=exam,
    )


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
    """One case with its status, due date, messages, decision and history."""
    case = case_or_404(reference)
    return _render_case(case)


def _render_case(
    case: Case,
    message_form: MessageForm | None = None,
    status: int = 200,
    respond_form: RespondAlternativeForm | None = None,
) -> ResponseReturnValue:
    alternative = (
        examboard.current_alternative(case) if case.case_type.leads_to_alternative else None
    )
    package = None
    if case.case_type is CaseType.ACCESS and can(current_user, Action.DOWNLOAD_PACKAGE, case):
        package = access_services.delivered_package(case)
    messages = db.session.scalars(
        select(CaseMessage).where(CaseMessage.case_id == case.id).order_by(CaseMessage.id)
    ).all()
    return (
        render_template(
            "portal/case_detail.html",
            case=case,
            package=package,
            now=now_utc(),
            history=case_history(case.id, for_staff=False),
            messages=messages,
            awaiting_answer=case.status is CaseStatus.AWAITING_REQUESTER,
            may_message=can(current_user, Action.MESSAGE, case) and case.is_open,
            message_form=message_form or MessageForm(),
            withdraw_form=WithdrawForm(),
            identity_check=identity.open_check(case),
            alternative=alternative,
            may_respond=alternative is not None
            and alternative.status is AlternativeStatus.OFFERED
            and can(current_user, Action.RESPOND_ALTERNATIVE, case),
            respond_form=respond_form or RespondAlternativeForm(),
            alternative_form_labels=ALTERNATIVE_FORM_LABELS,
            alternative_status_labels=ALTERNATIVE_STATUS_LABELS,
        ),
        status,
    )


@bp.route("/cases/<reference>/messages", methods=["POST"])
@roles_required(Role.STUDENT, Role.GUARDIAN)
def post_message(reference: str) -> ResponseReturnValue:
    """Write to the privacy office, or answer its question (which restarts the clock, R6)."""
    case = case_or_404(reference, Action.MESSAGE)
    form = MessageForm()
    if not form.validate_on_submit():
        return _render_case(case, form, 400)
    services.post_message(case, author=current_user, body=form.body.data or "")
    commit()
    flash(_("Your message has been sent."), "success")
    return redirect(url_for("portal.case_detail", reference=case.reference, _anchor="messages"))


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


@bp.route("/cases/<reference>/alternative", methods=["POST"])
@roles_required(Role.STUDENT, Role.GUARDIAN)
def respond_alternative(reference: str) -> ResponseReturnValue:
    """Accept the alternative exam, or ask for another time with a reason (R17)."""
    case = case_or_404(reference, Action.RESPOND_ALTERNATIVE)
    form = RespondAlternativeForm()
    if (
        form.validate_on_submit()
        and form.answer.data == "other"
        and not (form.reason.data or "").strip()
    ):
        form.reason.errors = [_("Tell us why you need another time.")]
    elif form.validate_on_submit():
        examboard.respond_to_alternative(
            case,
            actor=current_user,
            accept=form.answer.data == "accept",
            reason=form.reason.data or "",
        )
        commit()
        flash(_("Thank you. Your answer has been recorded."), "success")
        return redirect(url_for("portal.case_detail", reference=case.reference))
    return _render_case(case, status=400, respond_form=form)

"""Staff pages to register a request received outside the portal and to print its letter (R1).

Thin views over :mod:`rights_portal.intake.services`; who may is
:func:`rights_portal.permissions.can_register_requests` (and ``case_or_404`` for a case).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ..access.storage import recordings_storage
from ..accounts.models import Role
from ..audit.services import record_case_event
from ..cases.models import CaseType, Channel
from ..clock import now_utc
from ..errors import RuleViolation
from ..exams.models import Exam
from ..extensions import db
from ..permissions import Action, can_register_requests, case_or_404, roles_required
from ..transactions import commit
from . import services
from .forms import RegisterRequestForm
from .models import AcknowledgeBy

bp = Blueprint("intake", __name__, template_folder="templates")


def _require_intake_role() -> None:
    if not can_register_requests(current_user):
        abort(403)


def _upcoming_exams() -> list[Exam]:
    return list(
        db.session.scalars(select(Exam).where(Exam.starts_at > now_utc()).order_by(Exam.starts_at))
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.CASE_HANDLER)
def register() -> ResponseReturnValue:
    """Register a request that reached us by letter, e-mail, phone or at a desk (R1)."""
    _require_intake_role()
    form = RegisterRequestForm()
    exams = _upcoming_exams()
    form.exam_id.choices = [SelectChoice("0", _("— no exam —"))] + [
        SelectChoice(str(exam.id), exam.label) for exam in exams
    ]
    if form.validate_on_submit():
        student = services.find_student(form.student_number.data or "", form.date_of_birth.data)
        case_type = CaseType(form.case_type.data)
        exam = next((e for e in exams if e.id == form.exam_id.data), None)
        upload = None
        if form.document.data and form.document.data.filename:
            upload = services.Upload(form.document.data.stream, form.document.data.filename)
        if student is None:
            form.student_number.errors = [
                _("No student has this student number and date of birth.")
            ]
        elif case_type.needs_exam and exam is None:
            form.exam_id.errors = [_("Choose the exam this request is about.")]
        else:
            try:
                intake = services.register_request(
                    actor=current_user,
                    channel=Channel(form.channel.data),
                    received_on=form.received_on.data,
                    case_type=case_type,
                    description=form.description.data or "",
                    student=student,
                    document=upload,
                    acknowledge_by=AcknowledgeBy(form.acknowledge_by.data),
                    postal_address=form.postal_address.data or "",
                    exam=exam,
                )
            except RuleViolation as error:
                db.session.rollback()
                flash(str(error.message), "error")
            else:
                commit()
                case = intake.case
                flash(
                    _(
                        "The request has been registered under reference %(reference)s.",
                        reference=case.reference,
                    ),
                    "success",
                )
                if intake.overdue_on_entry:
                    flash(_("This request was overdue already when it was registered."), "error")
                return redirect(url_for("staff.case_detail", reference=case.reference))
    status = 400 if form.is_submitted() else 200
    return render_template("intake/register.html", form=form), status


@bp.route("/<reference>/document")
@roles_required(Role.CASE_HANDLER, Role.DPO)
def document(reference: str) -> ResponseReturnValue:
    """The letter or e-mail as received; each opening is on the audit trail (R24)."""
    case = case_or_404(reference, Action.VIEW)
    intake = services.intake_for(case)
    if intake is None or intake.document_key is None or intake.document_deleted_at is not None:
        abort(404)
    record_case_event(
        "intake.document_opened", case, actor=current_user, after={"intake_id": intake.id}
    )
    commit()
    reader = recordings_storage().open(
        intake.document_key, intake.document_sha256 or "", intake.document_size
    )
    name = f"{case.reference}-received.{services.document_extension(intake)}"
    return _send(reader.read(), intake.document_type or "application/octet-stream", name)


@bp.route("/<reference>/acknowledgement.pdf")
@roles_required(Role.CASE_HANDLER)
def acknowledgement(reference: str) -> ResponseReturnValue:
    """The acknowledgement as a PDF letter for post; printing it is on the audit trail."""
    _require_intake_role()
    case = case_or_404(reference, Action.VIEW)
    intake = services.intake_for(case)
    if intake is None:
        abort(404)
    pdf = services.acknowledgement_pdf(intake)
    record_case_event(
        "intake.acknowledgement_printed", case, actor=current_user, after={"intake_id": intake.id}
    )
    commit()
    return _send(pdf, "application/pdf", f"{case.reference}-acknowledgement.pdf")


def _send(data: bytes, mimetype: str, filename: str) -> ResponseReturnValue:
    from flask import current_app

    response = current_app.response_class(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response

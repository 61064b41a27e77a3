"""Staff pages to register a request received outside the portal and to print its letter (R1).

Thin views over :mod:`rights_portal.intake.services` and :mod:`~rights_portal.intake.letters`
(requesters without an account: their identity check, the link to their own account, their
letters for post); who may is
:func:`rights_portal.permissions.can_register_requests` (and ``case_or_404`` for a case).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ..access.storage import recordings_storage
from ..accounts.models import AuthorityDocument, IdentityDocument
from ..accounts.services import find_by_email
from ..audit.services import record_case_event
from ..cases.models import Case, CaseType, Channel
from ..clock import now_utc
from ..errors import RuleViolation
from ..examboard.services import reviewable_flags
from ..exams.models import Exam
from ..extensions import db
from ..labels import TranslatedLabels
from ..permissions import (
    INTAKE_READER_ROLES,
    INTAKE_ROLES,
    Action,
    can_register_requests,
    case_or_404,
    roles_required,
)
from ..transactions import discard
from . import letters, requesters, services
from .forms import (
    LETTER_STATE_LABELS,
    RELATION_LABELS,
    LinkAccountForm,
    RegisterRequestForm,
    RequesterAnswerForm,
    RequesterIdentityForm,
)
from .models import AcknowledgeBy, ExternalRequester, RequesterLetter, RequesterRelation

bp = Blueprint("intake", __name__, template_folder="templates")


@bp.record_once
def _label_globals(state: BlueprintSetupState) -> None:
    # Globals like web.register_template_helpers' tables, for the partial on the staff case page.
    state.app.jinja_env.globals.update(
        requester_relation_labels=TranslatedLabels(RELATION_LABELS),
        letter_state_labels=TranslatedLabels(LETTER_STATE_LABELS),
    )


def _require_intake_role() -> None:
    if not can_register_requests(current_user):
        abort(403)


def _upcoming_exams() -> list[Exam]:
    return list(
        db.session.scalars(select(Exam).where(Exam.starts_at > now_utc()).order_by(Exam.starts_at))
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*INTAKE_ROLES)
def register() -> ResponseReturnValue:
    """Register a request that reached us by letter, e-mail, phone or at a desk (R1)."""
    _require_intake_role()
    form = RegisterRequestForm()
    exams = _upcoming_exams()
    form.exam_id.choices = [SelectChoice("0", _("— no exam —"))] + [
        SelectChoice(str(exam.id), exam.label) for exam in exams
    ]
    form.flag_id.choices = [SelectChoice("0", _("— choose a flag —"))]
    if form.validate_on_submit():
        student = services.find_student(form.student_number.data or "", form.date_of_birth.data)
        flags = reviewable_flags(student) if student is not None else []
        # Offered once the student is known (a resubmission picks one of them).
        form.flag_id.choices += [
            SelectChoice(str(f.id), f"{f.recording.exam.label}: {f.description}") for f in flags
        ]
        case_type = CaseType(form.case_type.data)
        exam = next((e for e in exams if e.id == form.exam_id.data), None)
        flag = next((f for f in flags if f.id == form.flag_id.data), None)
        external = _external_details(form)
        upload = None
        if form.document.data and form.document.data.filename:
            upload = services.Upload(form.document.data.stream, form.document.data.filename)
        if student is None:
            form.student_number.errors = [
                _("No student has this student number and date of birth.")
            ]
        elif services.needs_flag(case_type) and flag is None:
            form.flag_id.errors = [
                _("Choose the automated flag of this student the review is about.")
                if flags
                else _("This student has no automated flags to review.")
            ]
        elif case_type.exam_bound and exam is None:
            form.exam_id.errors = [_("Choose the exam this request is about.")]
        elif form.requester.data == "external" and not (form.requester_name.data or "").strip():
            form.requester_name.errors = [_("Give the requester's name.")]
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
                    exam=exam if case_type.exam_bound else None,
                    flag=flag,
                    external=external,
                )
            except RuleViolation as error:
                discard()
                flash(str(error.message), "error")
            else:
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


def _external_details(form: RegisterRequestForm) -> requesters.ExternalDetails | None:
    if form.requester.data != "external":
        return None
    try:
        relation = RequesterRelation(form.requester_relation.data)
    except ValueError:
        relation = RequesterRelation.SELF
    return requesters.ExternalDetails(
        full_name=form.requester_name.data or "",
        relation=relation,
        email=form.requester_email.data or "",
        locale=form.requester_locale.data or "nl",
    )


def _external_or_404(reference: str) -> tuple[Case, ExternalRequester]:
    case = case_or_404(reference, Action.VIEW)
    requester = requesters.external_requester_for(case)
    if requester is None:
        abort(404)
    return case, requester


@bp.route("/<reference>/requester/identity", methods=["GET", "POST"])
@roles_required(*INTAKE_ROLES)
def requester_identity(reference: str) -> ResponseReturnValue:
    """Record that the requester's identity (and a parent's authority) was checked (R21, R22)."""
    _require_intake_role()
    case, requester = _external_or_404(reference)
    form = RequesterIdentityForm()
    if form.validate_on_submit():
        try:
            requesters.record_requester_identity(
                requester,
                actor=current_user,
                document=IdentityDocument(form.identity_document.data),
                seen_on=form.seen_on.data,
                authority=(
                    AuthorityDocument(form.authority_document.data)
                    if form.authority_document.data
                    else None
                ),
            )
        except RuleViolation as error:
            discard()
            flash(str(error.message), "error")
        else:
            flash(_("The identity check has been recorded."), "success")
            return redirect(url_for("staff.case_detail", reference=case.reference))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "intake/requester_identity.html", form=form, case=case, requester=requester
    ), status


@bp.route("/<reference>/requester/link", methods=["GET", "POST"])
@roles_required(*INTAKE_ROLES)
def requester_link(reference: str) -> ResponseReturnValue:
    """Hand the case to the requester's own verified account (then it is an ordinary case)."""
    _require_intake_role()
    case, requester = _external_or_404(reference)
    form = LinkAccountForm()
    if form.validate_on_submit():
        account = find_by_email(form.account_email.data or "")
        try:
            requesters.link_requester(requester, account, actor=current_user)
        except RuleViolation as error:
            discard()
            flash(str(error.message), "error")
        else:
            flash(_("The case has been linked to the requester's account."), "success")
            return redirect(url_for("staff.case_detail", reference=case.reference))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "intake/requester_link.html", form=form, case=case, requester=requester
    ), status


@bp.route("/<reference>/requester/answer", methods=["GET", "POST"])
@roles_required(*INTAKE_ROLES)
def requester_answer(reference: str) -> ResponseReturnValue:
    """Enter the answer a requester without an account gave by letter, e-mail or at the desk."""
    _require_intake_role()
    case, requester = _external_or_404(reference)
    form = RequesterAnswerForm()
    if form.validate_on_submit():
        try:
            requesters.record_requester_answer(
                requester,
                actor=current_user,
                body=form.body.data or "",
                received_on=form.received_on.data,
            )
        except RuleViolation as error:
            discard()
            flash(str(error.message), "error")
        else:
            flash(_("The answer has been recorded; the clock runs again."), "success")
            return redirect(url_for("staff.case_detail", reference=case.reference))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "intake/requester_answer.html", form=form, case=case, requester=requester
    ), status


@bp.route("/<reference>/letters/<int:letter_id>.pdf")
@roles_required(*INTAKE_ROLES)
def letter(reference: str, letter_id: int) -> ResponseReturnValue:
    """A letter to a requester without an account, as PDF for post; printing is audited."""
    _require_intake_role()
    case, _requester = _external_or_404(reference)
    found = db.session.get(RequesterLetter, letter_id)
    if found is None or found.case_id != case.id:
        abort(404)
    try:
        pdf = letters.letter_pdf(found, actor=current_user)
    except RuleViolation as error:
        discard()
        abort(409, description=str(error.message))
    return _send(pdf, "application/pdf", f"{case.reference}-letter-{found.id}.pdf")


@bp.app_template_global()
def external_requester_of(case: Case) -> ExternalRequester | None:
    """For the staff case page: the requester without an account, if the case has one."""
    return requesters.external_requester_for(case)


@bp.app_template_global()
def requester_letters_of(case: Case) -> list[RequesterLetter]:
    """For the staff case page: what was sent to (or held for) that requester."""
    return letters.letters_of(case)


@bp.route("/<reference>/document")
@roles_required(*INTAKE_READER_ROLES)
def document(reference: str) -> ResponseReturnValue:
    """The letter or e-mail as received; each opening is on the audit trail (R24)."""
    case = case_or_404(reference, Action.VIEW)
    intake = services.intake_for(case)
    if intake is None or intake.document_key is None or intake.document_deleted_at is not None:
        abort(404)
    record_case_event(
        "intake.document_opened", case, actor=current_user, after={"intake_id": intake.id}
    )
    reader = recordings_storage().open(
        intake.document_key, intake.document_sha256 or "", intake.document_size
    )
    name = f"{case.reference}-received.{services.document_extension(intake)}"
    return _send(reader.read(), intake.document_type or "application/octet-stream", name)


@bp.route("/<reference>/acknowledgement.pdf")
@roles_required(*INTAKE_ROLES)
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
    return _send(pdf, "application/pdf", f"{case.reference}-acknowledgement.pdf")


def _send(data: bytes, mimetype: str, filename: str) -> ResponseReturnValue:
    from flask import current_app

    response = current_app.response_class(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response

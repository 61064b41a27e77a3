"""Pages of the data-breach register at /staff/breaches (R26).

Thin: each view asks :mod:`rights_portal.permissions`, validates its form (errors re-render with
400 and store nothing) and calls one service; the request's unit of work commits.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ..audit.services import record
from ..cases.services import case_by_reference
from ..clock import now_utc, today_local
from ..exams.models import ProctoringTool
from ..extensions import db
from ..permissions import (
    BREACH_REPORTER_ROLES,
    REPORT_ROLES,
    BreachAction,
    breach_or_404,
    can_breach,
    can_read_report,
    roles_required,
    visible_breaches_clause,
)
from . import export, services, subjects
from .forms import (
    ApNotificationForm,
    AssessForm,
    CloseForm,
    LinkCaseForm,
    NoticeForm,
    NotifyStudentsForm,
    RemedialForm,
    ReportBreachForm,
    StudentsForm,
    ToolForm,
)
from .labels import BREACH_STATUS_LABELS, RISK_SHORT_LABELS
from .models import Breach, BreachStatus, RiskLevel

bp = Blueprint("breaches", __name__, template_folder="templates")


def _tool_choices(form: Any) -> None:
    tools = db.session.scalars(select(ProctoringTool).order_by(ProctoringTool.name))
    form.tool_id.choices = [SelectChoice("0", _("None or unknown"))] + [
        SelectChoice(str(tool.id), f"{tool.name} ({tool.vendor})") for tool in tools
    ]


def _tool(tool_id: int | None) -> ProctoringTool | None:
    return db.session.get(ProctoringTool, tool_id) if tool_id else None


@bp.route("")
@roles_required(*BREACH_REPORTER_ROLES)
def register() -> ResponseReturnValue:
    """The register: the DPO sees every breach, other staff the ones they reported."""
    breaches = services.register(visible_breaches_clause(current_user))
    return render_template(
        "breaches/register.html",
        breaches=breaches,
        now=now_utc(),
        risk_labels=RISK_SHORT_LABELS,
        breach_status_labels=BREACH_STATUS_LABELS,
        may_export=can_read_report(current_user),
        today=today_local(),
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*BREACH_REPORTER_ROLES)
def report() -> ResponseReturnValue:
    """Report a suspected breach; the DPO is told at once."""
    form = ReportBreachForm()
    _tool_choices(form)
    if request.method == "GET":
        return render_template("breaches/report.html", form=form)
    discovered_at = None
    if form.validate_on_submit():
        assert form.discovered_on.data and form.discovered_time.data  # noqa: S101 (validated)
        try:
            discovered_at = services.local_to_utc(
                form.discovered_on.data, form.discovered_time.data
            )
        except services.RuleViolation as refusal:
            form.discovered_time.errors = [str(refusal.message)]
        else:
            if discovered_at > now_utc() + services.CLOCK_SKEW:
                form.discovered_on.errors = [_("The moment of discovery cannot be in the future.")]
                discovered_at = None
    if discovered_at is None:
        return render_template("breaches/report.html", form=form), 400
    breach = services.report_breach(
        reporter=current_user,
        description=form.description.data or "",
        discovered_at=discovered_at,
        data_categories=form.data_categories.data or "",
        data_subjects=form.data_subjects.data or "",
        tool=_tool(form.tool_id.data),
    )
    flash(_("Thank you. The breach has been reported to the data protection officer."), "success")
    return redirect(url_for("breaches.detail", breach_id=breach.id))


@bp.route("/<int:breach_id>")
@roles_required(*BREACH_REPORTER_ROLES)
def detail(breach_id: int) -> ResponseReturnValue:
    """The breach record; opening it is logged because it lists affected students (R24)."""
    breach = breach_or_404(breach_id)
    record("breach.viewed", actor=current_user, object_type="breach", object_id=breach.id)
    return _render(breach)


def _render(breach: Breach, status: int = 200, **forms: Any) -> ResponseReturnValue:
    manage = can_breach(current_user, BreachAction.MANAGE, breach)
    tool_form = forms.get("tool_form") or ToolForm(tool_id=breach.tool_id or 0)
    _tool_choices(tool_form)
    notice_form = forms.get("notice_form") or NoticeForm(
        text_nl=breach.subjects_notice_nl, text_en=breach.subjects_notice_en
    )
    return (
        render_template(
            "breaches/detail.html",
            breach=breach,
            now=now_utc(),
            manage=manage and breach.status is not BreachStatus.CLOSED,
            risk_labels=RISK_SHORT_LABELS,
            breach_status_labels=BREACH_STATUS_LABELS,
            cases=services.linked_cases(breach),
            students=subjects.affected_students(breach),
            assess_form=forms.get("assess_form")
            or AssessForm(
                risk=breach.risk.value if breach.risk else None,
                assessment=breach.risk_assessment,
            ),
            ap_form=forms.get("ap_form") or ApNotificationForm(),
            remedial_form=forms.get("remedial_form")
            or RemedialForm(remedial_actions=breach.remedial_actions),
            tool_form=tool_form,
            case_form=forms.get("case_form") or LinkCaseForm(),
            students_form=forms.get("students_form") or StudentsForm(),
            notice_form=notice_form,
            notify_form=NotifyStudentsForm(),
            close_form=forms.get("close_form") or CloseForm(),
        ),
        status,
    )


def _back(breach: Breach, message: str, anchor: str | None = None) -> ResponseReturnValue:
    flash(message, "success")
    return redirect(url_for("breaches.detail", breach_id=breach.id, _anchor=anchor))


@bp.route("/<int:breach_id>/assess", methods=["POST"])
@roles_required(*BREACH_REPORTER_ROLES)
def assess(breach_id: int) -> ResponseReturnValue:
    """The DPO assesses the risk."""
    breach = breach_or_404(breach_id, BreachAction.MANAGE)
    form = AssessForm()
    if not form.validate_on_submit():
        return _render(breach, 400, assess_form=form)
    services.assess(
        breach,
        actor=current_user,
        risk=RiskLevel(form.risk.data),
        assessment=form.assessment.data or "",
    )
    return _back(breach, _("The assessment has been recorded."))


@bp.route("/<int:breach_id>/ap-notification", methods=["POST"])
@roles_required(*BREACH_REPORTER_ROLES)
def ap_notification(breach_id: int) -> ResponseReturnValue:
    """Record the notification to the AP."""
    breach = breach_or_404(breach_id, BreachAction.MANAGE)
    form = ApNotificationForm()
    notified_at = None
    if form.validate_on_submit():
        assert form.notified_on.data and form.notified_time.data  # noqa: S101 (validated)
        try:
            notified_at = services.local_to_utc(form.notified_on.data, form.notified_time.data)
        except services.RuleViolation as refusal:
            form.notified_time.errors = [str(refusal.message)]
        else:
            late = notified_at > breach.ap_deadline
            if late and not (form.lateness_reason.data or "").strip():
                form.lateness_reason.errors = [
                    _("The AP was notified after the 72-hour deadline: give the reasons.")
                ]
                notified_at = None
    if notified_at is None:
        return _render(breach, 400, ap_form=form)
    services.record_ap_notification(
        breach,
        actor=current_user,
        notified_at=notified_at,
        reference=form.ap_reference.data or "",
        lateness_reason=form.lateness_reason.data or "",
    )
    return _back(breach, _("The notification to the AP has been recorded."))


@bp.route("/<int:breach_id>/remedial", methods=["POST"])
@roles_required(*BREACH_REPORTER_ROLES)
def remedial(breach_id: int) -> ResponseReturnValue:
    """Record the measures taken."""
    breach = breach_or_404(breach_id, BreachAction.MANAGE)
    form = RemedialForm()
    if not form.validate_on_submit():
        return _render(breach, 400, remedial_form=form)
    services.record_remedial_actions(
        breach, actor=current_user, text=form.remedial_actions.data or ""
    )
    return _back(breach, _("The measures have been recorded."))


@bp.route("/<int:breach_id>/tool", methods=["POST"])
@roles_required(*BREACH_REPORTER_ROLES)
def tool(breach_id: int) -> ResponseReturnValue:
    """Link the tool or vendor involved."""
    breach = breach_or_404(breach_id, BreachAction.MANAGE)
    form = ToolForm()
    _tool_choices(form)
    if not form.validate_on_submit():
        return _render(breach, 400, tool_form=form)
    services.set_tool(breach, actor=current_user, tool=_tool(form.tool_id.data))
    return _back(breach, _("The tool has been recorded."))


@bp.route("/<int:breach_id>/cases", methods=["POST"])
@roles_required(*BREACH_REPORTER_ROLES)
def link_case(breach_id: int) -> ResponseReturnValue:
    """Link a case by reference."""
    breach = breach_or_404(breach_id, BreachAction.MANAGE)
    form = LinkCaseForm()
    case = None
    if form.validate_on_submit():
        case = case_by_reference((form.case_reference.data or "").strip().upper())
        if case is None:
            form.case_reference.errors = [_("There is no case with this reference.")]
    if case is None:
        return _render(breach, 400, case_form=form)
    services.link_case(breach, actor=current_user, case=case)
    return _back(breach, _("The case has been linked."), "cases")


@bp.route("/<int:breach_id>/students", methods=["POST"])
@roles_required(*BREACH_REPORTER_ROLES)
def add_students(breach_id: int) -> ResponseReturnValue:
    """Add affected students by student number; an unknown number stores nothing."""
    breach = breach_or_404(breach_id, BreachAction.MANAGE)
    form = StudentsForm()
    numbers: list[str] = []
    if form.validate_on_submit():
        numbers = subjects.parse_student_numbers(form.numbers.data or "")
        _found, unknown = subjects.students_by_number(numbers)
        if unknown:
            form.numbers.errors = [
                _("No student has these numbers: %(numbers)s", numbers=", ".join(unknown))
            ]
            numbers = []
        elif not numbers:
            form.numbers.errors = [_("Give at least one student number.")]
    if not numbers:
        return _render(breach, 400, students_form=form)
    added = subjects.add_affected_students(breach, actor=current_user, numbers=numbers)
    return _back(
        breach,
        ngettext(
            "%(num)s student added to the list.", "%(num)s students added to the list.", added
        ),
        "students",
    )


@bp.route("/<int:breach_id>/notice", methods=["POST"])
@roles_required(*BREACH_REPORTER_ROLES)
def notice(breach_id: int) -> ResponseReturnValue:
    """Write the plain-language notice to the people concerned."""
    breach = breach_or_404(breach_id, BreachAction.MANAGE)
    form = NoticeForm()
    if not form.validate_on_submit():
        return _render(breach, 400, notice_form=form)
    subjects.write_subject_notice(
        breach, actor=current_user, text_nl=form.text_nl.data or "", text_en=form.text_en.data or ""
    )
    return _back(breach, _("The notice has been saved."), "students")


@bp.route("/<int:breach_id>/notify-students", methods=["POST"])
@roles_required(*BREACH_REPORTER_ROLES)
def notify_students(breach_id: int) -> ResponseReturnValue:
    """Send the notice to every affected student not yet told (each exactly once)."""
    breach = breach_or_404(breach_id, BreachAction.MANAGE)
    form = NotifyStudentsForm()
    if not form.validate_on_submit():
        return _render(breach, 400)
    sent = subjects.notify_affected_students(breach, actor=current_user)
    if sent:
        message = ngettext(
            "The notice has been sent to %(num)s student.",
            "The notice has been sent to %(num)s students.",
            sent,
        )
    else:
        message = _("Every student on the list has been informed already.")
    return _back(breach, message, "students")


@bp.route("/<int:breach_id>/close", methods=["POST"])
@roles_required(*BREACH_REPORTER_ROLES)
def close(breach_id: int) -> ResponseReturnValue:
    """Close the record; it stays in the register."""
    breach = breach_or_404(breach_id, BreachAction.MANAGE)
    form = CloseForm()
    valid = form.validate_on_submit()
    if (
        valid
        and breach.ap_notified_at is None
        and not (form.not_notified_reason.data or "").strip()
    ):
        form.not_notified_reason.errors = [
            _("The AP was not notified: record the reason (GDPR art. 33(5)).")
        ]
        valid = False
    if not valid:
        return _render(breach, 400, close_form=form)
    services.close(
        breach,
        actor=current_user,
        not_notified_reason=form.not_notified_reason.data or "",
        subjects_not_informed_reason=form.subjects_not_informed_reason.data or "",
    )
    return _back(breach, _("The breach has been closed. It stays in the register."))


@bp.route("/export.csv")
@roles_required(*REPORT_ROLES)
def export_csv() -> ResponseReturnValue:
    """The register as CSV, for breaches discovered in the period (default: everything)."""
    start, end = _period_args()
    breaches = services.register(visible_breaches_clause(current_user), start=start, end=end)
    body = export.register_csv(breaches)
    # R24: the file leaves the portal with free text that can name people; log who took it.
    record(
        "breach.register_exported",
        actor=current_user,
        object_type="breach_register",
        after={
            "from": request.args.get("from") or None,
            "to": request.args.get("to") or None,
            "breach_ids": [breach.id for breach in breaches],
        },
    )
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="breach-register.csv"'},
    )


def _period_args() -> tuple[datetime | None, datetime | None]:
    """The optional from/to query arguments (Amsterdam dates) as UTC bounds; 400 if malformed."""
    try:
        start = date.fromisoformat(request.args["from"]) if request.args.get("from") else None
        end = date.fromisoformat(request.args["to"]) if request.args.get("to") else None
    except ValueError:
        abort(400)
    return services.period_bounds(start, end)

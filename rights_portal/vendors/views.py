"""The vendors' pages: the admin's connectors, the case panel's buttons, Zoom's webhook.

- ``/staff/integrations/vendors``: connectors with their last sync, errors and counts; one
  connector's settings, links and connection check (admins, :mod:`rights_portal.permissions`).
- ``/staff/cases/<reference>/vendors/…``: fetch what is missing (queued as a task), ask a vendor
  without an API, upload what it sent (case handlers of the access request).
- ``/integrations/zoom/<connector id>/webhook``: Zoom's signed events, public, CSRF-exempt and
  rate limited: a bad or stale signature is a 401 and nothing is stored.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..accounts.models import User
from ..audit.services import record, record_case_event
from ..errors import RuleViolation
from ..exams.models import Exam, FileKind, ProctoringTool
from ..extensions import csrf, db, limiter
from ..permissions import (
    ACCESS_HANDLER_ROLES,
    Action,
    access_case_or_404,
    can_manage_vendor_connectors,
    roles_required,
)
from ..transactions import queue_task
from . import on_request, services, zoom
from .forms import ButtonForm, ConnectorForm, LinkForm, UploadForm
from .labels import CONNECTOR_KIND_LABELS
from .models import ConnectorKind, VendorConnector
from .secrets import CredentialsUnreadable, unseal

bp = Blueprint("vendors", __name__, template_folder="templates")


@bp.context_processor
def _kind_labels() -> dict[str, Any]:
    return {"kind_labels": {kind.value: label for kind, label in CONNECTOR_KIND_LABELS.items()}}


FETCH_TASK = "rights_portal.fetch_vendor_files"
MEETING_TASK = "rights_portal.fetch_zoom_meeting"


def _admin_only() -> None:
    if not can_manage_vendor_connectors(current_user):
        abort(403)


def _connector_or_404(connector_id: int) -> VendorConnector:
    return db.session.get(VendorConnector, connector_id) or abort(404)


def _fill(form: ConnectorForm) -> None:
    tools = db.session.scalars(select(ProctoringTool).order_by(ProctoringTool.name)).all()
    form.tool_id.choices = [(tool.id, tool.name) for tool in tools]


def _save(form: ConnectorForm, connector: VendorConnector | None) -> VendorConnector | None:
    tool = db.session.get(ProctoringTool, form.tool_id.data)
    if tool is None:
        form.tool_id.errors = [_("Choose a tool from the register.")]
        return None
    credentials = {
        name: getattr(form, name).data or ""
        for name in services.CREDENTIAL_FIELDS[ConnectorKind(form.kind.data)]
    }
    try:
        return services.save_connector(
            connector,
            name=form.name.data or "",
            kind=ConnectorKind(form.kind.data),
            tool=tool,
            base_url=form.base_url.data or "",
            token_url=form.token_url.data or "",
            enabled=bool(form.enabled.data),
            credentials=credentials,
            actor=current_user,
        )
    except RuleViolation as refused:
        form.name.errors = [str(refused.message)]
        return None


@bp.route("/staff/integrations/vendors", methods=["GET", "POST"])
@login_required
def connectors() -> ResponseReturnValue:
    """The connectors with their state; a new one."""
    _admin_only()
    form = ConnectorForm()
    _fill(form)
    status = 200
    if form.validate_on_submit():
        connector = _save(form, None)
        if connector is not None:
            flash(_("The connector has been saved."), "success")
            return redirect(url_for("vendors.connector", connector_id=connector.id))
        status = 400
    elif form.is_submitted():
        status = 400
    rows = [(c, services.counts(c)) for c in services.connectors()]
    return render_template("vendors/connectors.html", form=form, rows=rows), status


@bp.route("/staff/integrations/vendors/<int:connector_id>", methods=["GET", "POST"])
@login_required
def connector(connector_id: int) -> ResponseReturnValue:
    """One connector: settings (secrets write-only), links, state and errors."""
    _admin_only()
    found = _connector_or_404(connector_id)
    form = (
        ConnectorForm(obj=found, kind=found.kind.value)
        if request.method == "GET"
        else ConnectorForm()
    )
    _fill(form)
    status = 200
    if form.validate_on_submit():
        if _save(form, found) is not None:
            flash(_("The connector has been saved."), "success")
            return redirect(url_for("vendors.connector", connector_id=found.id))
        status = 400
    elif form.is_submitted():
        status = 400
    return _render_connector(found, form=form, status=status)


def _render_connector(
    found: VendorConnector, status: int = 200, **forms: Any
) -> ResponseReturnValue:
    form = forms.get("form") or ConnectorForm(obj=found, kind=found.kind.value)
    _fill(form)
    link_form = forms.get("link_form") or LinkForm()
    link_form.exam_id.choices = [
        (exam.id, exam.label)
        for exam in db.session.scalars(select(Exam).order_by(Exam.starts_at.desc()))
    ]
    try:
        stored = sorted(unseal(found.credentials))
    except CredentialsUnreadable:
        stored = []
    webhook_url = None
    if found.kind is ConnectorKind.ZOOM:
        webhook_url = current_app.config["PORTAL_BASE_URL"].rstrip("/") + url_for(
            "vendors.zoom_webhook", connector_id=found.id
        )
    return (
        render_template(
            "vendors/connector.html",
            connector=found,
            form=form,
            link_form=link_form,
            button=ButtonForm(),
            counts=services.counts(found),
            stored_credentials=stored,
            webhook_url=webhook_url,
        ),
        status,
    )


@bp.route("/staff/integrations/vendors/<int:connector_id>/links", methods=["POST"])
@login_required
def add_link(connector_id: int) -> ResponseReturnValue:
    """Link an exam to the vendor's meeting or exam."""
    _admin_only()
    found = _connector_or_404(connector_id)
    link_form = LinkForm()
    link_form.exam_id.choices = [(exam.id, exam.label) for exam in db.session.scalars(select(Exam))]
    if not link_form.validate_on_submit():
        return _render_connector(found, status=400, link_form=link_form)
    exam = db.session.get(Exam, link_form.exam_id.data) or abort(404)
    student = None
    if link_form.student_number.data:
        student = db.session.scalars(
            select(User).where(User.student_number == link_form.student_number.data.strip())
        ).first()
        if student is None:
            link_form.student_number.errors = [_("No student has this number.")]
            return _render_connector(found, status=400, link_form=link_form)
    try:
        services.add_link(
            found,
            exam=exam,
            vendor_ref=link_form.vendor_ref.data or "",
            student=student,
            actor=current_user,
        )
    except RuleViolation as refused:
        link_form.vendor_ref.errors = [str(refused.message)]
        return _render_connector(found, status=400, link_form=link_form)
    flash(_("The exam has been linked."), "success")
    return redirect(url_for("vendors.connector", connector_id=found.id))


@bp.route("/staff/integrations/vendors/<int:connector_id>/check", methods=["POST"])
@login_required
def check(connector_id: int) -> ResponseReturnValue:
    """Try the credentials with one call to the vendor."""
    _admin_only()
    found = _connector_or_404(connector_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    if found.kind is ConnectorKind.ON_REQUEST:
        flash(_("This vendor has no API: nothing to check."), "info")
    else:
        ok, message = services.check_connection(found, actor=current_user)
        flash(
            _("The vendor answered: %(message)s", message=message)
            if ok
            else _("The vendor could not be used: %(message)s", message=message),
            "success" if ok else "error",
        )
    return redirect(url_for("vendors.connector", connector_id=found.id))


# --- on an access request ------------------------------------------------------------------------


@bp.route("/staff/cases/<reference>/vendors/fetch", methods=["POST"])
@roles_required(*ACCESS_HANDLER_ROLES)
def fetch_missing(reference: str) -> ResponseReturnValue:
    """Queue listing and fetching what the connected vendors hold of the student (R11)."""
    case = access_case_or_404(reference, Action.HANDLE_ACCESS)
    if not ButtonForm().validate_on_submit():
        abort(400)
    queue_task(FETCH_TASK, case.id)
    record_case_event("vendors.fetch_queued", case, actor=current_user)
    flash(
        _("The recordings are being fetched from the vendors. Reload the page in a moment."),
        "success",
    )
    return redirect(url_for("staff.case_detail", reference=case.reference))


@bp.route("/staff/cases/<reference>/vendors/<int:connector_id>/request", methods=["POST"])
@roles_required(*ACCESS_HANDLER_ROLES)
def request_files(reference: str, connector_id: int) -> ResponseReturnValue:
    """Ask a vendor without an API for the student's files, with a due date."""
    case = access_case_or_404(reference, Action.HANDLE_ACCESS)
    found = _connector_or_404(connector_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    exams = dict((c.id, e) for c, e in services.case_connectors(case)).get(found.id)
    if exams is None:
        abort(404)
    try:
        vendor_request = on_request.request_files(found, case, exams, actor=current_user)
    except RuleViolation as refused:
        flash(str(refused.message), "error")
        return redirect(url_for("staff.case_detail", reference=case.reference)), 303
    flash(
        _(
            "The vendor has been asked; the answer is due on %(day)s.",
            day=vendor_request.due_on.isoformat(),
        ),
        "success",
    )
    return redirect(url_for("staff.case_detail", reference=case.reference))


@bp.route("/staff/cases/<reference>/vendors/<int:connector_id>/upload", methods=["POST"])
@roles_required(*ACCESS_HANDLER_ROLES)
def upload(reference: str, connector_id: int) -> ResponseReturnValue:
    """Store a file the vendor sent in answer to the request."""
    case = access_case_or_404(reference, Action.HANDLE_ACCESS)
    found = _connector_or_404(connector_id)
    vendor_request = on_request.open_request(found, case) or abort(404)
    exams = dict((c.id, e) for c, e in services.case_connectors(case)).get(found.id) or []
    form = UploadForm(prefix=f"upload{found.id}")
    form.exam_id.choices = [(exam.id, exam.label) for exam in exams]
    if not form.validate_on_submit():
        errors = [str(e) for errors in form.errors.values() for e in errors]
        flash(" ".join(errors) or _("Choose the file."), "error")
        return redirect(url_for("staff.case_detail", reference=case.reference)), 303
    exam = next(exam for exam in exams if exam.id == form.exam_id.data)
    upload_file = form.file.data
    try:
        stored = on_request.receive_file(
            vendor_request,
            exam=exam,
            kind=FileKind(form.kind.data),
            stream=upload_file.stream,
            filename=upload_file.filename or "vendor-file",
            media_type=upload_file.mimetype or "application/octet-stream",
            recorded_at=exam.starts_at,
            actor=current_user,
        )
    except RuleViolation as refused:
        flash(str(refused.message), "error")
        return redirect(url_for("staff.case_detail", reference=case.reference)), 303
    flash(
        _("The file has been stored with the student's recordings.")
        if stored is not None
        else _("The student's recordings hold this file already: nothing was stored twice."),
        "success",
    )
    return redirect(url_for("staff.case_detail", reference=case.reference))


# --- Zoom's webhook ------------------------------------------------------------------------------


@bp.route("/integrations/zoom/<int:connector_id>/webhook", methods=["POST"])
@csrf.exempt
@limiter.limit(lambda: current_app.config["VENDOR_WEBHOOK_RATE_LIMIT"])
def zoom_webhook(connector_id: int) -> ResponseReturnValue:
    """Zoom's signed events: answer the URL validation; queue the fetch of a completed recording."""
    found = db.session.get(VendorConnector, connector_id)
    if found is None or found.kind is not ConnectorKind.ZOOM or not found.enabled:
        abort(404)
    body = request.get_data(cache=False)
    try:
        secret = str(unseal(found.credentials).get("webhook_secret", ""))
    except CredentialsUnreadable:
        secret = ""
    verified = zoom.verify_webhook(
        secret,
        request.headers.get("x-zm-request-timestamp", ""),
        request.headers.get("x-zm-signature", ""),
        body,
        now=time.time(),
        tolerance=int(current_app.config["ZOOM_WEBHOOK_TOLERANCE_SECONDS"]),
    )
    if not verified:
        return jsonify({"error": "invalid signature"}), 401
    try:
        event = json.loads(body)
    except ValueError:
        return jsonify({"error": "not JSON"}), 400
    if not isinstance(event, dict):
        return jsonify({"error": "not an event"}), 400
    raw_payload = event.get("payload")
    payload: dict[str, Any] = raw_payload if isinstance(raw_payload, dict) else {}
    name = str(event.get("event", ""))
    if name == "endpoint.url_validation":
        plain = str(payload.get("plainToken", ""))
        if not plain:
            return jsonify({"error": "no plainToken"}), 400
        return jsonify(zoom.url_validation(secret, plain)), 200
    raw_meeting = payload.get("object")
    meeting: dict[str, Any] = raw_meeting if isinstance(raw_meeting, dict) else {}
    meeting_id = str(meeting.get("id", ""))
    if name == "recording.completed" and meeting_id:
        queue_task(MEETING_TASK, found.id, meeting_id)
    record(
        "vendors.webhook_received",
        actor=None,
        object_type="vendor_connector",
        object_id=found.id,
        after={"event": name[:100], "meeting_id": meeting_id[:100] or None},
    )
    return jsonify({"status": "accepted"}), 200

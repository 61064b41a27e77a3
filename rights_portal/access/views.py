"""Access-request pages: the handler's workspace, its decisions per item, the vendor import.

Thin views: they ask :mod:`rights_portal.permissions`, call :mod:`.services` (or the importer)
and stream files through :func:`.streaming.stream_stored`; the request's unit of work commits.
Every file a person gets from here — a recording opened by staff — is recorded on the audit
trail first (R24). The package pages and the requester's download are in :mod:`.package_views`,
on the same blueprint.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from ..cases.models import Case
from ..extensions import csrf, db
from ..formatting import format_moment
from ..media import views as media_views
from ..permissions import (
    ACCESS_HANDLER_ROLES,
    ACCESS_WORKSPACE_ROLES,
    Action,
    access_case_or_404,
    can,
    can_open_recording,
    roles_required,
)
from ..transactions import discard
from . import blobs, decisions, importer, lifecycle, opens
from . import holdings as access_holdings
from . import storage as storage_module
from .export import ImportRejected, LineError
from .forms import BuildForm, ImportForm, ItemDecisionForm
from .labels import FILE_KIND_LABELS, PACKAGE_STATUS_LABELS, RELEASE_LABELS, REVIEW_LABELS
from .models import ItemDecision, ItemType, Release
from .streaming import allow_large_upload, request_range, starts_playback, stream_stored

bp = Blueprint("access", __name__, template_folder="templates")


@bp.app_context_processor
def _labels() -> dict[str, object]:
    return {
        "file_kind_labels": FILE_KIND_LABELS,
        "release_labels": RELEASE_LABELS,
        "review_labels": REVIEW_LABELS,
        "package_status_labels": PACKAGE_STATUS_LABELS,
    }


# --- the handler's workspace ----------------------------------------------------------------


@bp.route("/staff/cases/<reference>/access")
@roles_required(*ACCESS_WORKSPACE_ROLES)
def workspace(reference: str) -> ResponseReturnValue:
    """Everything held about the student, by exam, with a decision per item (R11, R13)."""
    case = access_case_or_404(reference, Action.WORK_ACCESS)
    opens.record_staff_open(
        case, actor=current_user, what="access_workspace", object_id=case.id, details={}
    )
    return _render_workspace(case)


def _render_workspace(
    case: Case, failed: tuple[str, ItemDecisionForm] | None = None, status: int = 200
) -> ResponseReturnValue:
    holdings = access_holdings.gather(case)
    may_handle = can(current_user, Action.HANDLE_ACCESS, case) and case.status in (
        decisions.OPEN_FOR_WORK
    )
    forms: dict[str, ItemDecisionForm] = {}
    for item in holdings.items():
        if failed is not None and failed[0] == item.key:
            forms[item.key] = failed[1]
            continue
        decision = item.decision
        forms[item.key] = ItemDecisionForm(
            formdata=None,
            prefix=item.key,
            item_type=item.item_type,
            has_redacted_copy=bool(decision and decision.redacted_storage_key),
            data={
                "decision": item.release.value,
                "reason": decision.reason if decision else "",
                "protects": decision.protects if decision else "",
            },
        )
    packages = lifecycle.packages_of(case)
    return (
        render_template(
            "access/workspace.html",
            case=case,
            holdings=holdings,
            forms=forms,
            may_handle=may_handle,
            packages=packages,
            building=any(p.status.in_progress for p in packages),
            build_form=BuildForm(),
            **media_views.workspace_context(case),
        ),
        status,
    )


@bp.route("/staff/cases/<reference>/access/items/<item_type>/<int:item_id>", methods=["POST"])
@csrf.exempt
@roles_required(*ACCESS_HANDLER_ROLES)
def decide_item(reference: str, item_type: str, item_id: int) -> ResponseReturnValue:
    """Record released / redacted (with the redacted copy) / withheld for one item (R13)."""
    allow_large_upload()
    case = access_case_or_404(reference, Action.HANDLE_ACCESS)
    try:
        kind = ItemType(item_type)
    except ValueError:
        abort(404)
    held = access_holdings.gather(case).find(kind, item_id)
    if held is None:
        abort(404)
    has_copy = bool(held.decision and held.decision.redacted_storage_key)
    form = ItemDecisionForm(prefix=held.key, item_type=kind, has_redacted_copy=has_copy)
    if not form.validate_on_submit():
        return _render_workspace(case, failed=(held.key, form), status=400)
    upload = None
    if form.redacted_file.data and form.decision.data == Release.REDACTED.value:
        file = form.redacted_file.data
        upload = decisions.RedactedUpload(
            stream=file.stream,
            filename=file.filename or "redacted",
            media_type=file.mimetype or "application/octet-stream",
        )
    decisions.decide_item(
        case,
        actor=current_user,
        item_type=kind,
        item_id=item_id,
        decision=Release(form.decision.data),
        reason=form.reason.data or "",
        protects=form.protects.data or "",
        redacted=upload,
    )
    flash(_("The decision on this item has been recorded."), "success")
    return redirect(url_for("access.workspace", reference=case.reference) + f"#{held.key}")


@bp.route("/staff/cases/<reference>/access/files/<int:file_id>")
@roles_required(*ACCESS_WORKSPACE_ROLES)
def open_file(reference: str, file_id: int) -> ResponseReturnValue:
    """Open or play a recording file of the case's student; logged (R24)."""
    case = access_case_or_404(reference, Action.WORK_ACCESS)
    held = access_holdings.gather(case).find(ItemType.FILE, file_id)
    if held is None or held.file is None or held.file.deleted_at or held.file.storage_key is None:
        abort(404)
    stored = held.file
    if not can_open_recording(current_user, stored.recording, case):
        abort(403)  # R16: restricted while an objection is pending, except to decide it
    if starts_playback():
        opens.record_staff_open(
            case,
            actor=current_user,
            what="recording",
            object_id=stored.id,
            details={"sha256": stored.sha256, "range": request_range()},
        )
    return stream_stored(
        storage_module.recordings_storage(),
        access_holdings.required(stored.storage_key, "the stored file"),
        sha256=stored.sha256,
        size=stored.size_bytes,
        mimetype=stored.media_type,
        download_name=f"{case.reference}-{stored.kind.value}-{stored.id}",
        attachment=False,
    )


@bp.route("/staff/cases/<reference>/access/redacted/<int:decision_id>")
@roles_required(*ACCESS_WORKSPACE_ROLES)
def open_redacted(reference: str, decision_id: int) -> ResponseReturnValue:
    """Open or play the redacted copy of a file; logged (R24).

    A copy deleted with its recording (R25) answers 410 Gone with the date; the decision stays.
    """
    case = access_case_or_404(reference, Action.WORK_ACCESS)
    decision = db.session.get(ItemDecision, decision_id)
    if decision is None or decision.case_id != case.id:
        abort(404)
    if decision.redacted_deleted_at is not None:
        message = _(
            "This redacted copy was deleted on %(date)s, together with the recording it was "
            "made from. The decision on the item is kept.",
            date=format_moment(decision.redacted_deleted_at),
        )
        return render_template("errors/error.html", code=410, message=message), 410
    if not decision.redacted_storage_key:
        abort(404)
    if starts_playback():
        opens.record_staff_open(
            case,
            actor=current_user,
            what="redacted_copy",
            object_id=decision.id,
            details={"sha256": decision.redacted_sha256, "range": request_range()},
        )
    return stream_stored(
        storage_module.recordings_storage(),
        decision.redacted_storage_key,
        missing_message=_("The redacted copy is no longer in storage."),
        sha256=access_holdings.required(decision.redacted_sha256, "the redacted copy's sha256"),
        size=access_holdings.required(decision.redacted_size_bytes, "the redacted copy's size"),
        mimetype=decision.redacted_media_type or "application/octet-stream",
        download_name=f"{case.reference}-redacted-{decision.item_id}",
        attachment=False,
    )


# --- importing a vendor export --------------------------------------------------------------


@bp.route("/staff/recordings/import", methods=["GET", "POST"])
@csrf.exempt
@roles_required(*ACCESS_HANDLER_ROLES)
def import_export() -> ResponseReturnValue:
    """Upload a vendor export (ZIP); a bad manifest is reported line by line, nothing imported."""
    allow_large_upload()
    form = ImportForm()
    errors: list[LineError] = []
    if form.validate_on_submit():
        upload = form.export.data
        with tempfile.TemporaryDirectory(prefix="rp-import-") as folder:
            path = Path(folder) / "export.zip"  # our name, never the uploaded one
            with open(path, "wb") as target:
                blobs.copy_hashing(upload.stream, target)
            try:
                result = importer.import_export(path, actor=current_user, source="upload")
            except ImportRejected as rejected:
                discard()  # nothing of a rejected export is kept
                errors = rejected.errors
            else:
                flash(
                    _(
                        "Imported %(files)s files of %(recordings)s new recordings, "
                        "with %(flags)s automated flags.",
                        files=result.files,
                        recordings=result.recordings,
                        flags=result.flags,
                    ),
                    "success",
                )
                return redirect(url_for("access.import_export"))
    status = 400 if form.is_submitted() else 200
    return render_template("access/import.html", form=form, errors=errors), status

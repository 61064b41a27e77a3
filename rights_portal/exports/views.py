"""The exports page: one's background exports, their progress, and their download.

Asking for an export is a button on the page it exports (the audit trail, the DPO's dashboard;
their views call :func:`start`); this page lists what was asked, refreshes while something is
being built (static/export-status.js) and downloads a finished file through
:func:`rights_portal.access.streaming.stream_stored` (nginx sends it when
``SENDFILE_VIA_ACCEL`` is on). Every download is on the audit trail (R24).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..access.storage import exports_storage
from ..access.streaming import request_range, starts_playback, stream_stored
from ..extensions import db
from ..permissions import EXPORT_ROLES, can_export, may_download_export, roles_required
from . import services
from .forms import StartExportForm
from .labels import EXPORT_KIND_LABELS, EXPORT_STATUS_LABELS
from .models import Export, ExportKind, ExportStatus

bp = Blueprint("exports", __name__, template_folder="templates")


@bp.context_processor
def _labels() -> dict[str, object]:
    return {"export_kind_labels": EXPORT_KIND_LABELS, "export_status_labels": EXPORT_STATUS_LABELS}


def start(kind: ExportKind, params: dict[str, Any], *, filename: str, media_type: str) -> Any:
    """Ask for an export of ``kind`` (a view's POST, after its own checks); go to the page."""
    if not can_export(current_user, kind.value):
        abort(403)
    if not StartExportForm().validate_on_submit():
        abort(400)
    services.request_export(
        kind,
        params,
        actor=current_user,
        filename=filename,
        media_type=media_type,
        locale=str(get_locale() or "nl"),
    )
    flash(_("The export is being prepared. It appears below when it is ready."), "success")
    return redirect(url_for("exports.list_exports"))


def confirm(kind: ExportKind, title: str, action_url: str) -> ResponseReturnValue:
    """The old download address (a bookmark): a page with the button that asks for it."""
    if not can_export(current_user, kind.value):
        abort(403)
    return render_template(
        "exports/confirm.html", title=title, action_url=action_url, form=StartExportForm()
    )


def _own_export(export_id: int) -> Export:
    export = db.session.get(Export, export_id)
    if export is None or not may_download_export(
        current_user, export.requested_by_id, export.kind.value
    ):
        abort(404)
    return export


@bp.route("")
@roles_required(*EXPORT_ROLES)
def list_exports() -> ResponseReturnValue:
    """The user's recent exports; not logged (asking and downloading are)."""
    exports = services.exports_of(current_user)
    return render_template(
        "exports/list.html",
        exports=exports,
        pending=any(export.status.in_progress for export in exports),
    )


@bp.route("/status")
@roles_required(*EXPORT_ROLES)
def status() -> ResponseReturnValue:
    """Whether any of the user's exports is still being built (for the page's script)."""
    exports = services.exports_of(current_user)
    return jsonify(
        pending=any(export.status.in_progress for export in exports),
        statuses={str(export.id): export.status.value for export in exports},
    )


@bp.route("/<int:export_id>/download")
@roles_required(*EXPORT_ROLES)
def download(export_id: int) -> ResponseReturnValue:
    """Download a finished export while it is kept; logged (R24)."""
    export = _own_export(export_id)
    if export.status is ExportStatus.EXPIRED:
        message = _("This export has been deleted after its retention period. Ask for it again.")
        return render_template("errors/error.html", code=410, message=message), 410
    if (
        export.status is not ExportStatus.READY
        or export.storage_key is None
        or export.sha256 is None
        or export.size_bytes is None
    ):
        abort(404)
    if starts_playback():
        services.record_download(export, actor=current_user, byte_range=request_range())
    return stream_stored(
        exports_storage(),
        export.storage_key,
        sha256=export.sha256,
        size=export.size_bytes,
        mimetype=export.media_type,
        download_name=export.filename,
        attachment=True,
        missing_message=_("The export's file is no longer in storage. Ask for it again."),
    )

"""Automatic redaction on the access workspace (R27).

Request, cancel, retry, confirm the requester's face, and the contact sheet. Thin views: they
ask :mod:`rights_portal.permissions` and call :mod:`.services`; the request's unit of work
commits, and only then is the task sent (``after_commit``). The runs are shown on the
workspace page itself (:func:`workspace_context`).
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..access import holdings as access_holdings
from ..access import opens as access_opens
from ..access import storage as access_storage
from ..access.models import ItemType
from ..cases.models import Case
from ..errors import RuleViolation
from ..exams.models import RecordingFile
from ..extensions import db
from ..permissions import (
    ACCESS_HANDLER_ROLES,
    ACCESS_WORKSPACE_ROLES,
    Action,
    access_case_or_404,
    can_open_recording,
    roles_required,
)
from ..transactions import after_commit
from . import services
from .contact import contact_sheet
from .forms import ConfirmForm, RedactForm, RunForm, parse_muted
from .models import Redaction, RedactionStatus

bp = Blueprint("media", __name__, template_folder="templates")


REDACTION_STATUS_LABELS = {
    RedactionStatus.QUEUED: _l("queued"),
    RedactionStatus.RUNNING: _l("running"),
    RedactionStatus.DONE: _l("done"),
    RedactionStatus.FAILED: _l("failed"),
    RedactionStatus.CANCELLED: _l("cancelled"),
}


def workspace_context(case: Case) -> dict[str, Any]:
    """What the access workspace shows of automatic redaction: the latest run of each file."""
    latest: dict[int, Redaction] = {}
    for run in services.runs_of(case):  # newest first
        latest.setdefault(run.file_id, run)
    return {
        "redactions": latest,
        "redactable_kinds": services.REDACTABLE,
        "redaction_status_labels": REDACTION_STATUS_LABELS,
        "redact_form": lambda file_id: RedactForm(formdata=None, prefix=f"redact-{file_id}"),
    }


def _case(reference: str, action: Action) -> Case:
    return access_case_or_404(reference, action)


def _run(case: Case, run_id: int) -> Redaction:
    run = db.session.get(Redaction, run_id)
    if run is None or run.case_id != case.id:
        abort(404)
    return run


def _back(case: Case, file_id: int) -> ResponseReturnValue:
    return redirect(url_for("access.workspace", reference=case.reference) + f"#file-{file_id}")


@bp.route("/staff/cases/<reference>/access/files/<int:file_id>/redact", methods=["POST"])
@roles_required(*ACCESS_HANDLER_ROLES)
def request_redaction(reference: str, file_id: int) -> ResponseReturnValue:
    """Queue the automatic redaction of one video or screenshot."""
    case = _case(reference, Action.HANDLE_ACCESS)
    if access_holdings.gather(case).find(ItemType.FILE, file_id) is None:
        abort(404)  # not held about this case's student
    form = RedactForm(prefix=f"redact-{file_id}")
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return _back(case, file_id)
    try:
        run = services.request_redaction(
            case,
            file_id,
            actor=current_user,
            threshold=float(form.threshold.data or services.DEFAULT_THRESHOLD),
            cover_all=bool(form.cover_all.data),
            muted=parse_muted(form.muted.data or ""),
        )
    except RuleViolation as refused:
        flash(str(refused), "error")
        return _back(case, file_id)
    after_commit(functools.partial(services.enqueue, run.id))
    flash(_("The automatic redaction has been queued."), "success")
    return _back(case, file_id)


@bp.route("/staff/cases/<reference>/access/redactions/<int:run_id>/cancel", methods=["POST"])
@roles_required(*ACCESS_HANDLER_ROLES)
def cancel(reference: str, run_id: int) -> ResponseReturnValue:
    """Stop a queued or running redaction."""
    case = _case(reference, Action.HANDLE_ACCESS)
    run = _run(case, run_id)
    if RunForm().validate_on_submit():
        try:
            services.cancel(run, actor=current_user)
            flash(_("The automatic redaction has been cancelled."), "success")
        except RuleViolation as refused:
            flash(str(refused), "error")
    return _back(case, run.file_id)


@bp.route("/staff/cases/<reference>/access/redactions/<int:run_id>/retry", methods=["POST"])
@roles_required(*ACCESS_HANDLER_ROLES)
def retry(reference: str, run_id: int) -> ResponseReturnValue:
    """Run a failed, cancelled or finished redaction again with the same settings."""
    case = _case(reference, Action.HANDLE_ACCESS)
    run = _run(case, run_id)
    if RunForm().validate_on_submit():
        try:
            again = services.retry(run, actor=current_user)
        except RuleViolation as refused:
            flash(str(refused), "error")
            return _back(case, run.file_id)
        after_commit(functools.partial(services.enqueue, again.id))
        flash(_("The automatic redaction has been queued."), "success")
    return _back(case, run.file_id)


@bp.route("/staff/cases/<reference>/access/redactions/<int:run_id>/confirm", methods=["POST"])
@roles_required(*ACCESS_HANDLER_ROLES)
def confirm(reference: str, run_id: int) -> ResponseReturnValue:
    """The handler says which face is the requester's (R27: a person decides)."""
    case = _case(reference, Action.HANDLE_ACCESS)
    run = _run(case, run_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("Choose the requester's face."), "error")
        return _back(case, run.file_id)
    try:
        reviewed = services.confirm_requester(run, actor=current_user, track_id=form.track.data)
    except RuleViolation as refused:
        flash(str(refused), "error")
        return _back(case, run.file_id)
    if reviewed.id != run.id:
        after_commit(functools.partial(services.enqueue, reviewed.id))
        flash(_("Redacting again, keeping the face you chose."), "success")
    else:
        flash(_("The requester's face is confirmed."), "success")
    return _back(case, run.file_id)


@bp.route("/staff/cases/<reference>/access/redactions/<int:run_id>/faces.jpg")
@roles_required(*ACCESS_WORKSPACE_ROLES)
def faces(reference: str, run_id: int) -> ResponseReturnValue:
    """The contact sheet: each face found, where the detector saw it best (audited, R24)."""
    case = _case(reference, Action.WORK_ACCESS)
    run = _run(case, run_id)
    file = db.session.get(RecordingFile, run.file_id)
    if file is None or run.record is None or file.storage_key is None or file.deleted_at:
        abort(404)
    if not can_open_recording(current_user, file.recording, case):
        abort(404)
    access_opens.record_staff_open(
        case, actor=current_user, what="media_faces", object_id=run.id, details={"file": file.id}
    )
    work = Path(tempfile.mkdtemp(prefix="faces-"))
    try:
        source = work / f"source{Path(file.filename).suffix.lower()}"
        reader = access_storage.recordings_storage().open(
            file.storage_key, file.sha256, file.size_bytes
        )
        with reader, source.open("wb") as target:
            shutil.copyfileobj(reader, target, 1024 * 1024)
        picture = contact_sheet(source, run.record["tracks"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Response(
        picture, mimetype="image/jpeg", headers={"Cache-Control": "no-store, private"}
    )

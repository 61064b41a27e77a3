"""Access-request pages: the handler's workspace, package builds, the import, the download.

Thin views: they ask :mod:`rights_portal.permissions`, call :mod:`.services` (or the importer),
commit once and stream files through :func:`stream_stored`. Every file a person gets from here —
a recording or package opened by staff, a package downloaded by the requester — is recorded on
the audit trail first (R14, R24).
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import IO, cast

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
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response
from werkzeug.wsgi import FileWrapper

from ..accounts.models import Role, User
from ..cases.models import Case, CaseType
from ..clock import now_utc
from ..extensions import csrf, db
from ..formatting import format_moment
from ..media import views as media_views
from ..permissions import Action, can, can_open_recording, case_or_404, roles_required
from ..transactions import commit
from . import importer, services
from . import storage as storage_module
from .forms import BuildForm, ImportForm, ItemDecisionForm, ReleaseForm
from .labels import FILE_KIND_LABELS, PACKAGE_STATUS_LABELS, RELEASE_LABELS, REVIEW_LABELS
from .models import AccessPackage, ItemDecision, ItemType, PackageStatus, Release
from .package import enqueue_build

bp = Blueprint("access", __name__, template_folder="templates")

STAFF_ROLES = (Role.CASE_HANDLER, Role.DPO)


@bp.app_context_processor
def _labels() -> dict[str, object]:
    return {
        "file_kind_labels": FILE_KIND_LABELS,
        "release_labels": RELEASE_LABELS,
        "review_labels": REVIEW_LABELS,
        "package_status_labels": PACKAGE_STATUS_LABELS,
    }


def _access_case(reference: str, action: Action) -> Case:
    case = case_or_404(reference, action)
    if case.case_type is not CaseType.ACCESS:
        abort(404)
    return case


def _allow_large_upload() -> None:
    # Recordings are large; raise the limit for this request only, before the body is parsed.
    # These views are exempt from the global CSRF check (which would parse the body first under
    # the small default limit); their FlaskForm checks the token itself.
    request.max_content_length = current_app.config["RECORDINGS_UPLOAD_MAX_BYTES"]


def stream_stored(
    store: storage_module.Storage,
    key: str,
    *,
    sha256: str,
    size: int,
    mimetype: str,
    download_name: str,
    attachment: bool,
    missing_message: str | None = None,
) -> Response:
    """Stream a stored file with HTTP Range support; a full read verifies its sha256.

    A file missing from storage answers 404, with ``missing_message`` if one is given.
    """
    try:
        reader = store.open(key, sha256, size)
    except storage_module.MissingFile:
        if missing_message is None:
            abort(404)
        page = render_template("errors/error.html", code=404, message=missing_message)
        return current_app.make_response((page, 404))
    response = current_app.response_class(
        FileWrapper(cast(IO[bytes], reader), storage_module.CHUNK_SIZE),
        mimetype=mimetype,
        direct_passthrough=True,
    )
    response.content_length = size
    response.headers.set(
        "Content-Disposition", "attachment" if attachment else "inline", filename=download_name
    )
    response.set_etag(sha256)
    response.cache_control.private = True
    response.cache_control.no_store = True
    response.headers["Referrer-Policy"] = "no-referrer"
    return response.make_conditional(request.environ, accept_ranges=True, complete_length=size)


def _range() -> str | None:
    value = request.headers.get("Range")
    return value[:100] if value else None


def _starts_playback() -> bool:
    # A video element fetches many ranges while playing; one opening is logged, not every chunk.
    byte_range = _range()
    return byte_range is None or byte_range.replace(" ", "").startswith("bytes=0-")


# --- the handler's workspace ----------------------------------------------------------------


@bp.route("/staff/cases/<reference>/access")
@roles_required(*STAFF_ROLES)
def workspace(reference: str) -> ResponseReturnValue:
    """Everything held about the student, by exam, with a decision per item (R11, R13)."""
    case = _access_case(reference, Action.WORK_ACCESS)
    services.record_staff_open(
        case, actor=current_user, what="access_workspace", object_id=case.id, details={}
    )
    commit()
    return _render_workspace(case)


def _render_workspace(
    case: Case, failed: tuple[str, ItemDecisionForm] | None = None, status: int = 200
) -> ResponseReturnValue:
    holdings = services.gather(case)
    may_handle = can(current_user, Action.HANDLE_ACCESS, case) and case.status in (
        services.OPEN_FOR_WORK
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
    packages = services.packages_of(case)
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
@roles_required(Role.CASE_HANDLER)
def decide_item(reference: str, item_type: str, item_id: int) -> ResponseReturnValue:
    """Record released / redacted (with the redacted copy) / withheld for one item (R13)."""
    _allow_large_upload()
    case = _access_case(reference, Action.HANDLE_ACCESS)
    try:
        kind = ItemType(item_type)
    except ValueError:
        abort(404)
    held = services.gather(case).find(kind, item_id)
    if held is None:
        abort(404)
    has_copy = bool(held.decision and held.decision.redacted_storage_key)
    form = ItemDecisionForm(prefix=held.key, item_type=kind, has_redacted_copy=has_copy)
    if not form.validate_on_submit():
        return _render_workspace(case, failed=(held.key, form), status=400)
    upload = None
    if form.redacted_file.data and form.decision.data == Release.REDACTED.value:
        file = form.redacted_file.data
        upload = services.RedactedUpload(
            stream=file.stream,
            filename=file.filename or "redacted",
            media_type=file.mimetype or "application/octet-stream",
        )
    services.decide_item(
        case,
        actor=current_user,
        item_type=kind,
        item_id=item_id,
        decision=Release(form.decision.data),
        reason=form.reason.data or "",
        protects=form.protects.data or "",
        redacted=upload,
    )
    commit()
    flash(_("The decision on this item has been recorded."), "success")
    return redirect(url_for("access.workspace", reference=case.reference) + f"#{held.key}")


@bp.route("/staff/cases/<reference>/access/files/<int:file_id>")
@roles_required(*STAFF_ROLES)
def open_file(reference: str, file_id: int) -> ResponseReturnValue:
    """Open or play a recording file of the case's student; logged (R24)."""
    case = _access_case(reference, Action.WORK_ACCESS)
    held = services.gather(case).find(ItemType.FILE, file_id)
    if held is None or held.file is None or held.file.deleted_at or held.file.storage_key is None:
        abort(404)
    stored = held.file
    if not can_open_recording(current_user, stored.recording, case):
        abort(403)  # R16: restricted while an objection is pending, except to decide it
    if _starts_playback():
        services.record_staff_open(
            case,
            actor=current_user,
            what="recording",
            object_id=stored.id,
            details={"sha256": stored.sha256, "range": _range()},
        )
        commit()
    return stream_stored(
        storage_module.recordings_storage(),
        services.required(stored.storage_key, "the stored file"),
        sha256=stored.sha256,
        size=stored.size_bytes,
        mimetype=stored.media_type,
        download_name=f"{case.reference}-{stored.kind.value}-{stored.id}",
        attachment=False,
    )


@bp.route("/staff/cases/<reference>/access/redacted/<int:decision_id>")
@roles_required(*STAFF_ROLES)
def open_redacted(reference: str, decision_id: int) -> ResponseReturnValue:
    """Open or play the redacted copy of a file; logged (R24).

    A copy deleted with its recording (R25) answers 410 Gone with the date; the decision stays.
    """
    case = _access_case(reference, Action.WORK_ACCESS)
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
    if _starts_playback():
        services.record_staff_open(
            case,
            actor=current_user,
            what="redacted_copy",
            object_id=decision.id,
            details={"sha256": decision.redacted_sha256, "range": _range()},
        )
        commit()
    return stream_stored(
        storage_module.recordings_storage(),
        decision.redacted_storage_key,
        missing_message=_("The redacted copy is no longer in storage."),
        sha256=services.required(decision.redacted_sha256, "the redacted copy's sha256"),
        size=services.required(decision.redacted_size_bytes, "the redacted copy's size"),
        mimetype=decision.redacted_media_type or "application/octet-stream",
        download_name=f"{case.reference}-redacted-{decision.item_id}",
        attachment=False,
    )


# --- packages -------------------------------------------------------------------------------


@bp.route("/staff/cases/<reference>/access/packages", methods=["POST"])
@roles_required(Role.CASE_HANDLER)
def build(reference: str) -> ResponseReturnValue:
    """Queue a package build; the worker builds it and the page shows its progress (R11, R12)."""
    case = _access_case(reference, Action.HANDLE_ACCESS)
    if not BuildForm().validate_on_submit():
        abort(400)
    package = services.request_build(case, actor=current_user)
    commit()
    enqueue_build(package.id)
    return redirect(url_for("access.package_page", reference=case.reference, package_id=package.id))


def _package(case: Case, package_id: int) -> AccessPackage:
    package = db.session.get(AccessPackage, package_id)
    if package is None or package.case_id != case.id:
        abort(404)
    return package


@bp.route("/staff/cases/<reference>/access/packages/<int:package_id>")
@roles_required(*STAFF_ROLES)
def package_page(reference: str, package_id: int) -> ResponseReturnValue:
    """A build's progress (a script polls it while building), preview and release.

    Opening a build that is no longer in progress is logged (R24).
    """
    case = _access_case(reference, Action.WORK_ACCESS)
    package = _package(case, package_id)
    if not package.status.in_progress:
        # A build lists what it holds and the partial refusals (personal data): an opening is
        # logged (R24). While building, the page shows only the progress (a script asks
        # ``package_progress`` for it), so those looks are not.
        services.record_staff_open(
            case,
            actor=current_user,
            what="package_page",
            object_id=package.id,
            details={"status": package.status.value},
        )
        commit()
    newest = services.packages_of(case)[0]
    stuck = _is_stuck(package)
    return render_template(
        "access/package.html",
        case=case,
        package=package,
        stuck=stuck,
        may_retry=can(current_user, Action.HANDLE_ACCESS, case)
        and newest.id == package.id
        and (stuck or package.status is PackageStatus.FAILED),
        retry_form=BuildForm(),
        is_newest=newest.id == package.id,
        may_release=can(current_user, Action.HANDLE_ACCESS, case)
        and package.status is PackageStatus.READY
        and newest.id == package.id,
        release_form=ReleaseForm(),
        refusals=services.gather(case).partial_refusals()
        if package.status is PackageStatus.READY
        else [],
    )


def _stuck_after() -> timedelta:
    return timedelta(seconds=int(current_app.config["PACKAGE_BUILD_STUCK_SECONDS"]))


def _is_stuck(package: AccessPackage) -> bool:
    return services.build_is_stuck(package, now=now_utc(), stuck_after=_stuck_after())


@bp.route("/staff/cases/<reference>/access/packages/<int:package_id>/progress")
@roles_required(*STAFF_ROLES)
def package_progress(reference: str, package_id: int) -> ResponseReturnValue:
    """The build's progress as JSON, for the package page's script (static/package-status.js).

    Only the state, never the contents: like the page while building, not logged.
    """
    case = _access_case(reference, Action.WORK_ACCESS)
    package = _package(case, package_id)
    return jsonify(
        status=package.status.value,
        status_label=str(PACKAGE_STATUS_LABELS[package.status]),
        progress=package.progress,
        in_progress=package.status.in_progress,
        stuck=_is_stuck(package),
    )


@bp.route("/staff/cases/<reference>/access/packages/<int:package_id>/retry", methods=["POST"])
@roles_required(Role.CASE_HANDLER)
def retry_build(reference: str, package_id: int) -> ResponseReturnValue:
    """Try a failed or stuck build again; recorded on the audit trail."""
    case = _access_case(reference, Action.HANDLE_ACCESS)
    package = _package(case, package_id)
    if not BuildForm().validate_on_submit():
        abort(400)
    retried = services.retry_build(package, actor=current_user, stuck_after=_stuck_after())
    commit()
    enqueue_build(retried.id)
    flash(_("The package is being built again."), "success")
    return redirect(url_for("access.package_page", reference=case.reference, package_id=retried.id))


@bp.route("/staff/cases/<reference>/access/packages/<int:package_id>/letter")
@roles_required(*STAFF_ROLES)
def preview_letter(reference: str, package_id: int) -> ResponseReturnValue:
    """The cover letter exactly as packaged, for checking before release; logged (R24)."""
    case = _access_case(reference, Action.WORK_ACCESS)
    package = _package(case, package_id)
    if package.letter_html is None:
        abort(404)
    services.record_staff_open(
        case, actor=current_user, what="package_letter", object_id=package.id, details={}
    )
    commit()
    response = current_app.response_class(package.letter_html, mimetype="text/html")
    # The letter carries its own <style>; it runs no script and loads nothing.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox"
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/staff/cases/<reference>/access/packages/<int:package_id>/zip")
@roles_required(*STAFF_ROLES)
def staff_download(reference: str, package_id: int) -> ResponseReturnValue:
    """Staff open the built ZIP to check it; logged (R24)."""
    case = _access_case(reference, Action.WORK_ACCESS)
    package = _package(case, package_id)
    if package.storage_key is None or package.sha256 is None or package.size_bytes is None:
        abort(404)
    if _starts_playback():
        services.record_staff_open(
            case,
            actor=current_user,
            what="package",
            object_id=package.id,
            details={"sha256": package.sha256, "range": _range()},
        )
        commit()
    return stream_stored(
        storage_module.packages_storage(),
        package.storage_key,
        sha256=package.sha256,
        size=package.size_bytes,
        mimetype="application/zip",
        download_name=f"{case.reference}-package-{package.id}.zip",
        attachment=True,
    )


@bp.route("/staff/cases/<reference>/access/packages/<int:package_id>/release", methods=["POST"])
@roles_required(Role.CASE_HANDLER)
def release(reference: str, package_id: int) -> ResponseReturnValue:
    """Release: decide the case, e-mail the requester a link, close the case (R13, R14)."""
    case = _access_case(reference, Action.HANDLE_ACCESS)
    package = _package(case, package_id)
    if not ReleaseForm().validate_on_submit():
        abort(400)
    services.release(package, actor=current_user)
    commit()
    flash(
        _("The package has been released. The requester has been sent a link by e-mail."),
        "success",
    )
    return redirect(url_for("staff.case_detail", reference=case.reference))


# --- importing a vendor export --------------------------------------------------------------


@bp.route("/staff/recordings/import", methods=["GET", "POST"])
@csrf.exempt
@roles_required(Role.CASE_HANDLER)
def import_export() -> ResponseReturnValue:
    """Upload a vendor export (ZIP); a bad manifest is reported line by line, nothing imported."""
    _allow_large_upload()
    form = ImportForm()
    errors: list[importer.LineError] = []
    if form.validate_on_submit():
        upload = form.export.data
        with tempfile.TemporaryDirectory(prefix="rp-import-") as folder:
            path = Path(folder) / "export.zip"  # our name, never the uploaded one
            with open(path, "wb") as target:
                storage_module.copy_hashing(upload.stream, target)
            try:
                result = importer.import_export(path, actor=current_user, source="upload")
            except importer.ImportRejected as rejected:
                db.session.rollback()
                errors = rejected.errors
            else:
                commit()
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


# --- the requester's download (R14) ---------------------------------------------------------


@bp.route("/my/cases/<reference>/package/<int:package_id>")
@roles_required(Role.STUDENT, Role.GUARDIAN)
def download(reference: str, package_id: int) -> ResponseReturnValue:
    """The requester downloads their package while the link is valid; every download is logged."""
    case = case_or_404(reference, Action.VIEW)
    if not can(current_user, Action.DOWNLOAD_PACKAGE, case):
        abort(404)
    package = _package(case, package_id)
    if package.status not in (PackageStatus.RELEASED, PackageStatus.EXPIRED):
        abort(404)
    if not package.is_downloadable(now_utc()):
        message = _(
            "This download link has expired and the package has been deleted. "
            "You can make a new access request."
        )
        return render_template("errors/error.html", code=410, message=message), 410
    requester: User = current_user
    services.record_download(package, actor=requester, byte_range=_range())
    commit()
    return stream_stored(
        storage_module.packages_storage(),
        services.required(package.storage_key, "the package file"),
        sha256=services.required(package.sha256, "the package's sha256"),
        size=services.required(package.size_bytes, "the package's size"),
        mimetype="application/zip",
        download_name=f"{case.reference}.zip",
        attachment=True,
    )


@bp.route("/staff/cases/<reference>/access/packages/latest")
@roles_required(*STAFF_ROLES)
def latest_package(reference: str) -> ResponseReturnValue:
    """Go to the newest build of the case's package."""
    case = _access_case(reference, Action.WORK_ACCESS)
    newest = db.session.scalars(
        select(AccessPackage.id)
        .where(AccessPackage.case_id == case.id)
        .order_by(AccessPackage.id.desc())
    ).first()
    if newest is None:
        abort(404)
    return redirect(url_for("access.package_page", reference=case.reference, package_id=newest))

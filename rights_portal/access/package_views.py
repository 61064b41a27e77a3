"""Access-request pages of the package: build, progress, letter, release, and the download (R14).

Routes on the ``access`` blueprint of :mod:`.views`. Every package a person opens from here is
recorded on the audit trail first (R14, R24).
"""

from __future__ import annotations

import functools
from datetime import timedelta

from flask import abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..accounts.models import User
from ..cases.models import Case
from ..clock import now_utc
from ..extensions import db
from ..permissions import (
    ACCESS_HANDLER_ROLES,
    ACCESS_WORKSPACE_ROLES,
    REQUESTER_ROLES,
    Action,
    access_case_or_404,
    can,
    case_or_404,
    roles_required,
)
from ..transactions import after_commit
from . import holdings, lifecycle, opens
from . import storage as storage_module
from .forms import BuildForm, ReleaseForm
from .labels import PACKAGE_STATUS_LABELS
from .models import AccessPackage, PackageStatus
from .package import enqueue_build
from .streaming import request_range, starts_playback, stream_stored
from .views import bp

# --- packages -------------------------------------------------------------------------------


@bp.route("/staff/cases/<reference>/access/packages", methods=["POST"])
@roles_required(*ACCESS_HANDLER_ROLES)
def build(reference: str) -> ResponseReturnValue:
    """Queue a package build; the worker builds it and the page shows its progress (R11, R12)."""
    case = access_case_or_404(reference, Action.HANDLE_ACCESS)
    if not BuildForm().validate_on_submit():
        abort(400)
    package = lifecycle.request_build(case, actor=current_user)
    after_commit(functools.partial(enqueue_build, package.id))
    return redirect(url_for("access.package_page", reference=case.reference, package_id=package.id))


def _package(case: Case, package_id: int) -> AccessPackage:
    package = db.session.get(AccessPackage, package_id)
    if package is None or package.case_id != case.id:
        abort(404)
    return package


@bp.route("/staff/cases/<reference>/access/packages/<int:package_id>")
@roles_required(*ACCESS_WORKSPACE_ROLES)
def package_page(reference: str, package_id: int) -> ResponseReturnValue:
    """A build's progress (a script polls it while building), preview and release.

    Opening a build that is no longer in progress is logged (R24).
    """
    case = access_case_or_404(reference, Action.WORK_ACCESS)
    package = _package(case, package_id)
    if not package.status.in_progress:
        # A build lists what it holds and the partial refusals (personal data): an opening is
        # logged (R24). While building, the page shows only the progress (a script asks
        # ``package_progress`` for it), so those looks are not.
        opens.record_staff_open(
            case,
            actor=current_user,
            what="package_page",
            object_id=package.id,
            details={"status": package.status.value},
        )
    newest = lifecycle.packages_of(case)[0]
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
        refusals=holdings.gather(case).partial_refusals()
        if package.status is PackageStatus.READY
        else [],
    )


def _stuck_after() -> timedelta:
    return timedelta(seconds=int(current_app.config["PACKAGE_BUILD_STUCK_SECONDS"]))


def _is_stuck(package: AccessPackage) -> bool:
    return lifecycle.build_is_stuck(package, now=now_utc(), stuck_after=_stuck_after())


@bp.route("/staff/cases/<reference>/access/packages/<int:package_id>/progress")
@roles_required(*ACCESS_WORKSPACE_ROLES)
def package_progress(reference: str, package_id: int) -> ResponseReturnValue:
    """The build's progress as JSON, for the package page's script (static/package-status.js).

    Only the state, never the contents: like the page while building, not logged.
    """
    case = access_case_or_404(reference, Action.WORK_ACCESS)
    package = _package(case, package_id)
    return jsonify(
        status=package.status.value,
        status_label=str(PACKAGE_STATUS_LABELS[package.status]),
        progress=package.progress,
        in_progress=package.status.in_progress,
        stuck=_is_stuck(package),
    )


@bp.route("/staff/cases/<reference>/access/packages/<int:package_id>/retry", methods=["POST"])
@roles_required(*ACCESS_HANDLER_ROLES)
def retry_build(reference: str, package_id: int) -> ResponseReturnValue:
    """Try a failed or stuck build again; recorded on the audit trail."""
    case = access_case_or_404(reference, Action.HANDLE_ACCESS)
    package = _package(case, package_id)
    if not BuildForm().validate_on_submit():
        abort(400)
    retried = lifecycle.retry_build(package, actor=current_user, stuck_after=_stuck_after())
    after_commit(functools.partial(enqueue_build, retried.id))
    flash(_("The package is being built again."), "success")
    return redirect(url_for("access.package_page", reference=case.reference, package_id=retried.id))


@bp.route("/staff/cases/<reference>/access/packages/<int:package_id>/letter")
@roles_required(*ACCESS_WORKSPACE_ROLES)
def preview_letter(reference: str, package_id: int) -> ResponseReturnValue:
    """The cover letter exactly as packaged, for checking before release; logged (R24)."""
    case = access_case_or_404(reference, Action.WORK_ACCESS)
    package = _package(case, package_id)
    if package.letter_html is None:
        abort(404)
    opens.record_staff_open(
        case, actor=current_user, what="package_letter", object_id=package.id, details={}
    )
    response = current_app.response_class(package.letter_html, mimetype="text/html")
    # The letter carries its own <style>; it runs no script and loads nothing.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox"
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/staff/cases/<reference>/access/packages/<int:package_id>/zip")
@roles_required(*ACCESS_WORKSPACE_ROLES)
def staff_download(reference: str, package_id: int) -> ResponseReturnValue:
    """Staff open the built ZIP to check it; logged (R24)."""
    case = access_case_or_404(reference, Action.WORK_ACCESS)
    package = _package(case, package_id)
    if package.storage_key is None or package.sha256 is None or package.size_bytes is None:
        abort(404)
    if starts_playback():
        opens.record_staff_open(
            case,
            actor=current_user,
            what="package",
            object_id=package.id,
            details={"sha256": package.sha256, "range": request_range()},
        )
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
@roles_required(*ACCESS_HANDLER_ROLES)
def release(reference: str, package_id: int) -> ResponseReturnValue:
    """Release: decide the case, e-mail the requester a link, close the case (R13, R14)."""
    case = access_case_or_404(reference, Action.HANDLE_ACCESS)
    package = _package(case, package_id)
    if not ReleaseForm().validate_on_submit():
        abort(400)
    lifecycle.release(package, actor=current_user)
    flash(
        _("The package has been released. The requester has been sent a link by e-mail."),
        "success",
    )
    return redirect(url_for("staff.case_detail", reference=case.reference))


# --- the requester's download (R14) ---------------------------------------------------------


@bp.route("/my/cases/<reference>/package/<int:package_id>")
@roles_required(*REQUESTER_ROLES)
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
    opens.record_download(package, actor=requester, byte_range=request_range())
    return stream_stored(
        storage_module.packages_storage(),
        holdings.required(package.storage_key, "the package file"),
        sha256=holdings.required(package.sha256, "the package's sha256"),
        size=holdings.required(package.size_bytes, "the package's size"),
        mimetype="application/zip",
        download_name=f"{case.reference}.zip",
        attachment=True,
    )


@bp.route("/staff/cases/<reference>/access/packages/latest")
@roles_required(*ACCESS_WORKSPACE_ROLES)
def latest_package(reference: str) -> ResponseReturnValue:
    """Go to the newest build of the case's package."""
    case = access_case_or_404(reference, Action.WORK_ACCESS)
    newest = db.session.scalars(
        select(AccessPackage.id)
        .where(AccessPackage.case_id == case.id)
        .order_by(AccessPackage.id.desc())
    ).first()
    if newest is None:
        abort(404)
    return redirect(url_for("access.package_page", reference=case.reference, package_id=newest))

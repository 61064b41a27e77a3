"""Staff side of identity on reasonable doubt (R22): ask for proof, record the check.

A handler asks for proof with a reason, then records "checked, document type, date".

The routes hang on the staff blueprint; :func:`rights_portal.permissions.case_or_404` with
``Action.VERIFY_IDENTITY`` decides who may (case handlers).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts.forms import IdentityCheckForm, IdentityDoubtForm
from ..accounts.models import IdentityCheckStatus, IdentityDocument
from ..identity import services as identity
from ..permissions import STAFF_CASE_ROLES, Action, case_or_404, roles_required
from .views import bp


@bp.route("/cases/<reference>/identity/doubt", methods=["GET", "POST"])
@roles_required(*STAFF_CASE_ROLES)
def identity_doubt(reference: str) -> ResponseReturnValue:
    """Record reasonable doubt about the requester's identity; they are asked for proof."""
    case = case_or_404(reference, Action.VERIFY_IDENTITY)
    form = IdentityDoubtForm()
    if form.validate_on_submit():
        identity.raise_doubt(case, actor=current_user, reason=form.reason.data or "")
        flash(_("The requester has been asked for proof of identity."), "success")
        return redirect(url_for("staff.case_detail", reference=case.reference))
    status = 400 if form.is_submitted() else 200
    return render_template("staff/identity_doubt.html", case=case, form=form), status


@bp.route("/cases/<reference>/identity/check", methods=["GET", "POST"])
@roles_required(*STAFF_CASE_ROLES)
def identity_check(reference: str) -> ResponseReturnValue:
    """Record the identity check: checked, document type, date (never a copy or number)."""
    case = case_or_404(reference, Action.VERIFY_IDENTITY)
    check = identity.open_check(case)
    if check is None:
        flash(_("No proof of identity is waiting to be checked for this case."), "info")
        return redirect(url_for("staff.case_detail", reference=case.reference))
    form = IdentityCheckForm()
    if form.validate_on_submit():
        identity.record_check(
            check,
            actor=current_user,
            status=IdentityCheckStatus(form.status.data),
            document_type=IdentityDocument(form.document_type.data)
            if form.document_type.data
            else None,
            document_seen_on=form.document_seen_on.data,
            note=form.note.data or "",
        )
        flash(_("The identity check has been recorded. The case is back in review."), "success")
        return redirect(url_for("staff.case_detail", reference=case.reference))
    status = 400 if form.is_submitted() else 200
    page = render_template("staff/identity_check.html", case=case, check=check, form=form)
    return page, status

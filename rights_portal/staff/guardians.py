"""Staff pages for guardians (R21): check links, and invite parents to create an account.

Links waiting for a check are listed oldest first; a handler verifies, rejects or revokes them,
recording how authority was checked.

The routes hang on the staff blueprint; case handlers act, the DPO reads along. Who may do what
is asked of :mod:`rights_portal.permissions`.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts import registration
from ..accounts import services as accounts
from ..accounts.forms import InviteGuardianForm, RejectLinkForm, RevokeLinkForm, VerifyLinkForm
from ..accounts.guardianship import age_on
from ..accounts.models import (
    AuthorityDocument,
    GuardianLink,
    LinkStatus,
    VerificationMethod,
)
from ..audit.services import record
from ..clock import today_local
from ..permissions import (
    GUARDIAN_CHECK_ROLES,
    GUARDIAN_LINK_ROLES,
    LinkAction,
    can_invite_guardians,
    can_link,
    link_or_404,
    roles_required,
)
from ..transactions import discard
from .views import bp


@bp.route("/guardians")
@roles_required(*GUARDIAN_LINK_ROLES)
def guardian_links() -> ResponseReturnValue:
    """Guardian links by status, oldest request first; pending ones by default."""
    raw = request.args.get("status", LinkStatus.PENDING.value)
    status = LinkStatus(raw) if raw in {s.value for s in LinkStatus} else None
    return render_template(
        "staff/guardian_links.html",
        links=accounts.links_for_staff(status),
        status=status.value if status else "all",
        statuses=list(LinkStatus),
        may_invite=can_invite_guardians(current_user),
    )


def _render_link(link: GuardianLink, status: int = 200, **forms: Any) -> ResponseReturnValue:
    student = link.student
    today = today_local()
    age = None
    if student is not None and student.date_of_birth is not None:
        age = age_on(student.date_of_birth, today)
    return (
        render_template(
            "staff/guardian_link.html",
            link=link,
            age=age,
            may_check=can_link(current_user, LinkAction.CHECK, link),
            verify_form=forms.get("verify_form") or VerifyLinkForm(),
            reject_form=forms.get("reject_form") or RejectLinkForm(),
            revoke_form=forms.get("revoke_form") or RevokeLinkForm(),
        ),
        status,
    )


@bp.route("/guardians/<int:link_id>")
@roles_required(*GUARDIAN_LINK_ROLES)
def guardian_link(link_id: int) -> ResponseReturnValue:
    """One link: who asked, for which student, on what basis, and how it was checked."""
    link = link_or_404(link_id)
    # The page shows a parent's and a child's personal data: opening it is on the trail (R24).
    record(
        "guardian_link.viewed", actor=current_user, object_type="guardian_link", object_id=link.id
    )
    return _render_link(link)


@bp.route("/guardians/<int:link_id>/verify", methods=["POST"])
@roles_required(*GUARDIAN_LINK_ROLES)
def verify_link(link_id: int) -> ResponseReturnValue:
    """Record how the authority was checked (method, document type, day); no copy is kept."""
    link = link_or_404(link_id, LinkAction.CHECK)
    form = VerifyLinkForm()
    if not form.validate_on_submit() or form.document_seen_on.data is None:
        return _render_link(link, 400, verify_form=form)
    accounts.verify_link(
        link,
        actor=current_user,
        method=VerificationMethod(form.method.data),
        document_type=AuthorityDocument(form.document_type.data),
        document_seen_on=form.document_seen_on.data,
    )
    flash(_("The link has been verified and the guardian informed."), "success")
    return redirect(url_for("staff.guardian_link", link_id=link.id))


@bp.route("/guardians/<int:link_id>/reject", methods=["POST"])
@roles_required(*GUARDIAN_LINK_ROLES)
def reject_link(link_id: int) -> ResponseReturnValue:
    """Reject a request with a reason the guardian reads."""
    link = link_or_404(link_id, LinkAction.CHECK)
    form = RejectLinkForm()
    if not form.validate_on_submit():
        return _render_link(link, 400, reject_form=form)
    accounts.reject_link(link, actor=current_user, reason=form.rejection_reason.data or "")
    flash(_("The request has been rejected and the guardian informed."), "success")
    return redirect(url_for("staff.guardian_link", link_id=link.id))


@bp.route("/guardians/<int:link_id>/revoke", methods=["POST"])
@roles_required(*GUARDIAN_LINK_ROLES)
def revoke_link(link_id: int) -> ResponseReturnValue:
    """End a verified link; the guardian loses all access through it."""
    link = link_or_404(link_id, LinkAction.CHECK)
    form = RevokeLinkForm()
    if not form.validate_on_submit():
        return _render_link(link, 400, revoke_form=form)
    accounts.revoke_link(link, actor=current_user, reason=form.revocation_reason.data or "")
    flash(_("The link has been ended and the guardian informed."), "success")
    return redirect(url_for("staff.guardian_link", link_id=link.id))


@bp.route("/guardians/invite", methods=["GET", "POST"])
@roles_required(*GUARDIAN_CHECK_ROLES)
def invite_guardian() -> ResponseReturnValue:
    """Invite a parent: they get an e-mail with a single-use link to choose a password."""
    form = InviteGuardianForm()
    if form.validate_on_submit():
        try:
            registration.invite_guardian(
                email=form.email.data or "",
                full_name=form.full_name.data or "",
                locale=form.locale.data or "nl",
                actor=current_user,
            )
        except registration.EmailTaken as exc:
            discard()  # nothing of the refused invitation is kept
            form.email.errors = [str(exc.message)]
        else:
            flash(_("The invitation has been sent."), "success")
            return redirect(url_for("staff.guardian_links"))
    status = 400 if form.is_submitted() else 200
    return render_template("staff/invite_guardian.html", form=form), status

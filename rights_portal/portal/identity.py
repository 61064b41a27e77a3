"""The requester's side of an identity check (R22): read why proof is asked, and answer.

The route hangs on the portal blueprint; :func:`rights_portal.permissions.case_or_404` decides
who may answer (the person who filed the case).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts.forms import IdentityAnswerForm
from ..accounts.models import IdentityAnswer
from ..identity import services as identity
from ..permissions import REQUESTER_ROLES, Action, case_or_404, roles_required
from .views import bp


@bp.route("/cases/<reference>/identity", methods=["GET", "POST"])
@roles_required(*REQUESTER_ROLES)
def answer_identity(reference: str) -> ResponseReturnValue:
    """Answer a request for proof of identity: I will show / have shown a document at the desk."""
    case = case_or_404(reference, Action.ANSWER_IDENTITY)
    check = identity.open_check(case)
    if check is None:
        flash(_("We do not need proof of your identity for this request."), "info")
        return redirect(url_for("portal.case_detail", reference=case.reference))
    form = IdentityAnswerForm()
    if request.method == "GET" and check.answer is not None:
        form.answer.data = check.answer.value
    if form.validate_on_submit():
        identity.answer_request(check, actor=current_user, answer=IdentityAnswer(form.answer.data))
        flash(_("Thank you. We have noted your answer."), "success")
        return redirect(url_for("portal.case_detail", reference=case.reference))
    status = 400 if form.is_submitted() else 200
    page = render_template("portal/identity_answer.html", case=case, check=check, form=form)
    return page, status

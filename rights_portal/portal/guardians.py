"""Guardian pages in the portal: my children, ask to be linked, file for a child (R20, R21).

The children page shows each link and what happens next; a verified guardian files a request
for a child under 16 with the students' own forms.

The routes hang on the portal blueprint; who may see and do what is asked of
:mod:`rights_portal.permissions`.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts import services as accounts
from ..accounts.forms import LinkRequestForm
from ..accounts.guardianship import acts_alone_from
from ..accounts.models import GuardianBasis
from ..cases import registry
from ..clock import today_local
from ..errors import RuleViolation
from ..extensions import limiter
from ..permissions import GUARDIAN_ROLES, Filing, child_or_404, filing_decision, roles_required
from .views import bp, case_type_or_404, file_request_page


@bp.route("/children")
@roles_required(*GUARDIAN_ROLES)
def children() -> ResponseReturnValue:
    """The guardian's links: verified children to act for, and requests still being checked."""
    today = today_local()
    links = accounts.links_of(current_user)
    rows = []
    for link in links:
        filing = None
        if link.is_verified and link.student is not None:
            filing = filing_decision(current_user, link.student, today).value
        rows.append({"link": link, "filing": filing})
    return render_template(
        "portal/children.html",
        rows=rows,
        case_types=registry.type_names(),
        acts_alone_from=acts_alone_from,
        allowed=Filing.ALLOWED.value,
    )


@bp.route("/children/new", methods=["GET", "POST"])
@roles_required(*GUARDIAN_ROLES)
@limiter.limit("20 per hour", methods=["POST"])
def request_link() -> ResponseReturnValue:
    """Ask to act for a child; the answer is the same whether or not the number exists (R21)."""
    form = LinkRequestForm()
    if form.validate_on_submit() and form.date_of_birth.data is not None:
        try:
            # R20, at once and from what was typed only: a child of 16 or older acts alone.
            accounts.refuse_link_to_adult(form.date_of_birth.data)
        except RuleViolation as refusal:
            form.date_of_birth.errors = [str(refusal.message)]
            return render_template("portal/request_link.html", form=form), 400
        accounts.request_link(
            current_user,
            student_number=form.student_number.data or "",
            date_of_birth=form.date_of_birth.data,
            basis=GuardianBasis(form.basis.data),
        )
        flash(
            _(
                "Thank you. Your request will be checked. We will contact you to see a document "
                "that shows your authority."
            ),
            "success",
        )
        return redirect(url_for("portal.children"))
    status = 400 if form.is_submitted() else 200
    return render_template("portal/request_link.html", form=form), status


@bp.route("/children/<int:link_id>/cases/new/<case_type>", methods=["GET", "POST"])
@roles_required(*GUARDIAN_ROLES)
def file_for_child(link_id: int, case_type: str) -> ResponseReturnValue:
    """A verified guardian files a request for their child under 16 (R20)."""
    child = child_or_404(link_id)
    return file_request_page(case_type_or_404(case_type), subject=child)

"""The exam board's actions on the staff case page: sign-off, the alternative, the flag review.

They belong to the one staff case page (the board's part of it comes from the board's case
types, :mod:`rights_portal.examboard.case_types`): a form that fails re-renders that page. The
URLs stay under ``/staff/cases/<reference>/``.
"""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from ..cases.deadlines import AMSTERDAM
from ..cases.services import run_after_decision
from ..examboard import services
from ..examboard.forms import AssignAlternativeForm, FlagReviewForm, SignOffForm
from ..examboard.models import AlternativeForm
from ..exams.models import FlagReviewStatus
from ..permissions import EXAM_BOARD_ROLES, Action, can_review_flag, case_or_404, roles_required
from .views import bp, render_case


@bp.route("/cases/<reference>/sign-off", methods=["POST"])
@roles_required(*EXAM_BOARD_ROLES)
def sign_off(reference: str) -> ResponseReturnValue:
    """A second member signs the proposed decision; it takes effect with its type's hooks."""
    case = case_or_404(reference, Action.SIGN_OFF)
    proposal = services.open_proposal(case)
    if proposal is None or not SignOffForm().validate_on_submit():
        abort(400)
    services.sign_off(proposal, actor=current_user)
    # R25: an upheld objection's files are deleted once the decision committed (its hook).
    run_after_decision(case, current_user)
    flash(_("You have signed off the decision. It now takes effect."), "success")
    return redirect(url_for("staff.case_detail", reference=case.reference))


@bp.route("/cases/<reference>/alternative", methods=["POST"])
@roles_required(*EXAM_BOARD_ROLES)
def assign_alternative(reference: str) -> ResponseReturnValue:
    """Offer the student an alternative exam (R17)."""
    case = case_or_404(reference, Action.ASSIGN_ALTERNATIVE)
    form = AssignAlternativeForm()
    if not form.validate_on_submit() or form.day.data is None or form.time.data is None:
        return render_case(case, 400, alternative_form=form)
    starts_at = datetime.combine(form.day.data, form.time.data, tzinfo=AMSTERDAM)
    services.assign_alternative(
        case,
        actor=current_user,
        form=AlternativeForm(form.form.data),
        starts_at=starts_at,
        place=form.place.data or "",
        instructions=form.instructions.data or "",
        late_justification=form.late_justification.data,
    )
    flash(_("The alternative has been offered to the student."), "success")
    return redirect(url_for("staff.case_detail", reference=case.reference))


@bp.route("/cases/<reference>/review-flag", methods=["POST"])
@roles_required(*EXAM_BOARD_ROLES)
def review_flag_for_case(reference: str) -> ResponseReturnValue:
    """Answer a student's request for human review by reviewing the flag (R18)."""
    case = case_or_404(reference, Action.VIEW)
    flag = case.flag
    if flag is None or not can_review_flag(current_user, flag):
        abort(403)
    form = FlagReviewForm()
    if not form.validate_on_submit():
        return render_case(case, 400, flag_review_form=form)
    services.review_flag(
        flag,
        actor=current_user,
        outcome=FlagReviewStatus(form.outcome.data),
        reasons=form.reasons.data or "",
        case=case,
    )
    run_after_decision(case, current_user)
    flash(_("Your review has been recorded and the student informed."), "success")
    return redirect(url_for("staff.case_detail", reference=case.reference))

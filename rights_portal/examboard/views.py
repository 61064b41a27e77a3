"""Exam-board pages: the workspace, sign-off, alternatives, flag review, invigilation lists."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..accounts.models import Role
from ..audit.services import record
from ..cases.deadlines import AMSTERDAM
from ..cases.models import OPEN_STATUSES, Case, CaseType
from ..clock import today_local
from ..exams.models import Exam, FlagReviewStatus
from ..extensions import db
from ..permissions import (
    Action,
    board_programme_ids,
    can,
    can_review_flag,
    can_see_invigilation_list,
    case_or_404,
    flag_or_404,
    roles_required,
)
from ..retention import runner as retention_runner
from ..transactions import commit
from . import services
from .forms import (
    ALTERNATIVE_FORM_LABELS,
    ALTERNATIVE_STATUS_LABELS,
    FLAG_OUTCOME_LABELS,
    AssignAlternativeForm,
    FlagReviewForm,
    SignOffForm,
)
from .models import AlternativeForm, AlternativeStatus

bp = Blueprint("examboard", __name__, template_folder="templates")


def case_panel_context(case: Case, **forms: Any) -> dict[str, Any]:
    """What the staff case page shows of the board's work on ``case``."""
    alternative = (
        services.current_alternative(case) if case.case_type.leads_to_alternative else None
    )
    proposal = services.open_proposal(case)
    may_assign_alternative = (
        can(current_user, Action.ASSIGN_ALTERNATIVE, case)
        and case.case_type.leads_to_alternative
        and case.outcome is not None
        and case.outcome.value in ("granted", "partly_granted")
        and case.status.value == "decided"
        and (alternative is None or alternative.status is AlternativeStatus.OTHER_SLOT_REQUESTED)
    )
    flag = case.flag if case.case_type is CaseType.HUMAN_REVIEW else None
    return {
        "alternative": alternative,
        "alternative_limit": services.alternative_limit(case),
        "proposal": proposal,
        "may_sign_off": proposal is not None
        and proposal.proposed_by_id != current_user.id
        and can(current_user, Action.SIGN_OFF, case),
        "may_assign_alternative": may_assign_alternative,
        "alternative_form": forms.get("alternative_form") or AssignAlternativeForm(),
        "flag": flag,
        "may_review_flag": flag is not None
        and can_review_flag(current_user, flag)
        and case.status.value == "in_review",
        "flag_review_form": forms.get("flag_review_form") or FlagReviewForm(),
        "sign_off_form": SignOffForm(),
        "alternative_form_labels": ALTERNATIVE_FORM_LABELS,
        "alternative_status_labels": ALTERNATIVE_STATUS_LABELS,
        "flag_outcome_labels": FLAG_OUTCOME_LABELS,
    }


def _render_case(case: Case, status: int, **forms: Any) -> ResponseReturnValue:
    from ..staff.views import render_case

    return render_case(case, status, **forms)


@bp.route("/board")
@roles_required(Role.EXAM_BOARD)
def workspace() -> ResponseReturnValue:
    """The board member's open cases, by exam-bound due date, beside the exam schedule."""
    programmes = board_programme_ids(current_user)
    cases = db.session.scalars(
        select(Case)
        .where(Case.programme_id.in_(programmes), Case.status.in_(OPEN_STATUSES))
        .order_by(Case.exam_bound_due.asc().nulls_last(), Case.effective_due, Case.id)
        .limit(200)
    ).all()
    return render_template(
        "examboard/workspace.html",
        cases=cases,
        exams=services.exam_schedule(programmes, today_local()),
    )


@bp.route("/cases/<reference>/sign-off", methods=["POST"])
@roles_required(Role.EXAM_BOARD)
def sign_off(reference: str) -> ResponseReturnValue:
    """A second member signs the proposed decision."""
    case = case_or_404(reference, Action.SIGN_OFF)
    proposal = services.open_proposal(case)
    if proposal is None or not SignOffForm().validate_on_submit():
        abort(400)
    services.sign_off(proposal, actor=current_user)
    commit()
    # R25: an upheld objection's erasure intents are committed with the decision; now delete.
    retention_runner.carry_out_for_case(case.id, actor=current_user)
    flash(_("You have signed off the decision. It now takes effect."), "success")
    return redirect(url_for("staff.case_detail", reference=case.reference))


@bp.route("/cases/<reference>/alternative", methods=["POST"])
@roles_required(Role.EXAM_BOARD)
def assign_alternative(reference: str) -> ResponseReturnValue:
    """Offer the student an alternative exam (R17)."""
    case = case_or_404(reference, Action.ASSIGN_ALTERNATIVE)
    form = AssignAlternativeForm()
    if not form.validate_on_submit() or form.day.data is None or form.time.data is None:
        return _render_case(case, 400, alternative_form=form)
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
    commit()
    flash(_("The alternative has been offered to the student."), "success")
    return redirect(url_for("staff.case_detail", reference=case.reference))


@bp.route("/cases/<reference>/review-flag", methods=["POST"])
@roles_required(Role.EXAM_BOARD)
def review_flag_for_case(reference: str) -> ResponseReturnValue:
    """Answer a student's request for human review by reviewing the flag (R18)."""
    case = case_or_404(reference, Action.VIEW)
    flag = case.flag
    if flag is None or not can_review_flag(current_user, flag):
        abort(403)
    form = FlagReviewForm()
    if not form.validate_on_submit():
        return _render_case(case, 400, flag_review_form=form)
    services.review_flag(
        flag,
        actor=current_user,
        outcome=FlagReviewStatus(form.outcome.data),
        reasons=form.reasons.data or "",
        case=case,
    )
    commit()
    flash(_("Your review has been recorded and the student informed."), "success")
    return redirect(url_for("staff.case_detail", reference=case.reference))


@bp.route("/flags/<int:flag_id>", methods=["GET", "POST"])
@roles_required(Role.EXAM_BOARD)
def review_flag(flag_id: int) -> ResponseReturnValue:
    """Review an automated flag outside a request: no flag becomes fraud without this (R18)."""
    flag = flag_or_404(flag_id)
    form = FlagReviewForm()
    if form.validate_on_submit():
        services.review_flag(
            flag,
            actor=current_user,
            outcome=FlagReviewStatus(form.outcome.data),
            reasons=form.reasons.data or "",
        )
        commit()
        flash(_("Your review has been recorded."), "success")
        return redirect(url_for("examboard.review_flag", flag_id=flag.id))
    if request.method == "GET":
        services.record_material_viewed(flag, actor=current_user, case=None)
        commit()
    status = 400 if form.is_submitted() else 200
    return (
        render_template(
            "examboard/flag.html", flag=flag, form=form, flag_outcome_labels=FLAG_OUTCOME_LABELS
        ),
        status,
    )


@bp.route("/exams/<int:exam_id>/alternatives")
@roles_required(Role.EXAM_BOARD, Role.CASE_HANDLER)
def invigilation_list(exam_id: int) -> ResponseReturnValue:
    """Students with an alternative for this exam: printable page, or CSV with ?format=csv."""
    exam = db.session.get(Exam, exam_id)
    if exam is None or not can_see_invigilation_list(current_user, exam):
        abort(404)
    rows = services.scheduled_for_exam(exam)
    # The list names students: opening or exporting it is on the trail (R24).
    record(
        "exam.alternatives_viewed",
        actor=current_user,
        object_type="exam",
        object_id=exam.id,
        after={"format": request.args.get("format", "html"), "rows": len(rows)},
    )
    commit()
    if request.args.get("format") == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["student_number", "name", "form", "starts_at", "place", "status", "case"])
        for alt in rows:
            writer.writerow(
                [
                    alt.case.subject.student_number,
                    alt.case.subject.full_name,
                    alt.form.value,
                    alt.starts_at.astimezone(AMSTERDAM).isoformat(timespec="minutes"),
                    alt.place,
                    alt.status.value,
                    alt.case.reference,
                ]
            )
        return Response(
            buffer.getvalue(),
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="alternatives-{exam.course_code}.csv"'
            },
        )
    return render_template(
        "examboard/invigilation.html",
        exam=exam,
        rows=rows,
        alternative_form_labels=ALTERNATIVE_FORM_LABELS,
    )


@bp.route("/alternatives/late")
@roles_required(Role.DPO, Role.EXAM_BOARD)
def late_alternatives() -> ResponseReturnValue:
    """Alternatives later than the no-delay limit, with their justification (R17)."""
    rows = services.late_alternatives()
    if current_user.role is Role.EXAM_BOARD:
        programmes = board_programme_ids(current_user)
        rows = [alt for alt in rows if alt.case.programme_id in programmes]
    return render_template(
        "examboard/late.html", rows=rows, alternative_form_labels=ALTERNATIVE_FORM_LABELS
    )

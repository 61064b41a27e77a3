"""Exam-board pages: the workspace, flag review, invigilation lists, late alternatives.

The board's actions on a case (sign-off, alternative, the review of a case's flag) are part of
the one staff case page (:mod:`rights_portal.staff.board`).
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..audit.services import record
from ..cases.deadlines import AMSTERDAM
from ..cases.models import OPEN_STATUSES, Case
from ..clock import today_local
from ..exams.models import Exam, FlagReviewStatus
from ..extensions import db
from ..permissions import (
    EXAM_BOARD_ROLES,
    INVIGILATION_ROLES,
    LATE_ALTERNATIVES_ROLES,
    board_programme_ids,
    can_see_invigilation_list,
    flag_or_404,
    roles_required,
    visible_cases_clause,
)
from . import services
from .forms import ALTERNATIVE_FORM_LABELS, FLAG_OUTCOME_LABELS, FlagReviewForm

bp = Blueprint("examboard", __name__, template_folder="templates")


@bp.route("/board")
@roles_required(*EXAM_BOARD_ROLES)
def workspace() -> ResponseReturnValue:
    """The board member's open cases, by exam-bound due date, beside the exam schedule."""
    cases = db.session.scalars(
        select(Case)
        .where(visible_cases_clause(current_user), Case.status.in_(OPEN_STATUSES))
        .order_by(Case.exam_bound_due.asc().nulls_last(), Case.effective_due, Case.id)
        .limit(200)
    ).all()
    return render_template(
        "examboard/workspace.html",
        cases=cases,
        exams=services.exam_schedule(board_programme_ids(current_user), today_local()),
    )


@bp.route("/flags/<int:flag_id>", methods=["GET", "POST"])
@roles_required(*EXAM_BOARD_ROLES)
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
        flash(_("Your review has been recorded."), "success")
        return redirect(url_for("examboard.review_flag", flag_id=flag.id))
    if request.method == "GET":
        services.record_material_viewed(flag, actor=current_user, case=None)
    status = 400 if form.is_submitted() else 200
    return (
        render_template(
            "examboard/flag.html", flag=flag, form=form, flag_outcome_labels=FLAG_OUTCOME_LABELS
        ),
        status,
    )


@bp.route("/exams/<int:exam_id>/alternatives")
@roles_required(*INVIGILATION_ROLES)
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
@roles_required(*LATE_ALTERNATIVES_ROLES)
def late_alternatives() -> ResponseReturnValue:
    """Alternatives later than the no-delay limit, with their justification (R17)."""
    rows = services.late_alternatives(visible_cases_clause(current_user))
    return render_template(
        "examboard/late.html", rows=rows, alternative_form_labels=ALTERNATIVE_FORM_LABELS
    )
